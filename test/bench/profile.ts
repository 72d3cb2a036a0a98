/**
 * Summary of a V8 `.cpuprofile` (node --cpu-prof): where the samples are, by self time per function,
 * by self time per area (our files, each npm package, node internals, GC), and by inclusive time per
 * function of ours (a sample counts once for every distinct function on its stack).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { repoRoot } from '../cluster/control-plane.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileEntry {
  readonly name: string;
  readonly ms: number;
  readonly percent: number;
}

export interface ProfileSummary {
  readonly file: string;
  /** `main thread` or `worker thread <n>` (from node's file name `CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`). */
  readonly thread: string;
  readonly totalMs: number;
  /** Non-idle time. */
  readonly busyMs: number;
  readonly selfByFunction: readonly ProfileEntry[];
  readonly selfByArea: readonly ProfileEntry[];
  readonly inclusiveOurs: readonly ProfileEntry[];
}

const repoUrl = `file://${repoRoot}`;

function where(url: string): { area: string; ours: boolean; short: string } {
  if (url === '') return { area: '(native / VM)', ours: false, short: '' };
  if (url.startsWith('node:')) return { area: 'node internals', ours: false, short: url };
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(url);
  if (nm !== null) return { area: `npm ${nm[1] ?? ''}`, ours: false, short: `${nm[1] ?? ''}/${nm[2] ?? ''}` };
  const rel = url.startsWith(repoUrl) ? url.slice(repoUrl.length) : url;
  return { area: rel.split('/').slice(0, 2).join('/'), ours: url.startsWith(repoUrl), short: rel };
}

function top(map: Map<string, number>, busy: number, n: number): ProfileEntry[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, ms: Math.round(us / 1000), percent: Number(((100 * us) / busy).toFixed(1)) }));
}

export function summarizeProfile(file: string): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode): string => {
    const w = where(n.callFrame.url);
    const fn = n.callFrame.functionName === '' ? '(anonymous)' : n.callFrame.functionName;
    // No line numbers: under tsx they are those of the transformed module, not of the source.
    return w.short === '' ? fn : `${fn} ${w.short}`;
  };
  const self = new Map<string, number>();
  const area = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    const node = byId.get(id);
    if (node === undefined || node.callFrame.functionName === '(idle)') return;
    busy += dt;
    const name = label(node);
    self.set(name, (self.get(name) ?? 0) + dt);
    const w = where(node.callFrame.url);
    const a = node.callFrame.functionName.startsWith('(') ? node.callFrame.functionName : w.area;
    area.set(a, (area.get(a) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (n === undefined || !where(n.callFrame.url).ours) continue;
      const l = label(n);
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
    }
  });
  const tid = /^CPU\.\d+\.\d+\.\d+\.(\d+)\.\d+\.cpuprofile$/.exec(basename(file))?.[1];
  return {
    file,
    thread: tid === undefined || tid === '0' ? 'main thread' : `worker thread ${tid}`,
    totalMs: Math.round(total / 1000),
    busyMs: Math.round(busy / 1000),
    selfByFunction: top(self, busy, 25),
    selfByArea: top(area, busy, 15),
    inclusiveOurs: top(inclusive, busy, 25),
  };
}

if (process.argv[1] !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: profile.ts <file.cpuprofile>');
  process.stdout.write(`${JSON.stringify(summarizeProfile(file), null, 2)}\n`);
}
