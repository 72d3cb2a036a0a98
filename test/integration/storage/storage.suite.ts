/**
 * One conformance suite for every Storage implementation (like hono's router/common.case.test.ts):
 * each implementation's test file calls runStorageSuite with a factory for a fresh instance.
 * Tests use a fresh key prefix each, so one backing store may serve the whole suite.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type {
  Result,
  Storage,
  StorageError,
  StoredObject,
  WatchEvent,
} from '../../../storage/interface.js';

export interface StorageFixture {
  readonly storage: Storage;
  cleanup(): Promise<void>;
}

export interface Widget extends StoredObject {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    [k: string]: unknown;
  };
  spec: { count: number; note?: string };
}

export function widget(name: string, count = 0): Widget {
  return { metadata: { name, namespace: 'ns1', uid: `uid-${name}` }, spec: { count } };
}

/** A prefix no other test uses, shaped like the real key layout. */
export function uniquePrefix(): string {
  return `/registry/storage-suite.example.com/widgets-${randomUUID().slice(0, 8)}/`;
}

export function must<T>(r: Result<T, unknown>): T {
  if (!r.ok) expect.fail(`unexpected error: ${JSON.stringify(r.error)}`);
  return r.value;
}

/**
 * Retries while the result is Unavailable: the first calls after an etcd restart may still meet the
 * old, broken connection. The value, or the test fails.
 */
