/**
 * metadata.managedFields in the generic store: which fields an endpoint resets (and so never
 * records as owned), recording a create, update or patch as its manager's Update entry, and the
 * no-op check that ignores managedFields timestamps (IgnoreManagedFieldsTimestampsTransformer).
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject, ManagedFieldsEntry } from '../../api/meta.js';
import { updateManagedFields } from '../fieldmanager/managedfields.js';
import type { RequestContext } from '../rest.js';
import type { StoreContext } from './context.js';

/** The endpoint a write goes through: the resource itself or its status subresource. */
export type Subresource = 'main' | 'status';

/** The managedFields `subresource` of an endpoint: empty for the main resource. */
export const managerSubresource = (sub: Subresource): string => (sub === 'main' ? '' : sub);

/**
 * The strategy's reset fields, as top-level fields: the main resource never writes `status` (every
 * kind resets it there, computed or not), and /status writes nothing but `status`. kube-apiserver's
 * CRD status strategy resets only `spec`, yet drops metadata changes too; ignoring every other
 * top-level field keeps managedFields from claiming what /status never stored.
 */
export function ignoredTopLevelFields<T extends KubeObject>(c: StoreContext<T>, sub: Subresource): string[] {
  if (sub === 'main') return ['status'];
  return Object.keys(c.resource.schema.properties ?? {}).filter((f) => f !== 'status' && f !== 'apiVersion' && f !== 'kind');
}

/** The object with these entries, or without metadata.managedFields when there are none. */
export function withManagedFields<T extends KubeObject>(obj: T, entries: readonly ManagedFieldsEntry[]): T {
  const { managedFields: _old, ...metadata } = obj.metadata;
  return { ...obj, metadata: entries.length === 0 ? metadata : { ...metadata, managedFields: [...entries] } };
}

/**
 * Records a non-apply write (create when `live` is undefined) as the manager's Update entry. Runs on
 * the object the strategy prepared, so a reset field (status on the main resource) is never owned
 * and a defaulted one is owned by the writer, as when kube-apiserver defaults at decoding.
 */
export function recordUpdate<T extends KubeObject>(
  c: StoreContext<T>,
  ctx: RequestContext,
  live: T | undefined,
  updated: T,
  manager: string,
  sub: Subresource,
): T {
  const entries = updateManagedFields({
    live,
    updated,
    manager,
    subresource: managerSubresource(sub),
    apiVersion: c.apiVersion,
    now: ctx.now(),
    schema: c.resource.schema,
    ignoredTopLevelFields: ignoredTopLevelFields(c, sub),
  });
  return withManagedFields(updated, entries);
}

const withoutTimes = (entries: readonly ManagedFieldsEntry[] | undefined): ManagedFieldsEntry[] | undefined =>
  entries?.map(({ time: _t, ...rest }) => rest);

/**
 * Equal but for managedFields timestamps: such a write is a no-op (same resourceVersion, no event),
 * so re-sending an object unchanged does not bump the writer's time.
 */
export function sameIgnoringManagedFieldsTimes(a: KubeObject, b: KubeObject): boolean {
  if (!isDeepStrictEqual(withoutTimes(a.metadata.managedFields), withoutTimes(b.metadata.managedFields))) return false;
  const { managedFields: _a, ...ma } = a.metadata;
  const { managedFields: _b, ...mb } = b.metadata;
  return isDeepStrictEqual({ ...a, metadata: ma }, { ...b, metadata: mb });
}
