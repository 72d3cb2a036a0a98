import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { allowAll, standaloneAuthenticator } from '../../../apiserver/auth/types.js';
import type { KubeObject } from '../../../apiserver/api/meta.js';
import { group, version, type AccessPolicy } from '../../../apiserver/apis/connectors/v1alpha1/types.js';
import { accessPolicyResource } from '../../../apiserver/registry/accesspolicy/resource.js';
import type { ResourceDefinition, UpdateStrategy } from '../../../apiserver/registry/rest.js';
import { createStore } from '../../../apiserver/registry/store/index.js';
import { createApp } from '../../../apiserver/server.js';
import { createEtcdStorage } from '../../../storage/etcd3.js';
import type { Storage } from '../../../storage/interface.js';
import { resourceKeys } from '../../../storage/keys.js';
import { useEtcd } from '../../support/etcd.js';
import { accessPolicy, accessRequest, gvPath, useRestServer, type Reply, type RequestOptions } from '../../support/rest.js';

const GV = `${group}/${version}`;
const aps = `${gvPath}/namespaces/ssa/accesspolicies`;
const ars = `${gvPath}/namespaces/ssa/accessrequests`;
const applyType = 'application/apply-patch+yaml';
const mergeType = 'application/merge-patch+json';
const rfc3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

// spec.connector is an atomic map: one owned leaf, whatever its content.
const connector = (name: string): Record<string, unknown> => ({ connector: { names: [name] } });
const connectorFields = { 'f:spec': { 'f:connector': {} } };

type Request = (method: string, path: string, opts?: RequestOptions) => Promise<Reply>;

/** PATCH with an apply configuration (JSON unless `yaml` is given) as `manager`. */
const applier =
  (request: Request) =>
  (path: string, config: unknown, manager: string | undefined, query = '', yaml?: string): Promise<Reply> => {
    const params = new URLSearchParams(query);
    if (manager !== undefined) params.set('fieldManager', manager);
    const qs = params.toString();
    return request('PATCH', `${path}${qs === '' ? '' : `?${qs}`}`, {
      rawBody: yaml ?? JSON.stringify(config),
      contentType: applyType,
    });
  };

