import { expect } from 'chai';
import {
  authorizationInfo,
  createDelegatingAuthorizer,
  fieldSelectorName,
  forbiddenStatus,
  reviewFailedReason,
  subjectAccessReviewSpec,
  type CreateSubjectAccessReview,
  type SubjectAccessReviewBody,
} from '../../../../apiserver/auth/delegating.js';
import type { ReviewCallResult } from '../../../../apiserver/auth/webhook.js';
import { requestInfo, type RequestInfo } from '../../../../apiserver/endpoints/request-info.js';
import type { UserInfo } from '../../../../apiserver/registry/rest.js';

const base = '/apis/connectors.alauda.io/v1alpha1';
const alice: UserInfo = { name: 'alice', groups: ['devs', 'system:authenticated'] };

/** What the server will pass to authorize(): the path's RequestInfo plus the field-selector name. */
function infoFor(method: string, url: string): RequestInfo {
  const u = new URL(url, 'https://localhost');
  return authorizationInfo(requestInfo(method, u.pathname, u.searchParams), u.searchParams);
}

const sarStatus = (status: Record<string, unknown>): ReviewCallResult => ({
  ok: true,
  value: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', status },
});

function fakeSar(answer: (body: SubjectAccessReviewBody) => ReviewCallResult): { create: CreateSubjectAccessReview; bodies: SubjectAccessReviewBody[] } {
  const bodies: SubjectAccessReviewBody[] = [];
  return {
    bodies,
    create: (body) => {
      bodies.push(body);
      return Promise.resolve(answer(body));
    },
  };
}

const noSleep = { sleep: () => Promise.resolve(), random: () => 0 };

describe('subjectAccessReviewSpec attribute mapping', () => {
  const gv = { group: 'connectors.alauda.io', version: 'v1alpha1' };
  const cases: { name: string; method: string; url: string; want: Record<string, string> }[] = [
    { name: 'get', method: 'GET', url: `${base}/namespaces/default/accessrequests/x`, want: { namespace: 'default', verb: 'get', ...gv, resource: 'accessrequests', name: 'x' } },
    { name: 'get of the status subresource', method: 'GET', url: `${base}/namespaces/default/accessrequests/x/status`, want: { namespace: 'default', verb: 'get', ...gv, resource: 'accessrequests', subresource: 'status', name: 'x' } },
    { name: 'list in a namespace', method: 'GET', url: `${base}/namespaces/default/accessrequests`, want: { namespace: 'default', verb: 'list', ...gv, resource: 'accessrequests' } },
    { name: 'list across namespaces', method: 'GET', url: `${base}/accessrequests`, want: { verb: 'list', ...gv, resource: 'accessrequests' } },
    { name: 'list of a cluster-scoped resource', method: 'GET', url: `${base}/connectorclasses`, want: { verb: 'list', ...gv, resource: 'connectorclasses' } },
    { name: 'watch=true', method: 'GET', url: `${base}/namespaces/default/accessrequests?watch=true`, want: { namespace: 'default', verb: 'watch', ...gv, resource: 'accessrequests' } },
    { name: 'watch=1', method: 'GET', url: `${base}/namespaces/default/accessrequests?watch=1`, want: { namespace: 'default', verb: 'watch', ...gv, resource: 'accessrequests' } },
    { name: 'the legacy /watch/ prefix', method: 'GET', url: `${base}/watch/namespaces/default/accessrequests`, want: { namespace: 'default', verb: 'watch', ...gv, resource: 'accessrequests' } },
    { name: 'list with a metadata.name field selector', method: 'GET', url: `${base}/namespaces/default/accessrequests?fieldSelector=metadata.name%3Dx`, want: { namespace: 'default', verb: 'list', ...gv, resource: 'accessrequests', name: 'x' } },
    { name: 'watch with metadata.name== among other terms', method: 'GET', url: `${base}/namespaces/default/accessrequests?watch=true&fieldSelector=status.phase%3DPending,metadata.name%3D%3Dx`, want: { namespace: 'default', verb: 'watch', ...gv, resource: 'accessrequests', name: 'x' } },
    { name: 'list with metadata.name!= has no name', method: 'GET', url: `${base}/namespaces/default/accessrequests?fieldSelector=metadata.name!%3Dx`, want: { namespace: 'default', verb: 'list', ...gv, resource: 'accessrequests' } },
    { name: 'create', method: 'POST', url: `${base}/namespaces/default/accessrequests`, want: { namespace: 'default', verb: 'create', ...gv, resource: 'accessrequests' } },
    { name: 'update', method: 'PUT', url: `${base}/namespaces/default/accessrequests/x`, want: { namespace: 'default', verb: 'update', ...gv, resource: 'accessrequests', name: 'x' } },
    { name: 'update of status', method: 'PUT', url: `${base}/namespaces/default/connectors/x/status`, want: { namespace: 'default', verb: 'update', ...gv, resource: 'connectors', subresource: 'status', name: 'x' } },
    { name: 'patch of status', method: 'PATCH', url: `${base}/namespaces/default/accessrequests/x/status`, want: { namespace: 'default', verb: 'patch', ...gv, resource: 'accessrequests', subresource: 'status', name: 'x' } },
    { name: 'delete', method: 'DELETE', url: `${base}/namespaces/default/accessrequests/x`, want: { namespace: 'default', verb: 'delete', ...gv, resource: 'accessrequests', name: 'x' } },
    { name: 'deletecollection', method: 'DELETE', url: `${base}/namespaces/default/accessrequests`, want: { namespace: 'default', verb: 'deletecollection', ...gv, resource: 'accessrequests' } },
    { name: 'a cluster-scoped get', method: 'GET', url: `${base}/connectorclasses/c1`, want: { verb: 'get', ...gv, resource: 'connectorclasses', name: 'c1' } },
  ];
  for (const tc of cases) {
    it(`maps ${tc.name}`, () => {
      expect(subjectAccessReviewSpec(alice, infoFor(tc.method, tc.url))).to.deep.equal({
        user: 'alice',
        groups: ['devs', 'system:authenticated'],
        resourceAttributes: tc.want,
      });
    });
  }

  const nonResource: { path: string; method: string; verb: string }[] = [
    { path: '/apis', method: 'GET', verb: 'get' },
    { path: `/apis/connectors.alauda.io`, method: 'GET', verb: 'get' },
    { path: base, method: 'GET', verb: 'get' },
    { path: '/openapi/v3', method: 'GET', verb: 'get' },
    { path: '/version', method: 'HEAD', verb: 'head' },
    { path: '/metrics', method: 'GET', verb: 'get' },
  ];
  for (const tc of nonResource) {
    it(`maps ${tc.method} ${tc.path} to nonResourceAttributes`, () => {
      expect(subjectAccessReviewSpec(alice, infoFor(tc.method, tc.path)).nonResourceAttributes).to.deep.equal({ path: tc.path, verb: tc.verb });
    });
  }

  it('sends uid and extra (keys sorted) of the user', () => {
    const user: UserInfo = { name: 'bob', uid: 'u-1', groups: [], extra: { zeta: ['1'], alpha: ['2', '3'] } };
    const spec = subjectAccessReviewSpec(user, infoFor('GET', '/apis'));
    expect(JSON.stringify(spec)).to.equal('{"user":"bob","uid":"u-1","extra":{"alpha":["2","3"],"zeta":["1"]},"nonResourceAttributes":{"path":"/apis","verb":"get"}}');
  });
});

