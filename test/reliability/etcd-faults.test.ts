/**
 * etcd faults under a steady write load (issue 11), against the server process (standalone, HTTPS)
 * with --request-timeout=3s:
 *
 * - frozen etcd (SIGSTOP): writes and reads answer 504 Timeout Status within the request timeout,
 *   /readyz fails, then SIGCONT and everything goes on;
 * - killed etcd (SIGKILL): 503 Status (never a hang past the request timeout, never a crash),
 *   /readyz unready, then a restart on the same data: /readyz ready again, every write that got a
 *   2xx is there, a raw watch either resumes or ends (410/closed), and a client-node informer that
 *   restarts on errors relists and converges on the truth.
 */
import { Agent } from 'node:https';
import { expect } from 'chai';
import { CustomObjectsApi, KubeConfig, makeInformer, type KubernetesObject } from '@kubernetes/client-node';
import { startEtcd, type EtcdProcess } from '../support/etcd.js';
import { call, etcdEntries, figures, gvPath, isStatus, openWatch, policy, ready, scaled, startStandalone, until, type Reply, type ServerProcess, type Target } from './support.js';

const requestTimeoutMs = 3000;
/** How late past the request timeout an answer may come (a loaded 2-core machine). */
const slackMs = 4000;

interface Writer {
  readonly acked: Map<string, string>;
  readonly failures: Map<number, number>;
  /** Failures that were not a 503/504 Status. */
  readonly unexpected: string[];
  maxFailureMs: number;
  stop(): Promise<void>;
}

/** `n` loops creating AccessPolicies until stopped; 2xx are remembered with their uid. */
function startWriters(t: Target, ns: string, n: number): Writer {
  let stopped = false;
  let seq = 0;
  const w: Writer = {
    acked: new Map(),
    failures: new Map(),
    unexpected: [],
    maxFailureMs: 0,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const name = `w-${String(seq++)}`;
      const r = await call(t, 'POST', `${gvPath}/namespaces/${ns}/accesspolicies`, { body: policy(name, ns), timeoutMs: 60_000 });
      if (r.status === 201) {
        w.acked.set(name, String(r.body.metadata.uid));
        continue;
      }
      w.failures.set(r.status, (w.failures.get(r.status) ?? 0) + 1);
      w.maxFailureMs = Math.max(w.maxFailureMs, r.ms);
      if (!((r.status === 503 || r.status === 504) && isStatus(r))) w.unexpected.push(`${String(r.status)} ${r.text.slice(0, 200)}`);
      // Pace the retries of a failing storage (a client would back off too).
      await new Promise((res) => setTimeout(res, 25));
    }
  };
  const loops = Array.from({ length: n }, loop);
  return w;
}

