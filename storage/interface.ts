/**
 * The storage contract the generic registry stands on (like k8s.io/apiserver storage.Interface).
 * Objects are plain JSON; the implementation stamps metadata.resourceVersion (etcd mod_revision) on
 * every object it returns and never stores resourceVersion or selfLink. Errors are values in storage's
 * own terms; the registry translates them to Status.
 */

export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): { readonly ok: true; readonly value: T } => ({ ok: true, value });
export const err = <E>(error: E): { readonly ok: false; readonly error: E } => ({ ok: false, error });

export type StorageError =
  | { readonly kind: 'KeyNotFound'; readonly key: string }
  | { readonly kind: 'KeyExists'; readonly key: string }
  /** A precondition (resourceVersion or uid) did not hold against the stored object. */
  | { readonly kind: 'PreconditionFailed'; readonly key: string; readonly field: 'resourceVersion' | 'uid'; readonly expected: string; readonly actual: string }
  /** The revision asked for was compacted away (also an expired continue token). */
  | { readonly kind: 'Compacted'; readonly resourceVersion: string; readonly source: 'list' | 'watch' | 'continue' }
  /** A revision newer than etcd's current one. */
  | { readonly kind: 'TooLargeResourceVersion'; readonly requested: string; readonly current: string }
  | { readonly kind: 'InvalidContinue'; readonly message: string }
  | { readonly kind: 'Unavailable'; readonly message: string };

/** What storage needs to know of an object: its metadata bag. */
export interface StoredObject {
  metadata: { resourceVersion?: string; uid?: string; selfLink?: string };
  [k: string]: unknown;
}

export interface Preconditions {
  readonly uid?: string;
  readonly resourceVersion?: string;
}

export interface ReadOptions {
  /**
   * How fresh a read of the latest state must be (kube-apiserver's resourceVersion on get and on a
   * list that is not Exact): absent or '' = consistent (at least etcd's current revision); '0' = any
   * state the storage holds (a watch cache answers from memory as it is); a decimal N = not older than
   * revision N (TooLargeResourceVersion when etcd has not reached N).
   */
  readonly minRevision?: string;
}

export interface ListOptions extends ReadOptions {
  /** Max items per page; 0 or absent = everything. */
  readonly limit?: number;
  /** Opaque token from a previous page; pins the read to that page's revision. */
  readonly continue?: string;
  /** Read exactly at this revision (Exact); absent = latest, linearizable. */
  readonly revision?: string;
  /** Only items for which this returns true count towards limit (selectors). */
  readonly predicate?: (obj: StoredObject) => boolean;
  /**
   * The predicate reads nothing but metadata.name, metadata.namespace and metadata.labels (label and
   * field selectors), so storage may hand it an object holding only those.
   */
  readonly predicateReadsMetadataOnly?: boolean;
  /** Also return each item's key (ListPage.keys); the watch cache needs them. */
  readonly withKeys?: boolean;
}

/**
 * An item as the watch cache keeps it: the exact JSON of the object storage returns (stamped with
 * its resourceVersion), and its apiVersion and kind, so a list can be written by concatenation.
 */
export interface SerializedObject {
  readonly json: string;
  readonly apiVersion: string | undefined;
  readonly kind: string | undefined;
}

export interface ListPage<T> {
  readonly items: T[];
  /** The etcd header revision the page was read at (not the newest item's). */
  readonly resourceVersion: string;
  /** Present when more items follow. */
  readonly continue?: string;
  /** Items left after this page; only when no predicate was given. */
  readonly remainingItemCount?: number;
  /**
   * The page's items already serialized, in the same order (`JSON.stringify(items[i])` equals
   * `serialized[i].json`); only from a storage that keeps JSON (the watch cache), whose `items` are
   * then decoded on first access.
   */
  readonly serialized?: readonly SerializedObject[];
  /** Each item's key, in the same order; only when ListOptions.withKeys asked for them. */
  readonly keys?: readonly string[];
}

/**
 * Events of one watch. Objects in them may be shared with other watchers of the same storage (the
 * watch cache decodes each event once for all of them): read them, never modify them.
 */