describe('fieldSelectorName', () => {
  const cases: { selector: string; want: string | undefined }[] = [
    { selector: 'metadata.name=x', want: 'x' },
    { selector: 'metadata.name==x', want: 'x' },
    { selector: 'metadata.name!=x', want: undefined },
    { selector: 'metadata.namespace=default,metadata.name=a\\,b', want: 'a,b' },
    { selector: 'metadata.name=bad\\q', want: undefined },
    { selector: 'nonsense', want: undefined },
    { selector: '', want: undefined },
  ];
  for (const tc of cases) {
    it(`reads ${JSON.stringify(tc.selector)}`, () => {
      expect(fieldSelectorName(tc.selector)).to.equal(tc.want);
    });
  }

  it('ignores names that are not valid path segments', () => {
    expect(infoFor('GET', `${base}/namespaces/default/accessrequests?fieldSelector=metadata.name%3Da%2Fb`)).to.deep.include({ name: undefined });
  });
});

describe('createDelegatingAuthorizer', () => {
  const getX = infoFor('GET', `${base}/namespaces/default/accessrequests/x`);

  it('allows system:masters without a SubjectAccessReview', async () => {
    const sar = fakeSar(() => sarStatus({ allowed: false }));
    const authz = createDelegatingAuthorizer({ createSubjectAccessReview: sar.create, ...noSleep });
    expect(await authz.authorize({ name: 'system:kube-aggregator', groups: ['system:masters', 'system:authenticated'] }, getX)).to.deep.equal({ allowed: true });
    expect(sar.bodies).to.have.length(0);
  });

  for (const path of ['/healthz', '/livez', '/readyz']) {
    it(`allows ${path} for everyone without a SubjectAccessReview`, async () => {
      const sar = fakeSar(() => sarStatus({ allowed: false }));
      const authz = createDelegatingAuthorizer({ createSubjectAccessReview: sar.create, ...noSleep });
      expect(await authz.authorize({ name: 'system:anonymous', groups: ['system:unauthenticated'] }, infoFor('GET', path))).to.deep.equal({ allowed: true });
      expect(sar.bodies).to.have.length(0);
    });
  }

  for (const path of ['/healthz/etcd', '/readyz/', '/livez/ping']) {
    it(`authorizes the sub-path ${path} normally`, async () => {
      const sar = fakeSar(() => sarStatus({ allowed: false }));
      const authz = createDelegatingAuthorizer({ createSubjectAccessReview: sar.create, ...noSleep });
      expect((await authz.authorize({ name: 'system:anonymous', groups: ['system:unauthenticated'] }, infoFor('GET', path))).allowed).to.equal(false);
      expect(sar.bodies).to.have.length(1);
    });
  }

  const decisions: { name: string; status: Record<string, unknown>; want: unknown }[] = [
    { name: 'allows on status.allowed', status: { allowed: true }, want: { allowed: true } },
    { name: 'denies on status.denied with its reason', status: { allowed: false, denied: true, reason: 'no way' }, want: { allowed: false, reason: 'no way' } },
    { name: 'denies on no opinion', status: { allowed: false, reason: '' }, want: { allowed: false, reason: '' } },
    { name: 'denies when both allowed and denied', status: { allowed: true, denied: true, reason: 'odd' }, want: { allowed: false, reason: 'odd' } },
  ];
  for (const tc of decisions) {
    it(tc.name, async () => {
      const sar = fakeSar(() => sarStatus(tc.status));
      const authz = createDelegatingAuthorizer({ createSubjectAccessReview: sar.create, ...noSleep });
      expect(await authz.authorize(alice, getX)).to.deep.equal(tc.want);
    });
  }

  it('posts a SubjectAccessReview with the spec', async () => {
    const sar = fakeSar(() => sarStatus({ allowed: true }));
    const authz = createDelegatingAuthorizer({ createSubjectAccessReview: sar.create, ...noSleep });
    await authz.authorize(alice, getX);
    expect(sar.bodies).to.deep.equal([{ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: subjectAccessReviewSpec(alice, getX) }]);
  });

  it('caches allow and deny for 10 s, keyed by the spec', async () => {
    let now = new Date('2030-01-01T00:00:00Z');
    const sar = fakeSar((b) => sarStatus({ allowed: b.spec.resourceAttributes?.name === 'x' }));
    const authz = createDelegatingAuthorizer({ createSubjectAccessReview: sar.create, now: () => now, ...noSleep });
    const getY = infoFor('GET', `${base}/namespaces/default/accessrequests/y`);
    expect((await authz.authorize(alice, getX)).allowed).to.equal(true);
    expect((await authz.authorize(alice, getY)).allowed).to.equal(false);
    now = new Date(now.getTime() + 9_000);
    expect((await authz.authorize(alice, getX)).allowed).to.equal(true);
    expect((await authz.authorize(alice, getY)).allowed).to.equal(false);
    expect(sar.bodies).to.have.length(2);
    await authz.authorize({ ...alice, name: 'bob' }, getX);
    expect(sar.bodies).to.have.length(3);
    now = new Date(now.getTime() + 1_001);
    await authz.authorize(alice, getX);
    expect(sar.bodies).to.have.length(4);
  });

  it('keeps at most maxEntries decisions', async () => {
    const sar = fakeSar(() => sarStatus({ allowed: true }));
    const authz = createDelegatingAuthorizer({ createSubjectAccessReview: sar.create, maxEntries: 1, ...noSleep });
    const getY = infoFor('GET', `${base}/namespaces/default/accessrequests/y`);
    await authz.authorize(alice, getX);
    await authz.authorize(alice, getY);
    await authz.authorize(alice, getX);
    expect(sar.bodies).to.have.length(3);
  });

  it('fails closed when the SubjectAccessReview keeps failing, and does not cache that', async () => {
    const errors: string[] = [];
    const sar = fakeSar(() => ({ ok: false, error: { code: 503, message: 'unavailable' } }));
    const authz = createDelegatingAuthorizer({ createSubjectAccessReview: sar.create, onError: (m) => errors.push(m), ...noSleep });
    expect(await authz.authorize(alice, getX)).to.deep.equal({ allowed: false, reason: reviewFailedReason });
    expect(sar.bodies).to.have.length(5); // retried with backoff
    expect(errors).to.deep.equal(['SubjectAccessReview failed: unavailable']);
    await authz.authorize(alice, getX);
    expect(sar.bodies).to.have.length(10);
  });

  it('fails closed on a timeout', async () => {
    const authz = createDelegatingAuthorizer({ createSubjectAccessReview: () => new Promise(() => undefined), timeoutMs: 20, ...noSleep });
    expect(await authz.authorize(alice, getX)).to.deep.equal({ allowed: false, reason: reviewFailedReason });
  });

  it('fails closed on a response without status', async () => {
    const authz = createDelegatingAuthorizer({ createSubjectAccessReview: () => Promise.resolve({ ok: true, value: {} }), ...noSleep });
    expect((await authz.authorize(alice, getX)).allowed).to.equal(false);
  });
});

