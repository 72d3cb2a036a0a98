/**
 * --workers=N (issue 10, both cores): N server processes share one port; the API behaves as one
 * server (a write through one connection is read through others) and SIGTERM stops them all.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useEtcd } from '../../support/etcd.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

function call(port: number, ca: Buffer, method: string, path: string, body?: unknown): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    // agent: false — a new connection each time, so the primary hands requests to different workers.
    const req = request({ host: '127.0.0.1', port, method, path, ca, servername: 'localhost', agent: false, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (s: string) => (text += s));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('server with --workers=2', function () {
  this.timeout(60_000);
  const etcd = useEtcd();
  let certDir = '';
  before(() => {
    certDir = mkdtempSync(join(tmpdir(), 'connectors-workers-'));
  });
  after(() => rmSync(certDir, { recursive: true, force: true }));

  it('serves from two processes on one port and stops both on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'apiserver/main.ts'), '--standalone', '--workers=2', `--etcd-servers=${etcd.endpoint()}`, '--secure-port=0', `--cert-dir=${certDir}`, '--etcd-prefix=/workers-test'],
      { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const serving = async (): Promise<{ port: number; pids: Set<number> }> => {
        for (;;) {
          const lines = [...stderr.matchAll(/"msg":"serving","address":"[^"]*:(\d+)".*?"pid":(\d+)/g)];
          if (lines.length >= 2) return { port: Number(lines[0]?.[1]), pids: new Set(lines.map((m) => Number(m[2]))) };
          if (child.exitCode !== null) throw new Error(`server exited: ${stderr}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      const { port, pids } = await serving();
      expect(pids.size).to.equal(2);
      const ca = readFileSync(join(certDir, 'apiserver.crt'));
      const base = '/apis/connectors.alauda.io/v1alpha1/namespaces/w/accesspolicies';
      for (let i = 0; i < 10; i++) {
        const created = await call(port, ca, 'POST', base, { apiVersion: 'connectors.alauda.io/v1alpha1', kind: 'AccessPolicy', metadata: { name: `p${String(i)}` }, spec: {} });
        expect(created.code, created.body).to.equal(201);
        // Read back on a fresh connection (possibly the other worker): a consistent read sees it.
        const got = await call(port, ca, 'GET', `${base}/p${String(i)}`);
        expect(got.code, got.body).to.equal(200);
      }
      const list = JSON.parse((await call(port, ca, 'GET', base)).body) as { items: unknown[] };
      expect(list.items).to.have.length(10);
      child.kill('SIGTERM');
      expect(await exited).to.equal(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
