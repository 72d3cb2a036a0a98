/**
 * migrate against real etcds: the "main API server" is a second instance of our REST server (it
 * serves Connectors and ConnectorClasses over the same HTTP API the CRDs do, assigns uids and keeps
 * status on its subresource like kube-apiserver), reached with the real client-node MainApiServer;
 * the target is our REST server, whose etcd migrate writes directly, then read and written through
 * its API. Only the APIService lookup and "no CRD" are stubbed, by wrapping the client-node seam.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import type { KubeObject } from '../../../apiserver/api/meta.js';
import { mainApiServer } from '../../../apiserver/cli/migrate/main-api.js';
import { runMigration, type MainApiServer } from '../../../apiserver/cli/migrate/run.js';
import { createEtcdStorage } from '../../../storage/etcd3.js';
import type { Storage } from '../../../storage/interface.js';
import { gvPath, useRestServer, type Reply, type RestServer } from '../../support/rest.js';

const gv = 'connectors.alauda.io/v1alpha1';
const classes = `${gvPath}/connectorclasses`;
const connectors = (ns: string): string => `${gvPath}/namespaces/${ns}/connectors`;

function kubeConfigFor(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

async function must(api: RestServer, method: string, path: string, body: unknown, code: number): Promise<Reply> {
  const res = await api.request(method, path, body === undefined ? {} : { body });
  expect(res.status, `${method} ${path}: ${res.text}`).to.equal(code);
  return res;
}

const ready = { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', lastTransitionTime: '2025-01-01T00:00:00Z' }] };

/** Creates through the API, then sets the status through /status, as the Connectors controllers do. */
async function seed(api: RestServer, path: string, obj: Record<string, unknown>, status?: unknown): Promise<KubeObject> {
  const created = (await must(api, 'POST', path, obj, 201)).body as KubeObject;
  if (status === undefined) return created;
  const name = created.metadata.name ?? '';
  return (await must(api, 'PUT', `${path}/${name}/status`, { ...created, status }, 200)).body as KubeObject;
}

/** Everything but resourceVersion, as the comparisons across the two servers need. */
const sansRv = (o: KubeObject): KubeObject => {
  const c = structuredClone(o);
  delete c.metadata.resourceVersion;
  return c;
};