/** managedFields as `manager/operation[/subresource]` → fieldsV1, for compact assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const owners = (obj: any): Record<string, unknown> =>
  Object.fromEntries(
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    ((obj.metadata.managedFields ?? []) as any[]).map((e) => [
      [e.manager, e.operation, ...(e.subresource === undefined ? [] : [e.subresource])].join('/'),
      e.fieldsV1,
    ]),
  );

describe('server-side apply and managedFields', () => {
  const api = useRestServer();
  const apply = applier(api.request);

  describe('apply', () => {
    it('creates a missing object (201) with the applier as its only Apply owner', async () => {
      const res = await apply(`${aps}/p1`, accessPolicy('p1', connector('c-1h'), { app: 'a' }), 'alice');
      expect(res.status, res.text).to.equal(201);
      const meta = res.body.metadata;
      expect(meta.uid).to.match(/^[0-9a-f-]{36}$/);
      expect(meta.namespace).to.equal('ssa');
      expect(meta.generation).to.equal(1);
      expect(meta.creationTimestamp).to.match(rfc3339);
      expect(res.body.spec).to.deep.equal(connector('c-1h'));
      expect(meta.managedFields).to.have.length(1);
      const [entry] = meta.managedFields;
      expect(entry).to.deep.equal({
        manager: 'alice',
        operation: 'Apply',
        apiVersion: GV,
        time: entry.time,
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:labels': { 'f:app': {} } }, ...connectorFields },
      });
      expect(entry.time).to.match(rfc3339);
      const got = await api.request('GET', `${aps}/p1`);
      expect(got.body.metadata.managedFields).to.deep.equal(meta.managedFields);
    });

    it('updates on a second apply by the same manager, removing what it no longer applies', async () => {
      const res = await apply(`${aps}/p1`, accessPolicy('p1', connector('c-2h')), 'alice');
      expect(res.status, res.text).to.equal(200);
      expect(res.body.spec).to.deep.equal(connector('c-2h'));
      expect(res.body.metadata.labels).to.equal(undefined);
      expect(res.body.metadata.generation).to.equal(2);
      expect(owners(res.body)).to.deep.equal({ 'alice/Apply': connectorFields });
    });

    it('stores nothing when the same configuration is applied again', async () => {
      const before = await api.request('GET', `${aps}/p1`);
      const res = await apply(`${aps}/p1`, accessPolicy('p1', connector('c-2h')), 'alice');
      expect(res.status).to.equal(200);
      expect(res.body.metadata.resourceVersion).to.equal(before.body.metadata.resourceVersion);
      expect(res.body.metadata.managedFields).to.deep.equal(before.body.metadata.managedFields);
    });

    it('answers 409 with one cause per field when another manager changes an owned field', async () => {
      const res = await apply(`${aps}/p1`, accessPolicy('p1', connector('c-3h')), 'bob');
      expect(res.status).to.equal(409);
      expect(res.body).to.deep.equal({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Apply failed with 1 conflict: conflict with "alice": .spec.connector',
        reason: 'Conflict',
        details: {
          causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.spec.connector' }],
        },
        code: 409,
      });
      const got = await api.request('GET', `${aps}/p1`);
      expect(got.body.spec).to.deep.equal(connector('c-2h'));
    });

    it('shares a field applied with the same value, and takes it over with force=true', async () => {
      const shared = await apply(`${aps}/p1`, accessPolicy('p1', connector('c-2h'), { team: 'b' }), 'bob');
      expect(shared.status, shared.text).to.equal(200);
      expect(owners(shared.body)).to.deep.equal({
        'alice/Apply': connectorFields,
        'bob/Apply': { 'f:metadata': { 'f:labels': { 'f:team': {} } }, ...connectorFields },
      });
      const forced = await apply(`${aps}/p1`, accessPolicy('p1', connector('c-4h'), { team: 'b' }), 'bob', 'force=true');
      expect(forced.status, forced.text).to.equal(200);
      expect(forced.body.spec).to.deep.equal(connector('c-4h'));
      // alice lost her only field, so her entry is gone; bob owns both.
      expect(owners(forced.body)).to.deep.equal({ 'bob/Apply': { 'f:metadata': { 'f:labels': { 'f:team': {} } }, ...connectorFields } });
    });

    it('keeps a forced owner and a remaining owner side by side', async () => {
      await apply(`${aps}/p2`, accessPolicy('p2', connector('c-1h'), { app: 'a' }), 'alice');
      const forced = await apply(`${aps}/p2`, accessPolicy('p2', connector('c-2h')), 'bob', 'force=true');
      expect(forced.status, forced.text).to.equal(200);
      expect(owners(forced.body)).to.deep.equal({
        'alice/Apply': { 'f:metadata': { 'f:labels': { 'f:app': {} } } },
        'bob/Apply': connectorFields,
      });
      expect(forced.body.metadata.labels).to.deep.equal({ app: 'a' });
    });

    it('accepts a YAML configuration', async () => {
      const yaml = `apiVersion: ${GV}
kind: AccessPolicy
metadata:
  name: p3
  labels: {from: yaml}
spec:
  connector:
    names: [yaml]
`;
      const res = await apply(`${aps}/p3`, undefined, 'yaml-user', '', yaml);
      expect(res.status, res.text).to.equal(201);
      expect(res.body.metadata.labels).to.deep.equal({ from: 'yaml' });
      expect(res.body.spec).to.deep.equal(connector('yaml'));
      expect(owners(res.body)).to.have.keys('yaml-user/Apply');
    });

    it('creates each object once when two managers apply the same new object at once', async () => {
      const [a, b] = await Promise.all([
        apply(`${aps}/race`, accessPolicy('race', connector('c-1h')), 'one'),
        apply(`${aps}/race`, accessPolicy('race', connector('c-1h')), 'two'),
      ]);
      expect([a.status, b.status].sort()).to.deep.equal([200, 201]);
      const got = await api.request('GET', `${aps}/race`);
      expect(owners(got.body)).to.deep.equal({ 'one/Apply': connectorFields, 'two/Apply': connectorFields });
    });

    it('creates nothing on a dry run (201 without a stored object)', async () => {
      const res = await apply(`${aps}/dry`, accessPolicy('dry', connector('c-1h')), 'alice', 'dryRun=All');
      expect(res.status, res.text).to.equal(201);
      expect(owners(res.body)).to.have.keys('alice/Apply');
      expect((await api.request('GET', `${aps}/dry`)).status).to.equal(404);
    });

    it('runs the create strategy on an applied AccessRequest (defaults, no status, 422 on invalid)', async () => {
      const config = { ...accessRequest('r1'), status: { conditions: [{ type: 'Ready', status: 'True' }] } };
      const res = await apply(`${ars}/r1`, config, 'alice');
      expect(res.status, res.text).to.equal(201);
      expect(res.body.status).to.equal(undefined);
      expect(res.body.spec.subject.apiGroup).to.equal('');
      // Neither the reset status nor the defaults are the applier's.
      expect(JSON.stringify(owners(res.body))).to.not.include('f:status').and.not.include('f:apiGroup');
      const invalid = await apply(`${ars}/r2`, { ...accessRequest('r2'), spec: {} }, 'alice');
      expect(invalid.status).to.equal(422);
    });

    it('keeps status out of a main-resource apply and of its managedFields', async () => {
      const res = await apply(`${aps}/p2`, { ...accessPolicy('p2', connector('c-2h')), status: { observedGeneration: 7 } }, 'bob');
      expect(res.status, res.text).to.equal(200);
      expect(res.body.status).to.equal(undefined);
      expect(owners(res.body)['bob/Apply']).to.deep.equal(connectorFields);
    });

    it('answers 405 for an apply to a computed /status', async () => {
      const res = await apply(`${aps}/p2/status`, accessPolicy('p2'), 'alice');
      expect(res.status).to.equal(405);
    });

    it('refuses bad configurations with 400', async () => {
      const cases: [unknown, string][] = [
        [{ ...accessPolicy('p1'), kind: 'AccessRequest' }, `invalid object type: ${GV}, Kind=AccessRequest`],
        [{ ...accessPolicy('p1'), apiVersion: 'connectors.alauda.io/v2' }, 'invalid object type: connectors.alauda.io/v2, Kind=AccessPolicy'],
        [{ kind: 'AccessPolicy', metadata: { name: 'p1' } }, 'invalid object type: /, Kind=AccessPolicy'],
        [{ ...accessPolicy('p1'), metadata: { name: 'p1', managedFields: [] } }, 'metadata.managedFields must be nil'],
        [accessPolicy('other'), 'the name of the object (other) does not match the name on the URL (p1)'],
        [[1, 2], 'error decoding YAML: the apply configuration must be a map, not a list'],
      ];
      for (const [config, message] of cases) {
        const res = await apply(`${aps}/p1`, config, 'alice');
        expect(res.status, message).to.equal(400);
        expect(res.body.message).to.equal(message);
      }
      const unparsable = await apply(`${aps}/p1`, undefined, 'alice', '', 'a: [');
      expect(unparsable.status).to.equal(400);
      expect(unparsable.body.message).to.match(/^error decoding YAML: /);
      const missing = await apply(`${aps}/nameless`, { ...accessPolicy('x'), metadata: {} }, 'alice');
      expect(missing.status).to.equal(400);
      expect(missing.body.message).to.equal('the name of the object () does not match the name on the URL (nameless)');
    });

    it('judges unknown fields and repeated keys by fieldValidation', async () => {
      const unknown = { ...accessPolicy('p1', connector('c-4h')), extra: 1 };
      const strict = await apply(`${aps}/p1`, unknown, 'bob', 'fieldValidation=Strict');
      expect(strict.status).to.equal(400);
      expect(strict.body.message).to.equal('strict decoding error: unknown field "extra"');
      const warned = await apply(`${aps}/p1`, unknown, 'bob');
      expect(warned.status, warned.text).to.equal(200);
      expect(warned.headers.get('warning')).to.equal('299 - "unknown field \\"extra\\""');
      const repeated = `apiVersion: ${GV}\nkind: AccessPolicy\nmetadata: {name: p1}\nspec: {}\nspec: {}\n`;
      const strictYAML = await apply(`${aps}/p1`, undefined, 'bob', 'fieldValidation=Strict', repeated);
      expect(strictYAML.status).to.equal(400);
      expect(strictYAML.body.message).to.match(/^error strict decoding YAML: /);
      const ignored = await apply(`${aps}/p1`, undefined, 'carol', 'fieldValidation=Ignore', repeated);
      expect(ignored.status, ignored.text).to.equal(200);
    });
  });

  describe('patch options', () => {
    it('requires fieldManager for apply (422 PatchOptions)', async () => {
      const res = await apply(`${aps}/p1`, accessPolicy('p1'), undefined);
      expect(res.status).to.equal(422);
      expect(res.body).to.deep.include({
        message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        reason: 'Invalid',
      });
      expect(res.body.details).to.deep.equal({
        name: '',
        group: 'meta.k8s.io',
        kind: 'PatchOptions',
        causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }],
      });
    });

    it('refuses force on a non-apply patch (422)', async () => {
      const res = await api.request('PATCH', `${aps}/p1?force=true`, { body: { metadata: {} }, contentType: mergeType });
      expect(res.status).to.equal(422);
      expect(res.body.message).to.equal('PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch');
    });

    it('validates fieldManager on every write (length in bytes, printable characters)', async () => {
      const long = await api.request('POST', `${aps}?fieldManager=${'m'.repeat(129)}`, { body: accessPolicy('long') });
      expect(long.status).to.equal(422);
      expect(long.body.message).to.equal('CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes');
      const bell = await api.request('PATCH', `${aps}/p1?fieldManager=a%07b`, { body: {}, contentType: mergeType });
      expect(bell.status).to.equal(422);
      expect(bell.body.details.causes[0].message).to.match(/invalid character U\+0007 \(at position 1\)$/);
    });

    it('answers 415 for strategic merge patch before judging the options', async () => {
      const res = await api.request('PATCH', `${aps}/p1?force=true`, { body: {}, contentType: 'application/strategic-merge-patch+json' });
      expect(res.status).to.equal(415);
      const other = await api.request('PATCH', `${aps}/p1`, { body: {}, contentType: 'application/apply-patch+cbor' });
      expect(other.status).to.equal(415);
      expect(other.body.message).to.include('application/apply-patch+yaml');
    });
  });

  describe('managedFields of other writes', () => {
    it('records a create as an Update entry of the fieldManager, without status', async () => {
      const body = { ...accessPolicy('u1', connector('c-1h'), { app: 'a' }), status: { observedGeneration: 3 } };
      const res = await api.request('POST', `${aps}?fieldManager=creator`, { body });
      expect(res.status, res.text).to.equal(201);
      const [entry] = res.body.metadata.managedFields;
      expect(entry).to.deep.include({ manager: 'creator', operation: 'Update', apiVersion: GV, fieldsType: 'FieldsV1' });
      expect(entry.time).to.match(rfc3339);
      // An Update owns the maps it created too ('.'), unlike an Apply, which owns what it names.
      expect(entry.fieldsV1).to.deep.equal({ 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { '.': {}, 'f:connector': {} } });
    });

    it('derives the manager from the User-Agent up to its first slash', async () => {
      const res = await api.request('PATCH', `${aps}/u1`, {
        body: { metadata: { labels: { tier: 't' } } },
        contentType: mergeType,
        headers: { 'user-agent': 'my-controller/v1.2 (linux/amd64)' },
      });
      expect(res.status, res.text).to.equal(200);
      expect(owners(res.body)).to.deep.equal({
        'creator/Update': { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { '.': {}, 'f:connector': {} } },
        'my-controller/Update': { 'f:metadata': { 'f:labels': { 'f:tier': {} } } },
      });
    });

    it('moves a field to the writer of a PUT and a JSON patch', async () => {
      const got = await api.request('GET', `${aps}/u1`);
      got.body.spec = connector('c-2h');
      const put = await api.request('PUT', `${aps}/u1?fieldManager=editor`, { body: got.body });
      expect(put.status, put.text).to.equal(200);
      expect(owners(put.body)).to.deep.equal({
        // The creator keeps the spec map it created, not the field the editor changed.
        'creator/Update': { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': {} },
        'my-controller/Update': { 'f:metadata': { 'f:labels': { 'f:tier': {} } } },
        'editor/Update': connectorFields,
      });
      const json = await api.request('PATCH', `${aps}/u1?fieldManager=jsonpatcher`, {
        body: [{ op: 'replace', path: '/metadata/labels/tier', value: 'u' }],
        contentType: 'application/json-patch+json',
      });
      expect(json.status, json.text).to.equal(200);
      expect(owners(json.body)).to.have.keys('creator/Update', 'editor/Update', 'jsonpatcher/Update');
    });

    it('stores nothing for a PUT of the unchanged object', async () => {
      const got = await api.request('GET', `${aps}/u1`);
      const res = await api.request('PUT', `${aps}/u1?fieldManager=someone-else`, { body: got.body });
      expect(res.status).to.equal(200);
      expect(res.body.metadata.resourceVersion).to.equal(got.body.metadata.resourceVersion);
      expect(res.body.metadata.managedFields).to.deep.equal(got.body.metadata.managedFields);
    });

    it('names the Update owner and its version in an apply conflict', async () => {
      const res = await apply(`${aps}/u1`, accessPolicy('u1', connector('c-5h')), 'applier');
      expect(res.status).to.equal(409);
      expect(res.body.message).to.equal(`Apply failed with 1 conflict: conflict with "editor" using ${GV}: .spec.connector`);
    });

    it('clears managedFields when a write sets them to [], and replaces them when it sets others', async () => {
      const cleared = await api.request('PATCH', `${aps}/u1`, { body: { metadata: { managedFields: [] } }, contentType: mergeType });
      expect(cleared.status, cleared.text).to.equal(200);
      expect(cleared.body.metadata.managedFields).to.equal(undefined);
      // Without entries, an update starts no tracking (skipNonAppliedManager).
      const untracked = await api.request('PATCH', `${aps}/u1?fieldManager=later`, { body: { metadata: { labels: { x: 'y' } } }, contentType: mergeType });
      expect(untracked.body.metadata.managedFields).to.equal(undefined);
      const entries = [{ manager: 'imported', operation: 'Update', apiVersion: GV, time: '2025-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { 'f:x': {} } } } }];
      const replaced = await api.request('PATCH', `${aps}/u1`, { body: { metadata: { managedFields: entries } }, contentType: mergeType });
      expect(replaced.body.metadata.managedFields).to.deep.equal(entries);
    });
  });
});

/** AccessPolicy with a writable status, to exercise the /status subresource (AccessPolicy's own is computed). */
const statusStrategy: UpdateStrategy<AccessPolicy> = {
  allowCreateOnUpdate: () => false,
  allowUnconditionalUpdate: () => true,
  // As the CRD status strategy: everything but status comes from the stored object.
  prepareForUpdate: (_ctx, obj, old) => {
    const next: AccessPolicy = { ...structuredClone(old) as AccessPolicy };
    if (obj.status === undefined) delete next.status;
    else next.status = obj.status;
    return next;
  },
  validateUpdate: () => [],
  warningsOnUpdate: () => [],
  canonicalize: (obj) => obj,
};

