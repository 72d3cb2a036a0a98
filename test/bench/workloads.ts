/**
 * What is measured and how much of it: the plans (quick and full), the request workloads as load
 * client operations per target, the seed data (written straight into each target's etcd, cloned from
 * an object the target itself stored), and RSS readings.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import type { LoadResult, Op, WatchRep } from './load-client.js';
import type { Target, TargetId } from './targets.js';

export interface Size {
  readonly warmup: number;
  readonly count: number;
  readonly concurrency: number;
}

export interface Plan {
  readonly mode: 'quick' | 'full';
  readonly reps: number;
  readonly sizes: Readonly<Record<RequestWorkloadId, Size>>;
  readonly watch: readonly { readonly watchers: number; readonly events: number; readonly warmupEvents: number; readonly intervalMs: number }[];
  /** Total stored AccessRequests at the large memory point (the small one is the list data set). */
  readonly largeStored: number;
  /**
   * Quiet time before a memory reading. A watch cache keeps the events of the last 75 s beyond its
   * capacity (ours and kube-apiserver's): the full run waits them out, so that its reading is of the
   * stored objects; the quick run's also holds the seed burst's events.
   */
  readonly memorySettleMs: number;
}

export const namespaces = {
  small: 'bench-1k',
  large: 'bench-10k',
  write: 'bench-write',
  watch: 'bench-watch',
  memory: 'bench-mem',
} as const;
export const smallCount = 1000;
export const largeCount = 10_000;
/** Seeded objects are `ar-<i>`. */
export const seedPrefix = 'ar-';

export type RequestWorkloadId =
  | 'get'
  | 'list-1k'
  | 'list-1k-paged'
  | 'list-10k'
  | 'list-10k-paged'
  | 'create'
  | 'update'
  | 'delete'
  | 'get-large'
  | 'list-large-paged';

export const workloadLabels: Readonly<Record<RequestWorkloadId, string>> = {
  get: 'get by name (1k stored in the namespace)',
  'list-1k': 'list 1k, full',
  'list-1k-paged': 'list 1k, limit=500 pages',
  'list-10k': 'list 10k, full',
  'list-10k-paged': 'list 10k, limit=500 pages',
  create: 'create',
  update: 'merge-patch update',
  delete: 'delete',
  'get-large': 'get by name, large store',
  'list-large-paged': 'list all namespaces, limit=500 pages, large store',
};

/** The workloads of the repetition loop, in order (create → update → delete share their objects). */
export const mainWorkloads: readonly RequestWorkloadId[] = [
  'get', 'list-1k', 'list-1k-paged', 'list-10k', 'list-10k-paged', 'create', 'update', 'delete',
];
/** The "aggregation and cores" phase, on (a), (a′), (b′) and (b). */
export const breakdownWorkloads: readonly RequestWorkloadId[] = ['get', 'list-10k', 'list-10k-paged', 'create', 'update', 'delete'];
/** After the large seed, on (a), (c) and (d). */
export const largeWorkloads: readonly RequestWorkloadId[] = ['get-large', 'list-large-paged'];

const s = (warmup: number, count: number, concurrency: number): Size => ({ warmup, count, concurrency });

export const quickPlan: Plan = {
  mode: 'quick',
  reps: 3,
  sizes: {
    get: s(100, 600, 8),
    'list-1k': s(1, 5, 2),
    'list-1k-paged': s(2, 8, 4),
    'list-10k': s(1, 2, 2),
    'list-10k-paged': s(2, 8, 4),
    create: s(20, 200, 8),
    update: s(20, 200, 8),
    delete: s(20, 200, 8),
    'get-large': s(30, 150, 8),
    'list-large-paged': s(2, 8, 4),
  },
  watch: [
    { watchers: 100, events: 10, warmupEvents: 2, intervalMs: 50 },
    { watchers: 1000, events: 5, warmupEvents: 2, intervalMs: 100 },
  ],
  largeStored: 30_000,
  memorySettleMs: 2000,
};

export const fullPlan: Plan = {
  mode: 'full',
  reps: 5,
  sizes: {
    get: s(300, 3000, 8),
    'list-1k': s(5, 60, 4),
    'list-1k-paged': s(10, 120, 4),
    'list-10k': s(2, 12, 2),
    'list-10k-paged': s(10, 120, 4),
    create: s(100, 1000, 8),
    update: s(100, 1000, 8),
    delete: s(100, 1000, 8),
    'get-large': s(300, 3000, 8),
    'list-large-paged': s(10, 200, 4),
  },
  watch: [
    { watchers: 100, events: 50, warmupEvents: 5, intervalMs: 50 },
    { watchers: 1000, events: 50, warmupEvents: 5, intervalMs: 100 },
  ],
  largeStored: 100_000,
  memorySettleMs: 90_000,
};

/** The AccessRequest every write sends (the README's example). */
export function accessRequestBody(apiVersion: string): Record<string, unknown> {
  return {
    apiVersion,
    kind: 'AccessRequest',
    metadata: { labels: { team: 'a', app: 'bench' } },
    spec: {
      connectorRef: { name: 'prod-harbor' },
      context: { objectRef: { kind: 'Pod', namespace: 'cicd', name: 'promote-run-abc12-push-image-pod' } },
      subject: { kind: 'ServiceAccount', name: 'builder', namespace: 'cicd' },
    },
  };
}

