import { expect } from 'chai';
import { gvPath, useRestServer, type Reply } from '../../support/rest.js';

const classes = `${gvPath}/connectorclasses`;
const connectors = (ns: string): string => `${gvPath}/namespaces/${ns}/connectors`;
const tableAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const merge = 'application/merge-patch+json';

const connectorClass = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'connectors.alauda.io/v1alpha1',
  kind: 'ConnectorClass',
  metadata: { name },
  spec: {
    address: { name: 'address', type: 'string' },
    auth: { types: [{ name: 'basicAuth', secretType: 'kubernetes.io/basic-auth' }] },
    livenessProbe: { http: { path: '/api/v2.0/ping' } },
  },
  ...extra,
});

const connector = (name: string, spec: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'connectors.alauda.io/v1alpha1',
  kind: 'Connector',
  metadata: { name },
  spec: {
    connectorClassName: 'harbor',
    address: 'https://harbor.example.com',
    auth: { name: 'basicAuth', secretRef: { name: 'harbor-secret' }, params: { scopes: ['repo'], nested: { any: 1 } } },
    ...spec,
  },
});

/** Reads the first `n` events of a watch, then closes it. */
async function watchEvents(url: string, n: number): Promise<{ type: string; object: { metadata: { name?: string; namespace?: string }; status?: unknown } }[]> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 5000);
  const out: { type: string; object: { metadata: { name?: string; namespace?: string }; status?: unknown } }[] = [];
  try {
    const res = await fetch(url, { signal: ctl.signal });
    const reader = res.body?.getReader();
    const decoder = new TextDecoder();
    let buf = '';
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
  } catch (e) {
    if (!ctl.signal.aborted) throw e;
  } finally {
    clearTimeout(timer);
    ctl.abort();
  }
  return out;
}