export type WatchEvent<T> =
  /** `key` only when WatchOptions.withKeys asked for it (also on MODIFIED and DELETED). */
  | { readonly type: 'ADDED'; readonly object: T; readonly key?: string }
  /** prevObject = the state before this write (from etcd's prev_kv); selectors need it for transitions. */
  | { readonly type: 'MODIFIED'; readonly object: T; readonly prevObject?: T; readonly key?: string }
  /** object = last stored state, with resourceVersion = the deletion revision. */
  | { readonly type: 'DELETED'; readonly object: T; readonly key?: string }
  /** The stream caught up to this revision with nothing to report (etcd progress notify). */
  | { readonly type: 'PROGRESS'; readonly resourceVersion: string }
  /** Terminal: the iterator ends after it. */
  | { readonly type: 'ERROR'; readonly error: StorageError };

/**
 * Outcome of one tryUpdate round: a new object to write, `unchanged` to write nothing (a no-op update
 * keeps its resourceVersion and makes no event), or an error that aborts the update.
 */
export type UpdateDecision<T, E> =
  | { readonly kind: 'write'; readonly object: T }
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'abort'; readonly error: E }
  /** Delete the object instead (last finalizer removed from an object being deleted). */
  | { readonly kind: 'delete' };

export interface UpdateResult<T> {
  readonly object: T;
  /** True when the object was removed because tryUpdate asked for it. */
  readonly deleted: boolean;
}

export interface WatchOptions {
  /** Report progress (PROGRESS events) when the stream has caught up with nothing to send. */
  readonly progressNotify?: boolean;
  /**
   * With progressNotify: each `request` event dispatched here asks etcd for a progress notification
   * now (etcd's RequestProgress), answered once every event up to its current revision was sent.
   */
  readonly progressRequests?: EventTarget;
  /** Put each event's key on it (the watch cache needs them). */
  readonly withKeys?: boolean;
}

export interface Storage {
  /** Stores obj under key only if the key is absent; returns it with its new resourceVersion. */
  create<T extends StoredObject>(key: string, obj: T): Promise<Result<T, StorageError>>;
  /** The latest state of key, as fresh as opts.minRevision asks (consistent by default). */
  get<T extends StoredObject>(key: string, opts?: ReadOptions): Promise<Result<T, StorageError>>;
  /** Lists keys under prefix (which must end in '/') at one revision. */
  list<T extends StoredObject>(prefix: string, opts: ListOptions): Promise<Result<ListPage<T>, StorageError>>;
  /**
   * Compare-and-swap loop on mod_revision: tryUpdate sees the current object (stamped) and decides;
   * after a lost race it is called again with the newer object. `tryUpdate` must be pure.
   */
  guaranteedUpdate<T extends StoredObject, E>(
    key: string,
    tryUpdate: (current: T) => UpdateDecision<T, E> | Promise<UpdateDecision<T, E>>,
  ): Promise<Result<UpdateResult<T>, StorageError | E>>;
  /**
   * Deletes key if preconditions hold (re-checked on each CAS round) and `check` (called with the
   * current object) returns undefined; returns the last stored state stamped with the deletion revision.
   */
  delete<T extends StoredObject, E = never>(
    key: string,
    preconditions?: Preconditions,
    check?: (current: T) => E | undefined,
  ): Promise<Result<T, StorageError | E>>;
  /**
   * Events for keys under prefix strictly after `fromRevision` ('0' = from now). Ends when signal
   * aborts, or after an ERROR event (compaction → Compacted). Reconnects a broken etcd stream itself
   * from the last revision seen, so no event is lost or repeated.
   */
  watch<T extends StoredObject>(prefix: string, fromRevision: string, signal: AbortSignal, opts?: WatchOptions): AsyncIterable<WatchEvent<T>>;
  /** etcd's current revision (a count-only range read; linearizable). */
  currentRevision(): Promise<Result<string, StorageError>>;
  /** Compacts history up to revision (used by the compactor and by tests). */
  compact(revision: string): Promise<Result<void, StorageError>>;
  close(): Promise<void>;
}
