import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useEtcd } from '../../support/etcd.js';
import { accessRequest } from '../../support/rest.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const mainTs = join(repoRoot, 'apiserver/main.ts');

function startServer(args: string[]): { child: ChildProcess; exited: Promise<{ code: number | null; stderr: string }>; listening: Promise<number> } {
  const child = spawn(process.execPath, ['--import', 'tsx', mainTs, ...args], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let resolvePort: (p: number) => void = () => undefined;
  const listening = new Promise<number>((resolve) => (resolvePort = resolve));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
    const m = /"msg":"serving","address":"[^"]*:(\d+)"/.exec(stderr);
    if (m?.[1] !== undefined) resolvePort(Number(m[1]));
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  return { child, exited, listening };
}

function call(port: number, ca: Buffer, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ host: '127.0.0.1', port, method, path, ca, servername: 'localhost', headers: data === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (s: string) => (text += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text.startsWith('{') ? JSON.parse(text) : text }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

describe('standalone server process', function () {
  this.timeout(60_000);
  const etcd = useEtcd();
  let certDir = '';
  let server: ReturnType<typeof startServer> | undefined;
  before(() => {
    certDir = mkdtempSync(join(tmpdir(), 'connectors-certs-'));
  });
  after(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    rmSync(certDir, { recursive: true, force: true });
  });

  it('refuses --standalone with a non-loopback bind address (exit 64)', async () => {
    const s = startServer(['--standalone', `--etcd-servers=${etcd.endpoint()}`, '--bind-address=0.0.0.0', '--secure-port=0']);
    const { code, stderr } = await s.exited;
    expect(code).to.equal(64);
    expect(stderr).to.include('only binds loopback addresses');
  });

  it('serves HTTPS with a generated certificate and stores objects in etcd', async () => {
    server = startServer(['--standalone', `--etcd-servers=${etcd.endpoint()}`, '--secure-port=0', `--cert-dir=${certDir}`, '--etcd-prefix=/standalone-test']);
    const port = await Promise.race([server.listening, server.exited.then((e) => Promise.reject(new Error(`server exited: ${e.stderr}`)))]);
    const ca = readFileSync(join(certDir, 'apiserver.crt'));
    expect((await call(port, ca, 'GET', '/readyz')).body).to.equal('ok');
    const created = await call(port, ca, 'POST', '/apis/connectors.alauda.io/v1alpha1/namespaces/devops/accessrequests', accessRequest('smoke'));
    expect(created.status).to.equal(201);
    const got = await call(port, ca, 'GET', '/apis/connectors.alauda.io/v1alpha1/namespaces/devops/accessrequests/smoke');
    expect(got.body.metadata.uid).to.equal(created.body.metadata.uid);
  });

  it('stops cleanly on SIGTERM', async () => {
    server?.child.kill('SIGTERM');
    const exit = await server?.exited;
    expect(exit?.code).to.equal(0);
    server = undefined;
  });
});
