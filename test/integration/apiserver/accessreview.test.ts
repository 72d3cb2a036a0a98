/**
 * AccessReview (domain spec §11.3) through the HTTP app over a real etcd: discovery, OpenAPI, the
 * create-only verbs, decoding and validation, the standalone answer (503), and the backend against
 * our stores and a fake main API server (Pods, ConfigMaps, check objects, SubjectAccessReviews),
 * with an authorizer that stands in for the caller's SubjectAccessReviews.
 */
import { expect } from 'chai';
import { Etcd3 } from 'etcd3';
import type { Authorizer } from '../../../apiserver/auth/types.js';
import { allowAll } from '../../../apiserver/auth/types.js';
import type { KubeClient, KubeResponse } from '../../../apiserver/controller/kube-client.js';
import type { RequestInfo } from '../../../apiserver/endpoints/request-info.js';
import { accessReviewEndpoint, createAccessReviewBackend, standaloneMessage } from '../../../apiserver/registry/accessreview/index.js';
import { approvalTask, builtinTemplates, pod, policy, systemNamespace } from '../../unit/apiserver/controller/fixtures.js';
import { gvPath, useRestServer } from '../../support/rest.js';

const gv = 'connectors.alauda.io/v1alpha1';
const podName = 'promote-run-abc12-push-image-pod';

const reviewBody = (context: unknown = { podTemplate: { namespace: 'cicd', name: podName, labels: { 'tekton.dev/pipelineRun': 'promote-run-abc12' }, serviceAccountName: 'builder' } }): Record<string, unknown> => ({
  apiVersion: gv,
  kind: 'AccessReview',
  metadata: { generateName: 'pre-flight-' },
  spec: { connectorRef: { name: 'prod-harbor' }, subject: { kind: 'ServiceAccount', name: 'builder', namespace: 'cicd' }, context },
});