export async function eventually<T>(op: () => Promise<Result<T, StorageError>>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await op();
    if (res.ok || res.error.kind !== 'Unavailable' || Date.now() > deadline) return must(res);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function mustFail<K extends StorageError['kind']>(
  r: Result<unknown, StorageError>,
  kind: K,
): Extract<StorageError, { kind: K }> {
  if (r.ok) expect.fail(`expected ${kind}, got success: ${JSON.stringify(r.value)}`);
  expect(r.error.kind, JSON.stringify(r.error)).to.equal(kind);
  return r.error as Extract<StorageError, { kind: K }>;
}

/** An object's resourceVersion as a number (chai compares numbers, not bigints). */
export const rv = (obj: StoredObject): number => {
  const v = obj.metadata.resourceVersion;
  expect(v, 'resourceVersion')
    .to.be.a('string')
    .and.match(/^[0-9]+$/);
  return Number(v);
};

export interface WatchHandle<T extends StoredObject> {
  /** The next event; fails the test after timeoutMs. */
  next(timeoutMs?: number): Promise<WatchEvent<T>>;
  /** Resolves true when the iterator has ended (within timeoutMs). */
  ended(timeoutMs?: number): Promise<boolean>;
  readonly controller: AbortController;
}

export function openWatch<T extends StoredObject>(
  storage: Storage,
  prefix: string,
  from: string,
  opts?: { progressNotify?: boolean },
): WatchHandle<T> {
  const controller = new AbortController();
  const it = storage.watch<T>(prefix, from, controller.signal, opts)[Symbol.asyncIterator]();
  const step = async (timeoutMs: number): Promise<IteratorResult<WatchEvent<T>>> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no watch activity within ${String(timeoutMs)} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([it.next(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    controller,
    async next(timeoutMs = 10_000) {
      const r = await step(timeoutMs);
      if (r.done === true) expect.fail('watch ended while an event was expected');
      return r.value;
    },
    async ended(timeoutMs = 10_000) {
      return (await step(timeoutMs)).done === true;
    },
  };
}

function expectObjectEvent<T extends StoredObject>(
  ev: WatchEvent<T>,
  type: 'ADDED' | 'MODIFIED' | 'DELETED',
): T {
  expect(ev.type, JSON.stringify(ev)).to.equal(type);
  if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED')
    expect.fail('not an object event');
  return ev.object;
}

export function runStorageSuite(name: string, newStorage: () => Promise<StorageFixture>): void {
  describe(`Storage conformance: ${name}`, function () {
    let fixture: StorageFixture;
    let s: Storage;
    let prefix: string;
    let watches: AbortController[];
    const key = (ns: string, n: string): string => `${prefix}${ns}/${n}`;
    const watch = <T extends StoredObject = Widget>(p: string, from: string): WatchHandle<T> => {
      const w = openWatch<T>(s, p, from);
      watches.push(w.controller);
      return w;
    };
    const revisionNow = async (): Promise<number> => Number(must(await s.currentRevision()));
    const seed = async (ns: string, names: readonly string[]): Promise<Widget[]> => {
      const out: Widget[] = [];
      for (const n of names) out.push(must(await s.create(key(ns, n), widget(n))));
      return out;
    };

    beforeEach(async function () {
      fixture = await newStorage();
      s = fixture.storage;
      prefix = uniquePrefix();
      watches = [];
    });

    afterEach(async function () {
      for (const c of watches) c.abort();
      await fixture.cleanup();
    });

    describe('create and get', function () {
      it('stores an object and returns it stamped with its resourceVersion', async function () {
        const created = must(await s.create(key('ns1', 'a'), widget('a', 1)));
        expect(rv(created)).to.be.greaterThan(0);
        expect(created.spec).to.deep.equal({ count: 1 });
        expect(must(await s.get<Widget>(key('ns1', 'a')))).to.deep.equal(created);
      });

      it('rejects a second create of the same key with KeyExists', async function () {
        must(await s.create(key('ns1', 'a'), widget('a')));
        const e = mustFail(await s.create(key('ns1', 'a'), widget('a', 2)), 'KeyExists');
        expect(e.key).to.equal(key('ns1', 'a'));
        expect(must(await s.get<Widget>(key('ns1', 'a'))).spec.count).to.equal(0);
      });

      it('returns KeyNotFound for a missing key', async function () {
        const e = mustFail(await s.get(key('ns1', 'missing')), 'KeyNotFound');
        expect(e.key).to.equal(key('ns1', 'missing'));
      });

      it('ignores resourceVersion and selfLink given by the caller', async function () {
        const input = widget('a');
        input.metadata.resourceVersion = '999999';
        input.metadata['selfLink'] = '/apis/x/widgets/a';
        const created = must(await s.create(key('ns1', 'a'), input));
        expect(created.metadata.resourceVersion).to.not.equal('999999');
        expect(created.metadata).to.not.have.property('selfLink');
        const got = must(await s.get<Widget>(key('ns1', 'a')));
        expect(got.metadata.resourceVersion).to.equal(created.metadata.resourceVersion);
        expect(got.metadata).to.not.have.property('selfLink');
      });

      it('assigns increasing resourceVersions that currentRevision covers', async function () {
        const [a, b] = await seed('ns1', ['a', 'b']);
        if (a === undefined || b === undefined) expect.fail('seed');
        expect(rv(b)).to.be.greaterThan(rv(a));
        expect(await revisionNow()).to.be.at.least(rv(b));
      });
    });

    describe('guaranteedUpdate', function () {
      it('hands tryUpdate the stamped current object and stores its result', async function () {
        const created = must(await s.create(key('ns1', 'a'), widget('a')));
        let seen: Widget | undefined;
        const res = must(
          await s.guaranteedUpdate<Widget, never>(key('ns1', 'a'), (cur) => {
            seen = cur;
            return { kind: 'write', object: { ...cur, spec: { count: cur.spec.count + 1 } } };
          }),
        );
        expect(seen).to.deep.equal(created);
        expect(res.deleted).to.equal(false);
        expect(res.object.spec.count).to.equal(1);
        expect(rv(res.object)).to.be.greaterThan(rv(created));
        expect(must(await s.get(key('ns1', 'a')))).to.deep.equal(res.object);
      });

      it('ends 20 concurrent increments at exactly 20', async function () {
        must(await s.create(key('ns1', 'counter'), widget('counter')));
        const results = await Promise.all(
          Array.from({ length: 20 }, () =>
            s.guaranteedUpdate<Widget, never>(key('ns1', 'counter'), (cur) => ({
              kind: 'write',
              object: { ...cur, spec: { count: cur.spec.count + 1 } },
            })),
          ),
        );
        const counts = results.map((r) => must(r).object.spec.count).sort((x, y) => x - y);
        expect(counts).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 1));
        expect(must(await s.get<Widget>(key('ns1', 'counter'))).spec.count).to.equal(20);
      });

      it('calls tryUpdate again with the newer object after a lost race', async function () {
        must(await s.create(key('ns1', 'a'), widget('a')));
        const seen: number[] = [];
        const res = must(
          await s.guaranteedUpdate<Widget, never>(key('ns1', 'a'), async (cur) => {
            seen.push(cur.spec.count);
            if (seen.length === 1) {
              // A competing writer lands between our read and our write.
              must(
                await s.guaranteedUpdate<Widget, never>(key('ns1', 'a'), (c) => ({
                  kind: 'write',
                  object: { ...c, spec: { count: c.spec.count + 10 } },
                })),
              );
            }
            return { kind: 'write', object: { ...cur, spec: { count: cur.spec.count + 1 } } };
          }),
        );
        expect(seen).to.deep.equal([0, 10]);
        expect(res.object.spec.count).to.equal(11);
      });

      it('writes nothing for an unchanged decision', async function () {
        const created = must(await s.create(key('ns1', 'a'), widget('a')));
        const before = await revisionNow();
        const res = must(
          await s.guaranteedUpdate<Widget, never>(key('ns1', 'a'), () => ({ kind: 'unchanged' })),
        );
        expect(res).to.deep.equal({ object: created, deleted: false });
        expect(await revisionNow()).to.equal(before);
      });

      it('writes nothing when the new object equals the stored one', async function () {
        const created = must(await s.create(key('ns1', 'a'), widget('a')));
        const before = await revisionNow();
        const res = must(
          await s.guaranteedUpdate<Widget, never>(key('ns1', 'a'), (cur) => ({
            kind: 'write',
            object: cur,
          })),
        );
        expect(res.object).to.deep.equal(created);
        expect(await revisionNow()).to.equal(before);
      });

      it('returns the abort error and writes nothing', async function () {
        const created = must(await s.create(key('ns1', 'a'), widget('a')));
        const res = await s.guaranteedUpdate<Widget, { kind: 'Invalid'; why: string }>(
          key('ns1', 'a'),
          () => ({
            kind: 'abort',
            error: { kind: 'Invalid', why: 'no' },
          }),
        );
        expect(res).to.deep.equal({ ok: false, error: { kind: 'Invalid', why: 'no' } });
        expect(must(await s.get(key('ns1', 'a')))).to.deep.equal(created);
      });

      it('deletes the object on a delete decision', async function () {
        const created = must(await s.create(key('ns1', 'a'), widget('a', 3)));
        const res = must(
          await s.guaranteedUpdate<Widget, never>(key('ns1', 'a'), () => ({ kind: 'delete' })),
        );
        expect(res.deleted).to.equal(true);
        expect(res.object.spec.count).to.equal(3);
        expect(rv(res.object)).to.be.greaterThan(rv(created));
        mustFail(await s.get(key('ns1', 'a')), 'KeyNotFound');
      });

      it('returns KeyNotFound for a missing key', async function () {
        let called = false;
        const res = await s.guaranteedUpdate<Widget, never>(key('ns1', 'missing'), () => {
          called = true;
          return { kind: 'unchanged' };
        });
        mustFail(res, 'KeyNotFound');
        expect(called).to.equal(false);
      });
    });

    describe('delete', function () {
      it('returns the last stored state stamped with the deletion revision', async function () {
        const created = must(await s.create(key('ns1', 'a'), widget('a', 5)));
        const deleted = must(await s.delete<Widget>(key('ns1', 'a')));
        expect(deleted.spec.count).to.equal(5);
        expect(rv(deleted)).to.be.greaterThan(rv(created));
        expect(await revisionNow()).to.equal(rv(deleted));
        mustFail(await s.get(key('ns1', 'a')), 'KeyNotFound');
      });

      it('returns KeyNotFound for a missing key', async function () {
        mustFail(await s.delete(key('ns1', 'missing')), 'KeyNotFound');
      });

      const preconditionCases: {
        name: string;
        pre: (created: Widget) => { uid?: string; resourceVersion?: string };
        field?: 'uid' | 'resourceVersion';
      }[] = [
        { name: 'fails on a uid mismatch', pre: () => ({ uid: 'other-uid' }), field: 'uid' },
        {
          name: 'fails on a resourceVersion mismatch',
          pre: (c) => ({ resourceVersion: String(rv(c) - 1) }),
          field: 'resourceVersion',
        },
        {
          name: 'deletes when uid and resourceVersion hold',
          pre: (c) => ({ uid: 'uid-a', resourceVersion: c.metadata.resourceVersion ?? '' }),
        },
      ];
      for (const tc of preconditionCases) {
        it(`${tc.name}`, async function () {
          const created = must(await s.create(key('ns1', 'a'), widget('a')));
          const pre = tc.pre(created);
          const res = await s.delete<Widget>(key('ns1', 'a'), pre);
          if (tc.field === undefined) {
            must(res);
            mustFail(await s.get(key('ns1', 'a')), 'KeyNotFound');
            return;
          }
          const e = mustFail(res, 'PreconditionFailed');
          expect(e.field).to.equal(tc.field);
          expect(e.expected).to.equal(tc.field === 'uid' ? pre.uid : pre.resourceVersion);
          expect(e.actual).to.equal(
            tc.field === 'uid' ? 'uid-a' : created.metadata.resourceVersion,
          );
          expect(must(await s.get(key('ns1', 'a')))).to.deep.equal(created);
        });
      }

      it('compares the resourceVersion precondition with the stored object', async function () {
        const created = must(await s.create(key('ns1', 'a'), widget('a')));
        const updated = must(
          await s.guaranteedUpdate<Widget, never>(key('ns1', 'a'), (c) => ({
            kind: 'write',
            object: { ...c, spec: { count: 1 } },
          })),
        ).object;
        const e = mustFail(
          await s.delete(key('ns1', 'a'), {
            resourceVersion: created.metadata.resourceVersion ?? '',
          }),
          'PreconditionFailed',
        );
        expect(e.actual).to.equal(updated.metadata.resourceVersion);
      });

      it('returns the error of check and keeps the object', async function () {
        const created = must(await s.create(key('ns1', 'a'), widget('a', 7)));
        let seen: Widget | undefined;
        const res = await s.delete<Widget, { kind: 'Busy' }>(key('ns1', 'a'), undefined, (cur) => {
          seen = cur;
          return cur.spec.count > 0 ? { kind: 'Busy' } : undefined;
        });
        expect(res).to.deep.equal({ ok: false, error: { kind: 'Busy' } });
        expect(seen).to.deep.equal(created);
        expect(must(await s.get(key('ns1', 'a')))).to.deep.equal(created);
      });
    });

    describe('list', function () {
      it('lists every object under the prefix in key order at the current revision', async function () {
        const created = await seed('ns1', ['c', 'a', 'b']);
        const page = must(await s.list<Widget>(prefix, {}));
        expect(page.items.map((i) => i.metadata.name)).to.deep.equal(['a', 'b', 'c']);
        for (const item of page.items) {
          expect(item).to.deep.equal(created.find((c) => c.metadata.name === item.metadata.name));
        }
        expect(page.resourceVersion).to.equal(String(await revisionNow()));
        expect(page.continue).to.equal(undefined);
        expect(page.remainingItemCount).to.equal(undefined);
      });

      it('reports the current revision for an empty prefix, not an item revision', async function () {
        await seed('ns1', ['a']);
        await seed('other', ['b']);
        const page = must(await s.list(`${prefix}empty/`, {}));
        expect(page.items).to.deep.equal([]);
        expect(page.resourceVersion).to.equal(String(await revisionNow()));
      });

      it('keeps namespace ns1 apart from ns10', async function () {
        await seed('ns1', ['a', 'b']);
        await seed('ns10', ['c']);
        const ns1 = must(await s.list<Widget>(`${prefix}ns1/`, {}));
        expect(ns1.items.map((i) => i.metadata.name)).to.deep.equal(['a', 'b']);
        const ns10 = must(await s.list<Widget>(`${prefix}ns10/`, {}));
        expect(ns10.items.map((i) => i.metadata.name)).to.deep.equal(['c']);
        expect(must(await s.list(prefix, {})).items).to.have.length(3);
      });

      it('pages with limit and continue at one revision while writes happen between pages', async function () {
        await seed('ns1', ['a', 'b', 'c', 'd', 'e']);
        const first = must(await s.list<Widget>(prefix, { limit: 2 }));
        expect(first.items.map((i) => i.metadata.name)).to.deep.equal(['a', 'b']);
        expect(first.remainingItemCount).to.equal(3);
        expect(first.continue).to.be.a('string').and.not.equal('');

        // Writes after the first page must not show in later pages.
        must(await s.create(key('ns1', 'bb'), widget('bb')));
        must(
          await s.guaranteedUpdate<Widget, never>(key('ns1', 'd'), (c) => ({
            kind: 'write',
            object: { ...c, spec: { count: 9 } },
          })),
        );
        must(await s.delete(key('ns1', 'e')));

        const second = must(
          await s.list<Widget>(prefix, { limit: 2, continue: first.continue ?? '' }),
        );
        expect(second.items.map((i) => i.metadata.name)).to.deep.equal(['c', 'd']);
        expect(second.items[1]?.spec.count).to.equal(0);
        expect(second.resourceVersion).to.equal(first.resourceVersion);
        expect(second.remainingItemCount).to.equal(1);

        const third = must(
          await s.list<Widget>(prefix, { limit: 2, continue: second.continue ?? '' }),
        );
        expect(third.items.map((i) => i.metadata.name)).to.deep.equal(['e']);
        expect(third.resourceVersion).to.equal(first.resourceVersion);
        expect(third.continue).to.equal(undefined);
        expect(third.remainingItemCount).to.equal(undefined);
      });

      it('ends without a continue token when the limit takes the last item', async function () {
        await seed('ns1', ['a', 'b']);
        const page = must(await s.list(prefix, { limit: 2 }));
        expect(page.items).to.have.length(2);
        expect(page.continue).to.equal(undefined);
      });

      it('fills a page with predicate matches and omits remainingItemCount', async function () {
        const names = Array.from({ length: 12 }, (_, i) => `w${String(i).padStart(2, '0')}`);
        for (const [i, n] of names.entries())
          must(await s.create(key('ns1', n), widget(n, i % 3 === 0 ? 1 : 0)));
        const predicate = (o: StoredObject): boolean => (o as Widget).spec.count === 1;
        const seen: string[] = [];
        let token: string | undefined;
        let pages = 0;
        let revision: string | undefined;
        do {
          const p = must(
            await s.list<Widget>(
              prefix,
              token === undefined
                ? { limit: 2, predicate }
                : { limit: 2, predicate, continue: token },
            ),
          );
          expect(p.items.length).to.be.at.most(2);
          expect(p.remainingItemCount).to.equal(undefined);
          revision ??= p.resourceVersion;
          expect(p.resourceVersion).to.equal(revision);
          if (p.continue !== undefined) expect(p.items).to.have.length(2);
          seen.push(...p.items.map((i) => i.metadata.name));
          token = p.continue;
          pages++;
        } while (token !== undefined && pages < 10);
        expect(seen).to.deep.equal(['w00', 'w03', 'w06', 'w09']);
      });

      const tampered: { name: string; token: (good: string) => string }[] = [
        { name: 'not base64', token: () => '!!not-a-token!!' },
        { name: 'base64 of garbage', token: () => Buffer.from('garbage').toString('base64url') },
        {
          name: 'unknown version',
          token: () =>
            Buffer.from(JSON.stringify({ v: 'x/v9', rv: 5, start: 'a\u0000' })).toString(
              'base64url',
            ),
        },
        {
          name: 'zero revision',
          token: () =>
            Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 0, start: 'a\u0000' })).toString(
              'base64url',
            ),
        },
        {
          name: 'empty start key',
          token: () =>
            Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 5, start: '' })).toString(
              'base64url',
            ),
        },
        {
          name: 'start key climbing out of the prefix',
          token: () =>
            Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 5, start: '../../x' })).toString(
              'base64url',
            ),
        },
        { name: 'truncated token', token: (good) => good.slice(0, -3) },
      ];
      for (const tc of tampered) {
        it(`rejects a tampered continue token (${tc.name}) with InvalidContinue`, async function () {
          await seed('ns1', ['a', 'b', 'c']);
          const first = must(await s.list(prefix, { limit: 1 }));
          mustFail(
            await s.list(prefix, { limit: 1, continue: tc.token(first.continue ?? '') }),
            'InvalidContinue',
          );
        });
      }

      it('reports a continue token of a compacted revision as Compacted', async function () {
        await seed('ns1', ['a', 'b', 'c']);
        const first = must(await s.list(prefix, { limit: 1 }));
        must(await s.create(key('ns1', 'd'), widget('d')));
        must(await s.compact(String(await revisionNow())));
        const e = mustFail(
          await s.list(prefix, { limit: 1, continue: first.continue ?? '' }),
          'Compacted',
        );
        expect(e.source).to.equal('continue');
        expect(e.resourceVersion).to.equal(first.resourceVersion);
      });

      it('reads at an explicit revision', async function () {
        const [a] = await seed('ns1', ['a']);
        if (a === undefined) expect.fail('seed');
        const at = String(await revisionNow());
        must(await s.create(key('ns1', 'b'), widget('b')));
        must(
          await s.guaranteedUpdate<Widget, never>(key('ns1', 'a'), (c) => ({
            kind: 'write',
            object: { ...c, spec: { count: 4 } },
          })),
        );
        const page = must(await s.list<Widget>(prefix, { revision: at }));
        expect(page.items).to.deep.equal([a]);
        expect(page.resourceVersion).to.equal(at);

        const paged = must(await s.list<Widget>(prefix, { revision: at, limit: 1 }));
        expect(paged.items).to.deep.equal([a]);
        expect(paged.continue).to.equal(undefined);
      });

      it('rejects a revision newer than the current one with TooLargeResourceVersion', async function () {
        await seed('ns1', ['a']);
        const now = await revisionNow();
        const requested = String(now + 1000);
        const e = mustFail(
          await s.list(prefix, { revision: requested }),
          'TooLargeResourceVersion',
        );
        expect(e.requested).to.equal(requested);
        expect(Number(e.current)).to.be.at.least(now);
      });

      it('reports a compacted explicit revision as Compacted', async function () {
        await seed('ns1', ['a']);
        const old = String(await revisionNow());
        must(await s.create(key('ns1', 'b'), widget('b')));
        must(await s.compact(String(await revisionNow())));
        const e = mustFail(await s.list(prefix, { revision: old }), 'Compacted');
        expect(e.source).to.equal('list');
        expect(e.resourceVersion).to.equal(old);
      });
    });

    describe('watch', function () {
      it('reports ADDED, MODIFIED and DELETED with their resourceVersions', async function () {
        const from = String(await revisionNow());
        const w = watch(prefix, from);
        const created = must(await s.create(key('ns1', 'a'), widget('a')));
        const updated = must(
          await s.guaranteedUpdate<Widget, never>(key('ns1', 'a'), (c) => ({
            kind: 'write',
            object: { ...c, spec: { count: 1 } },
          })),
        ).object;
        const deleted = must(await s.delete<Widget>(key('ns1', 'a')));

        expect(expectObjectEvent(await w.next(), 'ADDED')).to.deep.equal(created);
        const modified = await w.next();
        expect(expectObjectEvent(modified, 'MODIFIED')).to.deep.equal(updated);
        // The state before the write travels with MODIFIED, for selector transitions.
        expect(modified.type === 'MODIFIED' ? modified.prevObject : undefined).to.deep.equal(created);
        const gone = expectObjectEvent(await w.next(), 'DELETED');
        expect(gone).to.deep.equal(deleted);
        expect(gone.spec.count).to.equal(1);
        expect(rv(gone)).to.be.greaterThan(rv(updated));
      });

      it('reports only keys under its prefix', async function () {
        const from = String(await revisionNow());
        const w = watch(`${prefix}ns1/`, from);
        must(await s.create(key('ns10', 'x'), widget('x')));
        must(await s.create(key('ns', 'y'), widget('y')));
        const inside = must(await s.create(key('ns1', 'z'), widget('z')));
        expect(expectObjectEvent(await w.next(), 'ADDED')).to.deep.equal(inside);
      });

      it('replays history after a past revision', async function () {
        const from = String(await revisionNow());
        const a = must(await s.create(key('ns1', 'a'), widget('a')));
        const b = must(await s.create(key('ns1', 'b'), widget('b')));
        const a2 = must(
          await s.guaranteedUpdate<Widget, never>(key('ns1', 'a'), (c) => ({
            kind: 'write',
            object: { ...c, spec: { count: 2 } },
          })),
        ).object;
        const gone = must(await s.delete<Widget>(key('ns1', 'b')));

        const w = watch(prefix, from);
        expect(expectObjectEvent(await w.next(), 'ADDED')).to.deep.equal(a);
        expect(expectObjectEvent(await w.next(), 'ADDED')).to.deep.equal(b);
        expect(expectObjectEvent(await w.next(), 'MODIFIED')).to.deep.equal(a2);
        expect(expectObjectEvent(await w.next(), 'DELETED')).to.deep.equal(gone);

        // Strictly after `from`: starting at a's revision skips a's creation.
        const later = watch(prefix, a.metadata.resourceVersion ?? '');
        expect(expectObjectEvent(await later.next(), 'ADDED')).to.deep.equal(b);
      });

      it('reports a compacted start revision as one ERROR and ends', async function () {
        const from = String(await revisionNow());
        must(await s.create(key('ns1', 'a'), widget('a')));
        must(await s.create(key('ns1', 'b'), widget('b')));
        must(await s.compact(String(await revisionNow())));
        const w = watch(prefix, from);
        const ev = await w.next();
        if (ev.type !== 'ERROR') expect.fail(`expected ERROR, got ${JSON.stringify(ev)}`);
        expect(ev.error.kind).to.equal('Compacted');
        expect(await w.ended()).to.equal(true);
      });

      it('sends no event for an unchanged update', async function () {
        must(await s.create(key('ns1', 'a'), widget('a')));
        const from = String(await revisionNow());
        const w = watch(prefix, from);
        must(
          await s.guaranteedUpdate<Widget, never>(key('ns1', 'a'), () => ({ kind: 'unchanged' })),
        );
        must(
          await s.guaranteedUpdate<Widget, never>(key('ns1', 'a'), (c) => ({
            kind: 'write',
            object: c,
          })),
        );
        const marker = must(await s.create(key('ns1', 'marker'), widget('marker')));
        expect(expectObjectEvent(await w.next(), 'ADDED')).to.deep.equal(marker);
      });

      it('ends the iterator when its signal aborts', async function () {
        const w = watch(prefix, String(await revisionNow()));
        const pending = w.ended();
        w.controller.abort();
        expect(await pending).to.equal(true);
      });

      it('ends at once for an already aborted signal', async function () {
        const controller = new AbortController();
        controller.abort();
        const it = s.watch(prefix, '1', controller.signal)[Symbol.asyncIterator]();
        expect((await it.next()).done).to.equal(true);
      });
    });
  });
}
