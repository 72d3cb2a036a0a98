/**
 * GET and LIST with the resourceVersion semantics of kube-apiserver (§9.2, §9.3): unset = latest
 * (linearizable), `0` = any, `N` = not older than N (504 when N is in the future), Exact = at N.
 */
import type { KubeObject, ListMeta } from '../../api/meta.js';
import { matchesLabels, type LabelSelector } from '../../api/selector/labels.js';
import { matchesFields, selectedNamespace, type FieldSelector } from '../../api/selector/fields.js';
import * as status from '../../api/status.js';
import type { Status } from '../../api/status.js';
import type { Result, StoredObject } from '../../../storage/interface.js';
import type { RequestContext } from '../rest.js';
import type { StoreContext } from './context.js';

export type ResourceVersionMatch = 'NotOlderThan' | 'Exact';

export interface GetOptions {
  /** '' = latest; '0' = any; otherwise a decimal revision (validated by the caller). */
  readonly resourceVersion: string;
}

export interface ListOptions {
  readonly labelSelector: LabelSelector;
  readonly fieldSelector: FieldSelector;
  readonly limit: number;
  readonly continue: string;
  readonly resourceVersion: string;
  readonly resourceVersionMatch: ResourceVersionMatch | undefined;
}

export interface ObjectList<T> {
  readonly kind: string;
  readonly apiVersion: string;
  readonly metadata: ListMeta;
  readonly items: T[];
}

/** 504 when the requested revision is ahead of etcd, as kube-apiserver answers. */
async function checkNotInFuture<T extends KubeObject>(c: StoreContext<T>, rv: string): Promise<Status | undefined> {
  if (rv === '' || rv === '0') return undefined;
  const current = await c.storage.currentRevision();
  if (!current.ok) return c.toStatus(current.error, '');
  return BigInt(rv) > BigInt(current.value) ? status.tooLargeResourceVersion(rv, current.value) : undefined;
}

export async function get<T extends KubeObject>(
  c: StoreContext<T>,
  ctx: RequestContext,
  name: string,
  opts: GetOptions,
): Promise<Result<T, Status>> {
  const future = await checkNotInFuture(c, opts.resourceVersion);
  if (future !== undefined) return { ok: false, error: future };
  const got = await c.storage.get<T>(c.key(ctx.namespace, name));
  return got.ok ? { ok: true, value: c.typed(got.value) } : { ok: false, error: c.toStatus(got.error, name) };
}

export function selectionPredicate(labels: LabelSelector, fields: FieldSelector): ((o: StoredObject) => boolean) | undefined {
  if (labels.length === 0 && fields.length === 0) return undefined;
  return (o) => {
    const meta = o.metadata as KubeObject['metadata'];
    return matchesLabels(labels, meta.labels) && matchesFields(fields, meta);
  };
}

/** The range a request reads: one namespace, or every namespace (narrowed by a namespace selector). */
export function listPrefix<T extends KubeObject>(c: StoreContext<T>, ctx: RequestContext, fields: FieldSelector): string {
  if (!c.resource.namespaced) return c.keys.resourcePrefix;
  const ns = ctx.namespace ?? selectedNamespace(fields);
  return ns === undefined ? c.keys.resourcePrefix : c.keys.namespacePrefix(ns);
}

export async function list<T extends KubeObject>(
  c: StoreContext<T>,
  ctx: RequestContext,
  opts: ListOptions,
): Promise<Result<ObjectList<T>, Status>> {
  const rv = opts.resourceVersion;
  // Exact reads (explicit, or implied by a limit with a revision) pin the revision; others read latest.
  const exact = rv !== '' && rv !== '0' && (opts.resourceVersionMatch === 'Exact' || (opts.resourceVersionMatch === undefined && opts.limit > 0));
  if (!exact && opts.continue === '') {
    const future = await checkNotInFuture(c, rv);
    if (future !== undefined) return { ok: false, error: future };
  }
  const predicate = selectionPredicate(opts.labelSelector, opts.fieldSelector);
  const page = await c.storage.list<T>(listPrefix(c, ctx, opts.fieldSelector), {
    ...(opts.limit > 0 ? { limit: opts.limit } : {}),
    ...(opts.continue !== '' ? { continue: opts.continue } : {}),
    ...(exact ? { revision: rv } : {}),
    ...(predicate === undefined ? {} : { predicate }),
  });
  if (!page.ok) return { ok: false, error: c.toStatus(page.error, '') };
  const p = page.value;
  return {
    ok: true,
    value: {
      kind: c.resource.listKind,
      apiVersion: c.apiVersion,
      metadata: {
        resourceVersion: p.resourceVersion,
        ...(p.continue === undefined ? {} : { continue: p.continue }),
        ...(p.remainingItemCount === undefined ? {} : { remainingItemCount: p.remainingItemCount }),
      },
      items: p.items.map(c.typed),
    },
  };
}