/** The load client operation of a workload on a target; `rep` keeps write names apart. */
export function opFor(id: RequestWorkloadId, t: Target, rep: number): Op {
  const writes = t.collection(namespaces.write);
  const namePrefix = `w${String(rep)}-`;
  switch (id) {
    case 'get':
      return { kind: 'get', collection: t.collection(namespaces.small), namePrefix: seedPrefix, names: smallCount };
    case 'list-1k':
      return { kind: 'list', collection: t.collection(namespaces.small) };
    case 'list-1k-paged':
      return { kind: 'list', collection: t.collection(namespaces.small), limit: 500 };
    case 'list-10k':
      return { kind: 'list', collection: t.collection(namespaces.large) };
    case 'list-10k-paged':
      return { kind: 'list', collection: t.collection(namespaces.large), limit: 500 };
    case 'create':
      return { kind: 'create', collection: writes, namePrefix, body: accessRequestBody(t.apiVersion) };
    case 'update':
      return { kind: 'patch', collection: writes, namePrefix, patch: { metadata: { labels: { updated: 'yes' } } } };
    case 'delete':
      return { kind: 'delete', collection: writes, namePrefix };
    case 'get-large':
      return { kind: 'get', collection: t.collection(namespaces.memory), namePrefix: seedPrefix, names: 1000 };
    case 'list-large-paged':
      return { kind: 'list', collection: t.allCollection(), limit: 500 };
  }
}

// ---------------------------------------------------------------------------------------------
// Seed data

/**
 * The stored form of one AccessRequest as the target itself wrote it (created through its API, read
 * back from its etcd): seeds are clones of it, so every target holds objects of its own format.
 */
export async function storedTemplate(t: Target): Promise<string> {
  if (t.request === undefined) throw new Error(`${t.id} has no API`);
  const body = accessRequestBody(t.apiVersion);
  const r = await t.request('POST', t.collection(namespaces.write), { ...body, metadata: { ...(body['metadata'] as object), name: 'template' } });
  if (r.status !== 201) throw new Error(`template on ${t.id}: HTTP ${String(r.status)} ${r.body.slice(0, 300)}`);
  const client = new Etcd3({ hosts: t.store.endpoint });
  try {
    const value = await client.get(t.store.key(namespaces.write, 'template')).string();
    if (value === null) throw new Error(`template on ${t.id}: not found in etcd`);
    return value;
  } finally {
    client.close();
  }
}

