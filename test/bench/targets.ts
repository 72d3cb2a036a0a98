/**
 * The four systems under test, all on loopback, started by this module:
 *
 * - (a) `direct`: our server in standalone mode (self-signed cert, no auth), on an etcd of its own;
 * - (b) `aggregated`: our server registered as an APIService, reached through kube-apiserver with the
 *   admin client certificate (kube-apiserver authenticates, proxies, our server checks the front-proxy
 *   cert and asks SubjectAccessReviews); on the control plane's second etcd;
 * - (c) `crd`: kube-apiserver serving the AccessRequest schema as a CRD (group
 *   `bench.connectors.alauda.io`, so it does not collide with our APIService), on its own etcd;
 * - (d) `etcd`: the raw etcd3 client against (a)'s etcd, keys under `/bench-raw/`.
 *
 * Two more take apart what (a) and (b) differ in, for the "aggregation and cores" phase:
 * - (a′) `direct2w`: (a) again with `--workers=2` (node:cluster), on (a)'s etcd;
 * - (b′) `backend`: the (b) process reached directly, as kube-apiserver's proxy reaches it (the
 *   front-proxy client certificate and X-Remote-User/-Group headers): delegated authentication and
 *   authorization without the aggregator hop.
 *
 * The control plane is test/cluster/control-plane.ts' (without its server: (b) is started here with
 * `--enable-controllers=false`, since neither (a) nor (c) runs controllers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { parse } from 'yaml';
import { accessRequestResource } from '../../apiserver/registry/accessrequest/resource.js';
import { logTail, repoRoot, startControlPlane, type ControlPlane } from '../cluster/control-plane.js';
import { crdOf } from '../e2e/fixtures/generate-crds.js';
import { startEtcd, type EtcdProcess } from '../support/etcd.js';
import type { Conn } from './load-client.js';
import { freePort } from '../support/ports.js';

export type TargetId = 'direct' | 'aggregated' | 'crd' | 'etcd' | 'direct2w' | 'backend';
/** The four systems the issue compares; every workload runs on them. */
export const targetIds: readonly TargetId[] = ['direct', 'aggregated', 'crd', 'etcd'];
/** The "aggregation and cores" phase: (a) → (a′) is the second core, (a) → (b′) → (b) the aggregation. */
export const breakdownTargetIds: readonly TargetId[] = ['direct', 'direct2w', 'backend', 'aggregated'];
export const targetLabels: Readonly<Record<TargetId, string>> = {
  direct: '(a) ours, direct',
  aggregated: '(b) ours via kube-apiserver',
  crd: '(c) CRD in kube-apiserver',
  etcd: '(d) raw etcd3 floor',
  direct2w: '(a′) ours, direct, --workers=2',
  backend: '(b′) (b)\'s server reached directly, front-proxy auth',
};

export const benchGroup = 'bench.connectors.alauda.io';
const ourGroup = accessRequestResource.group;
const gv = accessRequestResource.version;

export interface Target {
  readonly id: TargetId;
  readonly conn: Conn;
  readonly apiVersion: string;
  /** Collection path (HTTP) or key prefix without trailing '/' (etcd) of a namespace's AccessRequests. */
  collection(ns: string): string;
  /** The same for all namespaces. */
  allCollection(): string;
  /** Where the objects are stored, for seeding: etcd endpoint and the key of (ns, name). */
  readonly store: { readonly endpoint: string; key(ns: string, name: string): string };
  /** The serving process (RSS), for HTTP targets. */
  readonly pid?: number;
  /** The processes that serve a request (CPU time): (b) is kube-apiserver and ours, (d) etcd. */
  readonly cpuPids?: readonly number[];
  /** (a) only: a full GC in the server, then its `process.memoryUsage()` (gc-hook.ts). */
  readonly memoryAfterGc?: () => Promise<NodeJS.MemoryUsage>;
  /** A request as the load client's user (setup only: templates, cache warm-up); HTTP targets. */
  readonly request?: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: string }>;
  /** Stops this target early ((a′), so that it does not ingest the large store); stop() does it otherwise. */
  readonly stop?: () => Promise<void>;
}

