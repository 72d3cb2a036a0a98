/**
 * The watch cache (storage/cacher.ts) on a real etcd: the Storage conformance suite through it, then
 * what only a cache has to get right: consistency with writes it did not make, resourceVersion
 * semantics, the event ring and its 410s, compaction, relists, etcd restarts, and pages that match
 * the etcd path token for token.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Etcd3 } from 'etcd3';
import { createCacher, type CachedStorage, type CacherOptions } from '../../../storage/cacher.js';
import { createEtcdStorage } from '../../../storage/etcd3.js';
import type { ListOptions, ListPage, Storage, StoredObject, WatchEvent } from '../../../storage/interface.js';
import { useEtcd } from '../../support/etcd.js';
import { eventually, must, mustFail, openWatch, runStorageSuite, uniquePrefix, widget, type Widget } from './storage.suite.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const suiteRoot = '/registry/storage-suite.example.com/';

describe('watch cache storage', function () {
  const etcd = useEtcd();

  runStorageSuite('watch cache', async () => {
    const storage = createCacher(createEtcdStorage({ endpoints: [etcd.endpoint()] }), { resources: [{ prefix: suiteRoot }] });
    await storage.ready();
    return { storage, cleanup: () => storage.close() };
  });

  describe('cache specifics', function () {
    let direct: Storage; // etcd without the cache, for comparisons
    let raw: Etcd3; // another client, writing behind the cache's back
    let prefix: string;
    const opened: CachedStorage[] = [];
    const watches: AbortController[] = [];
    const key = (ns: string, n: string): string => `${prefix}${ns}/${n}`;

    /** A cache over the whole suite root (so also over `prefix`), listed and following etcd. */
    const cached = async (opts: Omit<CacherOptions, 'resources'> & { size?: number; inner?: Storage } = {}): Promise<CachedStorage> => {
      const { size, inner, ...rest } = opts;
      const s = createCacher(inner ?? createEtcdStorage({ endpoints: [etcd.endpoint()], watchBackoffMs: { initial: 50, max: 500 } }), {
        resources: [{ prefix: suiteRoot, ...(size === undefined ? {} : { size }) }],
        ...rest,
      });
      opened.push(s);
      await s.ready();
      return s;
    };
    const watch = <T extends StoredObject = Widget>(s: Storage, p: string, from: string, progressNotify = false) => {
      const w = openWatch<T>(s, p, from, { progressNotify });
      watches.push(w.controller);
      return w;
    };
    const putRaw = async (k: string, obj: Widget): Promise<number> => {
      const res = await raw.put(k).value(JSON.stringify(obj)).exec();
      return Number(res.header.revision);
    };
    const names = (p: ListPage<Widget>): string[] => p.items.map((i) => `${i.metadata.namespace ?? ''}/${i.metadata.name}`);

    beforeEach(function () {
      direct = createEtcdStorage({ endpoints: [etcd.endpoint()] });
      raw = new Etcd3({ hosts: etcd.endpoint() });
      prefix = uniquePrefix();
    });

    afterEach(async function () {
      for (const c of watches.splice(0)) c.abort();
      await Promise.all(opened.splice(0).map((s) => s.close()));
      await direct.close();
      raw.close();
    });

    describe('consistency', function () {
      it('shows a write made by another client in the next consistent get and list', async function () {
        const s = await cached();
        const revision = await putRaw(key('ns1', 'outside'), widget('outside', 3));
        const got = must(await s.get<Widget>(key('ns1', 'outside')));
        expect(got.spec.count).to.equal(3);
        expect(got.metadata.resourceVersion).to.equal(String(revision));
        const page = must(await s.list<Widget>(prefix, {}));
        expect(names(page)).to.deep.equal(['ns1/outside']);
        expect(Number(page.resourceVersion)).to.be.at.least(revision);
      });

      it('shows a write made by another process in the next consistent list', async function () {
        this.timeout(30_000);
        const s = await cached();
        must(await s.list(prefix, {})); // the cache is warm
        const value = JSON.stringify(widget('from-child', 9));
        const script = `import { Etcd3 } from 'etcd3';
const c = new Etcd3({ hosts: ${JSON.stringify(etcd.endpoint())} });
const r = await c.put(${JSON.stringify(key('ns1', 'from-child'))}).value(${JSON.stringify(value)}).exec();
process.stdout.write(r.header.revision);
c.close();`;
        const revision = await new Promise<number>((resolve, reject) => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
          child.on('error', reject);
          child.on('close', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`child exited ${String(code)}`))));
        });
        const page = must(await s.list<Widget>(prefix, {}));
        expect(names(page)).to.deep.equal(['ns1/from-child']);
        expect(page.items[0]?.metadata.resourceVersion).to.equal(String(revision));
      });

      it('catches up through progress notifications when only other keys changed', async function () {
        const s = await cached();
        must(await s.create(key('ns1', 'a'), widget('a')));
        // Outside every cached prefix: no event reaches the cache, only etcd's revision moves.
        const elsewhere = await putRaw(`/registry/elsewhere/${prefix.length}/x`, widget('x'));
        const page = must(await s.list<Widget>(prefix, {}));
        expect(Number(page.resourceVersion)).to.be.at.least(elsewhere);
        expect(names(page)).to.deep.equal(['ns1/a']);
        expect(s.stats()[0]?.revision).to.be.at.least(elsewhere);
      });

      it('answers many concurrent consistent reads, each seeing the writes before it', async function () {
        const s = await cached();
        const writes = await Promise.all(Array.from({ length: 20 }, (_, i) => s.create(key('ns1', `c${String(i).padStart(2, '0')}`), widget(`c${String(i)}`, i))));
        const newest = Math.max(...writes.map((w) => Number(must(w).metadata.resourceVersion)));
        const pages = await Promise.all(Array.from({ length: 50 }, () => s.list<Widget>(prefix, {})));
        for (const p of pages) {
          const page = must(p);
          expect(page.items).to.have.length(20);
          expect(Number(page.resourceVersion)).to.be.at.least(newest);
        }
      });
    });

    describe('resourceVersion semantics', function () {
      it('serves resourceVersion 0 from memory as it is, even with etcd down', async function () {
        this.timeout(60_000);
        const s = await cached();
        const a = must(await s.create(key('ns1', 'a'), widget('a', 1)));
        must(await s.list(prefix, {})); // consistent: the cache has a
        await etcd.process().kill();
        try {
          const any = must(await s.list<Widget>(prefix, { minRevision: '0' }));
          expect(any.items).to.deep.equal([a]);
          expect(must(await s.get<Widget>(key('ns1', 'a'), { minRevision: '0' }))).to.deep.equal(a);
          expect(must(await s.get<Widget>(key('ns1', 'a'), { minRevision: a.metadata.resourceVersion ?? '' }))).to.deep.equal(a);
          // A consistent read needs etcd's revision.
          mustFail(await s.list(prefix, {}), 'Unavailable');
        } finally {
          await etcd.process().restart();
        }
      });

      it('answers a not-older-than revision ahead of etcd with TooLargeResourceVersion at once', async function () {
        const s = await cached();
        const a = must(await s.create(key('ns1', 'a'), widget('a')));
        const future = String(Number(a.metadata.resourceVersion) + 1000);
        const started = Date.now();
        const e = mustFail(await s.list(prefix, { minRevision: future }), 'TooLargeResourceVersion');
        expect(e.requested).to.equal(future);
        expect(Number(e.current)).to.be.at.least(Number(a.metadata.resourceVersion));
        mustFail(await s.get(key('ns1', 'a'), { minRevision: future }), 'TooLargeResourceVersion');
        expect(Date.now() - started).to.be.below(2500); // no waiting for a revision etcd does not have
        // The same through etcd alone.
        mustFail(await direct.list(prefix, { minRevision: future }), 'TooLargeResourceVersion');
      });

      it('waits for a not-older-than revision the cache has not seen yet', async function () {
        const s = await cached();
        const revision = await putRaw(key('ns1', 'fresh'), widget('fresh'));
        const page = must(await s.list<Widget>(prefix, { minRevision: String(revision) }));
        expect(names(page)).to.deep.equal(['ns1/fresh']);
        expect(Number(page.resourceVersion)).to.be.at.least(revision);
      });

      it('serves an Exact list from memory or from etcd, identical either way', async function () {
        const s = await cached();
        for (const n of ['a', 'b', 'c']) must(await s.create(key('ns1', n), widget(n)));
        const at = must(await s.currentRevision());
        must(await s.list(prefix, {})); // caught up
        // Nothing changed since: the cache can answer.
        expect(must(await s.list<Widget>(prefix, { revision: at }))).to.deep.include(must(await direct.list<Widget>(prefix, { revision: at })));
        // A later change inside the range sends it to etcd; outside the range it does not matter.
        must(await s.guaranteedUpdate<Widget, never>(key('ns1', 'b'), (c) => ({ kind: 'write', object: { ...c, spec: { count: 5 } } })));
        must(await s.create(key('ns2', 'z'), widget('z')));
        for (const p of [prefix, `${prefix}ns1/`, `${prefix}ns2/`]) {
          const fromCache = must(await s.list<Widget>(p, { revision: at }));
          const fromEtcd = must(await direct.list<Widget>(p, { revision: at }));
          expect(fromCache.items).to.deep.equal(fromEtcd.items);
          expect(fromCache.resourceVersion).to.equal(at);
        }
      });
    });

    describe('watches from the ring', function () {
      it('replays history from the ring, even after etcd compacted it behind the cache', async function () {
        const s = await cached();
        const from = must(await s.currentRevision());
        const a = must(await s.create(key('ns1', 'a'), widget('a')));
        const a2 = must(await s.guaranteedUpdate<Widget, never>(key('ns1', 'a'), (c) => ({ kind: 'write', object: { ...c, spec: { count: 2 } } }))).object;
        const gone = must(await s.delete<Widget>(key('ns1', 'a')));
        must(await s.list(prefix, {})); // the cache has all three
        // Compacted by someone else: etcd has lost that history, the ring has not.
        must(await direct.compact(must(await s.currentRevision())));
        mustFail(await direct.list(prefix, { revision: from }), 'Compacted');
        const w = watch(s, prefix, from);
        expect(await w.next()).to.deep.equal({ type: 'ADDED', object: a });
        expect(await w.next()).to.deep.equal({ type: 'MODIFIED', object: a2, prevObject: a });
        expect(await w.next()).to.deep.equal({ type: 'DELETED', object: gone });
      });

      it('answers a start older than the ring with Compacted (410)', async function () {
        const s = await cached({ size: 3, freshEventsMs: 0 });
        const from = must(await s.currentRevision());
        for (let i = 0; i < 6; i++) must(await s.create(key('ns1', `e${String(i)}`), widget(`e${String(i)}`)));
        must(await s.list(prefix, {}));
        expect(s.stats()[0]?.events).to.equal(3);
        const old = watch(s, prefix, from);
        const ev = await old.next();
        if (ev.type !== 'ERROR') expect.fail(`expected ERROR, got ${JSON.stringify(ev)}`);
        expect(ev.error).to.deep.equal({ kind: 'Compacted', resourceVersion: from, source: 'watch' });
        expect(await old.ended()).to.equal(true);
        // The newest three are still there.
        const oldest = String(s.stats()[0]?.oldestWatchRevision);
        const recent = watch(s, prefix, oldest);
        for (const n of ['e3', 'e4', 'e5']) {
          const e = await recent.next();
          expect(e.type === 'ADDED' ? e.object.metadata.name : e.type).to.equal(n);
        }
      });

      it('lets the ring shrink back to its capacity once a burst is no longer fresh, without new writes', async function () {
        const s = await cached({ size: 2, freshEventsMs: 300 });
        for (let i = 0; i < 8; i++) must(await s.create(key('ns1', `burst${String(i)}`), widget(`burst${String(i)}`)));
        must(await s.list(prefix, {}));
        expect(s.stats()[0]?.events).to.equal(8); // fresh: kept past the capacity
        const deadline = Date.now() + 5000;
        while ((s.stats()[0]?.events ?? 0) > 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(s.stats()[0]?.events).to.equal(2);
      });

      it('ends a watcher that fell behind the ring with Compacted (410)', async function () {
        const s = await cached({ size: 2, freshEventsMs: 0 });
        const from = must(await s.currentRevision());
        const w = watch(s, prefix, from);
        const first = must(await s.create(key('ns1', 'first'), widget('first')));
        expect(await w.next()).to.deep.equal({ type: 'ADDED', object: first });
        for (let i = 0; i < 5; i++) must(await s.create(key('ns1', `x${String(i)}`), widget(`x${String(i)}`)));
        must(await s.list(prefix, {}));
        const ev = await w.next();
        if (ev.type !== 'ERROR') expect.fail(`expected ERROR, got ${JSON.stringify(ev)}`);
        expect(ev.error.kind).to.equal('Compacted');
        expect(ev.error.kind === 'Compacted' ? ev.error.resourceVersion : '').to.equal(first.metadata.resourceVersion);
      });

      it('keeps a running watch through a compaction and refuses new watches from before it', async function () {
        const s = await cached();
        const from = must(await s.currentRevision());
        const w = watch(s, prefix, from);
        const a = must(await s.create(key('ns1', 'a'), widget('a')));
        const b = must(await s.create(key('ns1', 'b'), widget('b')));
        expect(await w.next()).to.deep.equal({ type: 'ADDED', object: a });
        expect(await w.next()).to.deep.equal({ type: 'ADDED', object: b });
        must(await s.compact(must(await s.currentRevision())));
        const c = must(await s.create(key('ns1', 'c'), widget('c')));
        expect(await w.next()).to.deep.equal({ type: 'ADDED', object: c });
        const late = watch(s, prefix, from);
        const ev = await late.next();
        expect(ev.type === 'ERROR' ? ev.error.kind : ev.type).to.equal('Compacted');
        // From the compaction revision on, as etcd allows.
        const ok = watch(s, prefix, b.metadata.resourceVersion ?? '');
        expect(await ok.next()).to.deep.equal({ type: 'ADDED', object: c });
      });

      it('sends PROGRESS to a caught-up watcher that asked for it', async function () {
        const s = await cached({ progressIntervalMs: 0 });
        const a = must(await s.create(key('ns1', 'a'), widget('a')));
        const w = watch(s, `${prefix}ns1/`, a.metadata.resourceVersion ?? '', true);
        const elsewhere = await putRaw(key('ns2', 'z'), widget('z'));
        must(await s.list(prefix, {})); // a consistent read moves the cache to etcd's revision
        let ev = await w.next();
        while (ev.type === 'PROGRESS' && Number(ev.resourceVersion) < elsewhere) ev = await w.next();
        expect(ev).to.deep.equal({ type: 'PROGRESS', resourceVersion: String(s.stats()[0]?.revision) });
      });

      it('fans one event out to many watchers as the same object', async function () {
        const s = await cached();
        const from = must(await s.currentRevision());
        const ws = Array.from({ length: 50 }, () => watch(s, prefix, from));
        const a = must(await s.create(key('ns1', 'a'), widget('a')));
        const got = await Promise.all(ws.map((w) => w.next()));
        for (const ev of got) expect(ev).to.deep.equal({ type: 'ADDED', object: a });
        const objects = new Set(got.map((ev) => (ev.type === 'ADDED' ? ev.object : undefined)));
        expect(objects.size).to.equal(1);
      });
    });

    describe('recovery', function () {
      it('keeps serving across an etcd restart without losing events', async function () {
        this.timeout(60_000);
        const s = await cached();
        const from = must(await s.currentRevision());
        const w = watch(s, prefix, from);
        const a = must(await s.create(key('ns1', 'a'), widget('a')));
        expect(await w.next()).to.deep.equal({ type: 'ADDED', object: a });
        await etcd.process().kill();
        await etcd.process().restart();
        const b = await eventually(() => s.create(key('ns1', 'b'), widget('b')));
        const outside = await putRaw(key('ns1', 'c'), widget('c'));
        expect(await w.next(20_000)).to.deep.equal({ type: 'ADDED', object: b });
        const c = await w.next();
        expect(c.type === 'ADDED' ? c.object.metadata.resourceVersion : c.type).to.equal(String(outside));
        const page = await eventually(() => s.list<Widget>(prefix, {}));
        expect(names(page)).to.deep.equal(['ns1/a', 'ns1/b', 'ns1/c']);
      });

      it('relists when its etcd watch fails, ending watchers with 410', async function () {
        this.timeout(30_000);
        const breaker = breakableWatches(createEtcdStorage({ endpoints: [etcd.endpoint()] }));
        const s = await cached({ inner: breaker.storage, relistBackoffMs: { initial: 10, max: 50 } });
        const from = must(await s.currentRevision());
        const w = watch(s, prefix, from);
        const a = must(await s.create(key('ns1', 'a'), widget('a')));
        expect(await w.next()).to.deep.equal({ type: 'ADDED', object: a });
        breaker.fail();
        const ev = await w.next();
        expect(ev.type === 'ERROR' ? ev.error.kind : ev.type).to.equal('Compacted');
        // Written while the cache is down or relisting: reads go to etcd meanwhile, then to the new list.
        const b = must(await s.create(key('ns1', 'b'), widget('b')));
        expect(names(must(await s.list<Widget>(prefix, {})))).to.deep.equal(['ns1/a', 'ns1/b']);
        await s.ready();
        const deadline = Date.now() + 10_000;
        while (!s.isReady() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(s.isReady()).to.equal(true);
        expect(must(await s.list<Widget>(prefix, { minRevision: '0' })).items).to.deep.equal([a, b]);
        const again = watch(s, prefix, b.metadata.resourceVersion ?? '');
        const c = must(await s.create(key('ns1', 'c'), widget('c')));
        expect(await again.next()).to.deep.equal({ type: 'ADDED', object: c });
      });
    });

    describe('lists from memory', function () {
      const seed = async (s: Storage): Promise<void> => {
        const teams = ['red', 'blue', 'green'];
        for (const ns of ['ns1', 'ns10', 'ns2']) {
          for (let i = 0; i < 17; i++) {
            const w = widget(`w${String(i).padStart(2, '0')}`, i);
            w.metadata.namespace = ns;
            w.metadata['labels'] = { team: teams[i % 3] ?? 'red', ...(i % 4 === 0 ? { tier: 'web' } : {}) };
            must(await s.create(key(ns, w.metadata.name), w));
          }
        }
      };
      const labelled = (team: string) => (o: StoredObject): boolean => (o.metadata as { labels?: Record<string, string> }).labels?.['team'] === team;

      /** Every page of a list, following continue tokens. */
      const allPages = async (s: Storage, p: string, opts: ListOptions): Promise<ListPage<Widget>[]> => {
        const pages: ListPage<Widget>[] = [];
        let token: string | undefined;
        do {
          const page = must(await s.list<Widget>(p, token === undefined ? opts : { ...opts, continue: token }));
          pages.push(page);
          token = page.continue;
        } while (token !== undefined && pages.length < 100);
        return pages;
      };
      const shape = (pages: ListPage<Widget>[]) =>
        pages.map((p) => ({ items: p.items, resourceVersion: p.resourceVersion, continue: p.continue, remainingItemCount: p.remainingItemCount }));

      it('pages exactly as etcd does: same items, tokens and remainingItemCount', async function () {
        const s = await cached();
        await seed(s);
        must(await s.list(prefix, {})); // caught up, so both read at the same revision
        const cases: { name: string; p: string; opts: ListOptions }[] = [
          { name: 'everything', p: prefix, opts: {} },
          { name: 'limit 5', p: prefix, opts: { limit: 5 } },
          { name: 'limit 17 in one namespace', p: `${prefix}ns1/`, opts: { limit: 17 } },
          { name: 'limit 16 in one namespace', p: `${prefix}ns1/`, opts: { limit: 16 } },
          { name: 'limit 4 with a label selector', p: prefix, opts: { limit: 4, predicate: labelled('blue'), predicateReadsMetadataOnly: true } },
          { name: 'limit 7 with a selector read on whole objects', p: `${prefix}ns10/`, opts: { limit: 7, predicate: (o) => (o as Widget).spec.count % 2 === 0 } },
          { name: 'a namespace with nothing in it', p: `${prefix}ns3/`, opts: { limit: 2 } },
        ];
        for (const tc of cases) {
          const fromCache = shape(await allPages(s, tc.p, tc.opts));
          const fromEtcd = shape(await allPages(direct, tc.p, tc.opts));
          expect(fromCache, tc.name).to.deep.equal(fromEtcd);
        }
      });

      it('continues a page of one path on the other', async function () {
        const s = await cached();
        await seed(s);
        const first = must(await s.list<Widget>(prefix, { limit: 10 }));
        // Changes after the first page, inside the rest of the range: the cache hands over to etcd.
        must(await s.create(key('ns2', 'w99'), widget('w99')));
        const second = must(await s.list<Widget>(prefix, { limit: 10, continue: first.continue ?? '' }));
        const second2 = must(await direct.list<Widget>(prefix, { limit: 10, continue: first.continue ?? '' }));
        expect(second).to.deep.include({ continue: second2.continue, resourceVersion: first.resourceVersion });
        expect(second.items).to.deep.equal(second2.items);
        // And a token of etcd's continues from memory when nothing in the rest of the range changed since.
        const fromEtcd = must(await direct.list<Widget>(`${prefix}ns1/`, { limit: 5 }));
        must(await s.list(prefix, {}));
        const next = must(await s.list<Widget>(`${prefix}ns1/`, { limit: 5, continue: fromEtcd.continue ?? '' }));
        expect(next.serialized, 'served from memory').to.not.equal(undefined);
        expect(next.items).to.deep.equal(must(await direct.list<Widget>(`${prefix}ns1/`, { limit: 5, continue: fromEtcd.continue ?? '' })).items);
      });

      it('hands out each item as the JSON of the item', async function () {
        const s = await cached();
        await seed(s);
        const page = must(await s.list<Widget>(`${prefix}ns2/`, { limit: 6, predicate: labelled('red'), predicateReadsMetadataOnly: true, withKeys: true }));
        expect(page.serialized?.map((x) => x.json)).to.deep.equal(page.items.map((i) => JSON.stringify(i)));
        expect(page.keys).to.deep.equal(page.items.map((i) => key('ns2', i.metadata.name)));
        expect(page.items.every((i) => (i.metadata['labels'] as Record<string, string>)['team'] === 'red')).to.equal(true);
      });

      it('filters watches of one namespace by key, never leaking ns10 into ns1', async function () {
        const s = await cached();
        const from = must(await s.currentRevision());
        const w = watch(s, `${prefix}ns1/`, from);
        must(await s.create(key('ns10', 'x'), widget('x')));
        const inside = must(await s.create(key('ns1', 'y'), widget('y')));
        expect(await w.next()).to.deep.equal({ type: 'ADDED', object: inside });
      });
    });
  });
});

/** A storage whose open watches end with an Unavailable ERROR when fail() is called. */
function breakableWatches(inner: Storage): { storage: Storage; fail(): void } {
  let breakers = new Set<() => void>();
  const storage: Storage = {
    ...inner,
    watch<T extends StoredObject>(prefix: string, from: string, signal: AbortSignal, opts?: Parameters<Storage['watch']>[3]): AsyncIterable<WatchEvent<T>> {
      return (async function* (): AsyncGenerator<WatchEvent<T>> {
        const local = new AbortController();
        const onAbort = (): void => local.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        let broken = false;
        const brk = (): void => {
          broken = true;
          local.abort();
        };
        breakers.add(brk);
        try {
          for await (const ev of inner.watch<T>(prefix, from, local.signal, opts)) yield ev;
          if (broken) yield { type: 'ERROR', error: { kind: 'Unavailable', message: 'broken by the test' } };
        } finally {
          breakers.delete(brk);
          signal.removeEventListener('abort', onAbort);
        }
      })();
    },
  };
  return {
    storage,
    fail: () => {
      const all = breakers;
      breakers = new Set();
      for (const b of all) b();
    },
  };
}
