/**
 * Issue 7's migration path on the shared control plane, as the README's "Install order and
 * migration" tells a new user: the cluster starts with the Connector CRDs serving
 * connectors.alauda.io/v1alpha1 (our APIService removed, the CRDs installed, objects created through
 * them), then `migrate --dry-run`, `migrate` (twice), the APIService registered by replacing the one
 * kube-apiserver made for the CRDs, the CRDs deleted — and every Connector is still there, with its
 * uid, now served by our server. `after` always puts the control plane back as it found it (our
 * APIService registered and Available, no CRD of the group): the other e2e files share it.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi, KubeConfig, makeInformer, type KubernetesObject } from '@kubernetes/client-node';
import { expect } from 'chai';
import type { KubeObject } from '../../apiserver/api/meta.js';
import { createEtcdStorage } from '../../storage/etcd3.js';
import type { Storage } from '../../storage/interface.js';
import { resourceKeys } from '../../storage/keys.js';
import { apiServiceName, repoRoot, runCommand } from '../cluster/control-plane.js';
import { eventually, kubectl, serverSkipped, uniqueName, useControlPlane, type CommandResult } from './setup.js';

const group = 'connectors.alauda.io';
const version = 'v1alpha1';
const gv = `${group}/${version}`;
const crdNames = [`connectors.${group}`, `connectorclasses.${group}`];
const crdFiles = [
  fileURLToPath(new URL('./fixtures/connectors.alauda.io_connectors.yaml', import.meta.url)),
  fileURLToPath(new URL('./fixtures/connectors.alauda.io_connectorclasses.yaml', import.meta.url)),
];
const automanagedLabel = 'kube-aggregator.kubernetes.io/automanaged';

interface ApiService {
  metadata: { name: string; labels?: Record<string, string>; resourceVersion?: string };
  spec: { service?: { namespace?: string; name?: string; port?: number } | null; [k: string]: unknown };
  status?: { conditions?: { type: string; status: string }[] };
}

async function ok(args: readonly string[], opts: Parameters<typeof kubectl>[1] = {}): Promise<string> {
  const r = await kubectl(args, opts);
  expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).to.equal(0);
  return r.stdout;
}

/** kubectl get -o json, managedFields included (kubectl leaves them out by default). */
async function json<T>(args: readonly string[]): Promise<T> {
  return JSON.parse(await ok([...args, '-o', 'json', '--show-managed-fields'])) as T;
}

async function getApiService(): Promise<ApiService | undefined> {
  const r = await kubectl(['get', 'apiservice', apiServiceName, '-o', 'json']);
  if (r.code !== 0) {
    if (r.stderr.includes('NotFound')) return undefined;
    throw new Error(`kubectl get apiservice: ${r.stderr}`);
  }
  return JSON.parse(r.stdout) as ApiService;
}

const isOurs = (a: ApiService | undefined): boolean =>
  a !== undefined && a.spec.service !== undefined && a.spec.service !== null && a.metadata.labels?.[automanagedLabel] === undefined;

const available = (a: ApiService | undefined): boolean =>
  a?.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ?? false;

/** Names of the resources kube-apiserver's discovery lists for our group-version. */
async function discovered(): Promise<string[] | undefined> {
  const r = await kubectl(['get', '--raw', `/apis/${gv}`]);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { resources: { name: string }[] }).resources.map((x) => x.name);
}

const sansRv = (o: KubeObject): KubeObject => {
  const c = structuredClone(o);
  delete c.metadata.resourceVersion;
  return c;
};

const byName = (items: KubeObject[]): Map<string, KubeObject> => new Map(items.map((o) => [o.metadata.name ?? '', o]));

