/**
 * Issue 9's "done when" on the local control plane: our server's /metrics moves with requests made
 * through kube-apiserver, /readyz?verbose lists each check, and SIGTERM during a watch ends the watch
 * cleanly (a last bookmark, a proper end of the stream) on a replica started for the purpose.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { eventually, kubectl, serverSkipped, uniqueName, useControlPlane, type ControlPlane } from './setup.js';

const gv = 'connectors.alauda.io/v1alpha1';

function get(cp: ControlPlane, port: number, path: string): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        ca: readFileSync(cp.pki.extCa.crt),
        cert: readFileSync(cp.pki.admin.crt),
        key: readFileSync(cp.pki.admin.key),
        checkServerIdentity: () => undefined,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (s: string) => (body += s));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The value of apiserver_request_total for list accesspolicies answered 200. */
function listCount(metrics: string): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    if (line.startsWith('apiserver_request_total{') && line.includes('verb="LIST"') && line.includes('resource="accesspolicies"') && line.includes('code="200"')) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

describe('operations on the local control plane (metrics, readiness, shutdown)', function () {
  const cp = useControlPlane();
  before(function () {
    if (serverSkipped()) this.skip();
  });

  it('counts requests made through kube-apiserver in /metrics', async () => {
    const c = cp();
    const ns = uniqueName('ops');
    const before = await get(c, c.ports.ext, '/metrics');
    expect(before.code).to.equal(200);
    const n0 = listCount(before.body);
    for (let i = 0; i < 3; i++) expect((await kubectl(['get', 'accesspolicies', '-n', ns])).code).to.equal(0);
    const after = await eventually('the counter to move', async () => {
      const m = await get(c, c.ports.ext, '/metrics');
      return listCount(m.body) >= n0 + 3 ? m.body : undefined;
    }, { timeoutMs: 20_000 });
    expect(after).to.include('apiserver_request_duration_seconds_bucket');
    expect(after).to.include('apiserver_current_inflight_requests');
  });

  it('lists each readiness check in /readyz?verbose', async () => {
    const c = cp();
    const r = await get(c, c.ports.ext, '/readyz?verbose');
    expect(r.code).to.equal(200);
    for (const check of ['ping', 'etcd', 'informer-sync', 'shutdown']) expect(r.body).to.include(`[+]${check} ok`);
    expect(r.body.trim().endsWith('readyz check passed')).to.equal(true);
  });

  it('ends a watch cleanly with a last bookmark when the replica gets SIGTERM', async function () {
    this.timeout(120_000);
    const c = cp();
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const a = s.address();
        s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
      });
    });
    const log = join(c.runDir, 'replica-shutdown.log');
    const fd = openSync(log, 'w');
    const child = spawn(process.execPath, [...c.serverArgs(port), '--enable-controllers=false'], {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await eventually('the replica ready', async () => {
        try {
          return (await get(c, port, '/readyz')).code === 200 ? true : undefined;
        } catch {
          return undefined;
        }
      }, { timeoutMs: 60_000 });
      const lines: string[] = [];
      const ended = new Promise<void>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: `/apis/${gv}/accesspolicies?watch=true&allowWatchBookmarks=true`,
            ca: readFileSync(c.pki.extCa.crt),
            cert: readFileSync(c.pki.admin.crt),
            key: readFileSync(c.pki.admin.key),
            checkServerIdentity: () => undefined,
          },
          (res) => {
            let buf = '';
            res.setEncoding('utf8').on('data', (s: string) => {
              buf += s;
              const parts = buf.split('\n');
              buf = parts.pop() ?? '';
              lines.push(...parts.filter((l) => l !== ''));
            });
            res.on('end', resolve);
            res.on('aborted', () => reject(new Error('the watch was aborted')));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end();
      });
      // Let the watch start (initial events), then stop the replica.
      await new Promise((r) => setTimeout(r, 1000));
      child.kill('SIGTERM');
      await ended;
      const last = JSON.parse(lines[lines.length - 1] ?? '{}') as { type?: string };
      expect(last.type).to.equal('BOOKMARK');
      expect(await exited).to.equal(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
