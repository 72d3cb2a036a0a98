/**
 * The write path PUT, PATCH and server-side apply share: rest.BeforeUpdate inside a compare-and-swap
 * loop. The intent (PUT body, current + patch, or applied configuration) is re-derived from the
 * newest object whenever the CAS loses a race. A write that changes nothing but managedFields
 * timestamps stores nothing (same resourceVersion, no event).
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject, ManagedFieldsEntry } from '../../api/meta.js';
import * as status from '../../api/status.js';
import { isStatus, type Status } from '../../api/status.js';
import { validateObjectMetaUpdate } from '../../api/validation/objectmeta.js';
import type { Result, UpdateDecision } from '../../../storage/interface.js';
import type { RequestContext, UpdateStrategy } from '../rest.js';
import { clone, type StoreContext } from './context.js';
import { metaErrors, reconcileNamespace, type WriteOptions, type Written } from './create.js';
import { recordUpdate, sameIgnoringManagedFieldsTimes, withManagedFields, type Subresource } from './managed.js';

export interface Intended<T> {
  readonly object: T;
  readonly warnings: string[];
  /**
   * Server-side apply computed the entries itself (its Apply entry, conflicts resolved); without
   * them the write is recorded as the manager's Update entry.
   */
  readonly managedFields?: readonly ManagedFieldsEntry[];
}

/** Produces the client's intended object from the current one: the PUT body, current + patch, or an apply. */
export type Intent<T> = (current: T) => Result<Intended<T>, Status>;

/** What the create-on-missing of an apply answers: a result, or `exists` after losing a race with a create. */
export type CreateOutcome<T> = Result<Written<T>, Status> | 'exists';

export interface GuardedUpdate<T> {
  readonly name: string;
  readonly sub: Subresource;
  readonly intent: Intent<T>;
  readonly opts: WriteOptions;
  /** Called when the object does not exist (server-side apply creates it); without it, 404. */
  readonly createMissing?: () => Promise<CreateOutcome<T>>;
}

/** A create that lost a race is followed by an update, which may find the object deleted again: bounded. */
const maxCreateRaces = 5;

const specOf = (o: KubeObject): Record<string, unknown> => {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
};

const withoutResourceVersion = (o: KubeObject): KubeObject => {
  const { resourceVersion: _rv, ...meta } = o.metadata;
  return { ...o, metadata: meta };
};

export function strategyFor<T extends KubeObject>(c: StoreContext<T>, sub: Subresource): UpdateStrategy<T> | Status {
  if (sub === 'main') return c.resource.strategy;
  const st = c.resource.status;
  if (st.mode === 'writable') return st.strategy;
  return status.methodNotAllowed(
    `status of ${c.resource.plural}.${c.resource.group} is computed by the server and cannot be written by clients`,
  );
}

export async function guardedUpdate<T extends KubeObject>(
  c: StoreContext<T>,
  ctx: RequestContext,
  g: GuardedUpdate<T>,
): Promise<Result<Written<T>, Status>> {
  const { name, sub, opts } = g;
  const strategy = strategyFor(c, sub);
  if (isStatus(strategy)) return { ok: false, error: strategy };
  const r = c.resource;
  let warnings: string[] = [];

  const tryUpdate = (current: T): UpdateDecision<T, Status> => {
    const wanted = g.intent(clone(current));
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
    // After the strategy, which may have put back what this endpoint cannot change (a /status
    // strategy restores metadata, managedFields included): the entries follow the stored result.
    const applied = wanted.value.managedFields;
    obj = applied === undefined ? recordUpdate(c, ctx, current, obj, opts.fieldManager ?? '', sub) : withManagedFields(obj, applied);
    warnings = [...wanted.value.warnings, ...strategy.warningsOnUpdate(ctx, obj, current)];

    // Removing the last finalizer of an object being deleted deletes it.
    if (obj.metadata.deletionTimestamp !== undefined && (obj.metadata.finalizers ?? []).length === 0) return { kind: 'delete' };
    if (sameIgnoringManagedFieldsTimes(withoutResourceVersion(obj), withoutResourceVersion(current))) return { kind: 'unchanged' };
    return { kind: 'write', object: obj };
  };

  const key = c.key(ctx.namespace, name);
  for (let races = 0; ; races++) {
    const createMissing = races < maxCreateRaces ? g.createMissing : undefined;
    if (opts.dryRun) {
      const current = await c.storage.get<T>(key);
      if (!current.ok) {
        if (current.error.kind === 'KeyNotFound' && createMissing !== undefined) {
          const created = await createMissing();
          if (created !== 'exists') return created;
          continue;
        }
        return { ok: false, error: c.toStatus(current.error, name) };
      }
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
    if (res.ok) return { ok: true, value: { object: c.typed(res.value.object), warnings } };
    if (res.error.kind === 'Status') return { ok: false, error: res.error };
    if (res.error.kind === 'KeyNotFound' && createMissing !== undefined) {
      const created = await createMissing();
      if (created !== 'exists') return created;
      continue;
    }
    return { ok: false, error: c.toStatus(res.error, name) };
  }
}