describe('migration from the Connector CRDs to our server (issue 7, README install order)', function () {
  const cp = useControlPlane();
  const ns = uniqueName('migrate');
  const classNames = [uniqueName('mig-gitlab'), uniqueName('mig-harbor')].sort();
  const [gitlabClass, harborClass] = classNames as [string, string];
  const connectorNames = ['github', 'gitlab', 'harbor'];
  let saved: ApiService | undefined;
  let ext: Storage | undefined;
  let kubeEtcd: Storage | undefined;
  let informer: ReturnType<typeof makeInformer<KubernetesObject>> | undefined;
  let informerStopped = false;
  const informerLog: string[] = [];
  let beforeSwitch = { connectors: new Map<string, KubeObject>(), classes: new Map<string, KubeObject>() };
  let broken = false;

  const migrate = (...args: string[]): Promise<CommandResult> =>
    runCommand(
      process.execPath,
      [
        '--import', 'tsx', join(repoRoot, 'apiserver/cli/main.ts'), 'migrate',
        '--kubeconfig', cp().kubeconfig,
        '--etcd-servers', `http://127.0.0.1:${String(cp().ports.etcdExtClient)}`,
        ...args,
      ],
      { timeoutMs: 120_000 },
    );

  const expectedLines = (outcome: string): string[] => [
    ...classNames.map((n) => `ConnectorClass -/${n} ${outcome}`),
    ...connectorNames.map((n) => `Connector ${ns}/${n} ${outcome}`),
  ];

  /** The keys our server stores the test's objects under, in its etcd. */
  const keysOf = (prefix: string): string[] => {
    const classes = resourceKeys(prefix, group, 'connectorclasses', false);
    const connectors = resourceKeys(prefix, group, 'connectors', true);
    return [...classNames.map((n) => classes.objectKey(undefined, n)), ...connectorNames.map((n) => connectors.objectKey(ns, n))];
  };

  before(async function () {
    if (serverSkipped()) this.skip();
    this.timeout(120_000);
    saved = await getApiService();
    expect(isOurs(saved), 'the shared control plane starts with our APIService registered').to.equal(true);
    ext = createEtcdStorage({ endpoints: [`http://127.0.0.1:${String(cp().ports.etcdExtClient)}`] });
    kubeEtcd = createEtcdStorage({ endpoints: [`http://127.0.0.1:${String(cp().ports.etcdKubeClient)}`] });
  });

  beforeEach(function () {
    if (broken) this.skip();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') broken = true;
  });

  after(async function () {
    this.timeout(15 * 60_000);
    informerStopped = true;
    await informer?.stop();
    if (saved === undefined) return;
    const registered = saved;
    // 1. No CRD of the group may stay: kube-apiserver would serve it once the APIService is gone.
    const del = await kubectl(['delete', 'crd', ...crdNames, '--ignore-not-found', '--timeout=600s'], { timeoutMs: 620_000 });
    if (del.code !== 0) process.stderr.write(`      [migration after] kubectl delete crd: ${del.stderr}\n`);
    // 2. Our APIService back (replacing an automanaged one), Available.
    await eventually(
      'our APIService registered again',
      async () => {
        const current = await getApiService();
        if (isOurs(current)) return true;
        const body = JSON.stringify({ apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: apiServiceName }, spec: registered.spec });
        await kubectl([current === undefined ? 'create' : 'replace', '-f', '-'], { input: body });
        return undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    await eventually('our APIService Available', async () => (available(await getApiService()) ? true : undefined), { timeoutMs: 120_000, intervalMs: 1000 });
    await eventually('our group served by our server', async () => ((await discovered())?.includes('accessrequests') === true ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
    // 3. What the test left in our storage; the namespace takes its Connectors along.
    await kubectl(['delete', 'connectorclass', ...classNames, '--ignore-not-found']);
    await kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']);
    // kubectl's discovery cache may still describe the CRD-served group-version.
    rmSync(join(cp().runDir, 'kube-cache'), { recursive: true, force: true });
    await ext?.close();
    await kubeEtcd?.close();
  });

  it('serves the Connector CRDs once our APIService is gone (the cluster before the install)', async function () {
    this.timeout(180_000);
    await ok(['delete', 'apiservice', apiServiceName]);
    await ok(['create', ...crdFiles.flatMap((f) => ['-f', f])]);
    await ok(['wait', '--for=condition=Established', ...crdNames.map((n) => `crd/${n}`), '--timeout=120s'], { timeoutMs: 130_000 });
    // kube-apiserver registers an automanaged, local APIService for the CRDs' group-version.
    await eventually(
      'the automanaged APIService of the CRDs',
      async () => {
        const a = await getApiService();
        return a?.metadata.labels?.[automanagedLabel] === 'true' && (a.spec.service ?? undefined) === undefined && available(a) ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await eventually(
      'the CRDs served by kube-apiserver',
      async () => {
        const names = await discovered();
        return names?.includes('connectors') === true && names.includes('connectorclasses') && !names.includes('accessrequests') ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  });

  it('creates ConnectorClasses, Connectors (labels, annotations, status) and a ConfigMap owned by a Connector through the CRDs', async function () {
    this.timeout(120_000);
    await ok(['create', 'namespace', ns]);
    const classes = classNames.map((name, i) => ({
      apiVersion: gv,
      kind: 'ConnectorClass',
      metadata: { name, labels: { 'e2e.connectors.alauda.io/test': 'migration', tier: i === 0 ? 'git' : 'registry' } },
      spec: { address: { name: 'address', type: 'string' }, auth: { types: [{ name: 'basicAuth', secretType: 'kubernetes.io/basic-auth' }] } },
    }));
    const connectors = connectorNames.map((name) => ({
      apiVersion: gv,
      kind: 'Connector',
      metadata: { name, namespace: ns, labels: { team: name === 'harbor' ? 'registry' : 'git' }, annotations: { 'example.com/owner': `${name}-admins` } },
      spec: {
        connectorClassName: name === 'harbor' ? harborClass : gitlabClass,
        address: `https://${name}.example.com`,
        auth: { name: 'basicAuth', secretRef: { name: `${name}-secret` }, params: { scopes: ['repo'], nested: { any: 1 } } },
      },
    }));
    await ok(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...classes, ...connectors] }) });
    const ready = (reason: string): string =>
      JSON.stringify({ status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True', reason, lastTransitionTime: '2025-01-01T00:00:00Z' }] } });
    await ok(['patch', 'connectorclass', harborClass, '--subresource=status', '--type=merge', '-p', ready('Ready')]);
    for (const name of ['harbor', 'github']) await ok(['patch', 'connector', name, '-n', ns, '--subresource=status', '--type=merge', '-p', ready('Probed')]);
    const harborUid = (await ok(['get', 'connector', 'harbor', '-n', ns, '-o', 'jsonpath={.metadata.uid}'])).trim();
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'owned-by-harbor', namespace: ns, ownerReferences: [{ apiVersion: gv, kind: 'Connector', name: 'harbor', uid: harborUid }] },
      data: { a: 'b' },
    };
    await ok(['create', '-f', '-'], { input: JSON.stringify(cm) });
    beforeSwitch = {
      connectors: byName((await json<{ items: KubeObject[] }>(['get', 'connectors', '-n', ns])).items),
      classes: byName((await json<{ items: KubeObject[] }>(['get', 'connectorclasses', ...classNames])).items),
    };
    expect([...beforeSwitch.connectors.keys()].sort()).to.deep.equal(connectorNames);
    expect(beforeSwitch.connectors.get('harbor')?.['status']).to.have.property('conditions');

    // A client-node informer on the Connectors of the namespace, restarted on error as client-node's
    // README shows; it runs across the whole switch.
    const kc = new KubeConfig();
    kc.loadFromFile(cp().kubeconfig);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const inf = makeInformer<KubernetesObject>(kc, `/apis/${gv}/namespaces/${ns}/connectors`, () =>
      custom.listNamespacedCustomObject({ group, version, namespace: ns, plural: 'connectors' }) as never,
    );
    const note = (what: string) => (o: KubernetesObject) => informerLog.push(`${what} ${o.metadata?.name ?? ''} rv=${o.metadata?.resourceVersion ?? ''}`);
    inf.on('add', note('add'));
    inf.on('update', note('update'));
    inf.on('delete', note('delete'));
    inf.on('error', (e: unknown) => {
      informerLog.push(`error ${String(e)}`);
      if (!informerStopped) setTimeout(() => void inf.start().catch(() => undefined), 1000);
    });
    informer = inf;
    await inf.start();
    await eventually('the informer synced', () => Promise.resolve(inf.list(ns).length === connectorNames.length ? true : undefined), { timeoutMs: 30_000 });
  });

  it('migrate --dry-run prints every object as created and writes nothing', async function () {
    this.timeout(180_000);
    const r = await migrate('--dry-run');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim().split('\n')).to.deep.equal(expectedLines('created'));
    expect(r.stderr).to.contain('dry run: nothing was written');
    expect(r.stderr, 'no other CRD of the group-version').not.to.contain('warning');
    for (const key of keysOf('/registry')) {
      const got = await ext?.get(key);
      expect(got?.ok === false && got.error.kind === 'KeyNotFound', `${key} absent from our etcd`).to.equal(true);
    }
  });

  it('migrate copies every object into our etcd under the server\'s keys, and a second run finds all unchanged', async function () {
    this.timeout(180_000);
    const first = await migrate();
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout.trim().split('\n')).to.deep.equal(expectedLines('created'));
    const all = new Map([...beforeSwitch.classes, ...beforeSwitch.connectors].map(([, o]) => [o.metadata.uid ?? '', o]));
    for (const key of keysOf('/registry')) {
      const got = await ext?.get<KubeObject>(key);
      expect(got?.ok, key).to.equal(true);
      if (got?.ok !== true) continue;
      const original = all.get(got.value.metadata.uid ?? '');
      expect(original, `${key}: uid ${got.value.metadata.uid ?? ''} kept`).not.to.equal(undefined);
      if (original !== undefined) expect(sansRv(got.value)).to.deep.equal(sansRv(original));
    }
    const second = await migrate();
    expect(second.code, second.stderr).to.equal(0);
    expect(second.stdout.trim().split('\n')).to.deep.equal(expectedLines('unchanged'));
  });

  it('registers our APIService by replacing the automanaged one; the new object has no automanaged label', async function () {
    this.timeout(180_000);
    const spec = saved?.spec;
    await ok(['replace', '-f', '-'], { input: JSON.stringify({ apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: apiServiceName }, spec }) });
    await ok(['wait', '--for=condition=Available', `apiservice/${apiServiceName}`, '--timeout=120s'], { timeoutMs: 130_000 });
    const a = await getApiService();
    expect(a?.metadata.labels ?? {}).not.to.have.property(automanagedLabel);
    expect(a?.spec.service).to.deep.equal(saved?.spec.service);
    await eventually('our server serving the group', async () => ((await discovered())?.includes('accessrequests') === true ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    // From now on migrate refuses: this server is registered.
    const refused = await migrate('--dry-run');
    expect(refused.code).to.equal(1);
    expect(refused.stdout).to.equal('');
    expect(refused.stderr).to.contain(`APIService ${apiServiceName} points at service`);
  });

  it('deletes the CRDs: kube-apiserver removes their objects from its own etcd and leaves our APIService alone', async function () {
    this.timeout(15 * 60_000);
    await ok(['delete', 'crd', ...crdNames, '--timeout=600s'], { timeoutMs: 620_000 });
    await eventually(
      'the CRDs gone',
      async () => ((await kubectl(['get', 'crd', ...crdNames])).stderr.match(/NotFound/g)?.length === crdNames.length ? true : undefined),
      { timeoutMs: 600_000, intervalMs: 1000 },
    );
    await eventually(
      'no Connector left in kube-apiserver\'s etcd',
      async () => {
        let n = 0;
        for (const plural of ['connectors', 'connectorclasses']) {
          const page = await kubeEtcd?.list(resourceKeys('/registry', group, plural, plural === 'connectors').resourcePrefix, {});
          if (page?.ok !== true) return undefined;
          n += page.value.items.length;
        }
        return n === 0 ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    // The APIService stays ours (kube-apiserver only manages labelled ones) for a while after.
    for (let i = 0; i < 5; i++) {
      const a = await getApiService();
      expect(isOurs(a), JSON.stringify(a?.metadata)).to.equal(true);
      expect(available(a)).to.equal(true);
      await new Promise((r) => setTimeout(r, 1000));
    }
  });

  it('serves every Connector and ConnectorClass from our server, with uid, labels, annotations, spec and status as they were', async function () {
    this.timeout(120_000);
    expect(await discovered()).to.include.members(['accessrequests', 'accesspolicies', 'connectors', 'connectorclasses']);
    const connectors = byName((await json<{ items: KubeObject[] }>(['get', 'connectors', '-n', ns])).items);
    expect([...connectors.keys()].sort()).to.deep.equal(connectorNames);
    for (const [name, original] of beforeSwitch.connectors) expect(sansRv(connectors.get(name) ?? { metadata: {} }), name).to.deep.equal(sansRv(original));
    const classes = byName((await json<{ items: KubeObject[] }>(['get', 'connectorclasses', ...classNames])).items);
    for (const [name, original] of beforeSwitch.classes) expect(sansRv(classes.get(name) ?? { metadata: {} }), name).to.deep.equal(sansRv(original));
    // kubectl's table comes from our server's printer columns.
    const table = await ok(['get', 'connectors', '-n', ns]);
    expect(table.split('\n')[0]).to.match(/^NAME\s+CLASS\s+ADDRESS\s+READY\s+REASON\s+AGE/);
    expect(table).to.match(new RegExp(`harbor\\s+${harborClass}\\s+https://harbor.example.com\\s+True\\s+Probed`));
  });

  it('keeps them writable through kubectl: labels, spec (generation + 1), the status subresource, new objects', async function () {
    this.timeout(120_000);
    const original = beforeSwitch.connectors.get('gitlab');
    await ok(['label', 'connector', 'gitlab', '-n', ns, 'migrated=yes']);
    await ok(['patch', 'connector', 'gitlab', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { address: 'https://gitlab.internal.example.com' } })]);
    await ok(['patch', 'connector', 'gitlab', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { observedGeneration: 2 } })]);
    const after = await json<KubeObject>(['get', 'connector', 'gitlab', '-n', ns]);
    expect(after.metadata.uid).to.equal(original?.metadata.uid);
    expect(after.metadata.labels).to.include({ migrated: 'yes', team: 'git' });
    expect(after.metadata.generation).to.equal((original?.metadata.generation ?? 0) + 1);
    expect(after['spec']).to.have.property('address', 'https://gitlab.internal.example.com');
    expect(after['status']).to.deep.equal({ observedGeneration: 2 });
    await ok(['label', 'connectorclass', gitlabClass, 'migrated=yes']);
    await ok(['create', '-f', '-'], {
      input: JSON.stringify({ apiVersion: gv, kind: 'Connector', metadata: { name: 'after-switch', namespace: ns }, spec: { connectorClassName: harborClass, address: 'https://new.example.com' } }),
    });
  });

  it('relists a client-node informer started before the switch, which then sees every Connector and new ones', async function () {
    this.timeout(120_000);
    // The informer's watch was on the CRD: it saw the CRD's objects deleted, then watches our server
    // with a resourceVersion of kube-apiserver's etcd, which our etcd never issued. Only a 410 makes
    // a client-node informer relist; a server that waits for that revision instead leaves it stale.
    const rev = await ext?.currentRevision();
    const future = (BigInt(rev?.ok === true ? rev.value : '0') + 1_000_000n).toString();
    const probe = await kubectl(['get', '--raw', `/apis/${gv}/namespaces/${ns}/connectors?watch=true&timeoutSeconds=3&resourceVersion=${future}`], { timeoutMs: 30_000 });
    expect(probe.stdout, 'a watch from a revision our etcd never issued').to.include('"code":410');
    const inf = informer;
    if (inf === undefined) throw new Error('no informer');
    const want = [...connectorNames, 'after-switch'].sort();
    await eventually(
      'the informer to hold every Connector again, with the migrated uids',
      () => {
        const held = byName(inf.list(ns) as unknown as KubeObject[]);
        const same = [...held.keys()].sort().join() === want.join() && [...beforeSwitch.connectors].every(([n, o]) => held.get(n)?.metadata.uid === o.metadata.uid);
        return Promise.resolve(same ? true : undefined);
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}\ninformer log:\n${informerLog.join('\n')}`);
    });
    expect(informerLog.some((l) => l.startsWith('add after-switch'))).to.equal(true);
  });

  it('keeps the ConfigMap owned by a migrated Connector (same uid), and still collects it once the owner goes', async function () {
    this.timeout(180_000);
    // The garbage collector saw the CRD's objects deleted; it checks the owner before deleting a
    // dependent, and finds it (same uid) at our server.
    await new Promise((r) => setTimeout(r, 10_000));
    const cm = await json<KubeObject>(['get', 'configmap', 'owned-by-harbor', '-n', ns]);
    expect(cm.metadata.ownerReferences?.[0]?.uid).to.equal(beforeSwitch.connectors.get('harbor')?.metadata.uid);
    // The collector follows our server: deleting the owner there removes the dependent.
    await ok(['delete', 'connector', 'harbor', '-n', ns]);
    await eventually(
      'the ConfigMap to be collected',
      async () => ((await kubectl(['get', 'configmap', 'owned-by-harbor', '-n', ns])).stderr.includes('NotFound') ? true : undefined),
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
  });
});