const writableStatusResource: ResourceDefinition<KubeObject> = {
  ...(accessPolicyResource as unknown as ResourceDefinition<KubeObject>),
  status: { mode: 'writable', strategy: statusStrategy as unknown as UpdateStrategy<KubeObject> },
};

describe('managedFields of a writable /status', () => {
  const etcd = useEtcd();
  let server: Server | undefined;
  let storage: Storage | undefined;
  let base = '';
  before(async () => {
    storage = createEtcdStorage({ endpoints: [etcd.endpoint()] });
    const s = storage;
    const r = writableStatusResource;
    const store = createStore({ resource: r, storage: s, keys: resourceKeys(`/test-${randomUUID()}`, r.group, r.plural, r.namespaced) });
    const app = createApp({
      group,
      version,
      stores: [store],
      authenticator: standaloneAuthenticator,
      authorizer: allowAll,
      storageReady: async () => (await s.currentRevision()).ok,
      log: () => undefined,
    });
    server = createServer(app);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    await storage?.close();
  });
  const request: Request = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    const body = o.body !== undefined ? JSON.stringify(o.body) : o.rawBody;
    if (body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
    const res = await fetch(base + path, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text === '' ? undefined : (JSON.parse(text) as unknown), text };
  };
  const apply = applier(request);
  const statusFields = { 'f:status': { 'f:observedGeneration': {} } };
  const statusUpdateFields = { 'f:status': { '.': {}, 'f:observedGeneration': {} } };

  it('records a status merge patch under subresource "status", ignoring everything else it sent', async () => {
    expect((await apply(`${aps}/s1`, accessPolicy('s1', connector('c-1h')), 'owner')).status).to.equal(201);
    const res = await request('PATCH', `${aps}/s1/status?fieldManager=ctrl`, {
      body: { metadata: { labels: { sneaky: 'x' } }, spec: connector('c-9h'), status: { observedGeneration: 1 } },
      contentType: mergeType,
    });
    expect(res.status, res.text).to.equal(200);
    expect(res.body.status).to.deep.equal({ observedGeneration: 1 });
    expect(res.body.spec).to.deep.equal(connector('c-1h'));
    expect(res.body.metadata.labels).to.equal(undefined);
    const entry = res.body.metadata.managedFields.find((e: { manager: string }) => e.manager === 'ctrl');
    expect(entry).to.deep.include({ operation: 'Update', subresource: 'status', fieldsV1: statusUpdateFields });
    expect(owners(res.body)['owner/Apply']).to.deep.equal(connectorFields);
  });

  it('applies to /status as its own Apply entry, conflicting with another status manager', async () => {
    const config = { ...accessPolicy('s1'), status: { observedGeneration: 2 } };
    const conflict = await apply(`${aps}/s1/status`, config, 'status-applier');
    expect(conflict.status).to.equal(409);
    expect(conflict.body.message).to.equal(`Apply failed with 1 conflict: conflict with "ctrl" with subresource "status" using ${GV}: .status.observedGeneration`);
    const forced = await apply(`${aps}/s1/status`, config, 'status-applier', 'force=true');
    expect(forced.status, forced.text).to.equal(200);
    expect(forced.body.status).to.deep.equal({ observedGeneration: 2 });
    expect(owners(forced.body)).to.deep.equal({
      'ctrl/Update/status': { 'f:status': {} },
      'owner/Apply': connectorFields,
      'status-applier/Apply/status': statusFields,
    });
  });

  it('keeps status out of a main-resource write to a writable status kind', async () => {
    const res = await apply(`${aps}/s1`, { ...accessPolicy('s1', connector('c-1h')), status: { observedGeneration: 5 } }, 'owner');
    expect(res.status, res.text).to.equal(200);
    expect(res.body.status).to.deep.equal({ observedGeneration: 2 });
    expect(owners(res.body)['owner/Apply']).to.deep.equal(connectorFields);
  });

  it('never creates through /status (404)', async () => {
    const res = await apply(`${aps}/ghost/status`, { ...accessPolicy('ghost'), status: { observedGeneration: 1 } }, 'ctrl');
    expect(res.status).to.equal(404);
  });
});
