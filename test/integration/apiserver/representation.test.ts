import { expect } from 'chai';
import { parse as parseYAML } from 'yaml';
import { accessRequest, gvPath, useRestServer } from '../../support/rest.js';

const ars = `${gvPath}/namespaces/rep/accessrequests`;
const tableAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const pomAccept = 'application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
const pomListAccept = 'application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

async function firstLines(url: string, accept: string, n: number): Promise<any[]> {
  const ctl = new AbortController();
  const res = await fetch(url, { headers: { accept }, signal: ctl.signal });
  const reader = res.body?.getReader();
  const out: any[] = [];
  let buf = '';
  const decoder = new TextDecoder();
  try {
    while (out.length < n && reader !== undefined) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        out.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
    }
  } finally {
    ctl.abort();
  }
  return out;
}

describe('REST representations', () => {
  const api = useRestServer();

  before(async () => {
    for (const name of ['t1', 't2']) expect((await api.request('POST', ars, { body: accessRequest(name, undefined, { app: name }) })).status).to.equal(201);
  });

  it('lists as a Table with the printer columns of the spec', async () => {
    const res = await api.request('GET', ars, { headers: { accept: tableAccept } });
    expect(res.status).to.equal(200);
    expect(res.body.kind).to.equal('Table');
    expect(res.body.apiVersion).to.equal('meta.k8s.io/v1');
    expect((res.body.columnDefinitions as { name: string }[]).map((c) => c.name)).to.deep.equal(['Name', 'Connector', 'Subject', 'ContextValid', 'Permission', 'Age']);
    expect(res.body.columnDefinitions[0]).to.include({ type: 'string', format: 'name' });
    expect(res.body.columnDefinitions[5]).to.include({ type: 'date' });
    const row = res.body.rows[0];
    expect(row.cells.slice(0, 5)).to.deep.equal(['t1', 'prod-harbor', 'builder', null, null]);
    expect(row.cells[5]).to.match(/^\d+s$/);
    expect(row.object).to.include({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1' });
    expect(row.object.metadata.name).to.equal('t1');
    expect(res.body.metadata.resourceVersion).to.match(/^\d+$/);
  });

  it('honours includeObject=Object and None, and answers 400 for another value', async () => {
    const full = await api.request('GET', `${ars}/t1?includeObject=Object`, { headers: { accept: tableAccept } });
    expect(full.body.rows[0].object.kind).to.equal('AccessRequest');
    const none = await api.request('GET', `${ars}/t1?includeObject=None`, { headers: { accept: tableAccept } });
    expect(none.body.rows[0]).to.not.have.property('object');
    expect((await api.request('GET', `${ars}/t1?includeObject=All`, { headers: { accept: tableAccept } })).status).to.equal(400);
  });

  it('serves an AccessPolicy Table with Name and Age', async () => {
    const res = await api.request('GET', `${gvPath}/accesspolicies`, { headers: { accept: tableAccept } });
    expect((res.body.columnDefinitions as { name: string }[]).map((c) => c.name)).to.deep.equal(['Name', 'Age']);
  });

  it('watches as Tables with the columns only in the first event', async () => {
    const events = await firstLines(`${api.url()}${ars}?watch=true`, tableAccept, 2);
    expect(events.map((e) => e.type)).to.deep.equal(['ADDED', 'ADDED']);
    expect(events[0].object.kind).to.equal('Table');
    expect(events[0].object.columnDefinitions).to.have.length(6);
    expect(events[1].object.columnDefinitions).to.deep.equal([]);
    expect(events[1].object.rows[0].cells[0]).to.equal('t2');
  });

  it('serves PartialObjectMetadata for get and watch, PartialObjectMetadataList for list', async () => {
    const one = await api.request('GET', `${ars}/t1`, { headers: { accept: pomAccept } });
    expect(one.body).to.have.keys(['kind', 'apiVersion', 'metadata']);
    expect(one.body.kind).to.equal('PartialObjectMetadata');
    const list = await api.request('GET', ars, { headers: { accept: pomListAccept } });
    expect(list.body.kind).to.equal('PartialObjectMetadataList');
    expect(list.body.items.map((i: { kind: string }) => i.kind)).to.deep.equal(['PartialObjectMetadata', 'PartialObjectMetadata']);
    expect(list.body.metadata.resourceVersion).to.match(/^\d+$/);
    const events = await firstLines(`${api.url()}${ars}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`, pomAccept, 3);
    expect(events.map((e) => `${e.type} ${String(e.object.kind)}`)).to.deep.equal(['ADDED PartialObjectMetadata', 'ADDED PartialObjectMetadata', 'BOOKMARK PartialObjectMetadata']);
    expect(events[2].object.metadata.annotations).to.deep.equal({ 'k8s.io/initial-events-end': 'true' });
  });

  it('answers 406 for the single metadata form on a list', async () => {
    const res = await api.request('GET', ars, { headers: { accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1' } });
    expect(res.status).to.equal(406);
    expect(res.body.reason).to.equal('NotAcceptable');
  });

  it('accepts YAML bodies and answers YAML when asked', async () => {
    const yamlBody = `apiVersion: connectors.alauda.io/v1alpha1
kind: AccessRequest
metadata:
  name: from-yaml
spec:
  connectorRef: {name: prod-harbor}
  context: {objectRef: {kind: Pod, namespace: cicd, name: p}}
  subject: {kind: User, name: alice}
`;
    const created = await api.request('POST', ars, { rawBody: yamlBody, contentType: 'application/yaml' });
    expect(created.status).to.equal(201);
    expect(created.body.spec.subject.apiGroup).to.equal('rbac.authorization.k8s.io');
    const got = await api.request('GET', `${ars}/from-yaml`, { headers: { accept: 'application/yaml' } });
    expect(got.headers.get('content-type')).to.equal('application/yaml');
    expect((parseYAML(got.text) as { metadata: { name: string } }).metadata.name).to.equal('from-yaml');
    const bad = await api.request('POST', ars, { rawBody: 'a: [', contentType: 'application/yaml' });
    expect(bad.status).to.equal(400);
  });

  it('serves aggregated discovery v2 with an ETag and 304', async () => {
    const accept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';
    const res = await api.request('GET', '/apis', { headers: { accept } });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    expect(res.headers.get('vary')).to.equal('Accept');
    expect(res.body.kind).to.equal('APIGroupDiscoveryList');
    const version = res.body.items[0].versions[0];
    expect(version.version).to.equal('v1alpha1');
    const ar = (version.resources as { resource: string }[]).find((r) => r.resource === 'accessrequests');
    expect(ar).to.deep.equal({
      resource: 'accessrequests',
      singularResource: 'accessrequest',
      scope: 'Namespaced',
      responseKind: { group: 'connectors.alauda.io', version: 'v1alpha1', kind: 'AccessRequest' },
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      categories: ['alauda'],
      subresources: [{ subresource: 'status', responseKind: { group: 'connectors.alauda.io', version: 'v1alpha1', kind: 'AccessRequest' }, verbs: ['get'] }],
    });
    const etag = res.headers.get('etag') ?? '';
    expect(etag).to.match(/^"[0-9A-F]+"$/);
    const again = await api.request('GET', '/apis', { headers: { accept, 'if-none-match': etag } });
    expect(again.status).to.equal(304);
    expect(again.text).to.equal('');
  });

  it('serves the legacy group list for plain JSON', async () => {
    const res = await api.request('GET', '/apis', { headers: { accept: 'application/json' } });
    expect(res.body).to.deep.equal({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [
        {
          name: 'connectors.alauda.io',
          versions: [{ groupVersion: 'connectors.alauda.io/v1alpha1', version: 'v1alpha1' }],
          preferredVersion: { groupVersion: 'connectors.alauda.io/v1alpha1', version: 'v1alpha1' },
        },
      ],
    });
    const group = await api.request('GET', '/apis/connectors.alauda.io');
    expect(group.body.kind).to.equal('APIGroup');
  });
});
