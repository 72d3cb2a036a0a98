/**
 * Authentication and authorization (issue 11), on the shared local control plane. The suite starts
 * a replica of its own (controllers off, -v=10 so that every request is logged) and talks to it
 * directly with certificates and tokens, and to kube-apiserver's aggregator:
 *
 * - X-Remote-* headers count only with the front-proxy certificate; without it they are ignored;
 * - client certificates from a wrong CA, expired, or front-proxy certificates with a disallowed CN → 401;
 * - a user allowed in namespace A cannot get, list, watch or write namespace B, nor list or watch
 *   across namespaces, and a watch in A shows nothing of B;
 * - /status writes without the status subresource are denied, and a dot-segment path cannot turn an
 *   authorized status write into a write of another object;
 * - TLS 1.2 and 1.3 only, no plaintext;
 * - no token, certificate or key in the server logs (checked last).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { kubectl, serverSkipped, uniqueName, useControlPlane, type ControlPlane } from '../e2e/setup.js';
import { call, figures, gv, gvPath, openWatch, repoRoot, until, type Reply, type Target } from '../reliability/support.js';
import { freePort } from '../support/ports.js';

const openssl = promisify(execFile);

interface Pair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** A key and a certificate signed by `ca` (or self-signed), with clientAuth, valid for `days` (negative: expired). */
async function leaf(dir: string, name: string, subject: string, ca: { crt: string; key: string } | undefined, days: number): Promise<Pair> {
  const at = (f: string): string => join(dir, f);
  if (ca === undefined) {
    await openssl('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', String(days), '-keyout', at(`${name}.key`), '-out', at(`${name}.crt`), '-subj', subject, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,digitalSignature']);
  } else {
    await openssl('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-keyout', at(`${name}.key`), '-out', at(`${name}.csr`), '-subj', subject]);
    await openssl('bash', ['-c', `printf 'basicConstraints=critical,CA:FALSE\\nkeyUsage=critical,digitalSignature,keyEncipherment\\nextendedKeyUsage=clientAuth\\n' > ${at(`${name}.ext`)}`]);
    await openssl('openssl', ['x509', '-req', '-in', at(`${name}.csr`), '-CA', ca.crt, '-CAkey', ca.key, '-CAserial', at(`${name}.srl`), '-CAcreateserial', '-days', String(days), '-sha256', '-extfile', at(`${name}.ext`), '-out', at(`${name}.crt`)]);
  }
  return { cert: readFileSync(at(`${name}.crt`)), key: readFileSync(at(`${name}.key`)) };
}

