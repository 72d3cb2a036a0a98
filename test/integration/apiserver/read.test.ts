import { expect } from 'chai';
import { accessRequest, gvPath, useRestServer } from '../../support/rest.js';

const ars = (ns: string): string => `${gvPath}/namespaces/${ns}/accessrequests`;

describe('REST get and list', () => {
  const api = useRestServer();

  before(async () => {
    const objects: [string, string, Record<string, string>][] = [
      ['a1', 'ns1', { app: 'a', tier: 'web' }],
      ['a2', 'ns1', { app: 'b', tier: 'db' }],
      ['a3', 'ns1', { app: 'c' }],
      ['b1', 'ns10', { app: 'a', tier: 'web' }],
      ['b2', 'ns10', {}],
    ];
    for (const [name, ns, labels] of objects) {
      const res = await api.request('POST', ars(ns), { body: accessRequest(name, undefined, labels) });
      expect(res.status).to.equal(201);
    }
  });

  const names = (body: { items: { metadata: { name: string } }[] }): string[] => body.items.map((i) => i.metadata.name);

  it('gets one object and answers 404 NotFound with details for a missing one', async () => {
    const got = await api.request('GET', `${ars('ns1')}/a1`);
    expect(got.status).to.equal(200);
    expect(got.body).to.include({ kind: 'AccessRequest', apiVersion: 'connectors.alauda.io/v1alpha1' });
    const missing = await api.request('GET', `${ars('ns1')}/nope`);
    expect(missing.status).to.equal(404);
    expect(missing.body).to.deep.equal({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'accessrequests.connectors.alauda.io "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', group: 'connectors.alauda.io', kind: 'accessrequests' },
      code: 404,
    });
  });

  it('answers 504 for a resourceVersion in the future and 400 for a non-numeric one', async () => {
    const future = await api.request('GET', `${ars('ns1')}/a1?resourceVersion=999999999`);
    expect(future.status).to.equal(504);
    expect(future.body.details.causes[0].reason).to.equal('ResourceVersionTooLarge');
    const bad = await api.request('GET', `${ars('ns1')}/a1?resourceVersion=abc`);
    expect(bad.status).to.equal(400);
  });

  it('lists one namespace without leaking a namespace that shares its prefix', async () => {
    const res = await api.request('GET', ars('ns1'));
    expect(res.status).to.equal(200);
    expect(res.body.kind).to.equal('AccessRequestList');
    expect(names(res.body)).to.deep.equal(['a1', 'a2', 'a3']);
    for (const item of res.body.items) expect(item).to.include({ kind: 'AccessRequest', apiVersion: 'connectors.alauda.io/v1alpha1' });
  });

  it('lists across namespaces at the all-namespaces path', async () => {
    const res = await api.request('GET', `${gvPath}/accessrequests`);
    expect(names(res.body)).to.deep.equal(['a1', 'a2', 'a3', 'b1', 'b2']);
  });

  it('returns items [] (never null) for an empty list, with the read revision', async () => {
    const res = await api.request('GET', ars('empty'));
    expect(res.body.items).to.deep.equal([]);
    expect(res.body.metadata.resourceVersion).to.match(/^\d+$/);
  });

  const selectorCases: { selector: string; want: string[] }[] = [
    { selector: 'app=a', want: ['a1', 'b1'] },
    { selector: 'app==a', want: ['a1', 'b1'] },
    { selector: 'app!=a', want: ['a2', 'a3', 'b2'] },
    { selector: 'app in (a,b)', want: ['a1', 'a2', 'b1'] },
    { selector: 'app notin (a,b)', want: ['a3', 'b2'] },
    { selector: 'tier', want: ['a1', 'a2', 'b1'] },
    { selector: '!tier', want: ['a3', 'b2'] },
    { selector: 'app=a,tier=web', want: ['a1', 'b1'] },
  ];
  for (const tc of selectorCases) {
    it(`filters by labelSelector ${tc.selector}`, async () => {
      const res = await api.request('GET', `${gvPath}/accessrequests?labelSelector=${encodeURIComponent(tc.selector)}`);
      expect(res.status).to.equal(200);
      expect(names(res.body)).to.deep.equal(tc.want);
    });
  }

  it('answers 400 for a malformed label selector', async () => {
    const res = await api.request('GET', `${ars('ns1')}?labelSelector=${encodeURIComponent('app in (a')}`);
    expect(res.status).to.equal(400);
  });

  it('filters by metadata.name and metadata.namespace field selectors', async () => {
    const byName = await api.request('GET', `${gvPath}/accessrequests?fieldSelector=metadata.name%3Da2`);
    expect(names(byName.body)).to.deep.equal(['a2']);
    const byNs = await api.request('GET', `${gvPath}/accessrequests?fieldSelector=metadata.namespace%3Dns10`);
    expect(names(byNs.body)).to.deep.equal(['b1', 'b2']);
    const notName = await api.request('GET', `${ars('ns1')}?fieldSelector=metadata.name!%3Da2`);
    expect(names(notName.body)).to.deep.equal(['a1', 'a3']);
  });

  it('answers 400 naming the supported fields for another field selector', async () => {
    const res = await api.request('GET', `${ars('ns1')}?fieldSelector=spec.x%3Dy`);
    expect(res.status).to.equal(400);
    expect(res.body.message).to.equal('"spec.x" is not a known field selector: only "metadata.name", "metadata.namespace"');
  });

  it('pages with limit and continue at one revision, with remainingItemCount', async () => {
    const first = await api.request('GET', `${gvPath}/accessrequests?limit=2`);
    expect(names(first.body)).to.deep.equal(['a1', 'a2']);
    expect(first.body.metadata.remainingItemCount).to.equal(3);
    const rv = first.body.metadata.resourceVersion as string;
    // A write between pages must not show up in later pages.
    expect((await api.request('POST', ars('ns1'), { body: accessRequest('a0zz') })).status).to.equal(201);
    const second = await api.request('GET', `${gvPath}/accessrequests?limit=2&continue=${encodeURIComponent(first.body.metadata.continue as string)}`);
    expect(names(second.body)).to.deep.equal(['a3', 'b1']);
    expect(second.body.metadata.resourceVersion).to.equal(rv);
    const third = await api.request('GET', `${gvPath}/accessrequests?limit=2&continue=${encodeURIComponent(second.body.metadata.continue as string)}`);
    expect(names(third.body)).to.deep.equal(['b2']);
    expect(third.body.metadata).to.not.have.property('continue');
    await api.request('DELETE', `${ars('ns1')}/a0zz`);
  });

  it('pages with a label selector until limit matches, without remainingItemCount', async () => {
    const res = await api.request('GET', `${gvPath}/accessrequests?limit=1&labelSelector=app%3Da`);
    expect(names(res.body)).to.deep.equal(['a1']);
    expect(res.body.metadata).to.not.have.property('remainingItemCount');
    const next = await api.request('GET', `${gvPath}/accessrequests?limit=1&labelSelector=app%3Da&continue=${encodeURIComponent(res.body.metadata.continue as string)}`);
    expect(names(next.body)).to.deep.equal(['b1']);
  });

  it('answers 400 for a tampered continue token', async () => {
    const res = await api.request('GET', `${ars('ns1')}?limit=1&continue=not-a-token`);
    expect(res.status).to.equal(400);
  });

  it('answers 410 Expired for a continue token whose revision was compacted', async () => {
    const first = await api.request('GET', `${ars('ns1')}?limit=1`);
    const token = first.body.metadata.continue as string;
    await api.request('POST', ars('ns1'), { body: accessRequest('compact-me') });
    const rev = await api.storage().currentRevision();
    if (!rev.ok) throw new Error('no revision');
    await api.storage().compact(rev.value);
    const res = await api.request('GET', `${ars('ns1')}?limit=1&continue=${encodeURIComponent(token)}`);
    expect(res.status).to.equal(410);
    expect(res.body.reason).to.equal('Expired');
  });

  const listOptionCases: { name: string; query: string; code: number }[] = [
    { name: 'resourceVersionMatch without resourceVersion', query: 'resourceVersionMatch=NotOlderThan', code: 422 },
    { name: 'an unknown resourceVersionMatch', query: 'resourceVersion=1&resourceVersionMatch=Newest', code: 422 },
    { name: 'Exact with resourceVersion 0', query: 'resourceVersion=0&resourceVersionMatch=Exact', code: 422 },
    { name: 'sendInitialEvents on a plain list', query: 'sendInitialEvents=true&resourceVersionMatch=NotOlderThan', code: 422 },
    { name: 'continue with a resourceVersion', query: 'continue=abc&resourceVersion=5', code: 400 },
    { name: 'a negative limit', query: 'limit=-1', code: 400 },
  ];
  for (const tc of listOptionCases) {
    it(`answers ${String(tc.code)} for ${tc.name}`, async () => {
      const res = await api.request('GET', `${ars('ns1')}?${tc.query}`);
      expect(res.status).to.equal(tc.code);
      expect(res.body.kind).to.equal('Status');
    });
  }

  it('serves an Exact list at an old revision', async () => {
    const before = await api.request('GET', ars('ns10'));
    const rv = before.body.metadata.resourceVersion as string;
    await api.request('POST', ars('ns10'), { body: accessRequest('later') });
    const exact = await api.request('GET', `${ars('ns10')}?resourceVersion=${rv}&resourceVersionMatch=Exact`);
    expect(exact.status).to.equal(200);
    expect(names(exact.body)).to.deep.equal(['b1', 'b2']);
  });

  it('serves the discovery documents', async () => {
    const res = await api.request('GET', gvPath);
    expect(res.status).to.equal(200);
    expect(res.body.kind).to.equal('APIResourceList');
    const ar = (res.body.resources as { name: string }[]).find((r) => r.name === 'accessrequests');
    expect(ar).to.deep.equal({
      name: 'accessrequests',
      singularName: 'accessrequest',
      namespaced: true,
      kind: 'AccessRequest',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      categories: ['alauda'],
    });
    expect((res.body.resources as { name: string; verbs: string[] }[]).find((r) => r.name === 'accessrequests/status')?.verbs).to.deep.equal(['get']);
  });

  it('answers 404 for unknown resources and subresources, and 406 for a protobuf-only Accept', async () => {
    expect((await api.request('GET', `${gvPath}/namespaces/ns1/widgets`)).status).to.equal(404);
    expect((await api.request('GET', `${ars('ns1')}/a1/proxy`)).status).to.equal(404);
    const proto = await api.request('GET', `${ars('ns1')}/a1`, { headers: { accept: 'application/vnd.kubernetes.protobuf' } });
    expect(proto.status).to.equal(406);
    const fallback = await api.request('GET', `${ars('ns1')}/a1`, { headers: { accept: 'application/vnd.kubernetes.protobuf, application/json' } });
    expect(fallback.status).to.equal(200);
  });
});