describe('forbiddenStatus', () => {
  const g = 'connectors.alauda.io';
  const cases: { name: string; method: string; url: string; reason: string; message: string; details: Record<string, string> }[] = [
    {
      name: 'a named resource in a namespace',
      method: 'GET',
      url: `${base}/namespaces/default/accessrequests/x`,
      reason: '',
      message: `accessrequests.${g} "x" is forbidden: User "alice" cannot get resource "accessrequests" in API group "${g}" in the namespace "default"`,
      details: { name: 'x', group: g, kind: 'accessrequests' },
    },
    {
      name: 'with the authorizer reason',
      method: 'GET',
      url: `${base}/namespaces/default/accessrequests/x`,
      reason: 'RBAC: nothing bound',
      message: `accessrequests.${g} "x" is forbidden: User "alice" cannot get resource "accessrequests" in API group "${g}" in the namespace "default": RBAC: nothing bound`,
      details: { name: 'x', group: g, kind: 'accessrequests' },
    },
    {
      name: 'list (no name)',
      method: 'GET',
      url: `${base}/namespaces/default/accessrequests`,
      reason: '',
      message: `accessrequests.${g} is forbidden: User "alice" cannot list resource "accessrequests" in API group "${g}" in the namespace "default"`,
      details: { group: g, kind: 'accessrequests' },
    },
    {
      name: 'watch across namespaces',
      method: 'GET',
      url: `${base}/accessrequests?watch=true`,
      reason: '',
      message: `accessrequests.${g} is forbidden: User "alice" cannot watch resource "accessrequests" in API group "${g}" at the cluster scope`,
      details: { group: g, kind: 'accessrequests' },
    },
    {
      name: 'create',
      method: 'POST',
      url: `${base}/namespaces/default/accessrequests`,
      reason: '',
      message: `accessrequests.${g} is forbidden: User "alice" cannot create resource "accessrequests" in API group "${g}" in the namespace "default"`,
      details: { group: g, kind: 'accessrequests' },
    },
    {
      name: 'deletecollection',
      method: 'DELETE',
      url: `${base}/namespaces/default/accessrequests`,
      reason: '',
      message: `accessrequests.${g} is forbidden: User "alice" cannot deletecollection resource "accessrequests" in API group "${g}" in the namespace "default"`,
      details: { group: g, kind: 'accessrequests' },
    },
    {
      name: 'a cluster-scoped resource',
      method: 'DELETE',
      url: `${base}/connectorclasses/c1`,
      reason: '',
      message: `connectorclasses.${g} "c1" is forbidden: User "alice" cannot delete resource "connectorclasses" in API group "${g}" at the cluster scope`,
      details: { name: 'c1', group: g, kind: 'connectorclasses' },
    },
    {
      name: 'a subresource',
      method: 'PATCH',
      url: `${base}/namespaces/default/accessrequests/x/status`,
      reason: '',
      message: `accessrequests.${g} "x" is forbidden: User "alice" cannot patch resource "accessrequests/status" in API group "${g}" in the namespace "default"`,
      details: { name: 'x', group: g, kind: 'accessrequests' },
    },
    {
      name: 'a list narrowed by a field selector',
      method: 'GET',
      url: `${base}/namespaces/default/accessrequests?fieldSelector=metadata.name%3Dx`,
      reason: '',
      message: `accessrequests.${g} "x" is forbidden: User "alice" cannot list resource "accessrequests" in API group "${g}" in the namespace "default"`,
      details: { name: 'x', group: g, kind: 'accessrequests' },
    },
    {
      name: 'a non-resource path',
      method: 'GET',
      url: '/apis',
      reason: '',
      message: 'forbidden: User "alice" cannot get path "/apis"',
      details: {},
    },
  ];
  for (const tc of cases) {
    it(`words ${tc.name} as Kubernetes does`, () => {
      expect(forbiddenStatus(alice, infoFor(tc.method, tc.url), tc.reason)).to.deep.equal({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: tc.message,
        reason: 'Forbidden',
        details: tc.details,
        code: 403,
      });
    });
  }
});
