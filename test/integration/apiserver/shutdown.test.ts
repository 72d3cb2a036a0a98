/**
 * The server process under SIGTERM: a watch opened with allowWatchBookmarks ends with a last
 * bookmark and a proper end of the chunked stream (no reset on the client), and the process exits 0.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useEtcd } from '../../support/etcd.js';
import { gvPath } from '../../support/rest.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: Promise<number>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

function startServer(args: readonly string[]): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'apiserver/main.ts'), ...args], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let resolvePort: (p: number) => void = () => undefined;
  const port = new Promise<number>((resolve) => (resolvePort = resolve));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
    const m = /"msg":"serving","address":"[^"]*:(\d+)"/.exec(stderr);
    if (m?.[1] !== undefined) resolvePort(Number(m[1]));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, port, exited, stderr: () => stderr };
}

interface WatchOutcome {
  readonly status: number;
  /** Resolves with the lines received once the response ends; rejects on a socket error or reset. */
  readonly ended: Promise<string[]>;
}

function openWatch(port: number, ca: Buffer, path: string): Promise<WatchOutcome> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, servername: 'localhost' }, (res) => {
      let body = '';
      const ended = new Promise<string[]>((resolveEnd, rejectEnd) => {
        res.setEncoding('utf8').on('data', (s: string) => (body += s));
        res.on('end', () => resolveEnd(body.split('\n').filter((l) => l !== '')));
        res.on('aborted', () => rejectEnd(new Error('response aborted')));
        res.on('error', rejectEnd);
      });
      // Mark the rejection handled until the test awaits it.
      ended.catch(() => undefined);
      resolve({ status: res.statusCode ?? 0, ended });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('server process shutdown', function () {
  this.timeout(60_000);
  const etcd = useEtcd();
  let certDir = '';
  let server: ServerProcess | undefined;
  before(() => {
    certDir = mkdtempSync(join(tmpdir(), 'connectors-shutdown-'));
  });
  after(async () => {
    if (server !== undefined && server.child.exitCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    rmSync(certDir, { recursive: true, force: true });
  });

  it('ends a watch with a final bookmark on SIGTERM and exits 0', async () => {
    const s = startServer(['--standalone', `--etcd-servers=${etcd.endpoint()}`, '--secure-port=0', `--cert-dir=${certDir}`, '--etcd-prefix=/shutdown-test', '-v=2']);
    server = s;
    const port = await Promise.race([s.port, s.exited.then(() => Promise.reject(new Error(`server exited: ${s.stderr()}`)))]);
    const ca = readFileSync(join(certDir, 'apiserver.crt'));
    const watch = await openWatch(port, ca, `${gvPath}/namespaces/ops/accesspolicies?watch=true&allowWatchBookmarks=true`);
    expect(watch.status).to.equal(200);

    s.child.kill('SIGTERM');
    const lines = await watch.ended;
    const last = JSON.parse(lines[lines.length - 1] ?? '{}') as { type?: string; object?: { kind?: string; metadata?: { resourceVersion?: string } } };
    expect(last.type).to.equal('BOOKMARK');
    expect(last.object?.kind).to.equal('AccessPolicy');
    expect(last.object?.metadata?.resourceVersion).to.match(/^\d+$/);
    expect(await s.exited).to.deep.equal({ code: 0, signal: null });

    const logged = s
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.map((l) => l['msg'])).to.include.members(['serving', 'shutting down', 'shutdown complete']);
    const watchLine = logged.find((l) => l['msg'] === 'HTTP' && l['verb'] === 'WATCH');
    expect(watchLine).to.include({ code: 200, user: 'system:admin' });
    expect(watchLine?.['auditID']).to.be.a('string');
  });
});
