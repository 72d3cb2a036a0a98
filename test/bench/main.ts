/**
 * `npm run bench [-- --quick] [--cpu-prof] [--reps=N]`: starts the four targets (targets.ts) and a
 * load client process (load-client.ts), seeds the data sets, runs every workload (workloads.ts) on
 * every target in the same run, repetitions interleaved across targets, and writes
 * `test/bench/results/<date>.json`, its SVG chart and the results block of test/bench/README.md
 * (report.ts). `--report=<results.json>` only re-renders the README block and chart from a file.
 */
import { createHash } from 'node:crypto';
import { cpus, freemem, loadavg, totalmem, type } from 'node:os';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { repoRoot } from '../cluster/control-plane.js';
import { startLoadClient, type LoadClient } from './load-client.js';
import { renderReport, resultsDir, type MemoryResult, type Results } from './report.js';
import { summarizeProfile } from './profile.js';
import { breakdownTargetIds, startTargets, targetIds, type TargetId } from './targets.js';
import {
  accessRequestBody,
  breakdownWorkloads,
  fullPlan,
  largeCount,
  largeWorkloads,
  mainWorkloads,
  namespaces,
  opFor,
  quickPlan,
  seed,
  settledMemory,
  smallCount,
  storedCount,
  storedTemplate,
  summarize,
  summarizeWatch,
  type MemoryPoint,
  type Plan,
  cpuSeconds,
  machineCpu,
  type MeasuredRep,
  type RequestWorkloadId,
  type WatchWorkloadResult,
  type WorkloadResult,
} from './workloads.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    reps: { type: 'string' },
    report: { type: 'string' },
  },
});

const t0 = Date.now();
const log = (line: string): void => {
  process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
};

if (values.report !== undefined) {
  const results = JSON.parse(readFileSync(values.report, 'utf8')) as Results;
  const { readme, svg } = renderReport(results, values.report);
  log(`wrote ${readme} and ${svg}`);
  process.exit(0);
}

const base = values.quick ? quickPlan : fullPlan;
const reps = values.reps === undefined ? base.reps : Number(values.reps);
if (!Number.isInteger(reps) || reps < 3) throw new Error(`--reps must be an integer ≥ 3, got ${String(values.reps)}`);
const plan: Plan = { ...base, reps };
const profDir = values['cpu-prof'] ? mkdtempSync(join(tmpdir(), 'connectors-bench-prof.')) : undefined;
const phases: Record<string, number> = {};
const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
  const start = Date.now();
  log(`${name} …`);
  const v = await fn();
  phases[name] = Number(((Date.now() - start) / 1000).toFixed(1));
  return v;
};
const loadStart = loadavg();

log(`${plan.mode} run, ${String(plan.reps)} repetitions${profDir === undefined ? '' : `, (a) with --cpu-prof into ${profDir}`}`);
const targets = await phase('start', () =>
  startTargets({ namespaces: Object.values(namespaces), ...(profDir === undefined ? {} : { cpuProfDir: profDir }), log }),
);
const client: LoadClient = startLoadClient();
const stop = async (): Promise<void> => {
  client.close();
  await targets.stop();
};
process.once('SIGINT', () => void stop().finally(() => process.exit(130)));

