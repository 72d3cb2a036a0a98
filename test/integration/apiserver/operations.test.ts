/**
 * Metrics, health, limits, deadlines, Audit-ID and shutdown against an in-process server on a real
 * etcd. A gate in front of storage holds chosen calls open, so "a request is in flight" and "a
 * request outlives its deadline" are states the test sets up, not races it hopes to win.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { createEtcdStorage } from '../../../storage/etcd3.js';
import type { Storage } from '../../../storage/interface.js';
import { instrumentStorage } from '../../../storage/instrumented.js';
import { allowAll, standaloneAuthenticator, type Authorizer } from '../../../apiserver/auth/types.js';
import { group, version } from '../../../apiserver/apis/connectors/v1alpha1/types.js';
import { storageObserver } from '../../../apiserver/metrics/index.js';
import { createOperations, type Operations } from '../../../apiserver/operations.js';
import { createStores } from '../../../apiserver/registry/resources.js';
import { createApp } from '../../../apiserver/server.js';
import { useEtcd } from '../../support/etcd.js';
import { accessPolicy, gvPath } from '../../support/rest.js';

const aps = `${gvPath}/namespaces/ops/accesspolicies`;

interface Gate {
  /** Holds the next get/create whose key contains `match` until release(). */
  hold(match: string): { entered: Promise<void>; release: () => void };
  wrap(inner: Storage): Storage;
}

function createGate(): Gate {
  let held: { match: string; enter: () => void; wait: Promise<void> } | undefined;
  const pass = async (key: string): Promise<void> => {
    const h = held;
    if (h === undefined || !key.includes(h.match)) return;
    held = undefined;
    h.enter();
    await h.wait;
  };
  return {
    hold: (match) => {
      let enter: () => void = () => undefined;
      let release: () => void = () => undefined;
      const entered = new Promise<void>((r) => (enter = r));
      const wait = new Promise<void>((r) => (release = r));
      held = { match, enter, wait };
      return { entered, release };
    },
    wrap: (inner) => ({
      ...inner,
      get: async (key) => {
        await pass(key);
        return inner.get(key);
      },
      create: async (key, obj) => {
        await pass(key);
        return inner.create(key, obj);
      },
    }),
  };
}

interface Running {
  readonly base: string;
  readonly ops: Operations;
  readonly gate: Gate;
  readonly logLines: string[];
  readonly prefix: string;
}

