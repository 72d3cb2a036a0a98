import { expect } from 'chai';
import { Etcd3 } from 'etcd3';
import { createEtcdStorage } from '../../../storage/etcd3.js';
import type { Storage, UpdateDecision } from '../../../storage/interface.js';
import { useEtcd } from '../../support/etcd.js';
import {
  eventually,
  must,
  mustFail,
  openWatch,
  runStorageSuite,
  uniquePrefix,
  widget,
} from './storage.suite.js';
import type { Widget } from './storage.suite.js';

describe('etcd3 storage', function () {
  // Frequent progress notifications for the PROGRESS test; other watches do not ask for them.
  const etcd = useEtcd({ progressNotifyInterval: '200ms' });

  runStorageSuite('etcd3', async () => {
    const storage = createEtcdStorage({ endpoints: [etcd.endpoint()] });
    return { storage, cleanup: () => storage.close() };
  });

  describe('etcd specifics', function () {
    let storage: Storage;
    let raw: Etcd3;
    let prefix: string;
    const key = (n: string): string => `${prefix}ns1/${n}`;

    beforeEach(function () {
      storage = createEtcdStorage({
        endpoints: [etcd.endpoint()],
        watchBackoffMs: { initial: 50, max: 500 },
      });
      raw = new Etcd3({ hosts: etcd.endpoint() });
      prefix = uniquePrefix();
    });

    afterEach(async function () {
      await storage.close();
      raw.close();
    });

    it('stores JSON without resourceVersion and selfLink, versioned by mod_revision', async function () {
      const input = widget('a', 2);
      input.metadata.resourceVersion = '12345';
      input.metadata['selfLink'] = '/apis/storage-suite.example.com/v1/namespaces/ns1/widgets/a';
      const created = must(await storage.create(key('a'), input));

      const stored = await raw.get(key('a')).exec();
      const kv = stored.kvs[0];
      if (kv === undefined) expect.fail('key not in etcd');
      expect(JSON.parse(kv.value.toString('utf8'))).to.deep.equal({
        metadata: { name: 'a', namespace: 'ns1', uid: 'uid-a' },
        spec: { count: 2 },
      });
      expect(kv.mod_revision).to.equal(created.metadata.resourceVersion);
    });

    it('lists 10 000 objects, more than gRPC receives by default in one message', async function () {
      this.timeout(180_000);
      const total = 10_000;
      const note = 'x'.repeat(1024);
      for (let i = 0; i < total; i += 250) {
        await Promise.all(
          Array.from({ length: Math.min(250, total - i) }, (_, j) => {
            const name = `w${String(i + j).padStart(5, '0')}`;
            const obj = widget(name);
            obj.spec.note = note;
            return storage.create(key(name), obj).then(must);
          }),
        );
      }
      // One range read of ~10 MiB: needs the raised receive limit.
      const unpaged = createEtcdStorage({ endpoints: [etcd.endpoint()], rangePageSize: total * 2 });
      try {
        const all = must(await unpaged.list<Widget>(prefix, {}));
        expect(all.items).to.have.length(total);
        expect(all.items[total - 1]?.metadata.name).to.equal('w09999');
      } finally {
        await unpaged.close();
      }
      const paged = must(await storage.list<Widget>(prefix, {}));
      expect(paged.items).to.have.length(total);
      const firstPage = must(await storage.list<Widget>(prefix, { limit: 500 }));
      expect(firstPage.items).to.have.length(500);
      expect(firstPage.remainingItemCount).to.equal(total - 500);
    });

    it('surfaces etcd progress notifications as PROGRESS events', async function () {
      const a = must(await storage.create(key('a'), widget('a')));
      // From just before a: etcd 3.5+ sends no progress to a watch whose start revision is still in
      // the future, so the watch first catches up with a.
      const w = openWatch<Widget>(storage, prefix, String(Number(a.metadata.resourceVersion) - 1), {
        progressNotify: true,
      });
      try {
        expect(await w.next()).to.deep.equal({ type: 'ADDED', object: a });
        const progress = await w.next(5_000);
        if (progress.type !== 'PROGRESS')
          expect.fail(`expected PROGRESS, got ${JSON.stringify(progress)}`);
        expect(Number(progress.resourceVersion)).to.be.at.least(Number(a.metadata.resourceVersion));
        const b = must(await storage.create(key('b'), widget('b')));
        let next = await w.next();
        while (next.type === 'PROGRESS') next = await w.next();
        expect(next).to.deep.equal({ type: 'ADDED', object: b });
      } finally {
        w.controller.abort();
      }
    });

    it('resumes an open watch across etcd crashes without losing or repeating events', async function () {
      this.timeout(120_000);
      const bump = (c: Widget): UpdateDecision<Widget, never> => ({
        kind: 'write',
        object: { ...c, spec: { count: c.spec.count + 1 } },
      });
      const a = must(await storage.create(key('a'), widget('a')));
      const w = openWatch<Widget>(storage, prefix, a.metadata.resourceVersion ?? '');
      let previous = a;
      try {
        for (let round = 0; round < 3; round++) {
          const before = must(await storage.guaranteedUpdate(key('a'), bump)).object;
          expect(await w.next()).to.deep.equal({ type: 'MODIFIED', object: before, prevObject: previous });

          await etcd.process().kill();
          mustFail(await storage.get(key('a')), 'Unavailable');
          await etcd.process().restart();

          // Written as soon as etcd is back, most likely before the watch has reconnected.
          const b = await eventually(() =>
            storage.create(key(`b${String(round)}`), widget(`b${String(round)}`)),
          );
          const after = must(await storage.guaranteedUpdate(key('a'), bump)).object;
          const bGone = must(await storage.delete<Widget>(key(`b${String(round)}`)));

          expect(await w.next(20_000)).to.deep.equal({ type: 'ADDED', object: b });
          expect(await w.next()).to.deep.equal({ type: 'MODIFIED', object: after, prevObject: before });
          previous = after;
          expect(await w.next()).to.deep.equal({ type: 'DELETED', object: bGone });
        }
      } finally {
        w.controller.abort();
      }
    });

    it('reports Unavailable while etcd is down and recovers after it returns', async function () {
      this.timeout(60_000);
      must(await storage.create(key('a'), widget('a')));
      await etcd.process().kill();
      mustFail(await storage.currentRevision(), 'Unavailable');
      mustFail(await storage.list(prefix, {}), 'Unavailable');
      mustFail(await storage.create(key('b'), widget('b')), 'Unavailable');
      await etcd.process().restart();
      const page = await eventually(() => storage.list<Widget>(prefix, {}));
      expect(page.items.map((i) => i.metadata.name)).to.deep.equal(['a']);
    });
  });
});