try {
  const t = targets.byId;
  const http: readonly TargetId[] = ['direct', 'aggregated', 'crd'];

  // Seed data: the same object count and shape everywhere, each target in its own format.
  const templates = await phase('seed', async () => {
    // (a′) and (b′) share (a)'s and (b)'s storage, so their data too.
    const tpl: Record<TargetId, string> = { direct: '', aggregated: '', crd: '', etcd: '', direct2w: '', backend: '' };
    for (const id of http) tpl[id] = await storedTemplate(t[id]);
    tpl.etcd = tpl.direct;
    tpl.direct2w = tpl.direct;
    tpl.backend = tpl.aggregated;
    for (const id of targetIds) {
      await seed(t[id].store, tpl[id], namespaces.small, 0, smallCount);
      await seed(t[id].store, tpl[id], namespaces.large, 0, largeCount);
    }
    return tpl;
  });

  // Request workloads: each repetition runs every workload on every target, the target order rotating.
  const results = new Map<string, WorkloadResult>();
  const breakdown = new Map<string, WorkloadResult>();
  // repBase keeps the written names of a phase apart from another's on the same storage.
  const runWorkloads = async (ids: readonly RequestWorkloadId[], on: readonly TargetId[], reps: number, into = results, repBase = (_: TargetId) => 0): Promise<void> => {
    for (let rep = 1; rep <= reps; rep++) {
      const order = on.map((_, i) => on[(i + rep) % on.length] as TargetId);
      for (const id of ids) {
        for (const target of order) {
          const size = plan.sizes[id];
          const pids = t[target].cpuPids ?? [];
          const cpu0 = serverCpu(pids);
          const machine0 = machineCpu();
          const wall0 = performance.now();
          const loaded = await client.run({ conn: t[target].conn, op: opFor(id, t[target], repBase(target) + rep), ...size });
          const wall = (performance.now() - wall0) / 1000;
          const machine1 = machineCpu();
          const cpu = serverCpu(pids) - cpu0;
          const r: MeasuredRep = {
            ...loaded,
            ...(pids.length === 0 ? {} : { serverCpuMsPerRequest: Number(((cpu * 1000) / (size.warmup + size.count)).toFixed(3)), serverCores: Number((cpu / wall).toFixed(2)) }),
            machineBusy: Number(((machine1.busy - machine0.busy) / Math.max(1e-9, machine1.total - machine0.total)).toFixed(2)),
          };
          if (r.errors > 0) log(`  ${id} on ${target}: ${String(r.errors)} errors, first: ${r.firstError ?? ''}`);
          const key = `${id}/${target}`;
          const w = into.get(key) ?? { workload: id, target, size, reps: [] };
          w.reps.push(r);
          into.set(key, w);
        }
      }
      log(`  repetition ${String(rep)}/${String(reps)} done`);
    }
  };
  await phase('requests', () => runWorkloads(mainWorkloads, targetIds, plan.reps));
  // The same server with a second worker, and (b)'s server without the aggregator in front.
  await phase('aggregation and cores', () =>
    runWorkloads(breakdownWorkloads, breakdownTargetIds, plan.reps, breakdown, (target) => 100 * (breakdownTargetIds.indexOf(target) + 1)),
  );

  // Watch fan-out: per target, the watchers stay open across the repetitions.
  const watchTargetIds: readonly TargetId[] = [...targetIds, 'direct2w', 'backend'];
  const watch: WatchWorkloadResult[] = [];
  await phase('watch', async () => {
    for (const w of plan.watch) {
      for (const target of watchTargetIds) {
        const r = await client.watch({
          conn: t[target].conn,
          collection: t[target].collection(namespaces.watch),
          body: accessRequestBody(t[target].apiVersion),
          namePrefix: `fan${String(w.watchers)}-${target}-`, // (a′) and (b′) share storage with (a) and (b)
          watchers: w.watchers,
          reps: plan.reps,
          warmupEvents: w.warmupEvents,
          events: w.events,
          intervalMs: w.intervalMs,
        });
        watch.push({ watchers: w.watchers, target, events: w.events, intervalMs: w.intervalMs, connectSeconds: r.connectSeconds, reps: r.reps, median: summarizeWatch(r.reps) });
        log(`  ${String(w.watchers)} watchers on ${target}: p50 ${String(watch.at(-1)?.median.p50Ms)} ms, p99 ${String(watch.at(-1)?.median.p99Ms)} ms`);
      }
    }
  });

  // (a′) is done: it would otherwise ingest the large store beside (a) and disturb its readings.
  await t.direct2w.stop?.();

  // Memory: RSS with the data sets above, then with `largeStored` AccessRequests in all.
  const memTargets: readonly TargetId[] = ['direct', 'crd'];
  const memory = await phase('memory', async () => {
    const out: MemoryResult[] = [];
    for (const id of memTargets) {
      const pid = t[id].pid ?? -1;
      // The data sets were written minutes ago: the caches' event windows are past already.
      const before: MemoryPoint = { stored: await storedCount(t[id]), ...(await settledMemory(t[id], 2000)) };
      await seed(t[id].store, templates[id], namespaces.memory, 0, plan.largeStored - before.stored);
      const after: MemoryPoint = { stored: await storedCount(t[id]), ...(await settledMemory(t[id], plan.memorySettleMs)) };
      const added = after.stored - before.stored;
      const heap = after.heapUsedBytes === undefined || before.heapUsedBytes === undefined ? undefined : (after.heapUsedBytes - before.heapUsedBytes) / added;
      out.push({
        target: id, pid, objectJsonBytes: templates[id].length, points: [before, after],
        rssPerObjectBytes: Math.round((after.rssBytes - before.rssBytes) / added),
        ...(heap === undefined ? {} : { heapPerObjectBytes: Math.round(heap) }),
      });
      log(`  ${id}: ${String(before.stored)} → ${String(after.stored)} stored, RSS ${mib(before.rssBytes)} → ${mib(after.rssBytes)} MiB`);
    }
    // The floor gets the same large data set, for the large-store workloads.
    await seed(t.etcd.store, templates.etcd, namespaces.memory, 0, plan.largeStored - (await storedCount(t.etcd)));
    return out;
  });
  await phase('large store', () => runWorkloads(largeWorkloads, ['direct', 'crd', 'etcd'], plan.reps));

  await phase('stop', stop);
  for (const w of [...results.values(), ...breakdown.values()]) summarize(w);

  const profiles =
    profDir === undefined
      ? undefined
      : readdirSync(profDir)
          .filter((f) => f.endsWith('.cpuprofile'))
          .sort()
          .map((f) => summarizeProfile(join(profDir, f)));

  const date = new Date();
  const name = `${date.toISOString().slice(0, 16).replace(':', '')}${plan.mode === 'quick' ? '-quick' : ''}`;
  const out: Results = {
    date: date.toISOString(),
    mode: plan.mode,
    plan,
    cpuProfiled: profDir !== undefined,
    machine: {
      os: `${type()} ${process.arch}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? '',
      memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
      freeMemoryGiB: Number((freemem() / 2 ** 30).toFixed(1)),
      loadavgStart: loadStart.map((x) => Number(x.toFixed(2))),
      loadavgEnd: loadavg().map((x) => Number(x.toFixed(2))),
    },
    versions: targets.versions,
    objectJsonBytes: { ours: templates.direct.length, crd: templates.crd.length },
    workloads: [...results.values()],
    breakdown: [...breakdown.values()],
    watch,
    memory,
    phases,
    totalSeconds: Math.round((Date.now() - t0) / 1000),
    sourceHash: sourceHash(),
    ...(profiles === undefined ? {} : { profiles }),
  };
  const file = join(resultsDir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  const { readme, svg } = renderReport(out, file);
  log(`wrote ${file}, ${svg} and ${readme} in ${String(out.totalSeconds)} s`);
  if (profDir !== undefined) log(`profile kept in ${profDir}`);
} catch (e) {
  log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  await stop().catch(() => undefined);
  process.exitCode = 1;
}

/** sha256 of the server's sources (apiserver/, storage/, openapi/): tells which tree a result measured. */
function sourceHash(): string {
  const h = createHash('sha256');
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(repoRoot, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith('.ts')) h.update(`${rel}\0`).update(readFileSync(join(repoRoot, rel))).update('\0');
    }
  };
  for (const d of ['apiserver', 'storage', 'openapi']) walk(d);
  return h.digest('hex').slice(0, 16);
}

/** CPU seconds of the serving processes (each with its descendants); 0 for one that is gone. */
function serverCpu(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => {
    try {
      return sum + cpuSeconds(pid);
    } catch {
      return sum;
    }
  }, 0);
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0);
}
