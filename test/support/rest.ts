/**
 * An in-process API server over plain HTTP on 127.0.0.1:0, backed by a real etcd (one per describe
 * block) under a key prefix of its own, and a small fetch wrapper that returns parsed bodies.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { isCachedStorage } from '../../storage/cacher.js';
import { createEtcdStorage } from '../../storage/etcd3.js';
import type { Storage } from '../../storage/interface.js';
import { allowAll, standaloneAuthenticator } from '../../apiserver/auth/types.js';
import { group, version } from '../../apiserver/apis/connectors/v1alpha1/types.js';
import { createStores, withWatchCache } from '../../apiserver/registry/resources.js';
import { createApp } from '../../apiserver/server.js';
import type { KubeObject } from '../../apiserver/api/meta.js';
import type { VirtualResource } from '../../apiserver/endpoints/virtual.js';
import type { Store } from '../../apiserver/registry/store/index.js';
import { useEtcd } from './etcd.js';

export const gvPath = `/apis/${group}/${version}`;

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  // Test code reads arbitrary JSON paths; chai's deep assertions check them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
  readonly text: string;
}

export interface RequestOptions {
  readonly body?: unknown;
  readonly rawBody?: string | Buffer;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
}

export interface RestServer {
  url(): string;
  storage(): Storage;
  etcdPrefix(): string;
  etcdEndpoint(): string;
  request(method: string, path: string, opts?: RequestOptions): Promise<Reply>;
}

export interface RestServerOptions {
  readonly bookmarkIntervalMs?: number;
  /** Store-less resources (AccessReview), built over the stores; none by default. */
  readonly virtualResources?: (stores: readonly Store<KubeObject>[]) => readonly VirtualResource[];
}

export function useRestServer(opts: RestServerOptions = {}): RestServer {
  const etcd = useEtcd();
  let server: Server | undefined;
  let storage: Storage | undefined;
  let base = '';
  const prefix = `/test-${randomUUID()}`;
  before(async () => {
    // Through the watch cache, as the server runs by default; WATCH_CACHE=false tests etcd alone.
    storage = withWatchCache(createEtcdStorage({ endpoints: [etcd.endpoint()] }), prefix, { watchCache: process.env['WATCH_CACHE'] !== 'false' });
    const s = storage;
    if (isCachedStorage(s)) await s.ready();
    const stores = createStores(s, prefix);
    const app = createApp({
      group,
      version,
      stores,
      authenticator: standaloneAuthenticator,
      authorizer: allowAll,
      storageReady: async () => (await s.currentRevision()).ok,
      ...(opts.bookmarkIntervalMs === undefined ? {} : { bookmarkIntervalMs: opts.bookmarkIntervalMs }),
      ...(opts.virtualResources === undefined ? {} : { virtualResources: opts.virtualResources(stores) }),
      log: () => undefined,
    });
    server = createServer(app);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    await storage?.close();
  });
  const request = async (method: string, path: string, o: RequestOptions = {}): Promise<Reply> => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    let body: string | Buffer | undefined = o.rawBody;
    if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
    const res = await fetch(base + path, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };
  return {
    url: () => base,
    storage: () => {
      if (storage === undefined) throw new Error('server not started');
      return storage;
    },
    etcdPrefix: () => prefix,
    etcdEndpoint: () => etcd.endpoint(),
    request,
  };
}

/** A valid AccessRequest body, with overrides merged into spec. */
export function accessRequest(name: string, namespace?: string, labels?: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: `${group}/${version}`,
    kind: 'AccessRequest',
    metadata: { name, ...(namespace === undefined ? {} : { namespace }), ...(labels === undefined ? {} : { labels }) },
    spec: {
      connectorRef: { name: 'prod-harbor' },
      context: { objectRef: { kind: 'Pod', namespace: 'cicd', name: 'promote-run-abc12-push-image-pod' } },
      subject: { kind: 'ServiceAccount', name: 'builder', namespace: 'cicd' },
    },
  };
}

export function accessPolicy(name: string, spec: Record<string, unknown> = {}, labels?: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: `${group}/${version}`,
    kind: 'AccessPolicy',
    metadata: { name, ...(labels === undefined ? {} : { labels }) },
    spec,
  };
}