export interface Targets {
  readonly byId: Readonly<Record<TargetId, Target>>;
  readonly kubeApiserverPid: number;
  readonly versions: Readonly<Record<string, string>>;
  /** The kube-apiserver client of the admin user (namespaces, CRDs). */
  kube(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }>;
  /** Stops everything ((a) with SIGTERM, so that its --cpu-prof profile is written). */
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly namespaces: readonly string[];
  /** Directory for (a)'s `--cpu-prof` output; no profiling when undefined. */
  readonly cpuProfDir?: string;
  readonly log: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


type Tls = { ca?: string; cert?: string; key?: string; insecure?: boolean; headers?: Record<string, string> };

function httpClient(origin: string, tls: Tls) {
  const agent = new Agent({
    connect: {
      rejectUnauthorized: tls.insecure !== true,
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls.key === undefined ? {} : { key: tls.key }),
    },
  });
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> => {
    const res = await request(origin + path, {
      method: method as 'GET',
      dispatcher: agent,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.statusCode, body: await res.body.text() };
  };
}

async function waitFor(what: string, timeoutMs: number, ready: () => Promise<boolean>, onTimeout = (): string => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await ready()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${onTimeout()}`);
    await sleep(200);
  }
}

/** A node process of ours, logging to a file; resolves once /readyz answers 200. */
async function startServer(
  name: string,
  args: readonly string[],
  dir: string,
  readyz: () => Promise<boolean>,
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const logFile = join(dir, `${name}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
  closeSync(fd);
  let exited = false;
  child.on('exit', () => (exited = true));
  await waitFor(`${name} /readyz`, 60_000, async () => {
    if (exited) throw new Error(`${name} exited:\n${logTail(logFile)}`);
    return readyz();
  }, () => logTail(logFile));
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

const condition = (body: string, type: string): boolean => {
  const obj = JSON.parse(body) as { status?: { conditions?: { type: string; status: string }[] } };
  return obj.status?.conditions?.some((c) => c.type === type && c.status === 'True') === true;
};

async function version(cmd: string, args: readonly string[]): Promise<string> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  await new Promise((r) => child.on('close', r));
  return out.trim().split('\n')[0] ?? '';
}

export async function startTargets(opts: StartOptions): Promise<Targets> {
  const { log } = opts;
  const dir = mkdtempSync(join(tmpdir(), 'connectors-bench.'));
  const cp: ControlPlane = await startControlPlane({
    skipServer: true,
    onStep: (step, ms) => log(`  control plane: ${step} (${(ms / 1000).toFixed(1)} s)`),
  });
  const stops: (() => Promise<void>)[] = [() => cp.stop()];
  const stopAll = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const kubeOrigin = `https://127.0.0.1:${String(cp.ports.apiserver)}`;
    const admin: Tls = {
      ca: readFileSync(cp.pki.ca.crt, 'utf8'),
      cert: readFileSync(cp.pki.admin.crt, 'utf8'),
      key: readFileSync(cp.pki.admin.key, 'utf8'),
    };
    const kube = httpClient(kubeOrigin, admin);
    const must = async (what: string, p: Promise<{ status: number; body: string }>, ok = [200, 201]): Promise<string> => {
      const r = await p;
      if (!ok.includes(r.status)) throw new Error(`${what}: HTTP ${String(r.status)} ${r.body.slice(0, 500)}`);
      return r.body;
    };

    // Namespaces first: (b)'s NamespaceLifecycle admission and (c) need them.
    for (const name of opts.namespaces) {
      await must(`namespace ${name}`, kube('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
    }

    // (c) the CRD, from our own resource definition and structural schema, in another group.
    const crd = crdOf({ ...accessRequestResource, group: benchGroup });
    const crdName = `accessrequests.${benchGroup}`;
    await must('CRD', kube('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd));
    await waitFor('CRD Established', 60_000, async () =>
      condition(await must('CRD', kube('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`)), 'Established'),
    );
    await waitFor('CRD served', 60_000, async () => (await kube('GET', `/apis/${benchGroup}/${gv}/accessrequests?limit=1`)).status === 200);
    log('  CRD established');

    // (a) standalone on its own etcd.
    const etcdA: EtcdProcess = await startEtcd();
    stops.push(() => etcdA.stop());
    /** Our server's script and flags, standalone on (a)'s etcd ((a) and (a′) share it). */
    const standaloneOnA = (port: number, certs: string): string[] => [
      join(repoRoot, 'apiserver/main.ts'), '--standalone',
      `--etcd-servers=${etcdA.endpoint}`, `--secure-port=${String(port)}`, '--bind-address=127.0.0.1', `--cert-dir=${certs}`,
    ];
    const portA = await freePort();
    const certDir = join(dir, 'direct-certs');
    const profArgs = opts.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`];
    if (opts.cpuProfDir !== undefined) mkdirSync(opts.cpuProfDir, { recursive: true });
    const originA = `https://127.0.0.1:${String(portA)}`;
    const probeA = httpClient(originA, { insecure: true });
    const memoryFile = join(dir, 'direct-memory.json');
    const direct = await startServer(
      'direct',
      [...profArgs, '--expose-gc', '--import', 'tsx', '--import', join(repoRoot, 'test/bench/gc-hook.ts'), ...standaloneOnA(portA, certDir)],
      dir,
      async () => (await probeA('GET', '/readyz')).status === 200,
      { BENCH_MEMORY_FILE: memoryFile },
    );
    const memoryAfterGc = async (): Promise<NodeJS.MemoryUsage> => {
      rmSync(memoryFile, { force: true });
      direct.kill('SIGUSR2');
      for (let i = 0; i < 100 && !existsSync(memoryFile); i++) await sleep(100);
      await sleep(100); // the write is synchronous, but the file may appear before it is complete
      return JSON.parse(readFileSync(memoryFile, 'utf8')) as NodeJS.MemoryUsage;
    };
    stops.push(() => stopChild(direct));
    log(`  (a) direct on ${originA}`);

    // (a′) the same server with two worker processes, on the same etcd (so the same data).
    const portA2 = await freePort();
    const originA2 = `https://127.0.0.1:${String(portA2)}`;
    const probeA2 = httpClient(originA2, { insecure: true });
    const direct2w = await startServer(
      'direct2w',
      ['--import', 'tsx', ...standaloneOnA(portA2, join(dir, 'direct2w-certs')), '--workers=2'],
      dir,
      async () => (await probeA2('GET', '/readyz')).status === 200,
    );
    stops.push(() => stopChild(direct2w));
    log(`  (a′) direct, two workers, on ${originA2}`);

    // (b) our server for the aggregator, then its APIService.
    const portB = await freePort();
    const extCa = readFileSync(cp.pki.extCa.crt, 'utf8');
    const probeB = httpClient(`https://127.0.0.1:${String(portB)}`, { ca: extCa });
    const aggregated = await startServer(
      'aggregated',
      [...cp.serverArgs(portB), '--enable-controllers=false'],
      dir,
      async () => (await probeB('GET', '/readyz')).status === 200,
    );
    stops.push(() => stopChild(aggregated));
    const apiService = parse(readFileSync(join(repoRoot, 'manifests/apiservice.yaml'), 'utf8')) as {
      metadata: { name: string };
      spec: Record<string, unknown> & { service: Record<string, unknown> };
    };
    apiService.spec['caBundle'] = Buffer.from(extCa).toString('base64');
    apiService.spec.service['port'] = portB;
    await must('APIService', kube('POST', '/apis/apiregistration.k8s.io/v1/apiservices', apiService));
    await waitFor('APIService Available', 90_000, async () =>
      condition(await must('APIService', kube('GET', `/apis/apiregistration.k8s.io/v1/apiservices/${apiService.metadata.name}`)), 'Available'),
    );
    await waitFor('aggregated API served', 60_000, async () => (await kube('GET', `/apis/${ourGroup}/${gv}/accessrequests?limit=1`)).status === 200);
    log(`  (b) aggregated through ${kubeOrigin}`);

    const http = (origin: string, tls: Tls): Conn => ({ kind: 'http', origin, ...tls });
    // What kube-apiserver's proxy presents to (b): its front-proxy client cert and the user in headers.
    const asProxy: Tls = {
      ca: extCa,
      cert: readFileSync(cp.pki.frontProxyClient.crt, 'utf8'),
      key: readFileSync(cp.pki.frontProxyClient.key, 'utf8'),
      headers: { 'X-Remote-User': 'e2e-admin', 'X-Remote-Group': 'system:masters' },
    };
    const api = (group: string) => ({
      collection: (ns: string) => `/apis/${group}/${gv}/namespaces/${ns}/accessrequests`,
      allCollection: () => `/apis/${group}/${gv}/accessrequests`,
    });
    const stored = (endpoint: string, prefix: string, group: string) => ({
      endpoint,
      key: (ns: string, name: string) => `${prefix}/${group}/accessrequests/${ns}/${name}`,
    });
    const rawRoot = `/bench-raw/${ourGroup}/accessrequests`;
    const etcdExt = `http://127.0.0.1:${String(cp.ports.etcdExtClient)}`;
    const etcdKube = `http://127.0.0.1:${String(cp.ports.etcdKubeClient)}`;
    const kubePid = cp.pids['kube-apiserver'];
    const pidsOf = (...ps: (number | undefined)[]): readonly number[] => ps.filter((p): p is number => p !== undefined);
    const byId: Record<TargetId, Target> = {
      direct: {
        id: 'direct', conn: http(originA, { insecure: true }), apiVersion: `${ourGroup}/${gv}`, ...api(ourGroup),
        store: stored(etcdA.endpoint, '/registry', ourGroup), ...(direct.pid === undefined ? {} : { pid: direct.pid }), cpuPids: pidsOf(direct.pid),
        request: probeA,
        memoryAfterGc,
      },
      aggregated: {
        id: 'aggregated', conn: http(kubeOrigin, admin), apiVersion: `${ourGroup}/${gv}`, ...api(ourGroup),
        store: stored(etcdExt, '/registry', ourGroup), ...(aggregated.pid === undefined ? {} : { pid: aggregated.pid }),
        cpuPids: pidsOf(kubePid, aggregated.pid),
        request: kube,
      },
      crd: {
        id: 'crd', conn: http(kubeOrigin, admin), apiVersion: `${benchGroup}/${gv}`, ...api(benchGroup),
        store: stored(etcdKube, '/registry', benchGroup), ...(kubePid === undefined ? {} : { pid: kubePid }), cpuPids: pidsOf(kubePid),
        request: kube,
      },
      direct2w: {
        id: 'direct2w', conn: http(originA2, { insecure: true }), apiVersion: `${ourGroup}/${gv}`, ...api(ourGroup),
        store: stored(etcdA.endpoint, '/registry', ourGroup), ...(direct2w.pid === undefined ? {} : { pid: direct2w.pid }), cpuPids: pidsOf(direct2w.pid),
        request: probeA2,
        stop: () => stopChild(direct2w),
      },
      backend: {
        id: 'backend', conn: http(`https://127.0.0.1:${String(portB)}`, asProxy), apiVersion: `${ourGroup}/${gv}`, ...api(ourGroup),
        store: stored(etcdExt, '/registry', ourGroup), ...(aggregated.pid === undefined ? {} : { pid: aggregated.pid }),
        cpuPids: pidsOf(aggregated.pid),
      },
      etcd: {
        id: 'etcd', conn: { kind: 'etcd', endpoint: etcdA.endpoint }, apiVersion: `${ourGroup}/${gv}`,
        collection: (ns) => `${rawRoot}/${ns}`, allCollection: () => rawRoot,
        store: stored(etcdA.endpoint, '/bench-raw', ourGroup),
      },
    };
    const etcdBin = readFileSync(`/proc/${String(cp.pids['etcd-ext'])}/cmdline`, 'utf8').split('\0')[0] ?? 'etcd';
    const versions = {
      node: process.version,
      'kube-apiserver': await version(join(cp.kubeBinDir, 'kube-apiserver'), ['--version']),
      etcd: await version(etcdBin, ['--version']),
    };
    return {
      byId,
      kubeApiserverPid: cp.pids['kube-apiserver'] ?? -1,
      versions,
      kube,
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
