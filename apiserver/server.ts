/**
 * The HTTP application: the operations filters (Audit-ID, metrics, logs, limits, deadline), health,
 * discovery, then resource requests (authentication → authorization → the resource handler). Built
 * from a table of stores so that every layer sees the same resources.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { KubeObject } from './api/meta.js';
import * as status from './api/status.js';
import type { Store } from './registry/store/index.js';
import type { RequestContext } from './registry/rest.js';
import type { Authenticator, Authorizer } from './auth/types.js';
import { authorizationInfo, forbiddenStatus } from './auth/delegating.js';
import { admitCreate, type NamespaceLookup } from './admission/namespace-lifecycle.js';
import { createHash } from 'node:crypto';
import { apiGroup, apiGroupDiscoveryList, apiGroupList, apiResourceList } from './endpoints/discovery.js';
import { aggregatedContentType, discoveryForm } from './endpoints/discovery-negotiate.js';
import { openAPIHandler } from './endpoints/openapi.js';
import { requestInfo } from './endpoints/request-info.js';
import { serveResource } from './endpoints/resource.js';
import { writeJSON, writeStatus } from './endpoints/responses.js';
import { operationsEndpoints } from './endpoints/operations.js';
import { setRequestUser } from './filters/observe.js';
import type { VirtualResource } from './endpoints/virtual.js';
import { createOperations, type Operations } from './operations.js';

export interface AppOptions {
  readonly group: string;
  readonly version: string;
  readonly stores: readonly Store<KubeObject>[];
  /** Resources without a store (AccessReview): in discovery and OpenAPI, served by their own handler. */
  readonly virtualResources?: readonly VirtualResource[];
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
  /** Delegated mode: a request nobody vouches for gets 401 (health paths are served before this). */
  readonly rejectAnonymous?: boolean;
  /** NamespaceLifecycle admission for creates; omitted in standalone mode (no main API server). */
  readonly namespaceLookup?: NamespaceLookup;
  /** Readiness probe of the storage; a failure makes /readyz answer 500. */
  readonly storageReady: () => Promise<boolean>;
  readonly bookmarkIntervalMs?: number;
  readonly now?: () => Date;
  readonly log?: (entry: Record<string, unknown>) => void;
  /** Metrics, request logs, limits and shutdown state; defaults to createOperations() (v0, stderr). */
  readonly operations?: Operations;
}

export function createApp(opts: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const gv = `${opts.group}/${opts.version}`;
  const stores = new Map(opts.stores.map((s) => [s.context.resource.plural, s]));
  const virtual = new Map((opts.virtualResources ?? []).map((v) => [v.resource.plural, v]));
  // Discovery order is alphabetical by plural, stored and virtual alike.
  const resources = [...opts.stores.map((s) => s.context.resource), ...[...virtual.values()].map((v) => v.resource)].sort((a, b) =>
    a.plural < b.plural ? -1 : a.plural > b.plural ? 1 : 0,
  );
  const now = opts.now ?? (() => new Date());
  // Discovery never changes while the process runs: serialise and hash it once.
  const discoveryDoc = (v: 'v2' | 'v2beta1'): { body: string; etag: string } => {
    const body = JSON.stringify(apiGroupDiscoveryList(opts.group, opts.version, resources, v));
    return { body, etag: `"${createHash('sha512').update(body).digest('hex').toUpperCase()}"` };
  };
  const discovery = { v2: discoveryDoc('v2'), v2beta1: discoveryDoc('v2beta1') };
  const openAPI = openAPIHandler(opts.group, opts.version, resources);
  const ops = opts.operations ?? createOperations();
  const log = opts.log ?? ((e) => ops.logger.log(e));
  const operations = operationsEndpoints({ group: opts.group, version: opts.version, stores: opts.stores, storageReady: opts.storageReady, operations: ops });

  app.use(operations.filters);
  app.get(['/healthz', '/livez', '/readyz'], operations.probe);

  app.use(async (req: Request, res: Response) => {
    const url = new URL(req.originalUrl, 'https://localhost');
    const info = requestInfo(req.method, url.pathname, url.searchParams);
    const authn = await opts.authenticator.authenticate(req);
    if (authn.kind === 'error' || (authn.kind === 'anonymous' && opts.rejectAnonymous === true)) {
      return writeStatus(res, status.failure(401, 'Unauthorized', 'Unauthorized'));
    }
    const user = authn.kind === 'authenticated' ? authn.user : { name: 'system:anonymous', groups: ['system:unauthenticated'] };
    setRequestUser(res, user.name);
    const authzInfo = authorizationInfo(info, url.searchParams);
    const decision = await opts.authorizer.authorize(user, authzInfo);
    if (!decision.allowed) return writeStatus(res, forbiddenStatus(user, authzInfo, decision.reason));

    if (info.kind === 'nonResource') {
      const path = url.pathname.replace(/\/+$/, '');
      if (req.method !== 'GET') return writeStatus(res, status.methodNotAllowed('the server does not allow this method on the requested resource'));
      if (await operations.serveAuthorized(req, res, path)) return;
      if (openAPI(req, res, path)) return;
      if (path === '/apis') {
        const form = discoveryForm(req.headers.accept);
        if (form.kind === 'legacy') return writeJSON(res, 200, apiGroupList(opts.group, [opts.version]));
        if (form.kind === 'none') return writeStatus(res, status.notAcceptable('only application/json and aggregated discovery (apidiscovery.k8s.io v2) are served at /apis'));
        const doc = discovery[form.version];
        res.setHeader('Vary', 'Accept');
        res.setHeader('ETag', doc.etag);
        if (req.headers['if-none-match'] === doc.etag) {
          res.status(304).end();
          return;
        }
        res.status(200).setHeader('Content-Type', aggregatedContentType(form.version));
        res.end(doc.body);
        return;
      }
      if (path === `/apis/${opts.group}`) return writeJSON(res, 200, apiGroup(opts.group, [opts.version]));
      if (path === `/apis/${gv}`) return writeJSON(res, 200, apiResourceList(gv, resources));
      return writeStatus(res, status.failure(404, 'NotFound', 'the server could not find the requested resource'));
    }
    const ours = info.group === opts.group && info.version === opts.version;
    const handler = ours ? virtual.get(info.resource) : undefined;
    if (handler !== undefined) return handler.serve(req, res, info, { namespace: info.namespace, user, now }, url.searchParams);
    const store = ours ? stores.get(info.resource) : undefined;
    if (store === undefined) return writeStatus(res, status.failure(404, 'NotFound', 'the server could not find the requested resource'));
    if (opts.namespaceLookup !== undefined && info.verb === 'create' && info.namespace !== undefined && store.context.resource.namespaced) {
      const refused = await admitCreate(opts.namespaceLookup, { group: info.group, resource: info.resource }, '', info.namespace);
      if (refused !== undefined) return writeStatus(res, refused);
    }
    const ctx: RequestContext = { namespace: info.namespace, user, now };
    return serveResource(req, res, info, store, ctx, url.searchParams, { bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000, now });
  });

  // Last resort: a bug, never a client mistake. Logged with its stack; the client sees a Status only.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    log({ msg: 'unhandled error', err: err instanceof Error ? (err.stack ?? err.message) : String(err), path: req.path, method: req.method });
    if (res.headersSent) {
      res.end();
      return;
    }
    writeStatus(res, status.internalError('an unexpected error occurred'));
  });
  return app;
}
