/**
 * The generic store and the list renderer over the watch cache: a list from the cache carries its
 * items as JSON, and the JSON body written by concatenation is byte for byte the one written from
 * the decoded items; YAML, Table and PartialObjectMetadataList are unchanged.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Response } from 'express';
import { parse } from 'yaml';
import type { KubeObject } from '../../../apiserver/api/meta.js';
import { parseLabelSelector } from '../../../apiserver/api/selector/labels.js';
import { writeList, type RenderContext } from '../../../apiserver/endpoints/represent.js';
import type { Representation } from '../../../apiserver/endpoints/negotiate.js';
import { createStores, withWatchCache } from '../../../apiserver/registry/resources.js';
import type { RequestContext } from '../../../apiserver/registry/rest.js';
import type { ListOptions, Store } from '../../../apiserver/registry/store/index.js';
import { serializedItems } from '../../../apiserver/registry/store/read.js';
import { isCachedStorage } from '../../../storage/cacher.js';
import { createEtcdStorage } from '../../../storage/etcd3.js';
import type { Storage } from '../../../storage/interface.js';
import { useEtcd } from '../../support/etcd.js';

interface Captured {
  code: number;
  headers: Map<string, string>;
  body: string;
}

function capture(write: (res: Response) => void): Captured {
  const out: Captured = { code: 0, headers: new Map(), body: '' };
  const res = {
    status(code: number) {
      out.code = code;
      return res;
    },
    setHeader(name: string, value: string) {
      out.headers.set(name.toLowerCase(), value);
      return res;
    },
    append(name: string, value: string) {
      out.headers.set(name.toLowerCase(), value);
      return res;
    },
    end(body: unknown) {
      out.body = String(body);
      return res;
    },
  };
  write(res as unknown as Response);
  return out;
}

describe('store lists over the watch cache', () => {
  const etcd = useEtcd();
  const etcdPrefix = `/wc-${randomUUID()}`;
  let storage: Storage;
  let store: Store<KubeObject>;
  const ctx: RequestContext = { namespace: 'ns1', user: { name: 'admin', groups: ['system:masters'] }, now: () => new Date() };
  const listOpts: ListOptions = { labelSelector: [], fieldSelector: [], limit: 0, continue: '', resourceVersion: '', resourceVersionMatch: undefined };
  const rc = (representation: Representation): RenderContext => ({ resource: store.context.resource, representation, include: 'Metadata', now: new Date() });

  before(async () => {
    storage = withWatchCache(createEtcdStorage({ endpoints: [etcd.endpoint()] }), etcdPrefix, { watchCache: true });
    if (!isCachedStorage(storage)) throw new Error('expected the watch cache');
    await storage.ready();
    const found = createStores(storage, etcdPrefix).find((s) => s.context.resource.plural === 'accesspolicies');
    if (found === undefined) throw new Error('no accesspolicies store');
    store = found;
    for (const name of ['p1', 'p2', 'p3']) {
      const res = await storage.create(store.context.key('ns1', name), {
        apiVersion: store.context.apiVersion,
        kind: 'AccessPolicy',
        metadata: { name, namespace: 'ns1', uid: `uid-${name}`, creationTimestamp: '2024-01-01T00:00:00Z', labels: { n: name } },
        spec: {},
      });
      if (!res.ok) throw new Error(JSON.stringify(res.error));
    }
  });

  after(async () => {
    await storage.close();
  });

  it('writes the JSON list by concatenation, identical to serializing the items', async () => {
    const listed = await store.list(ctx, listOpts);
    if (!listed.ok) throw new Error(JSON.stringify(listed.error));
    const list = listed.value;
    const raw = serializedItems(list);
    expect(raw, 'items as JSON from the cache').to.not.equal(undefined);
    expect(raw?.map((s) => s.json)).to.deep.equal(list.items.map((i) => JSON.stringify(i)));
    const fast = capture((res) => writeList(res, rc({ kind: 'json' }), list));
    expect(fast.code).to.equal(200);
    expect(fast.headers.get('content-type')).to.equal('application/json');
    expect(fast.body).to.equal(JSON.stringify(list));
    expect(JSON.parse(fast.body).items.map((i: KubeObject) => i.metadata.name)).to.deep.equal(['p1', 'p2', 'p3']);
  });

  it('renders YAML, Table and PartialObjectMetadataList from the decoded items, without the JSON', async () => {
    const listed = await store.list(ctx, { ...listOpts, limit: 2 });
    if (!listed.ok) throw new Error(JSON.stringify(listed.error));
    const list = listed.value;
    const yaml = capture((res) => writeList(res, rc({ kind: 'yaml' }), list));
    expect(parse(yaml.body)).to.deep.equal(JSON.parse(JSON.stringify(list)));
    expect(yaml.body).to.not.include('serialized');
    const table = JSON.parse(capture((res) => writeList(res, rc({ kind: 'table', version: 'v1' }), list)).body);
    expect(table.kind).to.equal('Table');
    expect(table.rows.map((r: { cells: unknown[] }) => r.cells[0])).to.deep.equal(['p1', 'p2']);
    expect(table.metadata.continue).to.equal(list.metadata.continue);
    const pom = JSON.parse(capture((res) => writeList(res, rc({ kind: 'partialObjectMetadata', version: 'v1' }), list)).body);
    expect(pom.kind).to.equal('PartialObjectMetadataList');
    expect(pom.items.map((i: KubeObject) => i.metadata.name)).to.deep.equal(['p1', 'p2']);
  });

  it('keeps label selection and the typed apiVersion/kind when a stored object lacks them', async () => {
    const res = await storage.create(store.context.key('ns1', 'untyped'), { metadata: { name: 'untyped', namespace: 'ns1', uid: 'uid-u', labels: { n: 'untyped' } }, spec: {} });
    if (!res.ok) throw new Error(JSON.stringify(res.error));
    const selector = parseLabelSelector('n in (untyped,p2)');
    if (!selector.ok) throw new Error(selector.error);
    const listed = await store.list(ctx, { ...listOpts, labelSelector: selector.value });
    if (!listed.ok) throw new Error(JSON.stringify(listed.error));
    const list = listed.value;
    expect(list.items.map((i) => i.metadata.name)).to.deep.equal(['p2', 'untyped']);
    // typed() adds what the stored JSON lacks: the renderer must not use that JSON.
    expect(serializedItems(list)).to.equal(undefined);
    const body = JSON.parse(capture((r) => writeList(r, rc({ kind: 'json' }), list)).body);
    expect(body.items[1]).to.include({ apiVersion: store.context.apiVersion, kind: 'AccessPolicy' });
  });
});
