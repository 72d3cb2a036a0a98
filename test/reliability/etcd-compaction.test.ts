/**
 * etcd compaction during watches (issue 11), against the server process over a real etcd:
 *
 * - a watch from a resourceVersion that compaction removed gets 410 Expired (HTTP 410, or an ERROR
 *   event with code 410, as kube-apiserver sends it);
 * - a client-node informer that was away while objects were created, changed and deleted and etcd
 *   compacted comes back, gets 410, relists and converges on the truth: no event lost;
 * - a watch open across a compaction delivers every event (or ends with 410, and a relist then shows
 *   every object).
 */
import { Agent } from 'node:https';
import { expect } from 'chai';
import { CustomObjectsApi, KubeConfig, makeInformer, type KubernetesObject } from '@kubernetes/client-node';
import { Etcd3 } from 'etcd3';
import { useEtcd } from '../support/etcd.js';
import { call, figures, gvPath, openWatch, policy, scaled, startStandalone, until, type ServerProcess, type Target } from './support.js';

const modes = [
  { name: 'from etcd (--watch-cache=false)', args: ['--watch-cache=false'], cache: false },
  // A small ring, so that an informer away for a while falls out of it (410) as it would from etcd's history.
  { name: 'from the watch cache', args: ['--watch-cache-sizes=accesspolicies#5'], cache: true },
] as const;