describe('migrate (integration: real etcds, client-node against a REST server standing in for kube-apiserver)', function () {
  this.timeout(60_000);
  const source = useRestServer();
  const target = useRestServer();
  let storage: Storage;
  let api: MainApiServer;
  const out: string[] = [];
  const err: string[] = [];

  const run = async (opts: { dryRun?: boolean; reverse?: boolean; api?: MainApiServer } = {}): Promise<{ code: number; lines: string[]; err: string[] }> => {
    out.length = 0;
    err.length = 0;
    const code = await runMigration({
      api: opts.api ?? api,
      storage,
      etcdPrefix: target.etcdPrefix(),
      dryRun: opts.dryRun ?? false,
      reverse: opts.reverse ?? false,
      out: (l) => out.push(l),
      err: (l) => err.push(l),
    });
    return { code, lines: [...out], err: [...err] };
  };

  const revision = async (): Promise<string> => {
    const r = await storage.currentRevision();
    if (!r.ok) throw new Error(r.error.kind);
    return r.value;
  };

  let harborClass: KubeObject;
  let gitlabClass: KubeObject;
  let harbor: KubeObject;
  let gitlab: KubeObject;
  let plain: KubeObject;
  let dying: KubeObject;

  before(async () => {
    storage = createEtcdStorage({ endpoints: [target.etcdEndpoint()] });
    api = mainApiServer(kubeConfigFor(source.url()));
    harborClass = await seed(
      source,
      classes,
      { apiVersion: gv, kind: 'ConnectorClass', metadata: { name: 'harbor', labels: { tier: 'registry' } }, spec: { address: { name: 'address', type: 'string' }, auth: { types: [{ name: 'basicAuth', secretType: 'kubernetes.io/basic-auth' }] } } },
      ready,
    );
    gitlabClass = await seed(source, classes, { apiVersion: gv, kind: 'ConnectorClass', metadata: { name: 'gitlab' }, spec: {} });
    harbor = await seed(
      source,
      connectors('devops'),
      {
        apiVersion: gv,
        kind: 'Connector',
        metadata: {
          name: 'harbor',
          labels: { team: 'a' },
          annotations: { 'example.com/note': 'prod' },
          finalizers: ['example.com/keep'],
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: '0b1c2d3e-0000-4000-8000-000000000001' }],
        },
        spec: { connectorClassName: 'harbor', address: 'https://harbor.example.com', auth: { name: 'basicAuth', secretRef: { name: 's' }, params: { free: { form: [1, 'x'] } } } },
      },
      { ...ready, proxy: { httpAddress: { url: 'http://proxy.devops' } } },
    );
    gitlab = await seed(source, connectors('devops'), { apiVersion: gv, kind: 'Connector', metadata: { name: 'gitlab' }, spec: { connectorClassName: 'gitlab', address: 'https://gitlab.com' } }, ready);
    plain = await seed(source, connectors('other'), { apiVersion: gv, kind: 'Connector', metadata: { name: 'plain' } });
    // One being deleted, held by its finalizer.
    await seed(source, connectors('other'), { apiVersion: gv, kind: 'Connector', metadata: { name: 'dying', finalizers: ['example.com/hold'] }, spec: {} });
    dying = (await must(source, 'DELETE', `${connectors('other')}/dying`, undefined, 200)).body as KubeObject;
    expect(dying.metadata.deletionTimestamp).to.be.a('string');
  });

  after(async () => {
    await storage.close();
  });

  const expectedLines = (outcome: string): string[] => [
    `ConnectorClass -/gitlab ${outcome}`,
    `ConnectorClass -/harbor ${outcome}`,
    `Connector devops/gitlab ${outcome}`,
    `Connector devops/harbor ${outcome}`,
    `Connector other/dying ${outcome}`,
    `Connector other/plain ${outcome}`,
  ];

  it('refuses to run while the APIService points at a service, in either direction, writing nothing', async () => {
    const registered: MainApiServer = { ...api, registeredService: () => Promise.resolve('connectors-system/connectors-access-apiserver') };
    const before = await revision();
    for (const reverse of [false, true]) {
      const r = await run({ api: registered, reverse });
      expect(r.code).to.equal(1);
      expect(r.lines).to.deep.equal([]);
      expect(r.err.join('\n')).to.contain('APIService v1alpha1.connectors.alauda.io points at service connectors-system/connectors-access-apiserver');
    }
    expect(await revision()).to.equal(before);
  });

  it('finds no APIService on a server without one (404) and goes ahead', async () => {
    expect(await api.registeredService()).to.equal(undefined);
  });

  it('warns about other CRDs of the group-version, whose objects the APIService will hide', async () => {
    const r = await run({ api: { ...api, otherCrds: () => Promise.resolve(['resourceinterfaces.connectors.alauda.io']) }, dryRun: true });
    expect(r.code).to.equal(0);
    expect(r.err[0]).to.equal(
      'warning: CRD resourceinterfaces.connectors.alauda.io also serves connectors.alauda.io/v1alpha1; this server does not serve its kind, so its objects become unreachable once the APIService is registered',
    );
    // A main API server where CRDs cannot be listed (here: 404) gets no warning.
    expect((await run({ dryRun: true })).err.filter((l) => l.startsWith('warning'))).to.deep.equal([]);
  });

  it('--dry-run prints what it would copy and writes nothing', async () => {
    const before = await revision();
    const r = await run({ dryRun: true });
    expect(r.code).to.equal(0);
    expect(r.lines).to.deep.equal(expectedLines('created'));
    expect(r.err.at(-1)).to.contain('dry run: nothing was written');
    expect(await revision()).to.equal(before);
    expect((await must(target, 'GET', `${gvPath}/connectors`, undefined, 200)).body.items).to.deep.equal([]);
  });

  it('copies every ConnectorClass, then every Connector, keeping all metadata but resourceVersion, spec and status', async () => {
    const r = await run();
    expect(r.code, r.err.join('\n')).to.equal(0);
    expect(r.lines).to.deep.equal(expectedLines('created'));
    for (const [path, original] of [
      [`${classes}/harbor`, harborClass],
      [`${classes}/gitlab`, gitlabClass],
      [`${connectors('devops')}/harbor`, harbor],
      [`${connectors('devops')}/gitlab`, gitlab],
      [`${connectors('other')}/plain`, plain],
      [`${connectors('other')}/dying`, dying],
    ] as const) {
      const copied = (await must(target, 'GET', path, undefined, 200)).body as KubeObject;
      expect(sansRv(copied), path).to.deep.equal(sansRv(original));
    }
    // The server's own key layout: found by the server's list and selectors.
    const byLabel = await must(target, 'GET', `${gvPath}/connectors?labelSelector=team%3Da`, undefined, 200);
    expect((byLabel.body.items as KubeObject[]).map((o) => o.metadata.uid)).to.deep.equal([harbor.metadata.uid]);
  });

  it('is idempotent: a second run finds everything unchanged and writes nothing', async () => {
    const before = await revision();
    const r = await run();
    expect(r.code).to.equal(0);
    expect(r.lines).to.deep.equal(expectedLines('unchanged'));
    expect(await revision()).to.equal(before);
  });

  it('overwrites an object with the same uid that differs, and reports it updated', async () => {
    const changed = await source.request('PATCH', `${connectors('devops')}/gitlab`, { body: { spec: { address: 'https://gitlab.example.com' } }, contentType: 'application/merge-patch+json' });
    expect(changed.status, changed.text).to.equal(200);
    const r = await run();
    expect(r.code).to.equal(0);
    expect(r.lines.filter((l) => !l.endsWith(' unchanged'))).to.deep.equal(['Connector devops/gitlab updated']);
    const copied = (await must(target, 'GET', `${connectors('devops')}/gitlab`, undefined, 200)).body as KubeObject;
    expect(sansRv(copied)).to.deep.equal(sansRv(changed.body as KubeObject));
    expect(copied.metadata.generation).to.equal(2);
  });

  it('leaves the copies readable and writable through our server, status subresource included', async () => {
    const path = `${connectors('devops')}/harbor`;
    const got = (await must(target, 'GET', path, undefined, 200)).body as KubeObject;
    const updated = (await must(target, 'PUT', path, { ...got, spec: { ...(got['spec'] as object), address: 'https://harbor2.example.com' } }, 200)).body as KubeObject;
    expect(updated.metadata.uid).to.equal(harbor.metadata.uid);
    expect(updated.metadata.generation).to.equal((harbor.metadata.generation ?? 0) + 1);
    expect(updated['status']).to.deep.equal(harbor['status']);
    const status = (await must(target, 'PUT', `${path}/status`, { ...updated, status: { observedGeneration: 2 } }, 200)).body as KubeObject;
    expect(status['status']).to.deep.equal({ observedGeneration: 2 });
    // The terminating copy goes once its finalizer is removed, as on kube-apiserver.
    const dyingCopy = (await must(target, 'GET', `${connectors('other')}/dying`, undefined, 200)).body as KubeObject;
    await must(target, 'PUT', `${connectors('other')}/dying`, { ...dyingCopy, metadata: { ...dyingCopy.metadata, finalizers: [] } }, 200);
    await must(target, 'GET', `${connectors('other')}/dying`, undefined, 404);
  });

  it('reports an object stored with another uid as a conflict, leaves it alone, copies the rest and exits 1', async () => {
    const mine = await seed(target, connectors('third'), { apiVersion: gv, kind: 'Connector', metadata: { name: 'same' }, spec: { address: 'mine' } });
    const theirs = await seed(source, connectors('third'), { apiVersion: gv, kind: 'Connector', metadata: { name: 'same' }, spec: { address: 'theirs' } });
    const extra = await seed(source, connectors('third'), { apiVersion: gv, kind: 'Connector', metadata: { name: 'zz-new' } });
    expect(mine.metadata.uid).not.to.equal(theirs.metadata.uid);
    const r = await run();
    expect(r.code).to.equal(1);
    expect(r.lines).to.include('Connector third/same conflict');
    expect(r.lines).to.include('Connector third/zz-new created');
    expect(r.err.join('\n')).to.contain(`conflict: Connector third/same: stored with uid ${mine.metadata.uid ?? ''}`);
    const kept = (await must(target, 'GET', `${connectors('third')}/same`, undefined, 200)).body as KubeObject;
    expect(sansRv(kept)).to.deep.equal(sansRv(mine));
    expect(((await must(target, 'GET', `${connectors('third')}/zz-new`, undefined, 200)).body as KubeObject).metadata.uid).to.equal(extra.metadata.uid);
    // Our changes since the first run (harbor, dying) are overwritten from the main API server.
    expect(r.lines).to.include('Connector devops/harbor updated');
    expect(r.lines).to.include('Connector other/dying created');
    await must(source, 'DELETE', `${connectors('third')}/same`, undefined, 200);
  });

  describe('without the CRDs', () => {
    const noCrds = (): MainApiServer => ({ ...api, list: () => Promise.resolve(undefined) });

    it('forward: nothing to copy, exit 0', async () => {
      const r = await run({ api: noCrds() });
      expect(r.code).to.equal(0);
      expect(r.lines).to.deep.equal([]);
      expect(r.err.join('\n')).to.contain('no Connector to copy');
    });

    it('--reverse: exit 1 before writing anything', async () => {
      const r = await run({ api: noCrds(), reverse: true });
      expect(r.code).to.equal(1);
      expect(r.lines).to.deep.equal([]);
      expect(r.err.join('\n')).to.contain('re-create the ConnectorClass CRD first');
    });
  });

  describe('--reverse (rollback)', () => {
    let stored: KubeObject[];

    before(async () => {
      // The rollback starts from re-created, empty CRDs: empty the stand-in main API server.
      for (const c of ((await must(source, 'GET', `${gvPath}/connectors`, undefined, 200)).body.items as KubeObject[])) {
        const path = `${connectors(c.metadata.namespace ?? '')}/${c.metadata.name ?? ''}`;
        await must(source, 'PUT', path, { ...c, metadata: { ...c.metadata, finalizers: [] } }, 200);
        const del = await source.request('DELETE', path);
        expect([200, 404]).to.include(del.status);
      }
      for (const c of ((await must(source, 'GET', classes, undefined, 200)).body.items as KubeObject[])) {
        await must(source, 'DELETE', `${classes}/${c.metadata.name ?? ''}`, undefined, 200);
      }
      stored = [
        ...((await must(target, 'GET', classes, undefined, 200)).body.items as KubeObject[]),
        ...((await must(target, 'GET', `${gvPath}/connectors`, undefined, 200)).body.items as KubeObject[]),
      ];
    });

    it('--dry-run creates nothing', async () => {
      const r = await run({ reverse: true, dryRun: true });
      expect(r.code).to.equal(0);
      expect(r.lines).to.have.length(stored.length);
      expect(r.lines.every((l) => l.endsWith(' created'))).to.equal(true);
      expect((await must(source, 'GET', `${gvPath}/connectors`, undefined, 200)).body.items).to.deep.equal([]);
    });

    it('creates every object through the main API server, status included (new uids), and deletes again what was being deleted', async () => {
      const r = await run({ reverse: true });
      expect(r.code, r.err.join('\n')).to.equal(0);
      expect(r.lines).to.include.members(['ConnectorClass -/harbor created', 'Connector devops/harbor created', 'Connector other/dying created']);
      for (const s of stored) {
        const path = s.kind === 'ConnectorClass' ? `${classes}/${s.metadata.name ?? ''}` : `${connectors(s.metadata.namespace ?? '')}/${s.metadata.name ?? ''}`;
        const back = (await must(source, 'GET', path, undefined, 200)).body as KubeObject;
        expect(back.metadata.uid, path).not.to.equal(s.metadata.uid);
        for (const f of ['labels', 'annotations', 'ownerReferences'] as const) expect(back.metadata[f], `${path} ${f}`).to.deep.equal(s.metadata[f]);
        expect(back['spec'] ?? {}, path).to.deep.equal(s['spec'] ?? {});
        expect(back['status'], path).to.deep.equal(s['status']);
      }
      const dyingBack = (await must(source, 'GET', `${connectors('other')}/dying`, undefined, 200)).body as KubeObject;
      expect(dyingBack.metadata.deletionTimestamp).to.be.a('string');
      expect(dyingBack.metadata.finalizers).to.deep.equal(['example.com/hold']);
    });

    it('is idempotent: a second run finds everything unchanged', async () => {
      const r = await run({ reverse: true });
      expect(r.code, r.err.join('\n')).to.equal(0);
      expect(r.lines.every((l) => l.endsWith(' unchanged')), r.lines.join('\n')).to.equal(true);
    });

    it('resumes: an object created without its status (interrupted run) gets its status and counts as updated', async () => {
      const path = `${connectors('devops')}/harbor`;
      const back = (await must(source, 'GET', path, undefined, 200)).body as KubeObject;
      await must(source, 'PUT', `${path}/status`, { ...back, status: {} }, 200);
      const r = await run({ reverse: true });
      expect(r.code).to.equal(0);
      expect(r.lines.filter((l) => !l.endsWith(' unchanged'))).to.deep.equal(['Connector devops/harbor updated']);
      const fixed = (await must(source, 'GET', path, undefined, 200)).body as KubeObject;
      const ours = stored.find((s) => s.kind === 'Connector' && s.metadata.name === 'harbor');
      expect(fixed['status']).to.deep.equal(ours?.['status']);
    });

    it('reports an existing object with other content as a conflict and exits 1', async () => {
      const path = `${connectors('devops')}/gitlab`;
      await source.request('PATCH', path, { body: { metadata: { labels: { changed: 'yes' } } }, contentType: 'application/merge-patch+json' });
      const r = await run({ reverse: true });
      expect(r.code).to.equal(1);
      expect(r.lines).to.include('Connector devops/gitlab conflict');
      expect(((await must(source, 'GET', path, undefined, 200)).body as KubeObject).metadata.labels).to.deep.equal({ changed: 'yes' });
    });
  });
});
