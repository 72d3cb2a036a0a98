/**
 * Serves one resource request after authentication and authorization: checks the path against the
 * resource's scope, reads and decodes the body, calls the generic store and writes the answer.
 */
import type { Request, Response } from 'express';
import type { KubeObject } from '../api/meta.js';
import * as status from '../api/status.js';
import type { Status } from '../api/status.js';
import type { Store } from '../registry/store/index.js';
import type { RequestContext } from '../registry/rest.js';
import { decodePatchBody, mediaType, parseJSON, patchTypeOf, readBody, readObjectWrite } from './body.js';
import { negotiate, parseIncludeObject, type Target } from './negotiate.js';
import { watchEventRenderer, writeList, writeObject, type RenderContext } from './represent.js';
import { parseDeleteOptions, parseGetResourceVersion, parseListOptions, parseWriteOptions } from './options.js';
import type { RequestInfo } from './request-info.js';
import { writeJSON, writeStatus } from './responses.js';
import { streamWatch } from './watch.js';

type ResourceInfo = Extract<RequestInfo, { kind: 'resource' }>;

export interface ResourceHandlerOptions {
  readonly bookmarkIntervalMs: number;
  readonly now: () => Date;
}

/** Names that cannot be a path segment of their own (WIRE-1). */
export const badName = (name: string): boolean => name === '.' || name === '..' || name.includes('/') || name.includes('%');

const pageNotFound = (): Status => status.failure(404, 'NotFound', 'the server could not find the requested resource');

