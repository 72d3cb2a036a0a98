/**
 * DELETE and DELETE-collection (§9.7, §9.8). Deletion with finalizers (the object's own, or
 * `orphan`/`foregroundDeletion` from the propagation policy) only sets deletionTimestamp; the object
 * goes away when its last finalizer is removed. Preconditions are re-checked on every CAS round.
 */
import { rfc3339, type KubeObject } from '../../api/meta.js';
import * as status from '../../api/status.js';
import type { Status } from '../../api/status.js';
import type { Result, UpdateDecision } from '../../../storage/interface.js';
import type { RequestContext } from '../rest.js';
import type { StoreContext } from './context.js';
import { list, type ListOptions, type ObjectList } from './read.js';

export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';

export interface DeleteOptions {
  readonly dryRun: boolean;
  readonly preconditions: { readonly uid?: string; readonly resourceVersion?: string };
  /** The finalizer the request asks for: from propagationPolicy or the deprecated orphanDependents. */
  readonly propagationPolicy: PropagationPolicy | undefined;
  /** orphanDependents=false was sent explicitly: kube-apiserver then answers 202 for a graceful delete. */
  readonly orphanDependentsFalse: boolean;
}

export type DeleteOutcome<T> =
  /** Removed from storage now; object = last state. */
  | { readonly kind: 'deleted'; readonly object: T }
  /** Finalizers keep it: deletionTimestamp set (or already set); object = stored state. */
  | { readonly kind: 'pending'; readonly object: T; readonly accepted: boolean };

const orphanFinalizer = 'orphan';
const foregroundFinalizer = 'foregroundDeletion';

/** Finalizers after the request: the propagation policy switches between orphan and foreground. */
function finalizersFor(current: readonly string[], policy: PropagationPolicy | undefined): string[] {
  if (policy === undefined) return [...current];
  const others = current.filter((f) => f !== orphanFinalizer && f !== foregroundFinalizer);
  if (policy === 'Orphan') return [...others, orphanFinalizer];
  if (policy === 'Foreground') return [...others, foregroundFinalizer];
  return others;
}

export async function deleteObject<T extends KubeObject>(
  c: StoreContext<T>,
  ctx: RequestContext,
  name: string,
  opts: DeleteOptions,
): Promise<Result<DeleteOutcome<T>, Status>> {
  const pre = opts.preconditions;
  const decide = (current: T): UpdateDecision<T, Status> => {
    const meta = current.metadata;
    if (pre.uid !== undefined && pre.uid !== meta.uid) {
      return { kind: 'abort', error: status.conflict(c.gr, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid ?? ''}`) };
    }
    if (pre.resourceVersion !== undefined && pre.resourceVersion !== meta.resourceVersion) {
      return {
        kind: 'abort',
        error: status.conflict(c.gr, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion ?? ''}`),
      };
    }
    // Background (or no policy) on an object without finalizers: remove it now.
    const finalizers = finalizersFor(meta.finalizers ?? [], opts.propagationPolicy);
    if (finalizers.length === 0) return { kind: 'delete' };
    const next: T = { ...current, metadata: { ...meta, finalizers } };
    if (meta.deletionTimestamp === undefined) {
      next.metadata.deletionTimestamp = rfc3339(ctx.now());
      next.metadata.deletionGracePeriodSeconds = 0;
      next.metadata.generation = (meta.generation ?? 1) + 1;
    }
    const sameFinalizers = finalizers.length === (meta.finalizers ?? []).length && finalizers.every((f, i) => f === meta.finalizers?.[i]);
    if (sameFinalizers && meta.deletionTimestamp !== undefined) return { kind: 'unchanged' };
    return { kind: 'write', object: next };
  };

  const key = c.key(ctx.namespace, name);
  if (opts.dryRun) {
    const current = await c.storage.get<T>(key);
    if (!current.ok) return { ok: false, error: c.toStatus(current.error, name) };
    const d = decide(current.value);
    switch (d.kind) {
      case 'abort':
        return { ok: false, error: d.error };
      case 'delete':
        return { ok: true, value: { kind: 'deleted', object: c.typed(current.value) } };
      case 'write':
        return { ok: true, value: { kind: 'pending', object: c.typed(d.object), accepted: opts.orphanDependentsFalse } };
      case 'unchanged':
        return { ok: true, value: { kind: 'pending', object: c.typed(current.value), accepted: opts.orphanDependentsFalse } };
    }
  }
  const res = await c.storage.guaranteedUpdate<T, Status>(key, decide);
  if (!res.ok) return { ok: false, error: res.error.kind === 'Status' ? res.error : c.toStatus(res.error, name) };
  const object = c.typed(res.value.object);
  return {
    ok: true,
    value: res.value.deleted ? { kind: 'deleted', object } : { kind: 'pending', object, accepted: opts.orphanDependentsFalse },
  };
}

/** Pages of at most this many items are deleted at a time (§9.8). */
const collectionPageSize = 10000;

export async function deleteCollection<T extends KubeObject>(
  c: StoreContext<T>,
  ctx: RequestContext,
  listOpts: ListOptions,
  opts: DeleteOptions,
): Promise<Result<ObjectList<T>, Status>> {
  const limited = listOpts.limit > 0;
  const affected: T[] = [];
  let cont = listOpts.continue;
  let listMeta: ObjectList<T>['metadata'] = {};
  for (;;) {
    const page = await list(c, ctx, { ...listOpts, continue: cont, limit: limited ? listOpts.limit : collectionPageSize });
    if (!page.ok) return page;
    listMeta = { resourceVersion: page.value.metadata.resourceVersion ?? '' };
    for (const item of page.value.items) {
      const itemCtx: RequestContext = { ...ctx, namespace: item.metadata.namespace };
      const res = await deleteObject(c, itemCtx, item.metadata.name ?? '', opts);
      // An item deleted meanwhile is skipped; any other failure ends the collection delete.
      if (!res.ok) {
        if (res.error.code === 404) continue;
        return res;
      }
      affected.push(res.value.object);
    }
    cont = page.value.metadata.continue ?? '';
    if (limited || cont === '') break;
  }
  return { ok: true, value: { kind: c.resource.listKind, apiVersion: c.apiVersion, metadata: listMeta, items: affected } };
}
