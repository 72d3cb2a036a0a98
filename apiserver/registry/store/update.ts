/**
 * PUT and PATCH (and writable /status): rest.BeforeUpdate inside a compare-and-swap loop. A PATCH is
 * re-applied to the newest object when the CAS loses a race (no 409), a PUT with a stale
 * resourceVersion is a 409. A write that changes nothing stores nothing (same resourceVersion, no event).
 */
import { isDeepStrictEqual } from 'node:util';
import { invalid as invalidField } from '../../api/field.js';
import type { KubeObject } from '../../api/meta.js';
import * as status from '../../api/status.js';
import { isStatus, type Status } from '../../api/status.js';
import { validateObjectMetaUpdate } from '../../api/validation/objectmeta.js';
import type { Result, UpdateDecision } from '../../../storage/interface.js';
import type { RequestContext, UpdateStrategy } from '../rest.js';
import { clone, type StoreContext } from './context.js';
import { metaErrors, reconcileNamespace, type WriteOptions, type Written } from './create.js';
import { decodeBody } from './decode.js';
import { applyPatch, type Patch } from './patch.js';

export type Subresource = 'main' | 'status';

/** Produces the client's intended object from the current one: the PUT body, or current + patch. */
type Intent<T> = (current: T) => Result<{ object: T; warnings: string[] }, Status>;

const specOf = (o: KubeObject): Record<string, unknown> => {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
};

const withoutResourceVersion = (o: KubeObject): KubeObject => {
  const { resourceVersion: _rv, ...meta } = o.metadata;
  return { ...o, metadata: meta };
};

function strategyFor<T extends KubeObject>(c: StoreContext<T>, sub: Subresource): UpdateStrategy<T> | Status {
  if (sub === 'main') return c.resource.strategy;
  const st = c.resource.status;
  if (st.mode === 'writable') return st.strategy;
  return status.methodNotAllowed(
    `status of ${c.resource.plural}.${c.resource.group} is computed by the server and cannot be written by clients`,
  );
}

async function guardedUpdate<T extends KubeObject>(
  c: StoreContext<T>,
  ctx: RequestContext,
  name: string,
  sub: Subresource,
  intent: Intent<T>,
  opts: WriteOptions,
): Promise<Result<Written<T>, Status>> {
  const strategy = strategyFor(c, sub);
  if (isStatus(strategy)) return { ok: false, error: strategy };
  const r = c.resource;
  let warnings: string[] = [];

  const tryUpdate = (current: T): UpdateDecision<T, Status> => {
    const wanted = intent(clone(current));
    if (!wanted.ok) return { kind: 'abort', error: wanted.error };
    let obj = wanted.value.object;
    const meta = obj.metadata;
    if ((meta.name ?? '') !== name) {
      return { kind: 'abort', error: status.badRequest(`the name of the object (${meta.name ?? ''}) does not match the name on the URL (${name})`) };
    }
    const nsError = reconcileNamespace(c, ctx, obj);
    if (nsError !== undefined) return { kind: 'abort', error: nsError };
    const old = current.metadata;
    // System fields the client cannot change (rest.BeforeUpdate).
    if ((meta.uid ?? '') === '' && old.uid !== undefined) meta.uid = old.uid;
    if (old.creationTimestamp !== undefined) meta.creationTimestamp = old.creationTimestamp;
    if (old.deletionTimestamp !== undefined) meta.deletionTimestamp = old.deletionTimestamp;
    else delete meta.deletionTimestamp;
    if (old.deletionGracePeriodSeconds !== undefined) meta.deletionGracePeriodSeconds = old.deletionGracePeriodSeconds;
    else delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    meta.generation = old.generation ?? 1;
    meta.resourceVersion = old.resourceVersion ?? '';

    obj = strategy.prepareForUpdate(ctx, obj, current);
    // generation counts spec changes only: anything outside metadata and status.
    if (!isDeepStrictEqual(specOf(obj), specOf(current))) obj.metadata.generation = (old.generation ?? 1) + 1;

    const errs = [
      ...strategy.validateUpdate(ctx, obj, current),
      ...metaErrors(c, obj),
      ...validateObjectMetaUpdate(obj.metadata, current.metadata),
    ];
    if (errs.length > 0) return { kind: 'abort', error: status.invalid(r.group, r.kind, name, errs) };
    obj = strategy.canonicalize(obj);
    warnings = [...wanted.value.warnings, ...strategy.warningsOnUpdate(ctx, obj, current)];

    // Removing the last finalizer of an object being deleted deletes it.
    if (obj.metadata.deletionTimestamp !== undefined && (obj.metadata.finalizers ?? []).length === 0) return { kind: 'delete' };
    if (isDeepStrictEqual(withoutResourceVersion(obj), withoutResourceVersion(current))) return { kind: 'unchanged' };
    return { kind: 'write', object: obj };
  };

  const key = c.key(ctx.namespace, name);
  if (opts.dryRun) {
    const current = await c.storage.get<T>(key);
    if (!current.ok) return { ok: false, error: c.toStatus(current.error, name) };
    const d = tryUpdate(current.value);
    switch (d.kind) {
      case 'abort':
        return { ok: false, error: d.error };
      case 'write':
        return { ok: true, value: { object: c.typed(d.object), warnings } };
      case 'unchanged':
      case 'delete':
        return { ok: true, value: { object: c.typed(current.value), warnings } };
    }
  }
  const res = await c.storage.guaranteedUpdate<T, Status>(key, tryUpdate);
  if (!res.ok) return { ok: false, error: res.error.kind === 'Status' ? res.error : c.toStatus(res.error, name) };
  return { ok: true, value: { object: c.typed(res.value.object), warnings } };
}