for (const mode of modes) describe(`reliability: etcd compaction during watches, served ${mode.name}`, function () {
  this.timeout(scaled(60_000, 600_000));
  const etcd = useEtcd();
  const fig = figures(`etcd compaction during watches (${mode.cache ? 'watch cache' : 'etcd'})`);
  let server: ServerProcess | undefined;
  let agent: Agent | undefined;
  let client: Etcd3 | undefined;
  let t: Target;

  before(async function () {
    this.timeout(90_000);
    server = await startStandalone({ etcdServers: [etcd.endpoint()], etcdPrefix: '/compaction', args: mode.args });
    agent = new Agent({ keepAlive: true, maxSockets: 8 });
    t = server.target(agent);
    client = new Etcd3({ hosts: [etcd.endpoint()] });
  });
  after(async () => {
    agent?.destroy();
    client?.close();
    await server?.stop();
  });

  /** Compacts etcd at its current revision; returns that revision. */
  const compact = async (): Promise<string> => {
    const c = client as Etcd3;
    const revision = (await c.kv.range({ key: Buffer.from([0]), count_only: true })).header.revision;
    await c.kv.compact({ revision, physical: true });
    fig.add('compactions');
    return revision;
  };
  const create = async (ns: string, name: string): Promise<void> => {
    const r = await call(t, 'POST', `${gvPath}/namespaces/${ns}/accesspolicies`, { body: policy(name, ns) });
    expect(r.status, r.text).to.equal(201);
    fig.add('writes');
  };
  const list = async (ns: string): Promise<{ rv: string; items: Map<string, string> }> => {
    const r = await call(t, 'GET', `${gvPath}/namespaces/${ns}/accesspolicies`);
    expect(r.status, r.text).to.equal(200);
    return {
      rv: String(r.body.metadata.resourceVersion),
      items: new Map((r.body.items as { metadata: { name: string; resourceVersion: string } }[]).map((i) => [i.metadata.name, i.metadata.resourceVersion])),
    };
  };

  it('answers a watch from a compacted resourceVersion with 410 Expired (etcd) or serves it from the cache ring', async () => {
    const ns = 'expired';
    const { rv } = await list(ns);
    for (let i = 0; i < 5; i++) await create(ns, `p-${String(i)}`);
    await compact();
    const w = openWatch(t, `${gvPath}/namespaces/${ns}/accesspolicies?watch=true&resourceVersion=${rv}`);
    const expired = (): boolean => w.status === 410 || w.lines.some((l) => l.includes('"code":410'));
    try {
      if (mode.cache) {
        // kube's cacher serves a watch from its ring even when etcd has compacted that history.
        await until('a 410 or all five events', () => (expired() || w.lines.filter((l) => l.includes('"ADDED"')).length === 5 ? true : undefined), { timeoutMs: 20_000 });
      } else {
        await until('a 410', () => (expired() ? true : undefined), { timeoutMs: 20_000 });
      }
      fig.add(expired() ? '410 answers' : 'watches served from the ring');
    } finally {
      w.close();
    }
  });

  it('lets a client-node informer that was away relist after 410 and converge: no event lost', async () => {
    const ns = 'informer';
    const rounds = scaled(3, 30);
    const perRound = scaled(10, 50);
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'local', server: `https://127.0.0.1:${String(server?.port ?? 0)}`, caData: server?.ca.toString('base64') ?? '' }],
      users: [{ name: 'admin' }],
      contexts: [{ name: 'local', cluster: 'local', user: 'admin' }],
      currentContext: 'local',
    });
    const custom = kc.makeApiClient(CustomObjectsApi);
    let lists = 0;
    const informer = makeInformer<KubernetesObject>(kc, `${gvPath}/namespaces/${ns}/accesspolicies`, () => {
      lists++;
      return custom.listNamespacedCustomObject({ group: 'connectors.alauda.io', version: 'v1alpha1', namespace: ns, plural: 'accesspolicies' }) as never;
    });
    // stop() aborts the watch, which client-node reports as an error: nothing to do.
    informer.on('error', () => undefined);
    for (let i = 0; i < perRound; i++) await create(ns, `keep-${String(i)}`);
    await informer.start();
    let seq = 0;
    try {
      for (let round = 0; round < rounds; round++) {
        const listsBefore = lists;
        // Away: the informer keeps its cache and resourceVersion, as after a lost connection.
        await informer.stop();
        // Past the cache's ring (5 events, up to 10× while fresh) so that the informer's resourceVersion expires there too.
        for (let i = 0; i < (mode.cache ? Math.max(perRound, 60) : perRound); i++) await create(ns, `n-${String(seq++)}`);
        const victim = `n-${String(seq - 1)}`;
        const del = await call(t, 'DELETE', `${gvPath}/namespaces/${ns}/accesspolicies/${victim}`);
        expect(del.status, del.text).to.equal(200);
        const changed = await call(t, 'PATCH', `${gvPath}/namespaces/${ns}/accesspolicies/keep-0`, {
          raw: JSON.stringify({ metadata: { labels: { round: String(round) } } }),
          contentType: 'application/merge-patch+json',
        });
        expect(changed.status, changed.text).to.equal(200);
        await compact();
        await informer.start();
        const truth = await list(ns);
        await until(
          'the informer to converge',
          () => {
            const have = new Map(informer.list(ns).map((o) => [o.metadata?.name ?? '', o.metadata?.resourceVersion ?? '']));
            return have.size === truth.items.size && [...truth.items].every(([n, rv]) => have.get(n) === rv) ? true : undefined;
          },
          { timeoutMs: 20_000 },
        );
        expect(lists, 'a relist after the 410').to.be.greaterThan(listsBefore);
        fig.add('informer relists after 410');
        // A live event proves the new watch is up: stopping the informer before that would not end it.
        const mark = await call(t, 'PATCH', `${gvPath}/namespaces/${ns}/accesspolicies/keep-1`, {
          raw: JSON.stringify({ metadata: { labels: { sync: String(round) } } }),
          contentType: 'application/merge-patch+json',
        });
        expect(mark.status, mark.text).to.equal(200);
        await until('the informer to see a live event', () => (informer.get('keep-1', ns)?.metadata?.labels?.['sync'] === String(round) ? true : undefined), { timeoutMs: 20_000 });
      }
    } finally {
      await informer.stop();
    }
    fig.set('events lost', 0);
  });

  it('delivers every event to a watch open across a compaction (or 410, and a relist has them all)', async () => {
    const ns = 'open';
    const n = scaled(20, 500);
    const { rv } = await list(ns);
    const w = openWatch(t, `${gvPath}/namespaces/${ns}/accesspolicies?watch=true&resourceVersion=${rv}`);
    try {
      await until('the watch to start', () => (w.status === 200 ? true : undefined));
      for (let i = 0; i < n; i++) await create(ns, `a-${String(i)}`);
      await compact();
      for (let i = 0; i < n; i++) await create(ns, `b-${String(i)}`);
      const names = [...Array.from({ length: n }, (_, i) => `a-${String(i)}`), ...Array.from({ length: n }, (_, i) => `b-${String(i)}`)];
      const seen = (): Set<string> =>
        new Set(w.lines.map((l) => JSON.parse(l) as { type: string; object: { metadata?: { name?: string } } }).filter((e) => e.type === 'ADDED').map((e) => e.object.metadata?.name ?? ''));
      await until('every event or a 410', () => (names.every((x) => seen().has(x)) || w.lines.some((l) => l.includes('"code":410')) ? true : undefined), { timeoutMs: 30_000 });
      if (w.lines.some((l) => l.includes('"code":410'))) {
        fig.add('open watches ended by 410');
        const relisted = await list(ns);
        expect(names.filter((x) => !relisted.items.has(x)), 'missing after the relist').to.deep.equal([]);
      } else {
        fig.add('open watches that kept every event');
      }
      fig.set('events delivered across compaction', seen().size);
    } finally {
      w.close();
    }
  });
});
