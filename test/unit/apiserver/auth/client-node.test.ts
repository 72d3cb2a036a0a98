/**
 * The real review and ConfigMap clients over client-node, against a local HTTP server standing in for
 * kube-apiserver: request paths and bodies, error mapping, the abort signal and the watch.
 */
import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { authenticationConfigMapClient, type ConfigMapWatchEvent } from '../../../../apiserver/auth/authentication-config.js';
import { subjectAccessReviewClient } from '../../../../apiserver/auth/delegating.js';
import { tokenReviewClient } from '../../../../apiserver/auth/tokenreview.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly auth: string | undefined;
  readonly body: unknown;
}

describe('client-node review and ConfigMap clients', () => {
  let server: Server | undefined;
  let kc = new KubeConfig();
  const seen: Seen[] = [];
  let handler: (req: IncomingMessage, res: ServerResponse, body: unknown) => void = (_q, res) => res.end();

  before(async () => {
    server = createServer((req, res) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (text += c));
      req.on('end', () => {
        const body: unknown = text === '' ? undefined : JSON.parse(text);
        seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body });
        handler(req, res, body);
      });
    });
    const s = server;
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const port = (s.address() as AddressInfo).port;
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${String(port)}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'sa-token' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  });
  after(async () => {
    const s = server;
    if (s === undefined) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    s.closeAllConnections();
    await closed;
  });
  beforeEach(() => {
    seen.length = 0;
  });

  const json = (res: ServerResponse, code: number, obj: unknown): void => {
    res.statusCode = code;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(obj));
  };

  it('posts a TokenReview and returns its body', async () => {
    handler = (_req, res, body) => json(res, 201, { ...(body as object), status: { authenticated: true, user: { username: 'alice' } } });
    const r = await tokenReviewClient(kc)({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 't', audiences: ['a'] } }, new AbortController().signal);
    expect(r.ok && (r.value as { status: unknown }).status).to.deep.equal({ authenticated: true, user: { username: 'alice' } });
    expect(seen[0]).to.deep.include({ method: 'POST', url: '/apis/authentication.k8s.io/v1/tokenreviews', auth: 'Bearer sa-token' });
    expect((seen[0]?.body as { spec: unknown }).spec).to.deep.equal({ token: 't', audiences: ['a'] });
  });

  it('posts a SubjectAccessReview and maps an error Status to its code and message', async () => {
    handler = (_req, res) => json(res, 503, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'etcd is down', code: 503 });
    const r = await subjectAccessReviewClient(kc)(
      { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: 'alice', groups: ['g'], extra: { k: ['v'] }, nonResourceAttributes: { path: '/apis', verb: 'get' } } },
      new AbortController().signal,
    );
    expect(r).to.deep.equal({ ok: false, error: { code: 503, message: 'etcd is down' } });
    expect(seen[0]).to.deep.include({ method: 'POST', url: '/apis/authorization.k8s.io/v1/subjectaccessreviews' });
    expect((seen[0]?.body as { spec: unknown }).spec).to.deep.equal({ user: 'alice', groups: ['g'], extra: { k: ['v'] }, nonResourceAttributes: { path: '/apis', verb: 'get' } });
  });

  it('aborts a call when its signal fires', async () => {
    handler = () => undefined; // never answers
    const ctl = new AbortController();
    const p = tokenReviewClient(kc)({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 't' } }, ctl.signal);
    setTimeout(() => ctl.abort(), 20);
    const r = await p;
    expect(r.ok).to.equal(false);
    expect(r.ok ? 0 : r.error.code).to.equal(undefined);
  });

  it('reads the ConfigMap, and a 404 as absent', async () => {
    const client = authenticationConfigMapClient(kc);
    handler = (_req, res) => json(res, 200, { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'extension-apiserver-authentication', resourceVersion: '42' }, data: { a: 'b' } });
    expect(await client.getConfigMap(new AbortController().signal)).to.deep.equal({ ok: true, value: { resourceVersion: '42', data: { a: 'b' } } });
    expect(seen[0]?.url).to.equal('/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication');
    handler = (_req, res) => json(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
    expect(await client.getConfigMap(new AbortController().signal)).to.deep.equal({ ok: true, value: undefined });
  });

  it('watches the ConfigMap by field selector from a resourceVersion', async () => {
    handler = (_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      const cm = (rv: string): unknown => ({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'extension-apiserver-authentication', resourceVersion: rv }, data: { k: rv } });
      res.write(`${JSON.stringify({ type: 'MODIFIED', object: cm('43') })}\n`);
      res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: 'ConfigMap', metadata: { resourceVersion: '44' } } })}\n`);
      res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', message: 'too old resource version', code: 410 } })}\n`);
    };
    const events: ConfigMapWatchEvent[] = [];
    for await (const ev of authenticationConfigMapClient(kc).watchConfigMap('42', new AbortController().signal)) events.push(ev);
    expect(events).to.deep.equal([
      { type: 'MODIFIED', object: { resourceVersion: '43', data: { k: '43' } } },
      { type: 'BOOKMARK', resourceVersion: '44' },
      { type: 'ERROR', message: 'too old resource version' },
    ]);
    const url = new URL(seen[0]?.url ?? '', 'http://x');
    expect(url.pathname).to.equal('/api/v1/namespaces/kube-system/configmaps');
    expect(Object.fromEntries(url.searchParams)).to.deep.include({ watch: 'true', fieldSelector: 'metadata.name=extension-apiserver-authentication', resourceVersion: '42', allowWatchBookmarks: 'true' });
  });

  it('ends the watch iteration when the signal aborts', async () => {
    handler = (_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.write('\n'); // open, then silence
    };
    const ctl = new AbortController();
    const events: ConfigMapWatchEvent[] = [];
    setTimeout(() => ctl.abort(), 50);
    for await (const ev of authenticationConfigMapClient(kc).watchConfigMap('1', ctl.signal)) events.push(ev);
    expect(events).to.deep.equal([]);
  });
});
