/**
 * `node --import tsx test/bench/hot-path.ts [get|create|update|all] [--prof]`: one standalone server
 * of ours on its own etcd, one workload at a time from the load client, and (with --prof) the server
 * under --cpu-prof, summarised per workload. For finding what a request costs, not for the tables.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { repoRoot } from '../cluster/control-plane.js';
import { startStandalone } from '../reliability/support.js';
import { startEtcd } from '../support/etcd.js';
import { until } from '../support/poll.js';
import { freePort } from '../support/ports.js';
import { startLoadClient, type Op } from './load-client.js';
import { summarizeProfile } from './profile.js';
import { accessRequestBody, cpuSeconds, seed } from './workloads.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { prof: { type: 'boolean', default: false }, floor: { type: 'boolean', default: false }, count: { type: 'string', default: '3000' } },
});
const which = positionals[0] ?? 'all';
const count = Number(values.count);
const etcd = await startEtcd();
const dir = mkdtempSync(join(tmpdir(), 'hot-path.'));
const certDir = join(dir, 'certs');
mkdirSync(certDir);
const server = await startStandalone({
  etcdServers: [etcd.endpoint],
  etcdPrefix: '/registry',
  certDir,
  ...(values.prof ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] } : {}),
});
const origin = `https://127.0.0.1:${String(server.port)}`;
const agent = new Agent({ connect: { rejectUnauthorized: false } });
/** Whether an HTTPS server answers at origin (any status). */
const answers = async (at: string): Promise<true | undefined> => {
  try {
    await (await request(`${at}/readyz`, { dispatcher: agent })).body.text();
    return true;
  } catch {
    return undefined;
  }
};
const client = startLoadClient();
const conn = { kind: 'http' as const, origin, insecure: true };
const col = '/apis/connectors.alauda.io/v1alpha1/namespaces/hot/accessrequests';
const body = accessRequestBody('connectors.alauda.io/v1alpha1');
const run = async (name: string, op: Op, on = conn, pid = server.child.pid ?? 0): Promise<void> => {
  const cpu0 = cpuSeconds(pid);
  const r = await client.run({ conn: on, op, concurrency: 8, warmup: 200, count });
  const cpuMs = ((cpuSeconds(pid) - cpu0) * 1000) / (count + 200);
  process.stderr.write(`${name}: ${String(r.opsPerSec)}/s p50 ${String(r.p50Ms)} ms p99 ${String(r.p99Ms)} ms, CPU ${cpuMs.toFixed(3)} ms/req, errors ${String(r.errors)} ${r.firstError ?? ''}\n`);
};
// One object through the API (so it is stored as the server stores it), cloned into etcd for the rest.
const created = await request(`${origin}${col}`, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, metadata: { ...(body['metadata'] as object), name: 'template' } }) });
const template = await created.body.text();
if (created.statusCode !== 201) throw new Error(`template: ${template}`);
const store = { endpoint: etcd.endpoint, key: (ns: string, name: string) => `/registry/connectors.alauda.io/accessrequests/${ns}/${name}` };
await seed(store, template, 'hot', 0, 1000);
await new Promise((r) => setTimeout(r, 1000));
if (which === 'all' || which === 'get') await run('get', { kind: 'get', collection: col, namePrefix: 'ar-', names: 1000 });
if (values.floor) {
  // node:https answering the same bytes, with our server's certificate, as the floor of a GET.
  const floorOrigin = `https://127.0.0.1:${String(await freePort())}`;
  const floor = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/bench/https-floor.ts'), join(certDir, 'apiserver.crt'), join(certDir, 'apiserver.key'), new URL(floorOrigin).port], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, FLOOR_BODY: template },
  });
  await until('the node:https floor to answer', () => answers(floorOrigin), { timeoutMs: 30_000, intervalMs: 200 });
  await run('node:https floor', { kind: 'get', collection: col, namePrefix: 'ar-', names: 1000 }, { kind: 'http', origin: floorOrigin, insecure: true }, floor.pid ?? 0);
  floor.kill('SIGTERM');
}
if (which === 'all' || which === 'create') await run('create', { kind: 'create', collection: col, namePrefix: 'c-', body });
if (which === 'all' || which === 'update') await run('update', { kind: 'patch', collection: col, namePrefix: 'ar-', patch: { metadata: { labels: { updated: 'yes' } } } });
client.close();
await server.stop(); // SIGTERM: the --cpu-prof profile is written on exit
await etcd.stop();
if (values.prof) {
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const p = summarizeProfile(join(dir, f));
    if (p.inclusiveOurs.length === 0) continue;
    process.stdout.write(`${p.thread}: busy ${String(Math.round(p.busyMs))} of ${String(Math.round(p.totalMs))} ms\n`);
    for (const e of p.selfByArea.slice(0, 15)) process.stdout.write(`  area ${e.name} ${String(e.percent)}%\n`);
    for (const e of p.selfByFunction.slice(0, 30)) process.stdout.write(`  self ${e.name} ${String(e.percent)}%\n`);
    for (const e of p.inclusiveOurs.slice(0, 40)) process.stdout.write(`  incl ${e.name} ${String(e.percent)}%\n`);
  }
}
if (values.prof) process.stdout.write(`profile dir: ${dir}\n`);
else rmSync(dir, { recursive: true, force: true });
