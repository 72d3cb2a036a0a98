import { expect } from 'chai';
import { Etcd3 } from 'etcd3';
import { accessPolicy, accessRequest, gvPath, useRestServer } from '../../support/rest.js';

const ars = (ns: string): string => `${gvPath}/namespaces/${ns}/accessrequests`;
const aps = (ns: string): string => `${gvPath}/namespaces/${ns}/accesspolicies`;

describe('REST create', () => {
  const api = useRestServer();

  /** Reads the raw etcd key: what a request stored, bypassing the server. */
  async function rawKey(plural: string, ns: string, name: string): Promise<string | null> {
    const client = new Etcd3({ hosts: api.etcdEndpoint() });
    try {
      return await client.get(`${api.etcdPrefix()}/connectors.alauda.io/${plural}/${ns}/${name}`).string();
    } finally {
      client.close();
    }
  }

  it('creates an AccessRequest with server-set metadata, defaults and no status', async () => {
    const body: Record<string, unknown> = { ...accessRequest('r1'), status: { conditions: [{ type: 'Ready', status: 'True' }] } };
    const meta = body['metadata'] as Record<string, unknown>;
    meta['uid'] = 'client-uid';
    meta['creationTimestamp'] = '2000-01-01T00:00:00Z';
    const res = await api.request('POST', ars('devops'), { body });
    expect(res.status).to.equal(201);
    expect(res.body.metadata.namespace).to.equal('devops');
    expect(res.body.metadata.uid).to.match(/^[0-9a-f-]{36}$/).and.not.equal('client-uid');
    expect(res.body.metadata.creationTimestamp).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/).and.not.equal('2000-01-01T00:00:00Z');
    expect(res.body.metadata.generation).to.equal(1);
    expect(res.body.metadata.resourceVersion).to.match(/^\d+$/);
    expect(res.body.status).to.equal(undefined);
    expect(res.body.spec.context.objectRef.apiVersion).to.equal('v1');
    expect(res.body.spec.subject.apiGroup).to.equal('');
    expect(res.body.kind).to.equal('AccessRequest');
  });

  it('stores JSON without resourceVersion under the Kubernetes key layout', async () => {
    const raw = await rawKey('accessrequests', 'devops', 'r1');
    expect(raw).to.be.a('string');
    const stored = JSON.parse(raw ?? '{}') as { metadata: Record<string, unknown>; apiVersion: string };
    expect(stored.metadata).to.not.have.property('resourceVersion');
    expect(stored.apiVersion).to.equal('connectors.alauda.io/v1alpha1');
  });

  it('answers 409 AlreadyExists for a taken name', async () => {
    const res = await api.request('POST', ars('devops'), { body: accessRequest('r1') });
    expect(res.status).to.equal(409);
    expect(res.body).to.deep.include({ kind: 'Status', reason: 'AlreadyExists', code: 409, message: 'accessrequests.connectors.alauda.io "r1" already exists' });
  });

  it('honours generateName', async () => {
    const body = accessRequest('');
    body['metadata'] = { generateName: 'req-' };
    const res = await api.request('POST', ars('devops'), { body });
    expect(res.status).to.equal(201);
    expect(res.body.metadata.name).to.match(/^req-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('requires name or generateName (422)', async () => {
    const body = accessRequest('');
    body['metadata'] = {};
    const res = await api.request('POST', ars('devops'), { body });
    expect(res.status).to.equal(422);
    expect(res.body.details.causes).to.deep.include({ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
  });

  it('rejects a body namespace that differs from the URL (400) and stores nothing', async () => {
    const res = await api.request('POST', ars('devops'), { body: accessRequest('r-ns', 'other') });
    expect(res.status).to.equal(400);
    expect(res.body.message).to.equal('the namespace of the provided object does not match the namespace sent on the request');
    expect(await rawKey('accessrequests', 'other', 'r-ns')).to.equal(null);
    expect(await rawKey('accessrequests', 'devops', 'r-ns')).to.equal(null);
  });

  it('answers 422 with every cause for an invalid AccessRequest and stores nothing', async () => {
    const body = accessRequest('bad');
    body['spec'] = {
      connectorRef: {},
      context: { objectRef: { kind: 'Deployment', namespace: 'cicd', name: 'p' } },
      subject: { kind: 'ServiceAccount', name: 'builder', namespace: 'cicd' },
    };
    const res = await api.request('POST', ars('devops'), { body });
    expect(res.status).to.equal(422);
    expect(res.body.reason).to.equal('Invalid');
    expect(res.body.message).to.equal(
      'AccessRequest.connectors.alauda.io "bad" is invalid: [spec.connectorRef.name: Required value, spec.context.objectRef.kind: Unsupported value: "Deployment": supported values: "Pod"]',
    );
    expect(res.body.details).to.deep.include({ name: 'bad', group: 'connectors.alauda.io', kind: 'AccessRequest' });
    expect(res.body.details.causes).to.have.length(2);
    expect(await rawKey('accessrequests', 'devops', 'bad')).to.equal(null);
  });

  it('reports a value of the wrong JSON type as FieldValueTypeInvalid (422)', async () => {
    const body = accessRequest('typed');
    (body['spec'] as { subject: Record<string, unknown> }).subject['name'] = 42;
    const res = await api.request('POST', ars('devops'), { body });
    expect(res.status).to.equal(422);
    expect(res.body.details.causes[0]).to.include({ reason: 'FieldValueTypeInvalid', field: 'spec.subject.name' });
  });

  it('answers 400 for malformed JSON', async () => {
    const res = await api.request('POST', ars('devops'), { rawBody: '{"metadata":', contentType: 'application/json' });
    expect(res.status).to.equal(400);
    expect(res.body).to.include({ kind: 'Status', reason: 'BadRequest', code: 400 });
  });

  it('answers 400 for a wrong apiVersion or kind', async () => {
    const wrongVersion = await api.request('POST', ars('devops'), { body: { ...accessRequest('v'), apiVersion: 'connectors.alauda.io/v1' } });
    expect(wrongVersion.status).to.equal(400);
    const wrongKind = await api.request('POST', ars('devops'), { body: { ...accessRequest('k'), kind: 'AccessPolicy' } });
    expect(wrongKind.status).to.equal(400);
  });

  it('warns about unknown fields by default and never stores them', async () => {
    const body = accessRequest('unknown-warn');
    (body['spec'] as Record<string, unknown>)['foo'] = 'bar';
    const res = await api.request('POST', ars('devops'), { body });
    expect(res.status).to.equal(201);
    expect(res.headers.get('warning')).to.equal('299 - "unknown field \\"spec.foo\\""');
    expect(res.body.spec).to.not.have.property('foo');
    expect(await rawKey('accessrequests', 'devops', 'unknown-warn')).to.not.include('"foo"');
  });

  it('rejects unknown fields under fieldValidation=Strict (400)', async () => {
    const body = accessRequest('unknown-strict');
    (body['spec'] as Record<string, unknown>)['foo'] = 'bar';
    const res = await api.request('POST', `${ars('devops')}?fieldValidation=Strict`, { body });
    expect(res.status).to.equal(400);
    expect(res.body.message).to.equal('strict decoding error: unknown field "spec.foo"');
    expect(await rawKey('accessrequests', 'devops', 'unknown-strict')).to.equal(null);
  });

  it('judges a repeated JSON key by fieldValidation: warns by default, refuses under Strict, says nothing under Ignore', async () => {
    // The JSON parser keeps the last value; the name given twice is the stored one.
    const raw = (name: string): string => JSON.stringify(accessRequest(name)).replace('"metadata":{', `"metadata":{"name":"first-${name}",`);
    const warned = await api.request('POST', ars('devops'), { rawBody: raw('dup-warn'), contentType: 'application/json' });
    expect(warned.status, warned.text).to.equal(201);
    expect(warned.body.metadata.name).to.equal('dup-warn');
    expect(warned.headers.get('warning')).to.equal('299 - "duplicate field \\"name\\""');
    const strict = await api.request('POST', `${ars('devops')}?fieldValidation=Strict`, { rawBody: raw('dup-strict'), contentType: 'application/json' });
    expect(strict.status).to.equal(400);
    expect(strict.body.message).to.equal('strict decoding error: duplicate field "name"');
    expect(await rawKey('accessrequests', 'devops', 'dup-strict')).to.equal(null);
    const ignored = await api.request('POST', `${ars('devops')}?fieldValidation=Ignore`, { rawBody: raw('dup-ignore'), contentType: 'application/json' });
    expect(ignored.status).to.equal(201);
    expect(ignored.headers.get('warning')).to.equal(null);
  });

  it('answers 422 for an unsupported fieldValidation value', async () => {
    const res = await api.request('POST', `${ars('devops')}?fieldValidation=Loud`, { body: accessRequest('fv') });
    expect(res.status).to.equal(422);
    expect(res.body.details.kind).to.equal('CreateOptions');
  });

  it('answers 413 for a body over 3 MiB', async () => {
    const body = accessRequest('huge');
    (body['metadata'] as Record<string, unknown>)['annotations'] = { big: 'x'.repeat(3 * 1024 * 1024 + 10) };
    const res = await api.request('POST', ars('devops'), { body });
    expect(res.status).to.equal(413);
    expect(res.body.reason).to.equal('RequestEntityTooLarge');
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await api.request('POST', ars('devops'), { rawBody: 'x', contentType: 'application/vnd.kubernetes.protobuf' });
    expect(res.status).to.equal(415);
  });

  it('runs everything but stores nothing under dryRun=All', async () => {
    const res = await api.request('POST', `${ars('devops')}?dryRun=All`, { body: accessRequest('dry') });
    expect(res.status).to.equal(201);
    expect(res.body.metadata.uid).to.be.a('string');
    expect(await rawKey('accessrequests', 'devops', 'dry')).to.equal(null);
    const bad = await api.request('POST', `${ars('devops')}?dryRun=Some`, { body: accessRequest('dry') });
    expect(bad.status).to.equal(422);
  });

  it('refuses create at the all-namespaces path (405)', async () => {
    const res = await api.request('POST', `${gvPath}/accessrequests`, { body: accessRequest('x') });
    expect(res.status).to.equal(405);
  });

  it('stores an AccessPolicy without spec as spec {}', async () => {
    const body = accessPolicy('empty');
    delete body['spec'];
    const res = await api.request('POST', aps('devops'), { body });
    expect(res.status).to.equal(201);
    expect(res.body.spec).to.deep.equal({});
  });

  it('rejects an AccessPolicy mixing names and label selectors (422)', async () => {
    const res = await api.request('POST', aps('devops'), { body: accessPolicy('mixed', { connector: { names: ['a'], matchLabels: { x: 'y' } } }) });
    expect(res.status).to.equal(422);
    expect(res.body.details.causes[0]).to.include({ field: 'spec.connector' });
  });
});