describe('reliability: etcd faults under a steady write load', function () {
  this.timeout(scaled(150_000, 900_000));
  const fig = figures('etcd SIGSTOP/SIGKILL + restart');
  let etcd: EtcdProcess | undefined;
  let server: ServerProcess | undefined;
  let agent: Agent | undefined;
  const prefix = '/etcd-faults';

  before(async function () {
    this.timeout(15 * 60_000);
    etcd = await startEtcd();
    server = await startStandalone({ etcdServers: [etcd.endpoint], etcdPrefix: prefix, args: [`--request-timeout=${String(requestTimeoutMs / 1000)}s`] });
    agent = new Agent({ keepAlive: true, maxSockets: 16 });
  });
  after(async function () {
    this.timeout(60_000);
    agent?.destroy();
    await server?.stop();
    await etcd?.stop();
  });

  it('answers 504/503 Status while etcd is frozen or gone, recovers, loses no acknowledged write and lets an informer converge', async () => {
    const s = server as ServerProcess;
    const e = etcd as EtcdProcess;
    const t = s.target(agent);
    const ns = 'load';
    const path = `${gvPath}/namespaces/${ns}/accesspolicies`;

    // A client-node informer that restarts after errors, as controllers do.
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'local', server: `https://127.0.0.1:${String(s.port)}`, caData: s.ca.toString('base64') }],
      users: [{ name: 'admin' }],
      contexts: [{ name: 'local', cluster: 'local', user: 'admin' }],
      currentContext: 'local',
    });
    const custom = kc.makeApiClient(CustomObjectsApi);
    let lists = 0;
    let informerErrors = 0;
    const informer = makeInformer<KubernetesObject>(kc, path, () => {
      lists++;
      return custom.listNamespacedCustomObject({ group: 'connectors.alauda.io', version: 'v1alpha1', namespace: ns, plural: 'accesspolicies' }) as never;
    });
    let informerStopped = false;
    informer.on('error', () => {
      informerErrors++;
      if (!informerStopped) setTimeout(() => void informer.start().catch(() => undefined), 200);
    });
    await informer.start();

    // A raw watch from the start.
    const listed = await call(t, 'GET', path);
    expect(listed.status).to.equal(200);
    const watch = openWatch(s.target(), `${path}?watch=true&resourceVersion=${String(listed.body.metadata.resourceVersion)}`);

    const writers = startWriters(t, ns, 4);
    const writes = scaled(100, 3000);
    try {
      await until('writes before the faults', () => (writers.acked.size >= writes ? true : undefined), { timeoutMs: 120_000 });

      // 1. Frozen etcd: requests hang in etcd, the server answers 504 at its request timeout.
      e.signal('SIGSTOP');
      fig.add('faults injected');
      const frozenRead = await call(t, 'GET', path, { timeoutMs: 60_000 });
      expect(frozenRead.status, frozenRead.text).to.equal(504);
      expect(isStatus(frozenRead)).to.equal(true);
      expect(frozenRead.ms).to.be.at.most(requestTimeoutMs + slackMs);
      await until('/readyz to fail while etcd is frozen', async () => ((await ready(t)) ? undefined : true));
      await until('504s for writes', () => ((writers.failures.get(504) ?? 0) >= 4 ? true : undefined), { timeoutMs: 60_000 });
      e.signal('SIGCONT');
      await until('/readyz after SIGCONT', async () => ((await ready(t)) ? true : undefined));
      const afterThaw = writers.acked.size;
      await until('writes after the thaw', () => (writers.acked.size >= afterThaw + 20 ? true : undefined), { timeoutMs: 60_000 });

      // 2. Killed etcd: 503 at once (or 504), /readyz unready, no crash.
      await e.kill();
      fig.add('faults injected');
      const ackedAtKill = writers.acked.size;
      const goneRead: Reply = await call(t, 'GET', path, { timeoutMs: 60_000 });
      expect([503, 504], goneRead.text).to.include(goneRead.status);
      expect(isStatus(goneRead)).to.equal(true);
      expect(goneRead.ms).to.be.at.most(requestTimeoutMs + slackMs);
      await until('/readyz to fail while etcd is gone', async () => ((await ready(t)) ? undefined : true));
      const failedBefore = (writers.failures.get(503) ?? 0) + (writers.failures.get(504) ?? 0);
      await until('failing writes while etcd is gone', () => ((writers.failures.get(503) ?? 0) + (writers.failures.get(504) ?? 0) >= failedBefore + 10 ? true : undefined), { timeoutMs: 60_000 });
      expect(s.alive(), 'the server process').to.equal(true);

      await e.restart();
      await until('/readyz after the etcd restart', async () => ((await ready(t)) ? true : undefined), { timeoutMs: 60_000 });
      const ackedAtRestart = writers.acked.size;
      await until('writes after the restart', () => (writers.acked.size >= ackedAtRestart + writes ? true : undefined), { timeoutMs: 120_000 });
      fig.set('writes acknowledged before the kill', ackedAtKill);
    } finally {
      await writers.stop();
    }
    expect(writers.unexpected, 'failures other than 503/504 Status').to.deep.equal([]);
    expect(writers.maxFailureMs, 'slowest failed write (ms)').to.be.at.most(requestTimeoutMs + slackMs);

    // Every acknowledged write is there, with its uid, through the server and in etcd itself.
    const final = await call(t, 'GET', path);
    expect(final.status).to.equal(200);
    const served = new Map<string, string>((final.body.items as { metadata: { name: string; uid: string } }[]).map((i) => [i.metadata.name, i.metadata.uid]));
    const lost = [...writers.acked].filter(([name, uid]) => served.get(name) !== uid).map(([n]) => n);
    const inEtcd = await etcdEntries([e.endpoint], `${prefix}/connectors.alauda.io/accesspolicies/${ns}/`);
    const lostInEtcd = [...writers.acked.keys()].filter((n) => !inEtcd.has(`${prefix}/connectors.alauda.io/accesspolicies/${ns}/${n}`));
    fig.set('writes acknowledged', writers.acked.size);
    fig.set('writes refused (503)', writers.failures.get(503) ?? 0);
    fig.set('writes refused (504)', writers.failures.get(504) ?? 0);
    fig.set('slowest refusal ms', writers.maxFailureMs);
    fig.set('lost', lost.length + lostInEtcd.length);
    expect(lost, 'acknowledged writes missing from the list').to.deep.equal([]);
    expect(lostInEtcd, 'acknowledged writes missing from etcd').to.deep.equal([]);

    // The informer relists (or resumes) and converges on exactly what the server lists.
    const truth = [...served.keys()].sort();
    await until(
      'the informer to converge',
      () => {
        const have = informer.list(ns).map((o) => o.metadata?.name ?? '').sort();
        return have.length === truth.length && have.every((n, i) => n === truth[i]) ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
    informerStopped = true;
    await informer.stop();
    fig.set('informer lists', lists);
    fig.set('informer errors', informerErrors);

    // The raw watch either went on (events after the restart) or ended (a client then relists).
    const lastName = [...writers.acked.keys()].at(-1) ?? '';
    await until('the raw watch to deliver the last write or end', () => (watch.ended || watch.lines.some((l) => l.includes(`"${lastName}"`)) ? true : undefined), { timeoutMs: 30_000 });
    fig.set('raw watch', watch.ended ? `ended (${watch.lines.some((l) => l.includes('"code":410')) ? '410' : 'closed'})` : 'resumed');
    watch.close();
    expect(s.alive(), 'the server process').to.equal(true);
  });
});
