/**
 * A 3-member etcd cluster losing one member (issue 11): the server is given all three client URLs;
 * after a follower is SIGKILLed, reads and writes go on with no client error (the two others keep a
 * quorum), and when the member comes back it catches up. Then the leader is SIGKILLed: once the two
 * others have elected a new one, reads and writes go on with no client error, and a consistent list
 * (served by the watch cache, whose etcd watch had to move to a live member) holds every write
 * acknowledged before and after. The load pauses around each kill itself: a request in flight to the
 * member at the moment it dies, or sent during the election, can fail, as with any etcd client (kube's
 * retries only requests that never left); the claim is that nothing fails afterwards.
 */
import { Agent } from 'node:https';
import { expect } from 'chai';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd.js';
import { call, etcdEntries, figures, gvPath, policy, ready, scaled, startStandalone, until, type ServerProcess } from './support.js';

interface MemberStatus {
  readonly header: { readonly member_id: string };
  readonly leader: string;
}

async function memberStatus(endpoint: string): Promise<MemberStatus | undefined> {
  try {
    const r = await fetch(`${endpoint}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(2000) });
    return r.ok ? ((await r.json()) as MemberStatus) : undefined;
  } catch {
    return undefined;
  }
}

describe('reliability: a 3-member etcd cluster losing one member', function () {
  this.timeout(scaled(90_000, 900_000));
  const fig = figures('3-member etcd cluster, one member lost');
  let cluster: EtcdCluster | undefined;
  let server: ServerProcess | undefined;
  let agent: Agent | undefined;
  const prefix = '/etcd-cluster';

  before(async function () {
    this.timeout(15 * 60_000);
    cluster = await startEtcdCluster(3);
    server = await startStandalone({ etcdServers: cluster.endpoints, etcdPrefix: prefix, args: ['--request-timeout=5s'] });
    agent = new Agent({ keepAlive: true, maxSockets: 8 });
  });
  after(async function () {
    this.timeout(60_000);
    agent?.destroy();
    await server?.stop();
    await cluster?.stop();
  });

  const ns = 'quorum';
  const path = `${gvPath}/namespaces/${ns}/accesspolicies`;
  const perPhase = scaled(200, 5000);
  const clients = 4;
  const errors: string[] = [];
  const acked = new Set<string>();
  let seq = 0;
  let requests = 0;
  /** Writes up to `n` in all, each followed by a read of the object and every 20th by a list, across `clients` loops. */
  const load = async (n: number): Promise<void> => {
    const t = (server as ServerProcess).target(agent);
    const loop = async (): Promise<void> => {
      while (seq < n) {
        const name = `q-${String(seq++)}`;
        const created = await call(t, 'POST', path, { body: policy(name, ns) });
        const got = await call(t, 'GET', `${path}/${name}`);
        requests += 2;
        if (created.status !== 201) errors.push(`create ${name}: ${String(created.status)} ${created.text.slice(0, 200)}`);
        else acked.add(name);
        if (got.status !== 200) errors.push(`get ${name}: ${String(got.status)} ${got.text.slice(0, 200)}`);
        if (seq % 20 === 0) {
          const listed = await call(t, 'GET', path);
          requests++;
          if (listed.status !== 200) errors.push(`list: ${String(listed.status)} ${listed.text.slice(0, 200)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: clients }, loop));
  };

  it('serves reads and writes without a client error after a follower dies, and the member catches up', async () => {
    const c = cluster as EtcdCluster;
    const t = (server as ServerProcess).target(agent);
    await load(perPhase);
    expect(errors.slice(0, 5).join('\n'), 'errors with all three members').to.equal('');

    const statuses = await Promise.all(c.endpoints.map(memberStatus));
    const leader = statuses.find((s) => s !== undefined)?.leader;
    const victim = statuses.findIndex((s) => s !== undefined && s.header.member_id !== leader);
    expect(victim, 'a follower').to.be.at.least(0);
    await c.members[victim]?.kill();
    fig.add('members killed');

    await load(2 * perPhase);
    expect(errors.slice(0, 5).join('\n'), 'errors after a follower died').to.equal('');
    expect(await ready(t), '/readyz with two of three members').to.equal(true);

    await c.members[victim]?.restart();
    fig.add('members restarted');
    const victimEndpoint = c.endpoints[victim] ?? '';
    const keyPrefix = `${prefix}/connectors.alauda.io/accesspolicies/${ns}/`;
    await until('the restarted member to hold every acknowledged write', async () => {
      const there = await etcdEntries([victimEndpoint], keyPrefix).catch(() => new Map<string, string>());
      return [...acked].every((n) => there.has(`${keyPrefix}${n}`)) ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    await load(3 * perPhase);
    fig.set('requests', requests);
    fig.set('writes acknowledged', acked.size);
    fig.set('client errors', errors.length);
    expect(errors.slice(0, 5).join('\n'), 'errors after the member came back').to.equal('');
  });

  it('serves reads and writes without a client error once a new leader is elected after the leader dies', async () => {
    const c = cluster as EtcdCluster;
    const t = (server as ServerProcess).target(agent);
    const statuses = await Promise.all(c.endpoints.map(memberStatus));
    const leader = statuses.find((s) => s !== undefined)?.leader;
    const victim = statuses.findIndex((s) => s !== undefined && s.header.member_id === leader);
    expect(victim, 'the leader').to.be.at.least(0);
    await c.members[victim]?.kill();
    fig.add('leaders killed');
    const survivors = c.endpoints.filter((_, i) => i !== victim);
    const started = Date.now();
    await until('the two others to elect a new leader', async () => {
      const s = await Promise.all(survivors.map(memberStatus));
      const next = s[0]?.leader;
      return next !== undefined && next !== '0' && next !== leader && s.every((x) => x?.leader === next) ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    fig.set('new leader elected after ms', Date.now() - started);

    await load(4 * perPhase);
    expect(errors.slice(0, 5).join('\n'), 'errors after the leader died').to.equal('');
    expect(await ready(t), '/readyz after the leader died').to.equal(true);
    // A consistent list is served by the watch cache once it has caught up: every write acknowledged,
    // before the kill and after it, is there.
    const listed = await call(t, 'GET', path);
    expect(listed.status).to.equal(200);
    const names = new Set((JSON.parse(listed.text) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name));
    const missing = [...acked].filter((n) => !names.has(n));
    expect(missing.slice(0, 5), 'acknowledged writes missing from a consistent list').to.deep.equal([]);

    await c.members[victim]?.restart();
    fig.set('requests', requests);
    fig.set('writes acknowledged', acked.size);
    fig.set('client errors', errors.length);
  });
});
