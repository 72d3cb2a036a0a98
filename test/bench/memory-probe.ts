/**
 * `node --import tsx test/bench/memory-probe.ts [N]`: what one stored AccessRequest costs our server
 * at rest. N objects are put into a fresh etcd first; then a standalone server starts on it (its watch
 * cache lists them, so no events are in its ring), and after a consistent read and a full GC its
 * memory is read; the same for an empty etcd. For the memory section of test/bench/README.md.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { Agent, request } from 'undici';
import { repoRoot } from '../cluster/control-plane.js';
import { startEtcd } from '../support/etcd.js';
import { accessRequestBody, rssBytes } from './workloads.js';

const n = Number(process.argv[2] ?? '100000');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function measure(count: number): Promise<Record<string, number>> {
  const etcd = await startEtcd();
  const dir = mkdtempSync(join(tmpdir(), 'memory-probe.'));
  try {
    const body = accessRequestBody('connectors.alauda.io/v1alpha1');
    const template = { ...body, metadata: { ...(body['metadata'] as object), creationTimestamp: new Date().toISOString(), resourceVersion: undefined } };
    const client = new Etcd3({ hosts: etcd.endpoint });
    let jsonBytes = 0;
    for (let i = 0; i < count; i += 100) {
      const ops = [];
      for (let j = i; j < Math.min(count, i + 100); j++) {
        const value = JSON.stringify({ ...template, metadata: { ...template.metadata, name: `ar-${String(j)}`, namespace: 'mem', uid: crypto.randomUUID() } });
        jsonBytes += value.length;
        ops.push({ request_put: { key: Buffer.from(`/registry/connectors.alauda.io/accessrequests/mem/ar-${String(j)}`), value: Buffer.from(value) } });
      }
      await client.kv.txn({ success: ops });
    }
    client.close();
    const port = 20000 + Math.floor(Math.random() * 20000);
    const memoryFile = join(dir, 'memory.json');
    const server = spawn(process.execPath, [
      '--expose-gc', '--import', 'tsx', '--import', join(repoRoot, 'test/bench/gc-hook.ts'), join(repoRoot, 'apiserver/main.ts'), '--standalone',
      `--etcd-servers=${etcd.endpoint}`, `--secure-port=${String(port)}`, '--bind-address=127.0.0.1', `--cert-dir=${join(dir, 'certs')}`,
    ], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, BENCH_MEMORY_FILE: memoryFile } });
    const agent = new Agent({ connect: { rejectUnauthorized: false } });
    const url = `https://127.0.0.1:${String(port)}/apis/connectors.alauda.io/v1alpha1/accessrequests?limit=1`;
    for (;;) {
      try {
        if ((await request(url, { dispatcher: agent })).statusCode === 200) break;
      } catch { /* not yet */ }
      await sleep(200);
    }
    await sleep(2000);
    server.kill('SIGUSR2');
    while (!existsSync(memoryFile)) await sleep(100);
    await sleep(200);
    const usage = JSON.parse(readFileSync(memoryFile, 'utf8')) as Record<string, number>;
    const rss = rssBytes(server.pid ?? 0);
    server.kill('SIGTERM');
    await new Promise((r) => server.on('exit', r));
    return { count, jsonBytes: count === 0 ? 0 : jsonBytes / count, rss, heapUsed: usage['heapUsed'] ?? 0, heapTotal: usage['heapTotal'] ?? 0, external: usage['external'] ?? 0, arrayBuffers: usage['arrayBuffers'] ?? 0 };
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
