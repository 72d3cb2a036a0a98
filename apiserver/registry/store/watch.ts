/**
 * WATCH (§9.4): optional initial state (synthetic ADDED events, or the sendInitialEvents stream
 * ending in the `k8s.io/initial-events-end` bookmark), then storage events filtered by the
 * selectors with transitions (an object that starts matching is ADDED, one that stops is DELETED).
 */
import type { KubeObject } from '../../api/meta.js';
import type { LabelSelector } from '../../api/selector/labels.js';
import type { FieldSelector } from '../../api/selector/fields.js';
import type { Status } from '../../api/status.js';
import type { Result, StoredObject } from '../../../storage/interface.js';
import type { RequestContext } from '../rest.js';
import type { StoreContext } from './context.js';
import { list, listPrefix, selectionPredicate } from './read.js';

export interface WatchOptions {
  readonly labelSelector: LabelSelector;
  readonly fieldSelector: FieldSelector;
  readonly resourceVersion: string;
  readonly sendInitialEvents: boolean | undefined;
  readonly allowWatchBookmarks: boolean;
}

export interface Bookmark {
  readonly kind: string;
  readonly apiVersion: string;
  readonly metadata: { readonly resourceVersion: string; readonly annotations?: Record<string, string> };
}

export type ApiWatchEvent<T> =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: T }
  | { readonly type: 'BOOKMARK'; readonly object: Bookmark }
  | { readonly type: 'ERROR'; readonly object: Status };

export interface WatchStream<T> {
  readonly events: AsyncIterable<ApiWatchEvent<T>>;
  /** The revision the stream starts after: every event up to it is already delivered. */
  readonly startResourceVersion: string;
}

export const initialEventsEndAnnotation = 'k8s.io/initial-events-end';

export async function watch<T extends KubeObject>(
  c: StoreContext<T>,
  ctx: RequestContext,
  opts: WatchOptions,
  signal: AbortSignal,
): Promise<Result<WatchStream<T>, Status>> {
  const bookmark = (rv: string, annotations?: Record<string, string>): ApiWatchEvent<T> => ({
    type: 'BOOKMARK',
    object: { kind: c.resource.kind, apiVersion: c.apiVersion, metadata: { resourceVersion: rv, ...(annotations === undefined ? {} : { annotations }) } },
  });
  const rv = opts.resourceVersion;
  const wantsInitial = opts.sendInitialEvents ?? (rv === '' || rv === '0');
  const initial: ApiWatchEvent<T>[] = [];
  let from = rv === '' ? '0' : rv;
  if (wantsInitial) {
    const snapshot = await list(c, ctx, {
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      limit: 0,
      continue: '',
      resourceVersion: rv,
      resourceVersionMatch: undefined,
    });
    if (!snapshot.ok) return snapshot;
    for (const item of snapshot.value.items) initial.push({ type: 'ADDED', object: item });
    from = snapshot.value.metadata.resourceVersion ?? '0';
    if (opts.sendInitialEvents === true && opts.allowWatchBookmarks) initial.push(bookmark(from, { [initialEventsEndAnnotation]: 'true' }));
  } else if (from === '0') {
    // sendInitialEvents=false without a revision: changes from now on.
    const current = await c.storage.currentRevision();
    if (!current.ok) return { ok: false, error: c.toStatus(current.error, '') };
    from = current.value;
  } else if (/^\d+$/.test(from)) {
    // A revision our etcd never reached cannot come from this server: a client that listed another
    // storage (the Connector CRDs before migration, another cluster). kube-apiserver answers
    // "Too large resource version" after a wait, but client-go and client-node relist only on 410,
    // and the Node informer stops on anything else: answer 410 so every informer relists here.
    const current = await c.storage.currentRevision();
    if (!current.ok) return { ok: false, error: c.toStatus(current.error, '') };
    if (BigInt(from) > BigInt(current.value)) {
      const gone: ApiWatchEvent<T> = { type: 'ERROR', object: c.toStatus({ kind: 'Compacted', resourceVersion: from, source: 'watch' }, '') };
      return { ok: true, value: { events: (async function* () { yield gone; })(), startResourceVersion: from } };
    }
  }

  const matches = selectionPredicate(opts.labelSelector, opts.fieldSelector) ?? ((_: StoredObject) => true);
  const prefix = listPrefix(c, ctx, opts.fieldSelector);
  async function* events(): AsyncGenerator<ApiWatchEvent<T>> {
    yield* initial;
    for await (const ev of c.storage.watch<T>(prefix, from, signal, { progressNotify: true })) {
      switch (ev.type) {
        case 'ADDED':
          if (matches(ev.object)) yield { type: 'ADDED', object: c.typedShared(ev.object) };
          break;
        case 'MODIFIED': {
          const now = matches(ev.object);
          // Without the previous state, assume it matched: a spurious MODIFIED is harmless, a lost DELETED is not.
          const before = ev.prevObject === undefined ? true : matches(ev.prevObject);
          if (now && before) yield { type: 'MODIFIED', object: c.typedShared(ev.object) };
          else if (now) yield { type: 'ADDED', object: c.typedShared(ev.object) };
          else if (before) {
            // Like the cacher: the old state, stamped with the revision at which it stopped matching.
            const old = ev.prevObject ?? ev.object;
            yield { type: 'DELETED', object: c.typed({ ...old, metadata: { ...old.metadata, resourceVersion: ev.object.metadata.resourceVersion } }) };
          }
          break;
        }
        case 'DELETED':
          if (matches(ev.object)) yield { type: 'DELETED', object: c.typedShared(ev.object) };
          break;
        case 'PROGRESS':
          yield bookmark(ev.resourceVersion);
          break;
        case 'ERROR':
          yield { type: 'ERROR', object: c.toStatus(ev.error.kind === 'Compacted' ? { ...ev.error, source: 'watch' } : ev.error, '') };
          return;
      }
    }
  }
  return { ok: true, value: { events: events(), startResourceVersion: from } };
}