export async function serveResource<T extends KubeObject>(
  req: Request,
  res: Response,
  info: ResourceInfo,
  store: Store<T>,
  ctx: RequestContext,
  query: URLSearchParams,
  opts: ResourceHandlerOptions,
): Promise<void> {
  const r = store.context.resource;
  const fail = (s: Status): void => writeStatus(res, s);

  if (info.extraParts.length > 0 || (info.subresource !== undefined && info.subresource !== 'status')) return fail(pageNotFound());
  if (!r.namespaced && info.namespace !== undefined) return fail(pageNotFound());
  if (info.name !== undefined && badName(info.name)) return fail(status.badRequest(`invalid resource name "${info.name}": may not be '.', '..' or contain '/' or '%'`));
  if (info.namespace !== undefined && badName(info.namespace)) return fail(status.badRequest(`invalid namespace "${info.namespace}"`));
  if (r.namespaced && info.namespace === undefined && !(info.verb === 'list' || info.verb === 'watch')) {
    // Only list and watch exist across all namespaces.
    return fail(info.name === undefined ? status.methodNotAllowed(`the server does not allow this method on the requested resource`) : pageNotFound());
  }
  const target: Target = info.verb === 'list' || info.verb === 'deletecollection' ? 'list' : info.verb === 'watch' ? 'watch' : 'object';
  const accept = negotiate(req.headers.accept, target);
  if (!accept.ok) return fail(accept.error);
  const include = parseIncludeObject(query);
  if (!include.ok) return fail(include.error);
  const rc: RenderContext = { resource: r, representation: accept.value, include: include.value, now: opts.now() };

  const name = info.name ?? '';
  const sub = info.subresource === 'status' ? 'status' : 'main';
  if (sub === 'status' && r.status.mode === 'computed' && info.verb !== 'get') {
    // Whatever the patch type or body: status is the server's (AR-S8), decided before reading the body.
    return fail(status.methodNotAllowed(`status of ${r.plural}.${r.group} is computed by the server and cannot be written by clients`));
  }
  switch (info.verb) {
    case 'get': {
      const rv = parseGetResourceVersion(query);
      if (!rv.ok) return fail(rv.error);
      const got = await store.get(ctx, name, { resourceVersion: rv.value });
      return got.ok ? writeObject(res, 200, rc, got.value) : fail(got.error);
    }
    case 'list':
    case 'watch': {
      if (info.name !== undefined) {
        // GET …/<name>?watch=true is a watch of that one object.
        query.set('fieldSelector', [query.get('fieldSelector') ?? '', `metadata.name=${info.name}`].filter((s) => s !== '').join(','));
      }
      const parsed = parseListOptions(query, info.verb === 'watch');
      if (!parsed.ok) return fail(parsed.error);
      if (info.verb === 'list') {
        const listed = await store.list(ctx, parsed.value.list);
        return listed.ok ? writeList(res, rc, listed.value) : fail(listed.error);
      }
      const controller = new AbortController();
      const events = await store.watch(ctx, parsed.value.watch, controller.signal);
      if (!events.ok) return fail(events.error);
      return streamWatch(res, events.value, controller, {
        allowWatchBookmarks: parsed.value.watch.allowWatchBookmarks,
        timeoutSeconds: parsed.value.timeoutSeconds,
        bookmarkIntervalMs: opts.bookmarkIntervalMs,
        kind: r.kind,
        apiVersion: store.context.apiVersion,
        render: watchEventRenderer(rc, opts.now),
      });
    }
    case 'create': {
      if (info.name !== undefined) return fail(status.methodNotAllowed('the server does not allow this method on the requested resource'));
      const write = await readObjectWrite(req, query, 'CreateOptions');
      if (!write.ok) return fail(write.error);
      const created = await store.create(ctx, write.value.body, write.value.options);
      return created.ok ? writeObject(res, 201, rc, created.value.object, [...write.value.warnings, ...created.value.warnings]) : fail(created.error);
    }
    case 'update': {
      const write = await readObjectWrite(req, query, 'UpdateOptions');
      if (!write.ok) return fail(write.error);
      const updated = await store.update(ctx, name, write.value.body, write.value.options, sub);
      return updated.ok ? writeObject(res, 200, rc, updated.value.object, [...write.value.warnings, ...updated.value.warnings]) : fail(updated.error);
    }
    case 'patch': {
      // The patch type comes first (415 whatever else is wrong); the options' rules depend on it.
      const type = patchTypeOf(req.headers['content-type']);
      if (!type.ok) return fail(type.error);
      const buf = await readBody(req);
      if (!buf.ok) return fail(buf.error);
      const wo = parseWriteOptions('PatchOptions', query, req.headers['user-agent'], type.value);
      if (!wo.ok) return fail(wo.error);
      const p = decodePatchBody(type.value, buf.value);
      if (!p.ok) return fail(p.error);
      const patched = await store.patch(ctx, name, p.value, wo.value, sub);
      // A server-side apply that created the object answers 201, as a create does.
      return patched.ok ? writeObject(res, patched.value.created === true ? 201 : 200, rc, patched.value.object, patched.value.warnings) : fail(patched.error);
    }
    case 'delete':
    case 'deletecollection': {
      if (sub === 'status') return fail(status.methodNotAllowed('the server does not allow this method on the requested resource'));
      const buf = await readBody(req);
      if (!buf.ok) return fail(buf.error);
      let body: unknown;
      if (buf.value.length > 0) {
        const mt = mediaType(req.headers['content-type']);
        if (mt !== '' && mt !== 'application/json') {
          return fail(status.unsupportedMediaType('the body of the request was in an unknown format - accepted media types include: application/json'));
        }
        const parsed = parseJSON(buf.value);
        if (!parsed.ok) return fail(parsed.error);
        body = parsed.value;
      }
      const dopts = parseDeleteOptions(query, body);
      if (!dopts.ok) return fail(dopts.error);
      if (info.verb === 'deletecollection') {
        const parsed = parseListOptions(query, false);
        if (!parsed.ok) return fail(parsed.error);
        const deleted = await store.deleteCollection(ctx, parsed.value.list, dopts.value);
        return deleted.ok ? writeList(res, rc, deleted.value) : fail(deleted.error);
      }
      const deleted = await store.delete(ctx, name, dopts.value);
      if (!deleted.ok) return fail(deleted.error);
      const outcome = deleted.value;
      if (outcome.kind === 'pending') return writeObject(res, outcome.accepted ? 202 : 200, rc, outcome.object);
      const meta = outcome.object.metadata;
      return writeJSON(res, 200, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name: meta.name ?? name, group: r.group, kind: r.plural, ...(meta.uid === undefined ? {} : { uid: meta.uid }) },
      });
    }
  }
}
