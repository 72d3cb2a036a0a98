import { expect } from 'chai';
import { CustomObjectsApi, KubeConfig, Watch, makeInformer, type KubernetesObject } from '@kubernetes/client-node';
import { accessPolicy, useRestServer } from '../../support/rest.js';

const group = 'connectors.alauda.io';
const version = 'v1alpha1';
const plural = 'accesspolicies';

/** Waits until check() holds, polling every 20 ms, or fails after ms. */
async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('@kubernetes/client-node against the server', () => {
  const api = useRestServer();
  let kc: KubeConfig;
  let custom: CustomObjectsApi;
  before(() => {
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'local', server: api.url(), skipTLSVerify: true }],
      users: [{ name: 'admin' }],
      contexts: [{ name: 'local', cluster: 'local', user: 'admin' }],
      currentContext: 'local',
    });
    custom = kc.makeApiClient(CustomObjectsApi);
  });

  it('creates, lists and reads objects through CustomObjectsApi', async () => {
    await custom.createNamespacedCustomObject({ group, version, namespace: 'cn', plural, body: accessPolicy('p1') });
    const list = (await custom.listNamespacedCustomObject({ group, version, namespace: 'cn', plural })) as { items: KubernetesObject[] };
    expect(list.items.map((i) => i.metadata?.name)).to.deep.equal(['p1']);
    const got = (await custom.getNamespacedCustomObject({ group, version, namespace: 'cn', plural, name: 'p1' })) as KubernetesObject;
    expect(got.metadata?.uid).to.be.a('string');
  });

  it('reports a missing object as an ApiException with code 404', async () => {
    try {
      await custom.getNamespacedCustomObject({ group, version, namespace: 'cn', plural, name: 'missing' });
      expect.fail('expected a 404');
    } catch (e) {
      expect((e as { code?: number }).code).to.equal(404);
    }
  });

  it('streams events to client-node Watch', async () => {
    const seen: string[] = [];
    const ctl = await new Watch(kc).watch(`/apis/${group}/${version}/namespaces/cw/${plural}`, { allowWatchBookmarks: true }, (phase, obj: KubernetesObject) => seen.push(`${phase} ${obj.metadata?.name ?? ''}`), () => undefined);
    try {
      await custom.createNamespacedCustomObject({ group, version, namespace: 'cw', plural, body: accessPolicy('w1') });
      await custom.deleteNamespacedCustomObject({ group, version, namespace: 'cw', plural, name: 'w1' });
      await until(() => seen.length >= 2, 'two watch events');
      expect(seen).to.deep.equal(['ADDED w1', 'DELETED w1']);
    } finally {
      ctl.abort();
    }
  });

  it('keeps an informer cache in sync through add, update and delete', async () => {
    const ns = 'ci';
    await custom.createNamespacedCustomObject({ group, version, namespace: ns, plural, body: accessPolicy('before') });
    const informer = makeInformer<KubernetesObject>(kc, `/apis/${group}/${version}/namespaces/${ns}/${plural}`, () =>
      custom.listNamespacedCustomObject({ group, version, namespace: ns, plural }) as never,
    );
    const events: string[] = [];
    informer.on('add', (o) => events.push(`add ${o.metadata?.name ?? ''}`));
    informer.on('update', (o) => events.push(`update ${o.metadata?.name ?? ''}`));
    informer.on('delete', (o) => events.push(`delete ${o.metadata?.name ?? ''}`));
    await informer.start();
    try {
      await until(() => informer.list(ns).length === 1, 'the initial list');
      await custom.createNamespacedCustomObject({ group, version, namespace: ns, plural, body: accessPolicy('after') });
      // client-node sends JSON patches by default.
      await custom.patchNamespacedCustomObject({ group, version, namespace: ns, plural, name: 'after', body: [{ op: 'add', path: '/metadata/labels', value: { x: 'y' } }] });
      await custom.deleteNamespacedCustomObject({ group, version, namespace: ns, plural, name: 'before' });
      await until(() => events.includes('delete before') && events.includes('update after'), 'informer events');
      expect(informer.list(ns).map((o) => o.metadata?.name)).to.deep.equal(['after']);
      expect(informer.get('after', ns)?.metadata?.labels).to.deep.equal({ x: 'y' });
    } finally {
      await informer.stop();
    }
  });
});