describe('AccessReview in standalone mode (no main API server)', function () {
  const api = useRestServer({ virtualResources: () => [accessReviewEndpoint({ authorizer: allowAll })] });
  const path = `${gvPath}/namespaces/devops/accessreviews`;

  it('is in discovery with the verb create only and no status subresource', async () => {
    const list = await api.request('GET', gvPath);
    const entries = (list.body.resources as { name: string; verbs: string[]; namespaced: boolean; kind: string }[]).filter((r) => r.name.startsWith('accessreviews'));
    expect(entries).to.deep.equal([{ name: 'accessreviews', singularName: 'accessreview', namespaced: true, kind: 'AccessReview', verbs: ['create'] }]);
    expect((list.body.resources as { name: string }[]).map((r) => r.name)).to.include.members(['accesspolicies', 'accessrequests', 'accessreviews']);
    const agg = await api.request('GET', '/apis', { headers: { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' } });
    const resources = agg.body.items[0].versions[0].resources as { resource: string; verbs: string[]; subresources?: unknown }[];
    expect(resources.map((r) => r.resource)).to.deep.equal(['accesspolicies', 'accessrequests', 'accessreviews', 'connectorclasses', 'connectors']);
    const review = resources.find((r) => r.resource === 'accessreviews');
    expect(review).to.deep.include({ verbs: ['create'], scope: 'Namespaced', responseKind: { group: 'connectors.alauda.io', version: 'v1alpha1', kind: 'AccessReview' } });
    expect(review).to.not.have.property('subresources');
  });

  it('is in OpenAPI with its post operation only, and no list kind', async () => {
    const v3 = await api.request('GET', `/openapi/v3/apis/${gv}`);
    const paths = Object.keys(v3.body.paths as Record<string, unknown>).filter((p) => p.includes('accessreviews'));
    expect(paths).to.deep.equal([`/apis/${gv}/namespaces/{namespace}/accessreviews`]);
    const item = v3.body.paths[paths[0] ?? ''] as Record<string, { operationId?: string; 'x-kubernetes-action'?: string }>;
    expect(Object.keys(item).filter((k) => k !== 'parameters')).to.deep.equal(['post']);
    expect(item['post']).to.include({ operationId: 'createConnectorsAlaudaIoV1alpha1NamespacedAccessReview', 'x-kubernetes-action': 'post' });
    const schemas = v3.body.components.schemas as Record<string, { properties?: Record<string, unknown> }>;
    expect(schemas).to.have.property('io.alauda.connectors.v1alpha1.AccessReview');
    expect(schemas).to.not.have.property('io.alauda.connectors.v1alpha1.AccessReviewList');
    expect(Object.keys(schemas['io.alauda.connectors.v1alpha1.AccessReview']?.properties ?? {}).sort()).to.deep.equal(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    const v2 = await api.request('GET', '/openapi/v2');
    expect(Object.keys(v2.body.paths as Record<string, unknown>).filter((p) => p.includes('accessreviews'))).to.deep.equal([`/apis/${gv}/namespaces/{namespace}/accessreviews`]);
  });

  it('a valid review answers 503, saying why; dryRun=All alike', async () => {
    for (const q of ['', '?dryRun=All']) {
      const r = await api.request('POST', path + q, { body: reviewBody() });
      expect(r.status).to.equal(503);
      expect(r.body).to.include({ kind: 'Status', reason: 'ServiceUnavailable', message: standaloneMessage });
    }
  });

  it('validates first: 422 with every cause (RV-V1, AR-V2, AR-V8…)', async () => {
    const r = await api.request('POST', path, {
      body: { apiVersion: gv, kind: 'AccessReview', metadata: { name: 'r1' }, spec: { connectorRef: {}, subject: { kind: 'User', name: 'alice', namespace: 'x' }, context: {} } },
    });
    expect(r.status).to.equal(422);
    expect(r.body.message).to.equal(
      "AccessReview.connectors.alauda.io \"r1\" is invalid: [spec.connectorRef.name: Required value, spec.context: Required value: must specify one of objectRef or podTemplate, spec.subject.namespace: Forbidden: may not be specified when kind is 'User']",
    );
    const typed = await api.request('POST', path, { body: { ...reviewBody(), spec: { connectorRef: { name: 7 } } } });
    expect(typed.status).to.equal(422);
    expect(typed.body.details.causes[0]).to.include({ reason: 'FieldValueTypeInvalid', field: 'spec.connectorRef.name' });
    const badName = await api.request('POST', path, { body: { ...reviewBody(), metadata: { name: 'Not_A_Name' } } });
    expect(badName.status).to.equal(422);
    expect(badName.body.details.causes.map((c: { field: string }) => c.field)).to.deep.equal(['metadata.name']);
  });

  it('refuses bodies and options as a create does (400, 422)', async () => {
    const ns = await api.request('POST', path, { body: { ...reviewBody(), metadata: { namespace: 'other' } } });
    expect([ns.status, ns.body.message]).to.deep.equal([400, 'the namespace of the provided object does not match the namespace sent on the request']);
    const kind = await api.request('POST', path, { body: { ...reviewBody(), kind: 'AccessRequest' } });
    expect([kind.status, kind.body.message]).to.deep.equal([400, 'the kind in the data (AccessRequest) does not match the expected kind (AccessReview)']);
    const strict = await api.request('POST', `${path}?fieldValidation=Strict`, { body: { ...reviewBody(), extra: 1 } });
    expect([strict.status, strict.body.message]).to.deep.equal([400, 'strict decoding error: unknown field "extra"']);
    // Invalid options are 422, as for any create (CreateOptions validation).
    const dry = await api.request('POST', `${path}?dryRun=Some`, { body: reviewBody() });
    expect([dry.status, dry.body.details?.kind]).to.deep.equal([422, 'CreateOptions']);
  });

  it('every other method on an accessreviews path is 405', async () => {
    const cases: [string, string][] = [
      ['GET', path],
      ['GET', `${path}/r1`],
      ['GET', `${gvPath}/accessreviews`],
      ['GET', `${path}?watch=true`],
      ['PUT', `${path}/r1`],
      ['PATCH', `${path}/r1`],
      ['DELETE', `${path}/r1`],
      ['DELETE', path],
      ['POST', `${path}/r1`],
      ['POST', `${gvPath}/accessreviews`],
      ['GET', `${path}/r1/status`],
    ];
    for (const [method, p] of cases) {
      const r = await api.request(method, p, method === 'PATCH' ? { body: {}, contentType: 'application/merge-patch+json' } : method === 'PUT' ? { body: reviewBody() } : {});
      expect([method, p, r.status, r.body?.reason]).to.deep.equal([method, p, 405, 'MethodNotAllowed']);
    }
  });
});

/** A main API server in a map: path → answer; SubjectAccessReviews answered by `allowSubject`. */
function fakeMainAPI(opts: { allowSubject: (spec: { resourceAttributes: { subresource: string } }) => string | undefined }): KubeClient & { calls: string[] } {
  const calls: string[] = [];
  const ok = <T>(body: unknown): KubeResponse<T> => ({ ok: true, code: 200, body: body as T });
  const notFound = <T>(): KubeResponse<T> => ({ ok: false, code: 404, message: 'not found' });
  const flags = { metadata: { namespace: systemNamespace, name: 'connectors-config' }, data: { 'enable-connector-proxy-permissions': 'true', 'enable-connectors-approval': 'true' } };
  return {
    calls,
    call: <T>(method: string, path: string, body?: unknown): Promise<KubeResponse<T>> => {
      calls.push(`${method} ${path}`);
      const url = new URL(path, 'https://main');
      const p = url.pathname;
      if (method === 'POST' && p === '/apis/authorization.k8s.io/v1/subjectaccessreviews') {
        const reason = opts.allowSubject((body as { spec: { resourceAttributes: { subresource: string } } }).spec);
        return Promise.resolve(ok<T>({ status: reason === undefined ? { allowed: false } : { allowed: true, reason } }));
      }
      if (p === `/api/v1/namespaces/${systemNamespace}/configmaps`) return Promise.resolve(ok<T>({ items: [...builtinTemplates().values(), flags] }));
      if (p === `/api/v1/namespaces/cicd/pods/${podName}`) return Promise.resolve(ok<T>(pod()));
      if (p === '/apis/openshift-pipelines.org/v1alpha1') return Promise.resolve(ok<T>({ resources: [{ name: 'approvaltasks', kind: 'ApprovalTask' }, { name: 'approvaltasks/status', kind: 'ApprovalTask' }] }));
      if (p === '/apis/openshift-pipelines.org/v1alpha1/namespaces/cicd/approvaltasks') {
        const sel = url.searchParams.get('labelSelector');
        const items = sel === 'tekton.dev/pipelineRun=promote-run-abc12' ? [approvalTask()] : [];
        return Promise.resolve(ok<T>({ items: items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest) }));
      }
      return Promise.resolve(notFound<T>());
    },
    watch: () => Promise.resolve({ code: 500 }),
  };
}

const deny = (pred: (info: Extract<RequestInfo, { kind: 'resource' }>) => boolean): Authorizer => ({
  authorize: (_user, info) => Promise.resolve(info.kind === 'resource' && pred(info) ? { allowed: false, reason: 'denied by the test' } : { allowed: true }),
});

describe('AccessReview against our stores and a (fake) main API server', function () {
  let authorizer: Authorizer = allowAll;
  let allowedBy: string | undefined;
  const main = fakeMainAPI({ allowSubject: (spec) => (spec.resourceAttributes.subresource === 'proxy' ? allowedBy : undefined) });
  const api = useRestServer({
    virtualResources: (stores) => [
      accessReviewEndpoint({
        authorizer: { authorize: (u, i) => authorizer.authorize(u, i) },
        backend: createAccessReviewBackend({ client: main, stores, systemNamespace, configMapName: 'connectors-config' }),
      }),
    ],
  });
  const path = `${gvPath}/namespaces/devops/accessreviews`;

  before(async () => {
    const c = await api.request('POST', `${gvPath}/namespaces/devops/connectors`, {
      body: { apiVersion: gv, kind: 'Connector', metadata: { name: 'prod-harbor' }, spec: { connectorClassName: 'harbor', address: 'https://h.example.com' } },
    });
    expect(c.status).to.equal(201);
    const { metadata: _m, ...p } = policy();
    const created = await api.request('POST', `${gvPath}/namespaces/devops/accesspolicies`, { body: { ...p, metadata: { name: 'prod-harbor-approval' } } });
    expect(created.status).to.equal(201);
  });
  beforeEach(() => {
    authorizer = allowAll;
    allowedBy = undefined;
  });

  it('answers 201 with the request echoed and the computed status; nothing is stored', async () => {
    const r = await api.request('POST', path, { body: reviewBody() });
    expect(r.status).to.equal(201);
    expect(r.body.metadata).to.deep.equal({ generateName: 'pre-flight-', namespace: 'devops' });
    expect(r.body.spec.subject).to.deep.equal({ kind: 'ServiceAccount', name: 'builder', namespace: 'cicd', apiGroup: '' });
    expect(r.body.status).to.deep.include({ approvalEnabled: true, connectorResolved: true, allowed: false, context: { valid: true, reason: 'Active' } });
    expect(r.body.status.checkReady).to.include({ status: 'Unknown', reason: 'Pending' });
    expect(r.body.status.policies[0].checks[0].objects[0].approvers).to.deep.equal(['alice']);
    expect(r.body.status.policies[0].rules[0].resources).to.deep.equal([`connectors/proxy/v1/pod/cicd/${podName}`]);
    const etcd = new Etcd3({ hosts: api.etcdEndpoint() });
    try {
      expect(await etcd.getAll().prefix(`${api.etcdPrefix()}/connectors.alauda.io/accessreviews`).keys()).to.deep.equal([]);
    } finally {
      etcd.close();
    }
    const dry = await api.request('POST', `${path}?dryRun=All`, { body: reviewBody() });
    expect([dry.status, dry.body.status]).to.deep.equal([201, r.body.status]);
  });

  it('YAML in, YAML out', async () => {
    const yaml = `apiVersion: ${gv}\nkind: AccessReview\nspec:\n  connectorRef: {name: prod-harbor}\n  subject: {kind: ServiceAccount, name: builder, namespace: cicd}\n  context: {objectRef: {kind: Pod, namespace: cicd, name: ${podName}}}\n`;
    const r = await api.request('POST', path, { rawBody: yaml, contentType: 'application/yaml', headers: { accept: 'application/yaml' } });
    expect(r.status).to.equal(201);
    expect(r.headers.get('content-type')).to.equal('application/yaml');
    expect(r.text).to.include('allowed: false').and.include('reason: Active');
  });

  it('allowed already: allowedBy names the binding; hidden when the caller may not list RoleBindings', async () => {
    allowedBy = 'RBAC: allowed by RoleBinding "connectors-policy-p/devops" of Role "connectors-policy-p" to ServiceAccount "builder/cicd"';
    const r = await api.request('POST', path, { body: reviewBody() });
    expect(r.body.status).to.deep.include({ allowed: true, allowedBy });
    authorizer = deny((i) => i.resource === 'clusterrolebindings');
    const h = await api.request('POST', path, { body: reviewBody() });
    expect(h.body.status.allowed).to.equal(true);
    expect(h.body.status).to.not.have.property('allowedBy');
    expect(h.body.status.hidden).to.deep.equal(['rolebindings']);
  });

  it('never shows what the caller may not list: policies, check objects', async () => {
    authorizer = deny((i) => i.resource === 'accesspolicies');
    const p = await api.request('POST', path, { body: reviewBody() });
    expect(p.body.status.hidden).to.deep.equal(['accesspolicies']);
    expect(p.body.status).to.not.have.any.keys('policies', 'checkReady');
    authorizer = deny((i) => i.resource === 'approvaltasks' && i.group === 'openshift-pipelines.org' && i.namespace === 'cicd' && i.verb === 'list');
    const c = await api.request('POST', path, { body: reviewBody() });
    expect(c.body.status.hidden).to.deep.equal(['approvaltasks.openshift-pipelines.org in cicd']);
    expect(c.body.status.policies[0].checks[0]).to.have.keys('name', 'search');
    expect(c.body.status).to.not.have.property('checkReady');
  });

  it('403 for the whole review when the caller may not get the Connector or the Pod', async () => {
    authorizer = deny((i) => i.resource === 'connectors');
    const c = await api.request('POST', path, { body: reviewBody() });
    expect([c.status, c.body.reason]).to.deep.equal([403, 'Forbidden']);
    expect(c.body.message).to.equal('connectors.connectors.alauda.io "prod-harbor" is forbidden: User "system:admin" cannot get resource "connectors" in API group "connectors.alauda.io" in the namespace "devops": denied by the test');
    authorizer = deny((i) => i.resource === 'pods');
    const p = await api.request('POST', path, { body: reviewBody({ objectRef: { kind: 'Pod', namespace: 'cicd', name: podName } }) });
    expect([p.status, p.body.message]).to.deep.equal([403, `pods "${podName}" is forbidden: User "system:admin" cannot get resource "pods" in API group "" in the namespace "cicd": denied by the test`]);
    // A Pod template needs no Pod rights.
    const t = await api.request('POST', path, { body: reviewBody() });
    expect(t.status).to.equal(201);
  });

  it('an unknown Connector: not resolved, no policies', async () => {
    const r = await api.request('POST', path, { body: { ...reviewBody(), spec: { ...(reviewBody()['spec'] as object), connectorRef: { name: 'nope' } } } });
    expect(r.status).to.equal(201);
    expect(r.body.status).to.deep.include({ connectorResolved: false, checkReady: { status: 'Unknown', reason: 'Pending', message: 'waiting for the Connector' } });
    expect(r.body.status).to.not.have.property('policies');
  });
});