/** Writes `ar-<from>` … `ar-<to - 1>` into namespace `ns` of a target's etcd (batches of 100 puts). */
export async function seed(store: Target['store'], template: string, ns: string, from: number, to: number): Promise<void> {
  const base = JSON.parse(template) as { metadata: Record<string, unknown> };
  const client = new Etcd3({ hosts: store.endpoint });
  try {
    const batch = 100;
    let next = from;
    const worker = async (): Promise<void> => {
      while (next < to) {
        const start = next;
        const end = Math.min(to, start + batch);
        next = end;
        const ops = [];
        for (let i = start; i < end; i++) {
          const name = `${seedPrefix}${String(i)}`;
          const obj = { ...base, metadata: { ...base.metadata, name, namespace: ns, uid: randomUUID() } };
          ops.push({ request_put: { key: Buffer.from(store.key(ns, name)), value: Buffer.from(JSON.stringify(obj)) } });
        }
        await client.kv.txn({ success: ops });
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  } finally {
    client.close();
  }
}

/** AccessRequests stored for the target (all namespaces), counted in etcd. */
export async function storedCount(t: Target): Promise<number> {
  const client = new Etcd3({ hosts: t.store.endpoint });
  try {
    const prefix = t.store.key('', '').replace(/\/+$/, '/');
    return await client.getAll().prefix(prefix).count();
  } finally {
    client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Memory

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** RSS of a process and its descendants (a multi-process server counts whole). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024 + sumOverChildren(pid, rssBytes);
}

// ---------------------------------------------------------------------------------------------
// CPU

/** Linux's USER_HZ: /proc times are in 1/100 s on every architecture Node runs on. */
const ticksPerSecond = 100;

/**
 * CPU time (user + system) a process and its living descendants have used, in seconds. A child that
 * exited during a reading is lost from it; the servers' workers live for the whole run.
 */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
  // Fields after the command (which may hold spaces) in parentheses: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const own = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  return own + sumOverChildren(pid, cpuSeconds);
}

/** The whole machine's CPU time so far, busy and total, in seconds summed over every core. */
export function machineCpu(): { readonly busy: number; readonly total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal (guest time is inside user already)
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: (total - idle) / ticksPerSecond, total: total / ticksPerSecond };
}

function sumOverChildren(pid: number, of: (child: number) => number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${String(pid)}/task`)) {
    let children = '';
    try {
      children = readFileSync(`/proc/${String(pid)}/task/${tid}/children`, 'utf8');
    } catch {
      continue; // thread gone
    }
    for (const c of children.split(' ').filter((x) => x !== '')) {
      try {
        total += of(Number(c));
      } catch {
        // child gone
      }
    }
  }
  return total;
}

export interface MemoryPoint {
  readonly stored: number;
  readonly rssBytes: number;
  /** (a): V8 heap in use right after a full GC (gc-hook.ts). */
  readonly heapUsedBytes?: number;
  /** (a): memory outside the V8 heap held by JS objects (Buffers and ArrayBuffers), after the GC. */
  readonly externalBytes?: number;
  /** (a): the V8 heap's committed size (used + free space V8 keeps), after the GC. */
  readonly heapTotalBytes?: number;
}

/**
 * The server's memory once it has seen every stored object: a consistent `limit=1` list (which waits
 * for a watch cache to catch up with etcd), settleMs of quiet, a full GC where the target allows it, then
 * the median of three RSS readings.
 */
export async function settledMemory(t: Target, settleMs: number): Promise<Omit<MemoryPoint, 'stored'>> {
  if (t.pid === undefined || t.request === undefined) throw new Error(`${t.id} has no process`);
  const r = await t.request('GET', `${t.allCollection()}?limit=1`);
  if (r.status !== 200) throw new Error(`settle ${t.id}: HTTP ${String(r.status)}`);
  await sleep(settleMs);
  const usage = await t.memoryAfterGc?.();
  await sleep(500);
  const readings: number[] = [];
  for (let i = 0; i < 3; i++) {
    readings.push(rssBytes(t.pid));
    await sleep(300);
  }
  return {
    rssBytes: median(readings),
    ...(usage === undefined ? {} : { heapUsedBytes: usage.heapUsed, externalBytes: usage.external, heapTotalBytes: usage.heapTotal }),
  };
}

// ---------------------------------------------------------------------------------------------
// Results of one workload on one target

export function median(xs: readonly number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] ?? Number.NaN) : ((v[mid - 1] ?? 0) + (v[mid] ?? 0)) / 2;
}

/** One repetition: the load client's figures and what the machine did meanwhile (warm-up included). */
export interface MeasuredRep extends LoadResult {
  /** CPU time of the serving processes ((b): kube-apiserver and ours) per request, warm-up requests counted. */
  readonly serverCpuMsPerRequest?: number;
  /** Cores the serving processes kept busy on average (CPU seconds ÷ wall seconds). */
  readonly serverCores?: number;
  /** Share of the machine's CPU time (all cores) that was busy: near 1 means every core was taken. */
  readonly machineBusy?: number;
}

export interface WorkloadResult {
  readonly workload: RequestWorkloadId;
  readonly target: TargetId;
  readonly size: Size;
  readonly reps: MeasuredRep[];
  median?: {
    readonly opsPerSec: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly errors: number;
    readonly meanBytes: number;
    readonly serverCpuMsPerRequest?: number;
    readonly serverCores?: number;
    readonly machineBusy?: number;
  };
}

export function summarize(w: WorkloadResult): void {
  w.median = {
    opsPerSec: Number(median(w.reps.map((r) => r.opsPerSec)).toFixed(1)),
    p50Ms: Number(median(w.reps.map((r) => r.p50Ms)).toFixed(2)),
    p99Ms: Number(median(w.reps.map((r) => r.p99Ms)).toFixed(2)),
    errors: w.reps.reduce((n, r) => n + r.errors, 0),
    meanBytes: Math.round(median(w.reps.map((r) => r.meanBytes))),
    ...medianOf('serverCpuMsPerRequest', w.reps, 3),
    ...medianOf('serverCores', w.reps, 2),
    ...medianOf('machineBusy', w.reps, 2),
  };
}

function medianOf<K extends 'serverCpuMsPerRequest' | 'serverCores' | 'machineBusy'>(k: K, reps: readonly MeasuredRep[], digits: number): Partial<Record<K, number>> {
  const xs = reps.map((r) => r[k]).filter((x): x is number => x !== undefined);
  return xs.length === 0 ? {} : ({ [k]: Number(median(xs).toFixed(digits)) } as Partial<Record<K, number>>);
}

export interface WatchWorkloadResult {
  readonly watchers: number;
  readonly target: TargetId;
  readonly events: number;
  readonly intervalMs: number;
  readonly connectSeconds: number;
  readonly reps: readonly WatchRep[];
  readonly median: {
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly missed: number;
    readonly errorEvents: number;
    readonly streamsEnded: number;
    readonly createP50Ms: number;
  };
}

export function summarizeWatch(reps: readonly WatchRep[]): WatchWorkloadResult['median'] {
  return {
    p50Ms: Number(median(reps.map((r) => r.p50Ms)).toFixed(2)),
    p99Ms: Number(median(reps.map((r) => r.p99Ms)).toFixed(2)),
    missed: reps.reduce((n, r) => n + r.missed, 0),
    errorEvents: reps.reduce((n, r) => n + r.errorEvents, 0),
    streamsEnded: reps.reduce((n, r) => n + r.streamsEnded, 0),
    createP50Ms: Number(median(reps.map((r) => r.createP50Ms)).toFixed(2)),
  };
}