const ready = { conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', lastTransitionTime: '2025-01-01T00:00:00Z' }], observedGeneration: 1 };

describe('Connector and ConnectorClass (served because the server owns the group-version)', () => {
  const api = useRestServer();
  const must = async (method: string, path: string, body: unknown, code: number, contentType?: string): Promise<Reply> => {
    const res = await api.request(method, path, { body, ...(contentType === undefined ? {} : { contentType }) });
    expect(res.status, `${method} ${path}: ${res.text}`).to.equal(code);
    return res;
  };

  describe('discovery and OpenAPI', () => {
    it('lists both kinds in the APIResourceList with their scope and writable status', async () => {
      const res = await api.request('GET', gvPath);
      expect(res.status).to.equal(200);
      const byName = Object.fromEntries((res.body.resources as { name: string }[]).map((r) => [r.name, r]));
      expect(Object.keys(byName)).to.deep.equal([
        'accesspolicies',
        'accesspolicies/status',
        'accessrequests',
        'accessrequests/status',
        'connectorclasses',
        'connectorclasses/status',
        'connectors',
        'connectors/status',
      ]);
      const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
      expect(byName['connectorclasses']).to.deep.equal({ name: 'connectorclasses', singularName: 'connectorclass', namespaced: false, kind: 'ConnectorClass', verbs, categories: ['alauda'] });
      expect(byName['connectors']).to.deep.equal({ name: 'connectors', singularName: 'connector', namespaced: true, kind: 'Connector', verbs, categories: ['alauda'] });
      expect(byName['connectorclasses/status']).to.deep.equal({ name: 'connectorclasses/status', singularName: '', namespaced: false, kind: 'ConnectorClass', verbs: ['get', 'patch', 'update'] });
      expect(byName['connectors/status']).to.deep.equal({ name: 'connectors/status', singularName: '', namespaced: true, kind: 'Connector', verbs: ['get', 'patch', 'update'] });
    });

    it('gives the aggregated discovery entries scope Cluster and Namespaced', async () => {
      const res = await api.request('GET', '/apis', { headers: { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' } });
      expect(res.status).to.equal(200);
      const resources = res.body.items[0].versions[0].resources as { resource: string; scope: string; subresources: { verbs: string[] }[] }[];
      const cc = resources.find((r) => r.resource === 'connectorclasses');
      const c = resources.find((r) => r.resource === 'connectors');
      expect(cc).to.include({ scope: 'Cluster', singularResource: 'connectorclass' });
      expect(c).to.include({ scope: 'Namespaced', singularResource: 'connector' });
      expect(cc?.subresources[0]?.verbs).to.deep.equal(['get', 'patch', 'update']);
    });

    it('publishes cluster-scoped paths for ConnectorClass and namespaced ones for Connector', async () => {
      const res = await api.request('GET', '/openapi/v3/apis/connectors.alauda.io/v1alpha1');
      expect(res.status).to.equal(200);
      const paths = Object.keys(res.body.paths as object);
      expect(paths).to.include.members([
        '/apis/connectors.alauda.io/v1alpha1/connectorclasses',
        '/apis/connectors.alauda.io/v1alpha1/connectorclasses/{name}',
        '/apis/connectors.alauda.io/v1alpha1/connectorclasses/{name}/status',
        '/apis/connectors.alauda.io/v1alpha1/namespaces/{namespace}/connectors/{name}/status',
        '/apis/connectors.alauda.io/v1alpha1/connectors',
      ]);
      expect(paths.filter((p) => p.includes('namespaces/{namespace}/connectorclasses'))).to.deep.equal([]);
      expect(Object.keys(res.body.paths['/apis/connectors.alauda.io/v1alpha1/connectorclasses/{name}/status'])).to.include.members(['get', 'put', 'patch']);
      const schema = res.body.components.schemas['io.alauda.connectors.v1alpha1.ConnectorClass'];
      expect(schema['x-kubernetes-group-version-kind']).to.deep.equal([{ group: 'connectors.alauda.io', version: 'v1alpha1', kind: 'ConnectorClass' }]);
      expect(Object.keys(schema.properties.spec.properties as object).sort()).to.deep.equal(['address', 'api', 'auth', 'authProbes', 'configurations', 'livenessProbe', 'proxy']);
    });
  });

  describe('ConnectorClass: cluster-scoped', () => {
    it('creates without a namespace, clearing one sent in the body (as kube-apiserver does), and stores it under a key without namespace', async () => {
      const body = connectorClass('harbor', { status: ready });
      (body['metadata'] as Record<string, unknown>)['namespace'] = 'devops';
      const res = await must('POST', classes, body, 201);
      expect(res.body.metadata).to.not.have.property('namespace');
      expect(res.body.metadata.generation).to.equal(1);
      expect(res.body).to.not.have.property('status');
      const stored = await api.storage().get(`${api.etcdPrefix()}/connectors.alauda.io/connectorclasses/harbor`);
      expect(stored.ok).to.equal(true);
      const got = await must('GET', `${classes}/harbor`, undefined, 200);
      expect(got.body.spec).to.deep.equal((connectorClass('harbor')['spec'] as object));
    });

    it('answers 404 for namespaced URLs of a cluster-scoped kind, whatever the verb', async () => {
      for (const [method, path] of [
        ['GET', `${gvPath}/namespaces/devops/connectorclasses`],
        ['GET', `${gvPath}/namespaces/devops/connectorclasses/harbor`],
        ['POST', `${gvPath}/namespaces/devops/connectorclasses`],
        ['DELETE', `${gvPath}/namespaces/devops/connectorclasses/harbor`],
        ['GET', `${gvPath}/namespaces/devops/connectorclasses/harbor/status`],
      ] as const) {
        const res = await api.request(method, path, method === 'POST' ? { body: connectorClass('x') } : {});
        expect(res.status, `${method} ${path}`).to.equal(404);
        expect(res.body.reason).to.equal('NotFound');
      }
      expect((await api.request('GET', `${classes}/harbor`)).status).to.equal(200);
    });

    it('answers 404 with the usual Status for a missing ConnectorClass and 409 for a taken name', async () => {
      const res = await api.request('GET', `${classes}/ghost`);
      expect(res.status).to.equal(404);
      expect(res.body.message).to.equal('connectorclasses.connectors.alauda.io "ghost" not found');
      expect(res.body.details).to.deep.equal({ name: 'ghost', group: 'connectors.alauda.io', kind: 'connectorclasses' });
      const dup = await api.request('POST', classes, { body: connectorClass('harbor') });
      expect(dup.status).to.equal(409);
      expect(dup.body.reason).to.equal('AlreadyExists');
    });

    it('honours generateName', async () => {
      const res = await must('POST', classes, { ...connectorClass(''), metadata: { generateName: 'git-' } }, 201);
      expect(res.body.metadata.name).to.match(/^git-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      await must('DELETE', `${classes}/${String(res.body.metadata.name)}`, undefined, 200);
    });

    it('rejects an invalid ConnectorClass with 422 and every cause', async () => {
      const body = connectorClass('bad', {
        spec: { address: {}, auth: { types: [{ name: 'a' }, { name: 'a' }] }, livenessProbe: { http: { path: '/', method: 'PUT' } } },
      });
      const res = await api.request('POST', classes, { body });
      expect(res.status).to.equal(422);
      expect(res.body.reason).to.equal('Invalid');
      expect(res.body.details.causes).to.deep.equal([
        { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.address.name' },
        { reason: 'FieldValueDuplicate', message: 'Duplicate value: map[string]interface {}{"name":"a"}', field: 'spec.auth.types[1]' },
        { reason: 'FieldValueNotSupported', message: 'Unsupported value: "PUT": supported values: "GET", "POST"', field: 'spec.livenessProbe.http.method' },
      ]);
      expect(res.body.message).to.equal(
        'ConnectorClass.connectors.alauda.io "bad" is invalid: [spec.address.name: Required value, spec.auth.types[1]: Duplicate value: map[string]interface {}{"name":"a"}, spec.livenessProbe.http.method: Unsupported value: "PUT": supported values: "GET", "POST"]',
      );
      expect((await api.request('GET', `${classes}/bad`)).status).to.equal(404);
    });

    it('drops unknown fields with a warning, or refuses them with fieldValidation=Strict', async () => {
      const body = connectorClass('unknown', { spec: { bogus: 1, address: { name: 'address', extra: true } } });
      const strict = await api.request('POST', `${classes}?fieldValidation=Strict`, { body });
      expect(strict.status).to.equal(400);
      expect(strict.body.message).to.equal('strict decoding error: unknown field "spec.bogus", unknown field "spec.address.extra"');
      const warned = await must('POST', classes, body, 201);
      expect(warned.headers.get('warning')).to.include('unknown field \\"spec.bogus\\"');
      expect(warned.body.spec).to.deep.equal({ address: { name: 'address' } });
    });

    it('updates and patches the main resource: spec changes bump generation, labels do not, status is kept', async () => {
      await must('PUT', `${classes}/harbor/status`, { ...(await api.request('GET', `${classes}/harbor`)).body, status: ready }, 200);
      const labelled = await must('PATCH', `${classes}/harbor`, { metadata: { labels: { tier: 'a' } } }, 200, merge);
      expect(labelled.body.metadata.generation).to.equal(1);
      const got = labelled.body;
      got.spec.livenessProbe.http.path = '/api/v2.0/health';
      got.status = { conditions: [{ type: 'Ready', status: 'False', reason: 'Forged' }] };
      const updated = await must('PUT', `${classes}/harbor`, got, 200);
      expect(updated.body.metadata.generation).to.equal(2);
      expect(updated.body.spec.livenessProbe.http.path).to.equal('/api/v2.0/health');
      expect(updated.body.status).to.deep.equal(ready);
    });

    it('lists across the cluster; metadata.namespace selects nothing but the empty namespace', async () => {
      await must('POST', classes, connectorClass('git'), 201);
      const names = async (query: string): Promise<string[]> => {
        const res = await must('GET', `${classes}${query}`, undefined, 200);
        expect(res.body.kind).to.equal('ConnectorClassList');
        return (res.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name);
      };
      expect(await names('')).to.include.members(['git', 'harbor']);
      expect(await names('?fieldSelector=metadata.namespace%3Ddevops')).to.deep.equal([]);
      expect(await names('?fieldSelector=metadata.namespace%3D')).to.include.members(['git', 'harbor']);
      expect(await names('?fieldSelector=metadata.name%3Dgit')).to.deep.equal(['git']);
      expect(await names('?labelSelector=tier%3Da')).to.deep.equal(['harbor']);
    });

    it('serves a Table with Name, Ready, Reason and Age', async () => {
      const res = await api.request('GET', `${classes}?fieldSelector=metadata.name%3Dharbor`, { headers: { accept: tableAccept } });
      expect(res.status).to.equal(200);
      expect((res.body.columnDefinitions as { name: string }[]).map((c) => c.name)).to.deep.equal(['Name', 'Ready', 'Reason', 'Age']);
      const cells = res.body.rows[0].cells as unknown[];
      expect(cells.slice(0, 3)).to.deep.equal(['harbor', 'True', 'Ready']);
      expect(cells[3]).to.match(/^\d+s$/);
    });

    it('watches the cluster-scoped collection: ADDED, then MODIFIED for a status write', async () => {
      const listed = await must('GET', classes, undefined, 200);
      const rv = String(listed.body.metadata.resourceVersion);
      const events = watchEvents(`${api.url()}${classes}?watch=true&resourceVersion=${rv}`, 2);
      await new Promise((r) => setTimeout(r, 200));
      await must('POST', classes, connectorClass('watched'), 201);
      await must('PATCH', `${classes}/watched/status`, { status: ready }, 200, merge);
      const got = await events;
      expect(got.map((e) => `${e.type} ${String(e.object.metadata.name)}`)).to.deep.equal(['ADDED watched', 'MODIFIED watched']);
      expect(got[0]?.object.metadata).to.not.have.property('namespace');
      expect(got[1]?.object.status).to.deep.equal(ready);
      await must('DELETE', `${classes}/watched`, undefined, 200);
    });

    it('deletes one object and a collection', async () => {
      const del = await must('DELETE', `${classes}/git`, undefined, 200);
      expect(del.body).to.include({ kind: 'Status', status: 'Success' });
      expect(del.body.details).to.include({ name: 'git', group: 'connectors.alauda.io', kind: 'connectorclasses' });
      await must('POST', classes, { ...connectorClass('tmp1'), metadata: { name: 'tmp1', labels: { tmp: 'y' } } }, 201);
      await must('POST', classes, { ...connectorClass('tmp2'), metadata: { name: 'tmp2', labels: { tmp: 'y' } } }, 201);
      const coll = await must('DELETE', `${classes}?labelSelector=tmp%3Dy`, undefined, 200);
      expect((coll.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name).sort()).to.deep.equal(['tmp1', 'tmp2']);
      expect((await must('GET', `${classes}?labelSelector=tmp%3Dy`, undefined, 200)).body.items).to.deep.equal([]);
    });
  });

  describe('writable status subresource', () => {
    it('PUT /status takes only the status: spec and metadata changes are ignored, generation stays', async () => {
      await must('POST', connectors('devops'), connector('harbor-prod'), 201);
      const got = (await must('GET', `${connectors('devops')}/harbor-prod`, undefined, 200)).body;
      const body = structuredClone(got);
      body.spec.address = 'https://changed.example.com';
      body.metadata.labels = { sneaky: 'yes' };
      body.status = ready;
      const res = await must('PUT', `${connectors('devops')}/harbor-prod/status`, body, 200);
      expect(res.body.status).to.deep.equal(ready);
      expect(res.body.spec).to.deep.equal(got.spec);
      expect(res.body.metadata).to.not.have.property('labels');
      expect(res.body.metadata.generation).to.equal(1);
      expect(Number(res.body.metadata.resourceVersion)).to.be.greaterThan(Number(got.metadata.resourceVersion));
    });

    it('PUT /status with a stale resourceVersion is a 409, without one a 422', async () => {
      const got = (await must('GET', `${connectors('devops')}/harbor-prod`, undefined, 200)).body;
      const stale = { ...got, metadata: { ...got.metadata, resourceVersion: '1' } };
      expect((await api.request('PUT', `${connectors('devops')}/harbor-prod/status`, { body: stale })).status).to.equal(409);
      const none = { ...got, metadata: { name: 'harbor-prod' } };
      expect((await api.request('PUT', `${connectors('devops')}/harbor-prod/status`, { body: none })).status).to.equal(422);
    });

    it('PATCH /status (merge and JSON patch) changes the status only and validates it', async () => {
      const patched = await must(
        'PATCH',
        `${connectors('devops')}/harbor-prod/status`,
        { spec: { address: 'ignored' }, status: { conditions: [{ type: 'Ready', status: 'False', reason: 'Unreachable' }] } },
        200,
        merge,
      );
      expect(patched.body.status.conditions).to.deep.equal([{ type: 'Ready', status: 'False', reason: 'Unreachable' }]);
      expect(patched.body.spec.address).to.equal('https://harbor.example.com');
      const json = await must('PATCH', `${connectors('devops')}/harbor-prod/status`, [{ op: 'replace', path: '/status/observedGeneration', value: 3 }], 200, 'application/json-patch+json');
      expect(json.body.status.observedGeneration).to.equal(3);
      const bad = await api.request('PATCH', `${connectors('devops')}/harbor-prod/status`, { body: { status: { conditions: [{ type: 'Ready' }] } }, contentType: merge });
      expect(bad.status).to.equal(422);
      expect(bad.body.details.causes).to.deep.equal([{ reason: 'FieldValueRequired', message: 'Required value', field: 'status.conditions[0].status' }]);
    });

    it('a main-resource write keeps the stored status and bumps generation on a spec change', async () => {
      const res = await must('PATCH', `${connectors('devops')}/harbor-prod`, { spec: { address: 'https://new.example.com' }, status: null }, 200, merge);
      expect(res.body.spec.address).to.equal('https://new.example.com');
      expect(res.body.metadata.generation).to.equal(2);
      expect(res.body.status.observedGeneration).to.equal(3);
    });

    it('GET /status returns the whole object; DELETE and POST on /status are refused', async () => {
      const res = await must('GET', `${connectors('devops')}/harbor-prod/status`, undefined, 200);
      expect(res.body.kind).to.equal('Connector');
      expect(res.body.spec.connectorClassName).to.equal('harbor');
      expect((await api.request('DELETE', `${connectors('devops')}/harbor-prod/status`)).status).to.equal(405);
      expect((await api.request('POST', `${connectors('devops')}/harbor-prod/status`, { body: connector('x') })).status).to.equal(405);
    });
  });

  describe('Connector: namespaced', () => {
    it('keeps auth.params as sent and accepts a Connector without spec', async () => {
      const got = await must('GET', `${connectors('devops')}/harbor-prod`, undefined, 200);
      expect(got.body.spec.auth.params).to.deep.equal({ scopes: ['repo'], nested: { any: 1 } });
      const bare = await must('POST', connectors('other'), { apiVersion: 'connectors.alauda.io/v1alpha1', kind: 'Connector', metadata: { name: 'bare' } }, 201);
      expect(bare.body).to.not.have.property('spec');
      expect(bare.body.metadata.namespace).to.equal('other');
    });

    it('answers 400 for a body namespace other than the URL, and 405 for a create across namespaces', async () => {
      const res = await api.request('POST', connectors('devops'), { body: { ...connector('x'), metadata: { name: 'x', namespace: 'other' } } });
      expect(res.status).to.equal(400);
      expect(res.body.message).to.equal('the namespace of the provided object does not match the namespace sent on the request');
      expect((await api.request('POST', `${gvPath}/connectors`, { body: connector('x') })).status).to.equal(405);
    });

    it('rejects a value of the wrong type with 422 FieldValueTypeInvalid', async () => {
      const res = await api.request('POST', connectors('devops'), { body: connector('typed', { address: 42 }) });
      expect(res.status).to.equal(422);
      expect(res.body.details.causes).to.deep.equal([{ reason: 'FieldValueTypeInvalid', message: 'Invalid value: "integer": must be of type string', field: 'spec.address' }]);
    });

    it('lists across namespaces and by namespace field selector', async () => {
      const all = await must('GET', `${gvPath}/connectors`, undefined, 200);
      expect(all.body.kind).to.equal('ConnectorList');
      expect((all.body.items as { metadata: { namespace: string; name: string } }[]).map((i) => `${i.metadata.namespace}/${i.metadata.name}`).sort()).to.deep.equal([
        'devops/harbor-prod',
        'other/bare',
      ]);
      const sel = await must('GET', `${gvPath}/connectors?fieldSelector=metadata.namespace%3Dother`, undefined, 200);
      expect((sel.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name)).to.deep.equal(['bare']);
    });

    it('serves a Table with Name, Class, Address, Ready, Reason and Age', async () => {
      const res = await api.request('GET', connectors('devops'), { headers: { accept: tableAccept } });
      expect(res.status).to.equal(200);
      expect((res.body.columnDefinitions as { name: string }[]).map((c) => c.name)).to.deep.equal(['Name', 'Class', 'Address', 'Ready', 'Reason', 'Age']);
      const cells = res.body.rows[0].cells as unknown[];
      expect(cells.slice(0, 5)).to.deep.equal(['harbor-prod', 'harbor', 'https://new.example.com', 'False', 'Unreachable']);
      const bare = await api.request('GET', `${connectors('other')}/bare`, { headers: { accept: tableAccept } });
      expect((bare.body.rows[0].cells as unknown[]).slice(0, 5)).to.deep.equal(['bare', null, null, null, null]);
    });

    it('answers 404 for the connectors/proxy and connectors/apis paths that exist only as RBAC strings', async () => {
      for (const sub of ['proxy', 'proxy/v1/pod/cicd/p1', 'apis/v1/x']) {
        const res = await api.request('GET', `${connectors('devops')}/harbor-prod/${sub}`);
        expect(res.status, sub).to.equal(404);
      }
    });

    it('deletes a Connector', async () => {
      await must('DELETE', `${connectors('other')}/bare`, undefined, 200);
      expect((await api.request('GET', `${connectors('other')}/bare`)).status).to.equal(404);
    });
  });
});
