/**
 * The server SIGKILLed in the middle of writes (issue 11): every key in etcd holds a whole object
 * (an etcd transaction either happened or not: no partial object), every write that got a 2xx is
 * there, and a server restarted on the same port and etcd serves exactly the data etcd holds.
 *
 * Two replicas and the Lease: test/e2e/replicas.test.ts kills the leader mid-approval and checks that
 * the survivor completes the flow once, with one grant.
 */
import { Agent } from 'node:https';
import { expect } from 'chai';
import { useEtcd } from '../support/etcd.js';
import { call, etcdEntries, figures, gvPath, scaled, startStandalone, until, type ServerProcess } from './support.js';

describe('reliability: the server SIGKILLed mid-write', function () {
  this.timeout(scaled(120_000, 900_000));
  const etcd = useEtcd();
  const fig = figures('server SIGKILL mid-write + restart');
  const prefix = '/server-faults';
  const servers: ServerProcess[] = [];
  after(async function () {
    this.timeout(60_000);
    for (const s of servers) await s.stop();
  });

  it('leaves no partial object, loses no acknowledged write, and a restarted server serves the same data', async () => {
    const kills = scaled(2, 10);
    const ns = 'kill';
    const path = `${gvPath}/namespaces/${ns}/accessrequests`;
    const acked = new Map<string, string>();
    let port: number | undefined;
    let certDir: string | undefined;
    let inFlightAtKill = 0;
    let seq = 0;
    for (let k = 0; k < kills; k++) {
      const s = await startStandalone({ etcdServers: [etcd.endpoint()], etcdPrefix: prefix, ...(port === undefined ? {} : { port }), ...(certDir === undefined ? {} : { certDir }) });
      servers.push(s);
      port = s.port;
      certDir = s.logFile.slice(0, s.logFile.lastIndexOf('/'));
      const agent = new Agent({ keepAlive: true, maxSockets: 8 });
      const t = s.target(agent);
      let stopped = false;
      let inFlight = 0;
      // Creates with a sizeable body and updates of earlier objects, 8 at a time.
      const loop = async (): Promise<void> => {
        while (!stopped) {
          const n = seq++;
          const name = `r-${String(n)}`;
          inFlight++;
          const r = await call(t, 'POST', path, { body: request(name, ns, n), timeoutMs: 10_000 });
          inFlight--;
          if (r.status === 201) acked.set(name, String(r.body.metadata.uid));
          const earlier = `r-${String(Math.floor(n / 2))}`;
          if (!stopped && acked.has(earlier)) {
            inFlight++;
            const p = await call(t, 'PATCH', `${path}/${earlier}`, { raw: JSON.stringify({ metadata: { annotations: { touched: String(n) } } }), contentType: 'application/merge-patch+json', timeoutMs: 10_000 });
            inFlight--;
            if (p.status !== 200 && p.status !== 0) throw new Error(`patch: ${String(p.status)} ${p.text}`);
          }
        }
      };
      const loops = Array.from({ length: 8 }, loop);
      const target = acked.size + scaled(80, 1000);
      await until('writes before the kill', () => (acked.size >= target ? true : undefined), { timeoutMs: 120_000 });
      inFlightAtKill += inFlight;
      await s.kill();
      fig.add('kills');
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
    }

    // etcd holds whole objects only, and every acknowledged one.
    const keyPrefix = `${prefix}/connectors.alauda.io/accessrequests/${ns}/`;
    const entries = await etcdEntries([etcd.endpoint()], keyPrefix);
    const partial: string[] = [];
    for (const [key, value] of entries) {
      try {
        const o = JSON.parse(value) as { kind?: string; metadata?: { name?: string; uid?: string }; spec?: { context?: { objectRef?: { name?: string } } } };
        const name = key.slice(keyPrefix.length);
        if (o.kind !== 'AccessRequest' || o.metadata?.name !== name || typeof o.metadata.uid !== 'string' || o.spec?.context?.objectRef?.name !== `pod-${name}`) partial.push(key);
      } catch {
        partial.push(key);
      }
    }
    const lost = [...acked].filter(([name, uid]) => {
      const v = entries.get(`${keyPrefix}${name}`);
      return v === undefined || (JSON.parse(v) as { metadata: { uid: string } }).metadata.uid !== uid;
    });
    fig.set('writes acknowledged', acked.size);
    fig.set('requests in flight at the kills', inFlightAtKill);
    fig.set('objects in etcd', entries.size);
    fig.set('partial objects', partial.length);
    fig.set('lost', lost.length);
    expect(partial, 'partial objects').to.deep.equal([]);
    expect(lost.map(([n]) => n), 'acknowledged writes missing').to.deep.equal([]);

    // A restarted server serves exactly what etcd holds.
    const s = await startStandalone({ etcdServers: [etcd.endpoint()], etcdPrefix: prefix, ...(port === undefined ? {} : { port }), ...(certDir === undefined ? {} : { certDir }) });
    servers.push(s);
    const listed = await call(s.target(), 'GET', path);
    expect(listed.status).to.equal(200);
    const served = new Map((listed.body.items as { metadata: { name: string; uid: string } }[]).map((i) => [i.metadata.name, i.metadata.uid]));
    const stored = new Map([...entries].map(([k, v]) => [k.slice(keyPrefix.length), (JSON.parse(v) as { metadata: { uid: string } }).metadata.uid]));
    expect([...served].sort(), 'served = stored').to.deep.equal([...stored].sort());
  });
});

function request(name: string, ns: string, n: number): Record<string, unknown> {
  return {
    apiVersion: 'connectors.alauda.io/v1alpha1',
    kind: 'AccessRequest',
    metadata: { name, namespace: ns, annotations: { padding: 'x'.repeat(2000 + (n % 7) * 1000) } },
    spec: {
      connectorRef: { name: 'prod-harbor' },
      context: { objectRef: { kind: 'Pod', namespace: 'cicd', name: `pod-${name}` } },
      subject: { kind: 'ServiceAccount', name: 'builder', namespace: 'cicd' },
    },
  };
}
