/**
 * No lost update (issue 11): concurrent clients each increment a counter annotation on one object
 * with optimistic concurrency (read, PUT with the resourceVersion read, retry on 409 Conflict after a
 * short random backoff, as client-go's RetryOnConflict does). The
 * final value must be exactly clients × increments: a lost update would leave it short.
 *
 * Directly (the server process, standalone, over a real etcd): 20 × 50 in both forms. Through the aggregator
 * (kube-apiserver → APIService → our server): 5 × 10 in the short form, 20 × 50 in the soak.
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { expect } from 'chai';
import { useEtcd } from '../support/etcd.js';
import { kubectl, serverSkipped, uniqueName, useControlPlane } from '../e2e/setup.js';
import { call, figures, gvPath, policy, scaled, startStandalone, type Reply, type ServerProcess, type Target } from './support.js';

interface Counter {
  get(): Promise<Reply | { status: number; body: unknown }>;
  put(body: unknown): Promise<{ status: number; body: unknown }>;
}

/** `clients` loops of `increments` read-modify-write rounds; returns the number of 409s retried. */
async function race(counter: Counter, clients: number, increments: number): Promise<{ conflicts: number; requests: number }> {
  let conflicts = 0;
  let requests = 0;
  const client = async (): Promise<void> => {
    let streak = 0;
    for (let i = 0; i < increments; i++) {
      for (;;) {
        const got = await counter.get();
        requests++;
        expect(got.status, JSON.stringify(got.body)).to.equal(200);
        const obj = got.body as { metadata: { annotations: Record<string, string> } };
        obj.metadata.annotations['count'] = String(Number(obj.metadata.annotations['count']) + 1);
        const put = await counter.put(obj);
        requests++;
        if (put.status === 200) break;
        expect(put.status, JSON.stringify(put.body)).to.equal(409);
        conflicts++;
        // client-go's RetryOnConflict backs off too; without it 20 clients mostly collide.
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(10 * 2 ** ++streak, 500)));
      }
      streak = 0;
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return { conflicts, requests };
}

/** Records a race's figures, then checks that the counter ends at exactly clients × increments. */
function expectNoLostUpdate(
  fig: ReturnType<typeof figures>,
  r: { clients: number; increments: number; requests: number; conflicts: number; final: number },
): void {
  fig.set('clients', r.clients);
  fig.set('increments', r.clients * r.increments);
  fig.set('requests', r.requests);
  fig.set('conflicts retried', r.conflicts);
  fig.set('final', r.final);
  fig.set('lost', r.clients * r.increments - r.final);
  expect(r.final).to.equal(r.clients * r.increments);
}

describe('reliability: no lost update', function () {
  describe('directly against the server (20 clients × 50 increments)', function () {
    this.timeout(scaled(120_000, 600_000));
    const etcd = useEtcd();
    const fig = figures('no lost update (direct)');
    let server: ServerProcess | undefined;
    let agent: Agent | undefined;
    before(async function () {
      this.timeout(90_000);
      server = await startStandalone({ etcdServers: [etcd.endpoint()], etcdPrefix: '/lost-update' });
    });
    after(async () => {
      agent?.destroy();
      await server?.stop();
    });

    it('ends at exactly clients × increments', async () => {
      const clients = 20;
      const increments = 50;
      agent = new Agent({ keepAlive: true, maxSockets: clients });
      const target = server?.target(agent) as Target;
      const path = `${gvPath}/namespaces/counter/accesspolicies`;
      const created = await call(target, 'POST', path, { body: policy('counter', 'counter', { count: '0' }) });
      expect(created.status, created.text).to.equal(201);
      const counter: Counter = {
        get: () => call(target, 'GET', `${path}/counter`),
        put: (body) => call(target, 'PUT', `${path}/counter`, { body }),
      };
      const { conflicts, requests } = await race(counter, clients, increments);
      const final = await call(target, 'GET', `${path}/counter`);
      const value = Number(final.body.metadata.annotations.count);
      expectNoLostUpdate(fig, { clients, increments, requests, conflicts, final: value });
    });
  });

  describe('through the aggregator (kube-apiserver → APIService)', function () {
    this.timeout(scaled(180_000, 900_000));
    const cp = useControlPlane();
    const fig = figures('no lost update (aggregator)');
    let agent: Agent | undefined;
    before(function () {
      if (serverSkipped()) this.skip();
    });
    after(() => agent?.destroy());

    it('ends at exactly clients × increments', async () => {
      const clients = scaled(5, 20);
      const increments = scaled(10, 50);
      const c = cp();
      const ns = uniqueName('counter');
      const made = await kubectl(['create', 'namespace', ns]);
      expect(made.code, made.stderr).to.equal(0);
      agent = new Agent({ keepAlive: true, maxSockets: clients });
      const target: Target = { port: c.ports.apiserver, ca: readFileSync(c.pki.ca.crt), cert: readFileSync(c.pki.admin.crt), key: readFileSync(c.pki.admin.key), agent };
      const path = `${gvPath}/namespaces/${ns}/accesspolicies`;
      const created = await call(target, 'POST', path, { body: policy('counter', ns, { count: '0' }) });
      expect(created.status, created.text).to.equal(201);
      const counter: Counter = {
        get: () => call(target, 'GET', `${path}/counter`),
        put: (body) => call(target, 'PUT', `${path}/counter`, { body }),
      };
      const { conflicts, requests } = await race(counter, clients, increments);
      const value = Number((await call(target, 'GET', `${path}/counter`)).body.metadata.annotations.count);
      expectNoLostUpdate(fig, { clients, increments, requests, conflicts, final: value });
      await kubectl(['delete', 'namespace', ns, '--wait=false']);
    });
  });
});
