/**
 * The controllers' status write: a compare-and-swap on the resourceVersion the decision was computed
 * from, straight on our storage (status is computed in-process, so there is no HTTP status endpoint to
 * go through). A conflict means someone wrote in between: the caller re-reads and decides again, so
 * no update is lost and no stale decision lands.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../api/meta.js';
import type { StoreContext } from '../registry/store/context.js';

export type StatusWriteOutcome =
  | { readonly kind: 'written'; readonly object: KubeObject }
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'conflict' }
  | { readonly kind: 'notFound' }
  | { readonly kind: 'error'; readonly message: string };

interface Stale {
  readonly stale: true;
}

export async function writeStatus(
  store: StoreContext<KubeObject>,
  namespace: string | undefined,
  name: string,
  expectedResourceVersion: string,
  status: unknown,
): Promise<StatusWriteOutcome> {
  const r = await store.storage.guaranteedUpdate<KubeObject & { metadata: { resourceVersion?: string } }, Stale>(store.key(namespace, name), (current) => {
    if (current.metadata.resourceVersion !== expectedResourceVersion) return { kind: 'abort', error: { stale: true } };
    if (isDeepStrictEqual(current['status'], status)) return { kind: 'unchanged' };
    return { kind: 'write', object: { ...current, status } };
  });
  if (r.ok) return isDeepStrictEqual(r.value.object['status'], status) && r.value.object.metadata.resourceVersion === expectedResourceVersion ? { kind: 'unchanged' } : { kind: 'written', object: r.value.object };
  const e = r.error;
  if ('stale' in e) return { kind: 'conflict' };
  if (e.kind === 'KeyNotFound') return { kind: 'notFound' };
  if (e.kind === 'PreconditionFailed') return { kind: 'conflict' };
  return { kind: 'error', message: e.kind === 'Unavailable' ? e.message : e.kind };
}