describe('security: authentication and authorization', function () {
  this.timeout(120_000);
  const cp = useControlPlane();
  const fig = figures('authn/authz');
  let dir = '';
  let replica: ChildProcess | undefined;
  let logFile = '';
  let port = 0;
  let ca: Buffer;
  const certs: Record<string, Pair> = {};
  const nsA = uniqueName('sec-a');
  const nsB = uniqueName('sec-b');

  /** Our replica directly, with a client certificate, a token or nothing, and extra headers. */
  const direct = (as: Pair | { token: string } | undefined, method: string, path: string, o: { body?: unknown; raw?: string; contentType?: string; headers?: Record<string, string> } = {}): Promise<Reply> => {
    const t: Target = { port, ca, ...(as !== undefined && 'cert' in as ? { cert: as.cert, key: as.key } : {}) };
    const headers = { ...(o.headers ?? {}), ...(as !== undefined && 'token' in as ? { Authorization: `Bearer ${as.token}` } : {}) };
    fig.add('requests');
    return call(t, method, path, { ...o, headers });
  };
  /** Through kube-apiserver (the aggregator), with a user's token. */
  const viaAggregator = (token: string, method: string, path: string, o: { body?: unknown; raw?: string; contentType?: string } = {}): Promise<Reply> => {
    fig.add('requests');
    return call({ port: cp().ports.apiserver, ca: readFileSync(cp().pki.ca.crt) }, method, path, { ...o, headers: { Authorization: `Bearer ${token}` } });
  };
  const ok = async (args: string[], input?: string): Promise<void> => {
    const r = await kubectl(args, input === undefined ? {} : { input });
    expect(r.code, `kubectl ${args.join(' ')}: ${r.stderr}`).to.equal(0);
  };
  const admin = (): Pair => ({ cert: readFileSync(cp().pki.admin.crt), key: readFileSync(cp().pki.admin.key) });
  const alice = (): { token: string } => ({ token: cp().users.alice.token });
  const bob = (): { token: string } => ({ token: cp().users.bob.token });

  before(async function () {
    if (serverSkipped()) this.skip();
    this.timeout(180_000);
    const c: ControlPlane = cp();
    dir = mkdtempSync(join(tmpdir(), 'connectors-security-'));
    ca = readFileSync(c.pki.extCa.crt);
    port = await freePort();
    logFile = join(dir, 'replica.log');
    const fd = openSync(logFile, 'w');
    replica = spawn(process.execPath, [...c.serverArgs(port), '--enable-controllers=false', '-v=10'], { cwd: repoRoot, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    await leaf(dir, 'rogue-ca', '/CN=e2e-cluster-ca', undefined, 30);
    const made = await Promise.all([
      leaf(dir, 'rogue-admin', '/O=system:masters/CN=e2e-admin', { crt: join(dir, 'rogue-ca.crt'), key: join(dir, 'rogue-ca.key') }, 30),
      leaf(dir, 'expired-admin', '/O=system:masters/CN=e2e-admin', c.pki.ca, -1),
      leaf(dir, 'wrong-cn-proxy', '/CN=not-the-front-proxy', c.pki.frontProxyCa, 30),
      leaf(dir, 'mallory', '/CN=mallory', c.pki.ca, 30),
    ]);
    [certs['rogue'], certs['expired'], certs['wrongCn'], certs['mallory']] = made as [Pair, Pair, Pair, Pair];
    certs['frontProxy'] = { cert: readFileSync(c.pki.frontProxyClient.crt), key: readFileSync(c.pki.frontProxyClient.key) };
    await until('the replica to be ready', async () => ((await call({ port, ca }, 'GET', '/readyz', { timeoutMs: 2000 })).status === 200 ? true : undefined), { timeoutMs: 90_000, intervalMs: 250 });

    await ok(['create', 'namespace', nsA]);
    await ok(['create', 'namespace', nsB]);
    await ok(['apply', '-f', '-'], `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: connectors-user, namespace: ${nsA}}
rules:
- apiGroups: [connectors.alauda.io]
  resources: [accesspolicies, accessrequests]
  verbs: [get, list, watch, create, update, patch, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice, namespace: ${nsA}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: connectors-user}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: status-of-x, namespace: ${nsA}}
rules:
- apiGroups: [connectors.alauda.io]
  resources: [accessrequests/status]
  resourceNames: [x]
  verbs: [get, update, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bob, namespace: ${nsA}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: status-of-x}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}]
`);
    for (const [ns, name] of [[nsA, 'x'], [nsA, 'y'], [nsB, 'target']] as const) {
      const r = await direct(admin(), 'POST', `${gvPath}/namespaces/${ns}/accessrequests`, { body: accessRequest(name, ns) });
      expect(r.status, r.text).to.equal(201);
    }
    // RBAC reaches the authorizer cache of kube-apiserver asynchronously.
    await until('alice to be allowed in A', async () => ((await direct(alice(), 'GET', `${gvPath}/namespaces/${nsA}/accessrequests`)).status === 200 ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });
  });

  after(async function () {
    this.timeout(60_000);
    if (replica !== undefined && replica.exitCode === null) {
      const exited = new Promise((r) => replica?.once('exit', r));
      replica.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      replica.kill('SIGKILL');
    }
    if (!serverSkipped()) await kubectl(['delete', 'namespace', nsA, nsB, '--wait=false']);
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  const listA = (): string => `${gvPath}/namespaces/${nsA}/accessrequests`;
  const listB = (): string => `${gvPath}/namespaces/${nsB}/accessrequests`;

  it('ignores X-Remote-* headers without the front-proxy certificate', async () => {
    const masters = { 'X-Remote-User': 'e2e-admin', 'X-Remote-Group': 'system:masters' };
    // Nothing but the headers: anonymous, refused.
    expect((await direct(undefined, 'GET', listB(), { headers: masters })).status).to.equal(401);
    // A valid client certificate of another user: that user, not the headers.
    const asMallory = await direct(certs['mallory'], 'GET', listB(), { headers: masters });
    expect(asMallory.status, asMallory.text).to.equal(403);
    expect(asMallory.body.message).to.include('"mallory"');
    // A token: its user.
    const asAlice = await direct(alice(), 'GET', listB(), { headers: masters });
    expect(asAlice.status, asAlice.text).to.equal(403);
    expect(asAlice.body.message).to.include('"alice"');
    // The front proxy's own certificate: then, and only then, the headers count.
    expect((await direct(certs['frontProxy'], 'GET', listB(), { headers: masters })).status).to.equal(200);
    fig.add('header spoofs refused', 3);
  });

  it('answers 401 to certificates from a wrong CA, expired, or with a disallowed CN', async () => {
    const masters = { 'X-Remote-User': 'e2e-admin', 'X-Remote-Group': 'system:masters' };
    for (const [what, pair, headers] of [
      ['a certificate from another CA with the same CA name', certs['rogue'], {}],
      ['an expired certificate of the cluster CA', certs['expired'], {}],
      ['a front-proxy certificate with a CN not allowed', certs['wrongCn'], masters],
    ] as const) {
      const r = await direct(pair, 'GET', listB(), { headers });
      expect(r.status, `${what}: ${r.text}`).to.equal(401);
      fig.add('bad certificates refused');
    }
    expect((await direct(admin(), 'GET', listB())).status, 'the real admin certificate').to.equal(200);
  });

  it('keeps a user allowed in namespace A out of namespace B and out of cluster-wide reads', async () => {
    // Allowed in A.
    const created = await direct(alice(), 'POST', listA(), { body: accessRequest('by-alice', nsA) });
    expect(created.status, created.text).to.equal(201);
    expect((await direct(alice(), 'GET', `${listA()}/by-alice`)).status).to.equal(200);
    expect((await call({ port, ca }, 'GET', `${listA()}?watch=true`, { headers: { Authorization: `Bearer ${alice().token}` }, headersOnlyOn200: true })).status).to.equal(200);
    const before = await direct(admin(), 'GET', `${listB()}/target`);
    // Not in B: every verb.
    const attempts: [string, string, { body?: unknown; raw?: string; contentType?: string }][] = [
      ['GET', `${listB()}/target`, {}],
      ['GET', listB(), {}],
      ['GET', `${listB()}?watch=true`, {}],
      ['POST', listB(), { body: accessRequest('by-alice', nsB) }],
      ['PUT', `${listB()}/target`, { body: { ...before.body, metadata: { ...before.body.metadata, labels: { by: 'alice' } } } }],
      ['PATCH', `${listB()}/target`, { raw: '{"metadata":{"labels":{"by":"alice"}}}', contentType: 'application/merge-patch+json' }],
      ['DELETE', `${listB()}/target`, {}],
      ['DELETE', listB(), {}],
      // Across namespaces.
      ['GET', `${gvPath}/accessrequests`, {}],
      ['GET', `${gvPath}/accessrequests?watch=true`, {}],
      ['GET', `${gvPath}/accesspolicies`, {}],
    ];
    for (const [method, path, o] of attempts) {
      const r = await direct(alice(), method, path, o);
      expect(r.status, `${method} ${path}: ${r.text.slice(0, 300)}`).to.equal(403);
      fig.add('cross-namespace attempts refused');
    }
    // The same through the aggregator.
    for (const [method, path] of [['GET', `${listB()}/target`], ['GET', `${gvPath}/accessrequests`], ['DELETE', `${listB()}/target`]] as const) {
      const r = await viaAggregator(alice().token, method, path);
      expect(r.status, `aggregator ${method} ${path}: ${r.text.slice(0, 300)}`).to.equal(403);
      fig.add('cross-namespace attempts refused');
    }
    expect((await viaAggregator(alice().token, 'GET', listA())).status).to.equal(200);
    const after = await direct(admin(), 'GET', `${listB()}/target`);
    expect(after.body.metadata.resourceVersion, 'B untouched').to.equal(before.body.metadata.resourceVersion);
    const inB = await direct(admin(), 'GET', listB());
    expect((inB.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name)).to.deep.equal(['target']);
  });

  it('shows nothing of namespace B in a watch on namespace A', async () => {
    const w = openWatch({ port, ca }, `${listA()}?watch=true`, { Authorization: `Bearer ${alice().token}` });
    try {
      await until('the watch to start', () => (w.status === 200 ? true : undefined), { timeoutMs: 20_000 });
      const n = uniqueName('w');
      expect((await direct(admin(), 'POST', listB(), { body: accessRequest(`${n}-b`, nsB) })).status).to.equal(201);
      expect((await direct(admin(), 'POST', listA(), { body: accessRequest(`${n}-a`, nsA) })).status).to.equal(201);
      await until("A's event", () => (w.lines.some((l) => l.includes(`"${n}-a"`)) ? true : undefined), { timeoutMs: 20_000 });
      expect(w.lines.filter((l) => l.includes(nsB) || l.includes(`"${n}-b"`)), 'events of B').to.deep.equal([]);
      fig.add('watch events checked', w.lines.length);
    } finally {
      w.close();
    }
  });

  it('denies /status writes without the status subresource, and no dot segment turns one into another write', async () => {
    const x = await direct(admin(), 'GET', `${listA()}/x`);
    const status = { ...x.body, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Forged', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] } };
    for (const [method, o] of [['PUT', { body: status }], ['PATCH', { raw: '{"status":{"conditions":[]}}', contentType: 'application/merge-patch+json' }]] as const) {
      const r = await direct(alice(), method, `${listA()}/x/status`, o);
      expect(r.status, `${method} status as alice: ${r.text.slice(0, 300)}`).to.equal(403);
      fig.add('status writes refused');
    }
    // bob may patch only x's status: kube-apiserver authorizes these paths as that (it resolves no
    // dot segment) and proxies them unchanged; a URL parser would resolve them to y: they must not reach y.
    const y = await direct(admin(), 'GET', `${listA()}/y`);
    for (const trick of ['x/status/../../y', 'x/status/%2e%2e/%2e%2e/y', 'x/status/..%2F..%2Fy']) {
      const r = await viaAggregator(bob().token, 'PATCH', `${listA()}/${trick}`, { raw: '{"metadata":{"labels":{"by":"bob"}}}', contentType: 'application/merge-patch+json' });
      expect(r.status, `bob PATCH ${trick}: ${r.text.slice(0, 300)}`).to.be.within(400, 499);
      fig.add('dot-segment tricks refused');
      fig.set(`answer to ${trick}`, r.status);
    }
    const yAfter = await direct(admin(), 'GET', `${listA()}/y`);
    expect(yAfter.body.metadata.resourceVersion, 'y untouched').to.equal(y.body.metadata.resourceVersion);
    const xAfter = await direct(admin(), 'GET', `${listA()}/x`);
    expect(xAfter.body.metadata.labels?.by, 'x untouched').to.equal(undefined);
  });

  it('speaks TLS 1.2 and 1.3 only, and no plaintext', async () => {
    const handshake = (o: { minVersion?: 'TLSv1' | 'TLSv1.2' | 'TLSv1.3'; maxVersion?: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3' }): Promise<string> =>
      new Promise((resolve) => {
        const s = connect({ host: '127.0.0.1', port, ca, checkServerIdentity: () => undefined, ciphers: 'DEFAULT@SECLEVEL=0', ...o }, () => {
          const v = s.getProtocol() ?? '';
          s.destroy();
          resolve(v);
        });
        s.on('error', (e) => resolve(`error: ${e.message}`));
      });
    const old = await handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1' });
    expect(old, 'a TLS 1.0/1.1 handshake').to.match(/^error/);
    expect(await handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).to.equal('TLSv1.2');
    expect(await handshake({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' })).to.equal('TLSv1.3');
    const plain = await new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/readyz', timeout: 5000 }, (res) => resolve(`HTTP ${String(res.statusCode)}`));
      req.on('error', (e) => resolve(`error: ${e.message}`));
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
    expect(plain, 'plain HTTP on the secure port').to.match(/^error|^HTTP 400$/);
    // The process listens on one TCP port: the secure one.
    const ss = await promisify(execFile)('ss', ['-Hltnp']);
    const ours = ss.stdout.split('\n').filter((l) => l.includes(`pid=${String(replica?.pid ?? -1)},`));
    expect(ours.map((l) => /:(\d+)\s/.exec(l)?.[1]), 'listening ports of the replica').to.deep.equal([String(port)]);
    fig.set('TLS 1.0/1.1 handshake', 'refused');
    fig.set('plaintext', plain.startsWith('error') ? 'refused' : plain);
  });

  it('never writes a token, certificate or key into the server logs', async () => {
    const c = cp();
    const logs = [logFile, ...readdirSync(c.runDir).filter((f) => f.startsWith('connectors-apiserver') && f.endsWith('.log')).map((f) => join(c.runDir, f))];
    const pem = (f: string): string => readFileSync(f, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('-----'))[1] ?? 'never';
    const secrets: [string, string][] = [
      ['alice token', c.users.alice.token],
      ['bob token', c.users.bob.token],
      ['a PEM header', '-----BEGIN'],
      ['a private key', 'PRIVATE KEY'],
      ['a bearer header', 'Bearer '],
      ['the admin certificate', pem(c.pki.admin.crt)],
      ['the admin key', pem(c.pki.admin.key)],
      ['the front-proxy certificate', pem(c.pki.frontProxyClient.crt)],
      ['the serving key', pem(c.pki.extServing.key)],
      ['the rogue certificate', pem(join(dir, 'rogue-admin.crt'))],
    ];
    let bytes = 0;
    for (const f of logs) {
      const text = readFileSync(f, 'utf8');
      bytes += text.length;
      for (const [what, s] of secrets) expect(text.includes(s), `${what} in ${f}`).to.equal(false);
    }
    // The replica did log the requests (-v=10), so the check is not vacuous.
    expect(readFileSync(logFile, 'utf8')).to.include('"msg":"HTTP"');
    fig.set('log bytes searched', bytes);
    fig.set('secrets found in logs', 0);
  });
});

function accessRequest(name: string, ns: string): Record<string, unknown> {
  return {
    apiVersion: gv,
    kind: 'AccessRequest',
    metadata: { name, namespace: ns },
    spec: { connectorRef: { name: 'c' }, context: { objectRef: { kind: 'Pod', namespace: ns, name: 'p' } }, subject: { kind: 'ServiceAccount', name: 'sa', namespace: ns } },
  };
}

