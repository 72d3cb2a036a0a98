import { expect } from 'chai';
import { accessPolicy, accessRequest, gvPath, useRestServer, type Reply } from '../../support/rest.js';

const ars = `${gvPath}/namespaces/devops/accessrequests`;
const aps = `${gvPath}/namespaces/devops/accesspolicies`;

describe('REST update, patch and status', () => {
  const api = useRestServer();
  const mustCreate = async (path: string, body: unknown): Promise<Reply> => {
    const res = await api.request('POST', path, { body });
    expect(res.status, res.text).to.equal(201);
    return res;
  };

  it('updates labels of an AccessRequest without bumping generation', async () => {
    const created = await mustCreate(ars, accessRequest('u1'));
    const obj = created.body;
    obj.metadata.labels = { team: 'a' };
    const res = await api.request('PUT', `${ars}/u1`, { body: obj });
    expect(res.status).to.equal(200);
    expect(res.body.metadata.labels).to.deep.equal({ team: 'a' });
    expect(res.body.metadata.generation).to.equal(1);
    expect(Number(res.body.metadata.resourceVersion)).to.be.greaterThan(Number(obj.metadata.resourceVersion));
  });

  it('answers 409 Conflict for a stale resourceVersion', async () => {
    const created = await mustCreate(ars, accessRequest('u2'));
    const stale = created.body;
    await api.request('PATCH', `${ars}/u2`, { body: { metadata: { labels: { x: '1' } } }, contentType: 'application/merge-patch+json' });
    const res = await api.request('PUT', `${ars}/u2`, { body: stale });
    expect(res.status).to.equal(409);
    expect(res.body.reason).to.equal('Conflict');
    expect(res.body.message).to.equal(
      'Operation cannot be fulfilled on accessrequests.connectors.alauda.io "u2": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it('answers 422 for an update without resourceVersion', async () => {
    const res = await api.request('PUT', `${ars}/u1`, { body: accessRequest('u1') });
    expect(res.status).to.equal(422);
    expect(res.body.details.causes[0]).to.deep.equal({ reason: 'FieldValueInvalid', message: 'Invalid value: 0x0: must be specified for an update', field: 'metadata.resourceVersion' });
  });

  it('answers 404 for an update of a missing object (no create on update)', async () => {
    const body = { ...accessRequest('ghost'), metadata: { name: 'ghost', resourceVersion: '5' } };
    expect((await api.request('PUT', `${ars}/ghost`, { body })).status).to.equal(404);
  });

  it('answers 400 when the body name differs from the URL', async () => {
    const got = await api.request('GET', `${ars}/u1`);
    const res = await api.request('PUT', `${ars}/other`, { body: got.body });
    expect(res.status).to.equal(400);
    expect(res.body.message).to.equal('the name of the object (u1) does not match the name on the URL (other)');
  });

  it('refuses a change of an AccessRequest spec with the AR-S4 422 and keeps etcd unchanged', async () => {
    const got = await api.request('GET', `${ars}/u1`);
    const obj = got.body;
    obj.spec.connectorRef.name = 'other-connector';
    const res = await api.request('PUT', `${ars}/u1`, { body: obj });
    expect(res.status).to.equal(422);
    expect(res.body.message).to.equal('AccessRequest.connectors.alauda.io "u1" is invalid: spec: Invalid value: "object": field is immutable');
    expect(res.body.details.causes).to.deep.equal([{ reason: 'FieldValueInvalid', message: 'Invalid value: "object": field is immutable', field: 'spec' }]);
    const after = await api.request('GET', `${ars}/u1`);
    expect(after.body.metadata.resourceVersion).to.equal(got.body.metadata.resourceVersion);
    expect(after.body.spec.connectorRef.name).to.equal('prod-harbor');
  });

  it('refuses a merge patch of an AccessRequest spec (422)', async () => {
    const res = await api.request('PATCH', `${ars}/u1`, { body: { spec: { subject: { name: 'intruder' } } }, contentType: 'application/merge-patch+json' });
    expect(res.status).to.equal(422);
    expect(res.body.details.causes[0].field).to.equal('spec');
  });

  it('accepts a spec that only spells out the defaults', async () => {
    const got = await api.request('GET', `${ars}/u1`);
    const res = await api.request('PATCH', `${ars}/u1`, {
      body: [{ op: 'replace', path: '/spec/subject/apiGroup', value: '' }],
      contentType: 'application/json-patch+json',
    });
    expect(res.status).to.equal(200);
    expect(res.body.metadata.resourceVersion).to.equal(got.body.metadata.resourceVersion);
  });

  it('ignores status sent to the main resource', async () => {
    const got = await api.request('GET', `${ars}/u1`);
    const obj = got.body;
    obj.status = { conditions: [{ type: 'Ready', status: 'True', reason: 'Synced' }] };
    obj.metadata.annotations = { touched: 'yes' };
    const res = await api.request('PUT', `${ars}/u1`, { body: obj });
    expect(res.status).to.equal(200);
    expect(res.body.status).to.equal(undefined);
    const merged = await api.request('PATCH', `${ars}/u1`, { body: { status: { observedGeneration: 9 } }, contentType: 'application/merge-patch+json' });
    expect(merged.body.status).to.equal(undefined);
  });

  it('writes nothing for a no-op update (same resourceVersion)', async () => {
    const got = await api.request('GET', `${ars}/u1`);
    const res = await api.request('PUT', `${ars}/u1`, { body: got.body });
    expect(res.status).to.equal(200);
    expect(res.body.metadata.resourceVersion).to.equal(got.body.metadata.resourceVersion);
  });

  it('bumps generation on an AccessPolicy spec change only', async () => {
    await mustCreate(aps, accessPolicy('p1', { connector: { names: ['a'] } }));
    const labels = await api.request('PATCH', `${aps}/p1`, { body: { metadata: { labels: { k: 'v' } } }, contentType: 'application/merge-patch+json' });
    expect(labels.body.metadata.generation).to.equal(1);
    const spec = await api.request('PATCH', `${aps}/p1`, { body: { spec: { connector: { names: ['a', 'b'] } } }, contentType: 'application/merge-patch+json' });
    expect(spec.status).to.equal(200);
    expect(spec.body.metadata.generation).to.equal(2);
  });

  it('validates a patched AccessPolicy (422) and keeps the stored one', async () => {
    const res = await api.request('PATCH', `${aps}/p1`, { body: { spec: { connector: { names: ['Not_Valid'] } } }, contentType: 'application/merge-patch+json' });
    expect(res.status).to.equal(422);
    expect(res.body.details.causes[0].field).to.equal('spec.connector.names[0]');
    const got = await api.request('GET', `${aps}/p1`);
    expect(got.body.spec.connector.names).to.deep.equal(['a', 'b']);
  });

  it('applies a JSON patch and answers 422 when a test operation fails', async () => {
    const ok = await api.request('PATCH', `${aps}/p1`, {
      body: [{ op: 'add', path: '/metadata/annotations', value: { a: 'b' } }],
      contentType: 'application/json-patch+json',
    });
    expect(ok.status).to.equal(200);
    expect(ok.body.metadata.annotations).to.deep.equal({ a: 'b' });
    const failed = await api.request('PATCH', `${aps}/p1`, {
      body: [{ op: 'test', path: '/metadata/annotations/a', value: 'c' }],
      contentType: 'application/json-patch+json',
    });
    expect(failed.status).to.equal(422);
    const malformed = await api.request('PATCH', `${aps}/p1`, { body: { op: 'add' }, contentType: 'application/json-patch+json' });
    expect(malformed.status).to.equal(400);
  });

  it('answers 409 for a patch that carries a stale resourceVersion', async () => {
    const res = await api.request('PATCH', `${aps}/p1`, { body: { metadata: { resourceVersion: '1', labels: { z: 'z' } } }, contentType: 'application/merge-patch+json' });
    expect(res.status).to.equal(409);
  });

  it('answers 415 for a strategic merge patch, naming merge and JSON patch', async () => {
    const res = await api.request('PATCH', `${aps}/p1`, { body: { metadata: {} }, contentType: 'application/strategic-merge-patch+json' });
    expect(res.status).to.equal(415);
    expect(res.body.message).to.include('application/merge-patch+json').and.include('application/json-patch+json');
  });

  it('answers 404 for a patch of a missing object', async () => {
    const res = await api.request('PATCH', `${aps}/nope`, { body: { metadata: {} }, contentType: 'application/merge-patch+json' });
    expect(res.status).to.equal(404);
  });

  it('serves GET on /status and 405 for every write to it (AR-S8)', async () => {
    const got = await api.request('GET', `${ars}/u1/status`);
    expect(got.status).to.equal(200);
    expect(got.body.metadata.name).to.equal('u1');
    const message = 'status of accessrequests.connectors.alauda.io is computed by the server and cannot be written by clients';
    for (const [method, contentType] of [
      ['PUT', 'application/json'],
      ['PATCH', 'application/merge-patch+json'],
      ['PATCH', 'application/json-patch+json'],
      ['PATCH', 'application/strategic-merge-patch+json'],
      ['PATCH', 'application/apply-patch+yaml'],
    ] as const) {
      const res = await api.request(method, `${ars}/u1/status`, { body: got.body, contentType });
      expect(res.status, `${method} ${contentType}`).to.equal(405);
      expect(res.body.message).to.equal(message);
    }
    const policy = await api.request('PUT', `${aps}/p1/status`, { body: {} });
    expect(policy.body.message).to.equal('status of accesspolicies.connectors.alauda.io is computed by the server and cannot be written by clients');
  });

  it('refuses to change metadata.uid (422)', async () => {
    const got = await api.request('GET', `${aps}/p1`);
    got.body.metadata.uid = '00000000-0000-0000-0000-000000000000';
    const res = await api.request('PUT', `${aps}/p1`, { body: got.body });
    expect(res.status).to.equal(422);
    expect(res.body.details.causes[0].field).to.equal('metadata.uid');
  });

  it('does not lose an update under concurrent merge patches', async () => {
    await mustCreate(aps, accessPolicy('counter'));
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        api.request('PATCH', `${aps}/counter`, { body: { metadata: { labels: { [`k${String(i)}`]: 'v' } } }, contentType: 'application/merge-patch+json' }),
      ),
    );
    const got = await api.request('GET', `${aps}/counter`);
    expect(Object.keys(got.body.metadata.labels as object)).to.have.length(10);
  });
});