/** PUT …/<name>[/status]. */
export async function update<T extends KubeObject>(
  c: StoreContext<T>,
  ctx: RequestContext,
  name: string,
  body: unknown,
  opts: WriteOptions,
  sub: Subresource = 'main',
): Promise<Result<Written<T>, Status>> {
  const decoded = decodeBody(c, clone(body), opts.fieldValidation);
  if (!decoded.ok) return decoded;
  const wanted = decoded.value.object;
  // As the PUT handler does before touching storage: the URL names the object.
  if ((wanted.metadata.name ?? '') !== name) {
    return { ok: false, error: status.badRequest(`the name of the object (${wanted.metadata.name ?? ''}) does not match the name on the URL (${name})`) };
  }
  const rv = wanted.metadata.resourceVersion ?? '';
  const strategy = strategyFor(c, sub);
  if (isStatus(strategy)) return { ok: false, error: strategy };
  if (rv === '' && !strategy.allowUnconditionalUpdate(ctx)) {
    return {
      ok: false,
      error: status.invalid(c.resource.group, c.resource.kind, name, [
        { ...invalidField('metadata.resourceVersion', '', 'must be specified for an update'), message: 'Invalid value: 0x0: must be specified for an update' },
      ]),
    };
  }
  return guardedUpdate(
    c,
    ctx,
    name,
    sub,
    (current) => {
      if (rv !== '' && rv !== current.metadata.resourceVersion) return { ok: false, error: status.staleResourceVersion(c.gr, name) };
      return { ok: true, value: { object: clone(wanted), warnings: decoded.value.warnings } };
    },
    opts,
  );
}

/** PATCH …/<name>[/status] with a JSON patch or a merge patch. */
export async function patch<T extends KubeObject>(
  c: StoreContext<T>,
  ctx: RequestContext,
  name: string,
  p: Patch,
  opts: WriteOptions,
  sub: Subresource = 'main',
): Promise<Result<Written<T>, Status>> {
  return guardedUpdate(
    c,
    ctx,
    name,
    sub,
    (current) => {
      const patched = applyPatch(current, p);
      if (!patched.ok) return patched;
      const decoded = decodeBody(c, patched.value, opts.fieldValidation);
      if (!decoded.ok) return decoded;
      const obj = decoded.value.object;
      // A patch that sets resourceVersion asks for optimistic concurrency against that version.
      if ((obj.metadata.resourceVersion ?? '') !== (current.metadata.resourceVersion ?? '')) {
        return { ok: false, error: status.staleResourceVersion(c.gr, name) };
      }
      return { ok: true, value: { object: obj, warnings: [...decoded.value.warnings] } };
    },
    opts,
  );
}