/** One app per describe block: its own Operations (limits of 1), key prefix and log capture. */
function useOperationsServer(opts: { authorizer?: Authorizer } = {}): () => Running {
  const etcd = useEtcd();
  let server: Server | undefined;
  let storage: Storage | undefined;
  let running: Running | undefined;
  before(async () => {
    const logLines: string[] = [];
    const ops = createOperations({ maxRequestsInflight: 1, maxMutatingRequestsInflight: 1, verbosity: 2, writeLog: (l) => logLines.push(l) });
    const prefix = `/ops-${randomUUID()}`;
    const gate = createGate();
    const s = createEtcdStorage({ endpoints: [etcd.endpoint()] });
    storage = s;
    const app = createApp({
      group,
      version,
      stores: createStores(gate.wrap(instrumentStorage(s, storageObserver(ops.metrics.storage, prefix))), prefix),
      authenticator: standaloneAuthenticator,
      authorizer: opts.authorizer ?? allowAll,
      storageReady: async () => (await s.currentRevision()).ok,
      operations: ops,
    });
    server = createServer(app);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    running = { base: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`, ops, gate, logLines, prefix };
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    await storage?.close();
  });
  return () => {
    if (running === undefined) throw new Error('server not started');
    return running;
  };
}

/** The value of one series in Prometheus text, matched by name and a subset of its labels. */
function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const close = line.lastIndexOf('}');
    const labelText = close < 0 ? '' : line.slice(name.length + 1, close);
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}=${JSON.stringify(v)}`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

const text = async (res: Response): Promise<string> => res.text();

describe('operations: metrics, health, Audit-ID', () => {
  const srv = useOperationsServer();
  const get = (path: string, init?: RequestInit): Promise<Response> => fetch(srv().base + path, init);

  it('moves apiserver_request_total, etcd_request_duration_seconds and apiserver_storage_objects', async () => {
    const postLabels = { verb: 'POST', group, version, resource: 'accesspolicies', scope: 'resource', code: '201' };
    const before = await text(await get('/metrics'));
    const created = await get(aps, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(accessPolicy('counted')) });
    expect(created.status).to.equal(201);
    await get(`${aps}/counted`);
    const res = await get('/metrics');
    expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4; charset=utf-8/);
    const after = await res.text();
    expect((metricValue(after, 'apiserver_request_total', postLabels) ?? 0) - (metricValue(before, 'apiserver_request_total', postLabels) ?? 0)).to.equal(1);
    expect(metricValue(after, 'apiserver_request_total', { verb: 'GET', resource: 'accesspolicies', scope: 'resource', code: '200' })).to.equal(1);
    expect(metricValue(after, 'apiserver_request_duration_seconds_count', { verb: 'POST', resource: 'accesspolicies' })).to.equal(1);
    expect(metricValue(after, 'etcd_request_duration_seconds_count', { operation: 'create', group, resource: 'accesspolicies' })).to.equal(1);
    expect(metricValue(after, 'apiserver_storage_objects', { resource: `accesspolicies.${group}` })).to.equal(1);
    expect(metricValue(after, 'apiserver_resource_objects', { group, resource: 'accessrequests' })).to.equal(0);
    expect(metricValue(after, 'apiserver_current_inflight_requests', { request_kind: 'mutating' })).to.equal(0);
    for (const name of ['workqueue_depth', 'workqueue_adds_total', 'controller_runtime_reconcile_time_seconds', 'leader_election_master_status']) {
      expect(after).to.include(`# TYPE ${name} `);
    }
  });

  it('counts an open watch in apiserver_longrunning_requests and apiserver_registered_watchers', async () => {
    const ctl = new AbortController();
    const watch = await get(`${aps}?watch=true`, { signal: ctl.signal });
    expect(watch.status).to.equal(200);
    const during = await text(await get('/metrics'));
    ctl.abort();
    expect(metricValue(during, 'apiserver_longrunning_requests', { verb: 'WATCH', resource: 'accesspolicies', scope: 'namespace' })).to.equal(1);
    expect(metricValue(during, 'apiserver_registered_watchers', { group, version, kind: 'AccessPolicy' })).to.equal(1);
  });

  it('lists each readiness check with /readyz?verbose', async () => {
    const res = await get('/readyz?verbose');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('text/plain; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(await res.text()).to.equal('[+]ping ok\n[+]etcd ok\n[+]informer-sync ok\n[+]shutdown ok\nreadyz check passed\n');
  });

  it('answers ok on /readyz, /livez and /healthz without ?verbose', async () => {
    for (const p of ['/readyz', '/livez', '/healthz']) expect(await text(await get(p))).to.equal('ok');
    expect(await text(await get('/livez?verbose'))).to.equal('[+]ping ok\nlivez check passed\n');
    expect(await text(await get('/healthz?verbose'))).to.equal('[+]ping ok\n[+]etcd ok\n[+]informer-sync ok\nhealthz check passed\n');
  });

  it('serves one check at /readyz/etcd and 404 for an unknown check', async () => {
    const etcd = await get('/readyz/etcd');
    expect([etcd.status, await etcd.text()]).to.deep.equal([200, 'ok']);
    expect((await get('/readyz/nope')).status).to.equal(404);
  });

  it('fails readiness on a failing registered check, unless excluded', async () => {
    srv().ops.registerReadinessCheck('informer-sync', () => ({ ok: false, reason: 'namespaces not synced' }));
    try {
      const res = await get('/readyz');
      expect(res.status).to.equal(500);
      expect(await res.text()).to.equal('[+]ping ok\n[+]etcd ok\n[-]informer-sync failed: reason withheld\n[+]shutdown ok\nreadyz check failed\n');
      expect(await text(await get('/readyz/informer-sync'))).to.equal('internal server error: namespaces not synced\n');
      expect((await get('/readyz?exclude=informer-sync')).status).to.equal(200);
      expect((await get('/livez')).status).to.equal(200);
    } finally {
      srv().ops.registerReadinessCheck('informer-sync', () => ({ ok: true }));
    }
  });

  it('sends an Audit-Id on every response, reusing the caller\'s', async () => {
    const fresh = await get(`${aps}/missing`);
    expect(fresh.status).to.equal(404);
    expect(fresh.headers.get('audit-id')).to.match(/^[0-9a-f-]{36}$/);
    expect((await get('/readyz')).headers.get('audit-id')).to.match(/^[0-9a-f-]{36}$/);
    const reused = await get(aps, { headers: { 'Audit-ID': 'from-the-aggregator-1' } });
    expect(reused.headers.get('audit-id')).to.equal('from-the-aggregator-1');
  });

  it('writes one JSON request line per request at -v=2', async () => {
    await get(aps, { headers: { 'Audit-ID': 'log-line-check', 'User-Agent': 'ops-test' } });
    const line = srv()
      .logLines.map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l['auditID'] === 'log-line-check');
    expect(line).to.include({ level: 'info', v: 2, msg: 'HTTP', verb: 'LIST', URI: aps, user: 'system:admin', code: 200, userAgent: 'ops-test' });
    expect(line?.['latency']).to.match(/^[0-9.]+(µs|ms|s)$/);
    expect(line?.['ts']).to.be.a('number');
  });
});

describe('operations: limits and deadlines', () => {
  const srv = useOperationsServer();
  const get = (path: string, init?: RequestInit): Promise<Response> => fetch(srv().base + path, init);
  const post = (name: string): Promise<Response> =>
    get(aps, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(accessPolicy(name)) });

  it('answers 429 with Retry-After past --max-requests-inflight, but serves probes and watches', async () => {
    const { entered, release } = srv().gate.hold('/held');
    const first = get(`${aps}/held`);
    await entered;
    const refused = await get(`${aps}/other`);
    expect(refused.status).to.equal(429);
    expect(refused.headers.get('retry-after')).to.equal('1');
    expect(await refused.json()).to.deep.equal({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Too many requests, please try again later.',
      reason: 'TooManyRequests',
      details: { retryAfterSeconds: 1 },
      code: 429,
    });
    expect((await get('/readyz')).status).to.equal(200);
    const ctl = new AbortController();
    const watch = await get(`${aps}?watch=true`, { signal: ctl.signal });
    expect(watch.status).to.equal(200);
    ctl.abort();
    // A mutating request has seats of its own.
    expect((await post('while-reads-are-full')).status).to.equal(201);
    release();
    expect((await first).status).to.equal(404);
    expect((await get(`${aps}/other`)).status).to.equal(404);
  });

  it('answers 429 past --max-mutating-requests-inflight', async () => {
    const { entered, release } = srv().gate.hold('/slow-create');
    const first = post('slow-create');
    await entered;
    expect((await post('second')).status).to.equal(429);
    expect((await get(aps)).status).to.equal(200);
    release();
    expect((await first).status).to.equal(201);
    expect((await post('second')).status).to.equal(201);
  });

  it('answers 504 Timeout when a request outlives ?timeout=, and keeps serving', async () => {
    const { entered, release } = srv().gate.hold('/stuck');
    const pending = get(`${aps}/stuck?timeout=200ms`);
    await entered;
    const res = await pending;
    expect(res.status).to.equal(504);
    expect(await res.json()).to.include({ kind: 'Status', code: 504, reason: 'Timeout', message: 'Timeout: request did not complete within requested timeout - context deadline exceeded' });
    release();
    expect((await get(`${aps}/stuck`)).status).to.equal(404);
    const metrics = await text(await get('/metrics'));
    expect(metricValue(metrics, 'apiserver_request_total', { verb: 'GET', resource: 'accesspolicies', code: '504' })).to.equal(1);
  });

  it('answers 400 for a ?timeout= that is not a duration', async () => {
    expect((await get(`${aps}?timeout=soon`)).status).to.equal(400);
  });

  // Changes the server for good: keep last in this block.
  it('fails /readyz (not /livez) once shutdown starts, then refuses requests and ends watches with a bookmark', async () => {
    const watch = await get(`${aps}?watch=true&allowWatchBookmarks=true`);
    expect(watch.status).to.equal(200);
    srv().ops.lifecycle.startShutdown();
    const ready = await get('/readyz');
    expect(ready.status).to.equal(500);
    expect(await ready.text()).to.equal('[+]ping ok\n[+]etcd ok\n[+]informer-sync ok\n[-]shutdown failed: reason withheld\nreadyz check failed\n');
    expect((await get('/livez')).status).to.equal(200);
    expect((await get(aps)).status).to.equal(200);

    srv().ops.lifecycle.startDrain();
    const lines = (await watch.text()).split('\n').filter((l) => l !== '');
    const last = JSON.parse(lines[lines.length - 1] ?? '{}') as { type?: string; object?: { metadata?: { resourceVersion?: string } } };
    expect(last.type).to.equal('BOOKMARK');
    expect(last.object?.metadata?.resourceVersion).to.match(/^\d+$/);
    const refused = await get(aps);
    expect(refused.status).to.equal(429);
    expect(refused.headers.get('connection')).to.equal('close');
    expect(((await refused.json()) as { message: string }).message).to.equal('The apiserver is shutting down, please try again later.');
    expect((await get('/livez')).status).to.equal(200);
    expect(await srv().ops.lifecycle.drained(5000)).to.equal(true);
  });
});

describe('operations: /metrics is authorized', () => {
  const denyMetrics: Authorizer = {
    authorize: (_user, info) => Promise.resolve(info.kind === 'nonResource' && info.path === '/metrics' ? { allowed: false, reason: '' } : { allowed: true }),
  };
  const srv = useOperationsServer({ authorizer: denyMetrics });

  it('answers 403 on /metrics when the authorizer says no, while probes stay open', async () => {
    const res = await fetch(`${srv().base}/metrics`);
    expect(res.status).to.equal(403);
    expect(((await res.json()) as { message: string }).message).to.equal('forbidden: User "system:admin" cannot get path "/metrics"');
    expect((await fetch(`${srv().base}/readyz`)).status).to.equal(200);
  });
});
