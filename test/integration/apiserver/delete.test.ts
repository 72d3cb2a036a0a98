import { expect } from 'chai';
import { accessPolicy, gvPath, useRestServer } from '../../support/rest.js';

const aps = (ns = 'devops'): string => `${gvPath}/namespaces/${ns}/accesspolicies`;

describe('REST delete and deletecollection', () => {
  const api = useRestServer();
  const create = async (name: string, extra: Record<string, unknown> = {}, ns = 'devops'): Promise<Record<string, any>> => {
    const body = accessPolicy(name);
    body['metadata'] = { name, ...extra };
    const res = await api.request('POST', aps(ns), { body });
    expect(res.status, res.text).to.equal(201);
    return res.body;
  };

  it('deletes an object and answers a Success Status with its uid', async () => {
    const obj = await create('d1');
    const res = await api.request('DELETE', `${aps()}/d1`);
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: 'd1', group: 'connectors.alauda.io', kind: 'accesspolicies', uid: obj['metadata'].uid },
    });
    expect((await api.request('GET', `${aps()}/d1`)).status).to.equal(404);
    expect((await api.request('DELETE', `${aps()}/d1`)).status).to.equal(404);
  });

  it('answers 409 when a uid or resourceVersion precondition fails, and keeps the object', async () => {
    const obj = await create('d2');
    const byUid = await api.request('DELETE', `${aps()}/d2`, { body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'not-it' } } });
    expect(byUid.status).to.equal(409);
    expect(byUid.body.message).to.equal(
      `Operation cannot be fulfilled on accesspolicies.connectors.alauda.io "d2": Precondition failed: UID in precondition: not-it, UID in object meta: ${String(obj['metadata'].uid)}`,
    );
    const byRv = await api.request('DELETE', `${aps()}/d2`, { body: { preconditions: { resourceVersion: '1' } } });
    expect(byRv.status).to.equal(409);
    expect((await api.request('GET', `${aps()}/d2`)).status).to.equal(200);
    const matching = await api.request('DELETE', `${aps()}/d2`, { body: { preconditions: { uid: obj['metadata'].uid, resourceVersion: obj['metadata'].resourceVersion } } });
    expect(matching.status).to.equal(200);
  });

  it('sets deletionTimestamp on an object with finalizers and removes it with its last finalizer', async () => {
    await create('d3', { finalizers: ['example.com/hold'] });
    const res = await api.request('DELETE', `${aps()}/d3`);
    expect(res.status).to.equal(200);
    expect(res.body.kind).to.equal('AccessPolicy');
    expect(res.body.metadata.deletionTimestamp).to.be.a('string');
    expect(res.body.metadata.deletionGracePeriodSeconds).to.equal(0);
    expect(res.body.metadata.generation).to.equal(2);
    // No new finalizers once deletion started.
    const added = await api.request('PATCH', `${aps()}/d3`, { body: { metadata: { finalizers: ['example.com/hold', 'example.com/more'] } }, contentType: 'application/merge-patch+json' });
    expect(added.status).to.equal(422);
    const removed = await api.request('PATCH', `${aps()}/d3`, { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' });
    expect(removed.status).to.equal(200);
    expect((await api.request('GET', `${aps()}/d3`)).status).to.equal(404);
  });

  it('adds the orphan finalizer for propagationPolicy=Orphan and switches it on a repeated delete', async () => {
    await create('d4', { finalizers: ['example.com/hold'] });
    const orphan = await api.request('DELETE', `${aps()}/d4?propagationPolicy=Orphan`);
    expect(orphan.body.metadata.finalizers).to.deep.equal(['example.com/hold', 'orphan']);
    const fg = await api.request('DELETE', `${aps()}/d4`, { body: { propagationPolicy: 'Foreground' } });
    expect(fg.body.metadata.finalizers).to.deep.equal(['example.com/hold', 'foregroundDeletion']);
    expect(fg.body.metadata.generation).to.equal(2);
    await api.request('PATCH', `${aps()}/d4`, { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' });
  });

  it('answers 202 for a graceful delete when orphanDependents=false was sent', async () => {
    await create('d5', { finalizers: ['example.com/hold'] });
    const res = await api.request('DELETE', `${aps()}/d5`, { body: { orphanDependents: false } });
    expect(res.status).to.equal(202);
    await api.request('PATCH', `${aps()}/d5`, { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' });
  });

  const badOptions: { name: string; body: unknown; code: number }[] = [
    { name: 'an unknown propagationPolicy', body: { propagationPolicy: 'Sideways' }, code: 422 },
    { name: 'orphanDependents with propagationPolicy', body: { orphanDependents: true, propagationPolicy: 'Background' }, code: 422 },
    { name: 'a bad dryRun', body: { dryRun: ['Some'] }, code: 422 },
    { name: 'a wrong apiVersion', body: { apiVersion: 'apps/v1', kind: 'DeleteOptions' }, code: 400 },
  ];
  for (const tc of badOptions) {
    it(`answers ${String(tc.code)} for ${tc.name}`, async () => {
      await create('opts');
      const res = await api.request('DELETE', `${aps()}/opts`, { body: tc.body });
      expect(res.status).to.equal(tc.code);
      expect((await api.request('GET', `${aps()}/opts`)).status).to.equal(200);
      await api.request('DELETE', `${aps()}/opts`);
    });
  }

  it('deletes nothing under dryRun=All', async () => {
    await create('dry');
    const res = await api.request('DELETE', `${aps()}/dry?dryRun=All`);
    expect(res.status).to.equal(200);
    expect((await api.request('GET', `${aps()}/dry`)).status).to.equal(200);
  });

  it('deletes a collection by label selector and answers the affected items', async () => {
    await create('c1', { labels: { batch: 'x' } }, 'coll');
    await create('c2', { labels: { batch: 'x' } }, 'coll');
    await create('c3', { labels: { batch: 'y' } }, 'coll');
    const res = await api.request('DELETE', `${aps('coll')}?labelSelector=batch%3Dx`);
    expect(res.status).to.equal(200);
    expect(res.body.kind).to.equal('AccessPolicyList');
    expect((res.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name)).to.deep.equal(['c1', 'c2']);
    const left = await api.request('GET', aps('coll'));
    expect((left.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name)).to.deep.equal(['c3']);
  });

  it('refuses deletecollection across all namespaces (405)', async () => {
    expect((await api.request('DELETE', `${gvPath}/accesspolicies`)).status).to.equal(405);
  });
});
