/**
 * `node --import tsx test/bench/memory-probe.ts [N]`: what one stored AccessRequest costs our server
 * at rest. N objects are put into a fresh etcd first; then a standalone server starts on it (its watch
 * cache lists them, so no events are in its ring), and after a consistent read and a full GC its
 * memory is read; the same for an empty etcd. For the memory section of test/bench/README.md.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { repoRoot } from '../cluster/control-plane.js';
import { startStandalone } from '../reliability/support.js';
import { startEtcd } from '../support/etcd.js';
import { accessRequestBody, rssBytes, seed } from './workloads.js';

const n = Number(process.argv[2] ?? '100000');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function measure(count: number): Promise<Record<string, number>> {
  const etcd = await startEtcd();
  const dir = mkdtempSync(join(tmpdir(), 'memory-probe.'));
  try {
    const body = accessRequestBody('connectors.alauda.io/v1alpha1');
    const template = { ...body, metadata: { ...(body['metadata'] as object), creationTimestamp: new Date().toISOString(), resourceVersion: undefined } };
    const stored = JSON.stringify(template);
    const store = { endpoint: etcd.endpoint, key: (ns: string, name: string) => `/registry/connectors.alauda.io/accessrequests/${ns}/${name}` };
    await seed(store, stored, 'mem', 0, count);
    const memoryFile = join(dir, 'memory.json');
    const server = await startStandalone({
      etcdServers: [etcd.endpoint],
      etcdPrefix: '/registry',
      nodeArgs: ['--expose-gc', '--import', join(repoRoot, 'test/bench/gc-hook.ts')],
      env: { BENCH_MEMORY_FILE: memoryFile },
    });
    // A consistent read: answered once the watch cache holds every stored object.
    const agent = new Agent({ connect: { rejectUnauthorized: false } });
    const listed = await request(`https://127.0.0.1:${String(server.port)}/apis/connectors.alauda.io/v1alpha1/accessrequests?limit=1`, { dispatcher: agent });
    await listed.body.text();
    if (listed.statusCode !== 200) throw new Error(`list: HTTP ${String(listed.statusCode)}`);
    await sleep(2000);
    server.child.kill('SIGUSR2');
    while (!existsSync(memoryFile)) await sleep(100);
    await sleep(200);
    const usage = JSON.parse(readFileSync(memoryFile, 'utf8')) as Record<string, number>;
    const rss = rssBytes(server.child.pid ?? 0);
    await server.stop();
    // One seeded object's JSON (seed sets the name, namespace and a uid): the size the ratio is to.
    const jsonBytes = JSON.stringify({ ...template, metadata: { ...template.metadata, name: `ar-${String(count - 1)}`, namespace: 'mem', uid: crypto.randomUUID() } }).length;
    return { count, jsonBytes: count === 0 ? 0 : jsonBytes, rss, heapUsed: usage['heapUsed'] ?? 0, heapTotal: usage['heapTotal'] ?? 0, external: usage['external'] ?? 0, arrayBuffers: usage['arrayBuffers'] ?? 0 };
  } finally {
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const empty = await measure(0);
const full = await measure(n);
const per = (k: string): string => ((((full[k] ?? 0) - (empty[k] ?? 0)) / n)).toFixed(0);
process.stdout.write(`${JSON.stringify({ empty, full })}\n`);
process.stdout.write(`per object (JSON ${(full['jsonBytes'] ?? 0).toFixed(0)} B): rss ${per('rss')} B, heapUsed ${per('heapUsed')} B, heapTotal ${per('heapTotal')} B, external ${per('external')} B\n`);
