/**
 * Front proxy, client certificates and the delegating union against real certificates (made with
 * openssl) and a real HTTPS server, so the authenticators read genuine TLS peer chains.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseAuthenticationConfig,
  watchAuthenticationConfig,
  type AuthenticationConfig,
  type ConfigMapWatchEvent,
} from '../../../../apiserver/auth/authentication-config.js';
import { createDelegatingAuthenticator } from '../../../../apiserver/auth/delegating.js';
import { createRequestHeaderAuthenticator, unescapeExtraKey, type RequestHeaderConfig } from '../../../../apiserver/auth/requestheader.js';
import type { TokenAuthenticator } from '../../../../apiserver/auth/tokenreview.js';
import type { AuthenticationResult, Authenticator } from '../../../../apiserver/auth/types.js';
import {
  certificateFacts,
  createX509Authenticator,
  credentialIdKey,
  parseCertificateBundle,
  verifyClientCertificate,
} from '../../../../apiserver/auth/x509.js';

interface Pair {
  readonly crt: string;
  readonly key: string;
}

function openssl(cwd: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd }, (err, _stdout, stderr) => {
      if (err === null) resolve();
      else reject(new Error(`openssl ${args.slice(0, 2).join(' ')}: ${stderr || err.message}`));
    });
  });
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

async function mkca(dir: string, name: string): Promise<Pair> {
  await openssl(dir, [
    'req', '-x509', ...ecKey, '-days', '30', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { crt: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

let serial = 1000;
async function mkcert(dir: string, name: string, ca: string, subject: string, ext: readonly string[]): Promise<Pair> {
  await openssl(dir, ['req', '-new', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  writeFileSync(join(dir, `${name}.ext`), `${ext.join('\n')}\n`);
  serial += 1;
  await openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-set_serial', String(serial),
    '-days', '10', '-extfile', `${name}.ext`, '-out', `${name}.crt`,
  ]);
  return { crt: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

const leafExt = (eku: string): string[] => ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', `extendedKeyUsage=${eku}`];

interface Echo {
  readonly result: AuthenticationResult;
  readonly rawHeaders: readonly string[];
  readonly headers: Record<string, unknown>;
}

describe('delegated authentication over TLS', function () {
  this.timeout(60_000);
  let dir = '';
  let server: Server | undefined;
  let port = 0;
  let authenticator: Authenticator = { authenticate: () => Promise.resolve({ kind: 'anonymous' }) };
  const pem = (p: Pair): string => readFileSync(p.crt, 'utf8');
  const certs: Record<string, Pair> = {};
  let clock = new Date();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auth-test-'));
    const [frontProxyCA, frontProxyCA2, clientCA, unknownCA] = await Promise.all([
      mkca(dir, 'front-proxy-ca'),
      mkca(dir, 'front-proxy-ca-2'),
      mkca(dir, 'client-ca'),
      mkca(dir, 'unknown-ca'),
    ]);
    Object.assign(certs, { frontProxyCA, frontProxyCA2, clientCA, unknownCA });
    const made = await Promise.all([
      mkcert(dir, 'front-proxy-client', 'front-proxy-ca', '/CN=front-proxy-client', leafExt('clientAuth')),
      mkcert(dir, 'front-proxy-client-2', 'front-proxy-ca-2', '/CN=front-proxy-client', leafExt('clientAuth')),
      mkcert(dir, 'front-proxy-wrong-cn', 'front-proxy-ca', '/CN=someone-else', leafExt('clientAuth')),
      mkcert(dir, 'front-proxy-server-only', 'front-proxy-ca', '/CN=front-proxy-client', leafExt('serverAuth')),
      mkcert(dir, 'alice', 'client-ca', '/O=devs/O=a, b/CN=alice', leafExt('clientAuth')),
      mkcert(dir, 'mallory', 'unknown-ca', '/O=system:masters/CN=mallory', leafExt('clientAuth')),
      mkcert(dir, 'no-cn', 'client-ca', '/O=devs', leafExt('clientAuth')),
      mkcert(dir, 'client-intermediate', 'client-ca', '/CN=client-intermediate', ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign']),
      mkcert(dir, 'serving', 'unknown-ca', '/CN=localhost', leafExt('serverAuth')),
    ]);
    const names = ['frontProxyClient', 'frontProxyClient2', 'frontProxyWrongCN', 'frontProxyServerOnly', 'alice', 'mallory', 'noCN', 'clientIntermediate', 'serving'];
    names.forEach((n, i) => {
      const p = made[i];
      if (p !== undefined) certs[n] = p;
    });
    const carol = await mkcert(dir, 'carol', 'client-intermediate', '/O=ops/CN=carol', leafExt('clientAuth'));
    // The client sends leaf and intermediate; only the root is in client-ca-file.
    const carolChain = join(dir, 'carol-chain.crt');
    writeFileSync(carolChain, readFileSync(carol.crt, 'utf8') + readFileSync(join(dir, 'client-intermediate.crt'), 'utf8'));
    certs['carolChain'] = { crt: carolChain, key: carol.key };

    const serving = certs['serving'];
    if (serving === undefined) throw new Error('no serving cert');
    server = createServer(
      { key: readFileSync(serving.key), cert: readFileSync(serving.crt), requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        authenticator.authenticate(req).then(
          (result) => {
            res.setHeader('Content-Type', 'application/json');
            res.end(JSON.stringify({ result, rawHeaders: req.rawHeaders, headers: req.headers }));
          },
          (e: unknown) => {
            // A thrown authenticator is a bug: make the test fail with it instead of hanging.
            res.statusCode = 500;
            res.end(JSON.stringify({ result: { kind: 'error', message: `threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` }, rawHeaders: [], headers: {} }));
          },
        );
      },
    );
    const s = server;
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    port = (s.address() as AddressInfo).port;
  });

  after(async () => {
    const s = server;
    if (s !== undefined) {
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeAllConnections();
      await closed;
    }
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    clock = new Date();
  });

  const cert = (name: string): Pair => {
    const p = certs[name];
    if (p === undefined) throw new Error(`no certificate ${name}`);
    return p;
  };

  function call(opts: { cert?: string; headers?: Record<string, string | string[]> }): Promise<Echo> {
    const pair = opts.cert === undefined ? undefined : cert(opts.cert);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/apis/connectors.alauda.io/v1alpha1',
          agent: false, // a fresh TLS session per request: no certificate carried over
          rejectUnauthorized: false,
          ...(pair === undefined ? {} : { cert: readFileSync(pair.crt), key: readFileSync(pair.key) }),
          headers: opts.headers ?? {},
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => {
            try {
              resolve(JSON.parse(body) as Echo);
            } catch (e) {
              reject(e instanceof Error ? e : new Error(String(e)));
            }
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  const requestHeaderConfig = (over: Partial<RequestHeaderConfig> = {}): RequestHeaderConfig => {
    const ca = parseCertificateBundle(pem(cert('frontProxyCA')));
    if (!ca.ok) throw new Error(ca.error);
    return {
      clientCA: ca.value,
      allowedNames: ['front-proxy-client'],
      usernameHeaders: ['X-Remote-User'],
      uidHeaders: [],
      groupHeaders: ['X-Remote-Group'],
      extraHeaderPrefixes: ['X-Remote-Extra-'],
      ...over,
    };
  };
  const clientCA = (): X509Certificate[] => {
    const b = parseCertificateBundle(pem(cert('clientCA')));
    if (!b.ok) throw new Error(b.error);
    return b.value;
  };
  const fullConfig = (over: Partial<RequestHeaderConfig> = {}): AuthenticationConfig => ({ clientCA: clientCA(), requestHeader: requestHeaderConfig(over) });
  const delegating = (cfg: AuthenticationConfig, tokens?: TokenAuthenticator): Authenticator =>
    createDelegatingAuthenticator({ authenticationConfig: () => cfg, now: () => clock, ...(tokens === undefined ? {} : { tokens }) });

  const aggregatorHeaders = {
    'X-Remote-User': 'bob',
    'X-Remote-Group': ['g1', 'a, b'],
    'X-Remote-Extra-Scopes': ['read', 'write'],
    'X-Remote-Extra-Foo%2Fbar': 'v',
    'X-Remote-Uid': 'uid-1',
  };

  describe('certificate facts and chains', () => {
    it('reads CN and every O exactly as encoded, commas included', () => {
      const facts = certificateFacts(new X509Certificate(readFileSync(cert('alice').crt)));
      expect(facts?.commonName).to.equal('alice');
      expect(facts?.organizations).to.deep.equal(['devs', 'a, b']);
    });

    it('rejects a PEM bundle without certificates', () => {
      expect(parseCertificateBundle('nothing here').ok).to.equal(false);
    });

    const verify = (leaf: string, roots: string, at: Date): string => {
      const l = new X509Certificate(readFileSync(cert(leaf).crt));
      const r = parseCertificateBundle(pem(cert(roots)));
      if (!r.ok) throw new Error(r.error);
      const v = verifyClientCertificate(l, [], r.value, at);
      return v.ok ? 'ok' : v.error;
    };
    const cases: { name: string; leaf: string; roots: string; days: number; want: string }[] = [
      { name: 'accepts a leaf of the CA', leaf: 'frontProxyClient', roots: 'frontProxyCA', days: 0, want: 'ok' },
      { name: 'rejects a leaf of another CA', leaf: 'alice', roots: 'frontProxyCA', days: 0, want: 'x509: certificate signed by unknown authority' },
      { name: 'rejects a leaf without clientAuth', leaf: 'frontProxyServerOnly', roots: 'frontProxyCA', days: 0, want: 'x509: certificate specifies an incompatible key usage' },
      { name: 'rejects an expired leaf', leaf: 'frontProxyClient', roots: 'frontProxyCA', days: 20, want: 'has expired or is not yet valid' },
      { name: 'rejects a leaf not yet valid', leaf: 'frontProxyClient', roots: 'frontProxyCA', days: -2, want: 'is before' },
    ];
    for (const tc of cases) {
      it(tc.name, () => {
        expect(verify(tc.leaf, tc.roots, new Date(Date.now() + tc.days * 86_400_000))).to.contain(tc.want);
      });
    }

    it('reuses a verified chain only for the same roots and while every certificate is valid', () => {
      // The same objects, as a keep-alive connection presents them on every request.
      const leaf = new X509Certificate(readFileSync(cert('frontProxyClient').crt));
      const roots = (name: string): X509Certificate[] => {
        const r = parseCertificateBundle(pem(cert(name)));
        if (!r.ok) throw new Error(r.error);
        return r.value;
      };
      const trusted = roots('frontProxyCA');
      const now = new Date();
      expect(verifyClientCertificate(leaf, [], trusted, now).ok).to.equal(true);
      expect(verifyClientCertificate(leaf, [], trusted, now).ok).to.equal(true);
      // A CA rotation (new roots) verifies again, and fails for a leaf of the old CA.
      const rotated = verifyClientCertificate(leaf, [], roots('frontProxyCA2'), now);
      expect(rotated.ok ? 'ok' : rotated.error).to.equal('x509: certificate signed by unknown authority');
      const later = verifyClientCertificate(leaf, [], trusted, new Date(now.getTime() + 20 * 86_400_000));
      expect(later.ok ? 'ok' : later.error).to.contain('has expired');
      const earlier = verifyClientCertificate(leaf, [], trusted, new Date(now.getTime() - 2 * 86_400_000));
      expect(earlier.ok ? 'ok' : earlier.error).to.contain('is before');
    });
  });

  describe('front proxy', () => {
    it('takes user, every group line, extra and no UID from the headers of an allowed front-proxy cert', async () => {
      authenticator = createRequestHeaderAuthenticator({ config: () => requestHeaderConfig(), now: () => clock });
      const got = await call({ cert: 'frontProxyClient', headers: aggregatorHeaders });
      expect(got.result).to.deep.equal({
        kind: 'authenticated',
        user: { name: 'bob', groups: ['g1', 'a, b'], extra: { scopes: ['read', 'write'], 'foo/bar': ['v'] } },
      });
    });

    it('reads the UID only when uid headers are configured', async () => {
      authenticator = createRequestHeaderAuthenticator({ config: () => requestHeaderConfig({ uidHeaders: ['X-Remote-Uid'] }), now: () => clock });
      const got = await call({ cert: 'frontProxyClient', headers: aggregatorHeaders });
      expect(got.result.kind === 'authenticated' ? got.result.user.uid : undefined).to.equal('uid-1');
    });

    it('uses the first configured username header that is set', async () => {
      authenticator = createRequestHeaderAuthenticator({ config: () => requestHeaderConfig({ usernameHeaders: ['X-Remote-User', 'X-Other-User'] }), now: () => clock });
      const got = await call({ cert: 'frontProxyClient', headers: { 'X-Other-User': 'carl' } });
      expect(got.result.kind === 'authenticated' ? got.result.user.name : got.result.kind).to.equal('carl');
    });

    it('is an error for a front-proxy cert whose CN is not allowed', async () => {
      authenticator = createRequestHeaderAuthenticator({ config: () => requestHeaderConfig(), now: () => clock });
      const got = await call({ cert: 'frontProxyWrongCN', headers: aggregatorHeaders });
      expect(got.result).to.deep.equal({ kind: 'error', message: 'x509: subject with cn=someone-else is not in the allowed list' });
    });

    it('accepts any CN of the CA when allowed names are empty', async () => {
      authenticator = createRequestHeaderAuthenticator({ config: () => requestHeaderConfig({ allowedNames: [] }), now: () => clock });
      const got = await call({ cert: 'frontProxyWrongCN', headers: aggregatorHeaders });
      expect(got.result.kind).to.equal('authenticated');
    });

    it('is an error for an expired front-proxy cert', async () => {
      authenticator = createRequestHeaderAuthenticator({ config: () => requestHeaderConfig(), now: () => clock });
      clock = new Date(Date.now() + 20 * 86_400_000);
      const got = await call({ cert: 'frontProxyClient', headers: aggregatorHeaders });
      expect(got.result.kind === 'error' ? got.result.message : '').to.contain('certificate has expired');
    });

    it('ignores the headers of a request without a client certificate', async () => {
      authenticator = createRequestHeaderAuthenticator({ config: () => requestHeaderConfig(), now: () => clock });
      expect((await call({ headers: aggregatorHeaders })).result).to.deep.equal({ kind: 'anonymous' });
    });

    it('percent-decodes lower-cased extra keys and keeps malformed ones', () => {
      expect(unescapeExtraKey('foo%2fbar')).to.equal('foo/bar');
      expect(unescapeExtraKey('caf%c3%a9')).to.equal('café');
      expect(unescapeExtraKey('bad%zz')).to.equal('bad%zz');
    });
  });

  describe('client certificates', () => {
    it('authenticates CN as user and O values as groups', async () => {
      authenticator = createX509Authenticator({ clientCA, now: () => clock });
      const got = await call({ cert: 'alice' });
      expect(got.result.kind).to.equal('authenticated');
      if (got.result.kind !== 'authenticated') return;
      expect(got.result.user.name).to.equal('alice');
      expect(got.result.user.groups).to.deep.equal(['devs', 'a, b']);
      expect(got.result.user.extra?.[credentialIdKey]?.[0]).to.match(/^X509SHA256=[0-9a-f]{64}$/);
    });

    it('follows intermediates the client sends', async () => {
      authenticator = createX509Authenticator({ clientCA, now: () => clock });
      const got = await call({ cert: 'carolChain' });
      expect(got.result.kind === 'authenticated' ? got.result.user : got.result).to.deep.include({ name: 'carol', groups: ['ops'] });
    });

    it('does not authenticate a certificate without CN', async () => {
      authenticator = createX509Authenticator({ clientCA, now: () => clock });
      expect((await call({ cert: 'noCN' })).result).to.deep.equal({ kind: 'anonymous' });
    });

    it('is an error for a certificate of an unknown CA', async () => {
      authenticator = createX509Authenticator({ clientCA, now: () => clock });
      const got = await call({ cert: 'mallory' });
      expect(got.result.kind === 'error' ? got.result.message : '').to.contain('x509: certificate signed by unknown authority');
    });
  });

  describe('createDelegatingAuthenticator', () => {
    const tokens: TokenAuthenticator = {
      authenticateToken: (t) =>
        Promise.resolve(t === 'good' ? { kind: 'authenticated', user: { name: 'system:serviceaccount:ns:sa', groups: ['system:serviceaccounts'] } } : { kind: 'anonymous' }),
    };

    it('does not believe X-Remote-User without a front-proxy cert: anonymous', async () => {
      authenticator = delegating(fullConfig());
      const got = await call({ headers: { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' } });
      expect(got.result).to.deep.equal({ kind: 'anonymous' });
    });

    it('authenticates a client-CA cert as its CN, never as the header user', async () => {
      authenticator = delegating(fullConfig());
      const got = await call({ cert: 'alice', headers: { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' } });
      expect(got.result.kind === 'authenticated' ? [got.result.user.name, got.result.user.groups] : got.result).to.deep.equal([
        'alice',
        ['devs', 'a, b', 'system:authenticated'],
      ]);
    });

    it('authenticates the aggregator and appends system:authenticated once', async () => {
      authenticator = delegating(fullConfig());
      const got = await call({ cert: 'frontProxyClient', headers: { 'X-Remote-User': 'system:kube-aggregator', 'X-Remote-Group': ['system:masters', 'system:authenticated'] } });
      expect(got.result).to.deep.equal({
        kind: 'authenticated',
        user: { name: 'system:kube-aggregator', groups: ['system:masters', 'system:authenticated'] },
      });
    });

    it('answers 401 (error) for a front-proxy cert with a wrong CN', async () => {
      authenticator = delegating(fullConfig());
      const got = await call({ cert: 'frontProxyWrongCN', headers: aggregatorHeaders });
      expect(got.result.kind).to.equal('error');
    });

    it('answers 401 (error) for a certificate of an unknown CA, headers or not', async () => {
      authenticator = delegating(fullConfig());
      expect((await call({ cert: 'mallory', headers: aggregatorHeaders })).result.kind).to.equal('error');
    });

    it('answers 401 (error) for a front-proxy cert without a username header, as Kubernetes does', async () => {
      authenticator = delegating(fullConfig());
      expect((await call({ cert: 'frontProxyClient' })).result.kind).to.equal('error');
    });

    it('authenticates a bearer token after the certificate authenticators', async () => {
      authenticator = delegating(fullConfig(), tokens);
      const got = await call({ headers: { Authorization: 'Bearer good' } });
      expect(got.result).to.deep.equal({
        kind: 'authenticated',
        user: { name: 'system:serviceaccount:ns:sa', groups: ['system:serviceaccounts', 'system:authenticated'] },
      });
    });

    it('answers 401 (error) for an invalid bearer token', async () => {
      authenticator = delegating(fullConfig(), tokens);
      expect((await call({ headers: { Authorization: 'Bearer bad' } })).result).to.deep.equal({ kind: 'error', message: 'invalid bearer token' });
    });

    it('lets a front-proxy identity win over a token', async () => {
      authenticator = delegating(fullConfig(), tokens);
      const got = await call({ cert: 'frontProxyClient', headers: { ...aggregatorHeaders, Authorization: 'Bearer good' } });
      expect(got.result.kind === 'authenticated' ? got.result.user.name : got.result.kind).to.equal('bob');
    });

    const stripCases: { name: string; cert?: string; headers: Record<string, string | string[]> }[] = [
      { name: 'after a front-proxy success', cert: 'frontProxyClient', headers: { ...aggregatorHeaders, Authorization: 'Bearer good' } },
      { name: 'after a client-cert success', cert: 'alice', headers: { ...aggregatorHeaders, Authorization: 'Bearer good' } },
      { name: 'for an anonymous request', headers: { 'X-Remote-User': 'admin', 'x-remote-anything': 'x', Authorization: 'Basic Zm9vOmJhcg==' } },
      { name: 'after a failure', cert: 'mallory', headers: { ...aggregatorHeaders, Authorization: 'Bearer bad' } },
    ];
    for (const tc of stripCases) {
      it(`strips X-Remote-* and Authorization ${tc.name}`, async () => {
        authenticator = delegating(fullConfig(), tokens);
        const got = await call({ ...(tc.cert === undefined ? {} : { cert: tc.cert }), headers: { ...tc.headers, 'X-Keep': 'yes' } });
        const rawNames = got.rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase());
        expect(rawNames.filter((h) => h.startsWith('x-remote-') || h === 'authorization')).to.deep.equal([]);
        expect(Object.keys(got.headers).filter((h) => h.startsWith('x-remote-') || h === 'authorization')).to.deep.equal([]);
        expect(got.headers['x-keep']).to.equal('yes');
      });
    }

    it('applies a rotated front-proxy CA from the ConfigMap watch to the next request', async () => {
      const data = (ca: string): Record<string, string> => ({
        'client-ca-file': pem(cert('clientCA')),
        'requestheader-client-ca-file': ca,
        'requestheader-allowed-names': '["front-proxy-client"]',
        'requestheader-username-headers': '["X-Remote-User"]',
        'requestheader-group-headers': '["X-Remote-Group"]',
        'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
      });
      expect(parseAuthenticationConfig(data(pem(cert('frontProxyCA')))).ok).to.equal(true);
      const events: ConfigMapWatchEvent[] = [];
      let wake = (): void => undefined;
      let changed = (): void => undefined;
      const watch = await watchAuthenticationConfig({
        getConfigMap: () => Promise.resolve({ ok: true, value: { resourceVersion: '1', data: data(pem(cert('frontProxyCA'))) } }),
        watchConfigMap: async function* (_rv, signal) {
          while (!signal.aborted) {
            const ev = events.shift();
            if (ev !== undefined) yield ev;
            else
              await new Promise<void>((resolve) => {
                wake = resolve;
                signal.addEventListener('abort', () => resolve(), { once: true });
              });
          }
        },
        onChange: () => changed(),
        sleep: () => Promise.resolve(),
      });
      if (!watch.ok) throw new Error(watch.error);
      try {
        authenticator = createDelegatingAuthenticator({ authenticationConfig: watch.value.current, now: () => clock });
        expect((await call({ cert: 'frontProxyClient2', headers: aggregatorHeaders })).result.kind).to.equal('error');
        const applied = new Promise<void>((resolve) => (changed = resolve));
        events.push({ type: 'MODIFIED', object: { resourceVersion: '2', data: data(pem(cert('frontProxyCA')) + pem(cert('frontProxyCA2'))) } });
        wake();
        await applied;
        const got = await call({ cert: 'frontProxyClient2', headers: aggregatorHeaders });
        expect(got.result.kind === 'authenticated' ? got.result.user.name : got.result.kind).to.equal('bob');
      } finally {
        await watch.value.stop();
      }
    });
  });
});
