/**
 * GET and LIST with the resourceVersion semantics of kube-apiserver (§9.2, §9.3): unset = latest
 * (linearizable), `0` = any, `N` = not older than N (504 when N is in the future), Exact = at N.
 */
import type { KubeObject, ListMeta } from '../../api/meta.js';
import { matchesLabels, type LabelSelector } from '../../api/selector/labels.js';
import { matchesFields, selectedNamespace, type FieldSelector } from '../../api/selector/fields.js';
import type { Status } from '../../api/status.js';
import type { Result, SerializedObject, StoredObject } from '../../../storage/interface.js';
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

// Storage answers a revision ahead of etcd with TooLargeResourceVersion (504, as kube-apiserver).
export async function get<T extends KubeObject>(
  c: StoreContext<T>,
  ctx: RequestContext,
  name: string,
  opts: GetOptions,
): Promise<Result<T, Status>> {
  const rv = opts.resourceVersion;
  const got = await c.storage.get<T>(c.key(ctx.namespace, name), rv === '' ? undefined : { minRevision: rv });
  return got.ok ? { ok: true, value: c.typed(got.value) } : { ok: false, error: c.toStatus(got.error, name) };
}

// The items of a list answered by the watch cache, as JSON, when each equals JSON.stringify of the
// typed item: the JSON renderer then writes the list by concatenation. Kept beside the list rather
// than on it, so that YAML and JSON renderings of the list never show it.
const serializedLists = new WeakMap<object, readonly SerializedObject[]>();

/** The list's items already serialized (same order as items), when storage had them. */
export const serializedItems = (list: object): readonly SerializedObject[] | undefined => serializedLists.get(list);

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
  // Exact reads (explicit, or implied by a limit with a revision) pin the revision; others read the
  // latest state, as fresh as rv asks (unset = consistent; storage answers 504 for a future rv).
  const exact = rv !== '' && rv !== '0' && (opts.resourceVersionMatch === 'Exact' || (opts.resourceVersionMatch === undefined && opts.limit > 0));
  const predicate = selectionPredicate(opts.labelSelector, opts.fieldSelector);
  const page = await c.storage.list<T>(listPrefix(c, ctx, opts.fieldSelector), {
    ...(opts.limit > 0 ? { limit: opts.limit } : {}),
    ...(opts.continue !== '' ? { continue: opts.continue } : {}),
    ...(exact ? { revision: rv } : opts.continue === '' && rv !== '' ? { minRevision: rv } : {}),
    ...(predicate === undefined ? {} : { predicate, predicateReadsMetadataOnly: true }),
  });
  if (!page.ok) return { ok: false, error: c.toStatus(page.error, '') };
  const p = page.value;
  let items: T[] | undefined;
  const list: ObjectList<T> = {
    kind: c.resource.listKind,
    apiVersion: c.apiVersion,
    metadata: {
      resourceVersion: p.resourceVersion,
      ...(p.continue === undefined ? {} : { continue: p.continue }),
      ...(p.remainingItemCount === undefined ? {} : { remainingItemCount: p.remainingItemCount }),
    },
    // Decoded on first access (a watch-cache page decodes its items lazily too).
    get items(): T[] {
      items ??= p.items.map(c.typed);
      return items;
    },
  };
  // typed() only sets apiVersion and kind: where the stored ones already match, the JSON is the same.
  const raw = p.serialized;
  if (raw !== undefined && raw.every((s) => s.apiVersion === c.apiVersion && s.kind === c.resource.kind)) serializedLists.set(list, raw);
  return { ok: true, value: list };
}
