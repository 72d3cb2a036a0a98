/**
 * A watch cache in front of Storage, like kube-apiserver's cacher (storage/cacher): per resource
 * prefix one etcd watch feeds an in-memory copy of every object and a ring of recent events.
 *
 * - Objects are kept as their JSON (exactly what storage returns, resourceVersion stamped) plus the
 *   few metadata fields selectors read; get decodes one, a list hands out the JSON (ListPage.serialized)
 *   so a JSON response is mostly concatenation, and decodes items only when someone reads `items`.
 * - The cache's revision moves with every event and with etcd progress notifications, asked for on
 *   demand (RequestProgress) while a read waits, so "the cache has seen everything up to R" is known
 *   even for a resource nobody writes.
 * - get/list without a revision (consistent) read etcd's current revision (count-only range, batched
 *   across concurrent readers) and wait until the cache has caught up, then answer from memory
 *   (kube's ConsistentListFromCache); after waitTimeoutMs they fall back to etcd. minRevision '0'
 *   answers from memory as it is; N waits until the cache reaches N (504 TooLargeResourceVersion
 *   at once when etcd itself is behind N, or after waitTimeoutMs).
 * - Exact reads and continue pages are answered from memory only when the cache can prove its state
 *   equals the state at that revision for the keys asked (no event since in that key range, ring
 *   covering the revision, not compacted); otherwise etcd answers, as kube delegates them.
 * - Every watch is served from the ring: events after its start revision, then live ones, filtered
 *   by prefix; a start older than the ring (or than a compaction seen through compact()) is a
 *   Compacted error (410). A watcher that falls behind the ring's eviction gets the same error.
 * - Writes, currentRevision and compaction go to the inner storage.
 *
 * Keys are compared as JS strings (UTF-16 code units); etcd orders bytes. Both orders agree for the
 * ASCII keys Kubernetes names produce.
 */
import { decodeContinue, encodeContinue } from './continue.js';
import { err, ok } from './interface.js';
import type {
  ListOptions,
  ListPage,
  ReadOptions,
  Result,
  SerializedObject,
  Storage,
  StorageError,
  StoredObject,
  WatchEvent,
  WatchOptions,
} from './interface.js';
import { sleep } from './sleep.js';

export interface WatchCacheResource {
  /** The resource's key prefix, ending in '/': reads and watches at or under it use the cache. */
  readonly prefix: string;
  /** Events the ring keeps (its normal capacity); 0 = no cache for this resource. */
  readonly size?: number;
}

export interface CacherOptions {
  readonly resources: readonly WatchCacheResource[];
  /** Ring capacity of a resource without its own size; default 1000 events. */
  readonly defaultSize?: number;
  /** Events younger than this stay past the capacity, up to maxSizeFactor × capacity; default 75 s. */
  readonly freshEventsMs?: number;
  /** Default 10. */
  readonly maxSizeFactor?: number;
  /** How long a read waits for the cache to reach the revision it needs; default 3 s (kube's). */
  readonly waitTimeoutMs?: number;
  /** A caught-up watcher that asked for progress gets at most one PROGRESS this often; default 5 s. */
  readonly progressIntervalMs?: number;
  /** Delay before a failed (re)list is tried again, doubling; default 100 ms to 5 s. */
  readonly relistBackoffMs?: { readonly initial: number; readonly max: number };
  /** Page size of the (re)list from etcd; default 5000. */
  readonly listPageSize?: number;
  /** Clock for event ages; default Date.now. */
  readonly now?: () => number;
}

export interface WatchCacheStats {
  readonly prefix: string;
  readonly ready: boolean;
  /** Every event up to this revision is in the cache. */
  readonly revision: number;
  /** Watches may start at this revision or later (events after it are all in the ring). */
  readonly oldestWatchRevision: number;
  readonly objects: number;
  readonly events: number;
}

export interface CachedStorage extends Storage {
  /** Resolves once every resource's cache holds its first list (or when the signal aborts). */
  ready(signal?: AbortSignal): Promise<void>;
  /** Every cache holds a list and follows etcd (for a readyz check). */
  isReady(): boolean;
  stats(): WatchCacheStats[];
}

const defaults = {
  size: 1000,
  freshEventsMs: 75_000,
  maxSizeFactor: 10,
  waitTimeoutMs: 3000,
  progressIntervalMs: 5000,
  relistBackoffMs: { initial: 100, max: 5000 },
  listPageSize: 5000,
  // While a read waits, progress is asked for again this often (a request sent during a reconnect is lost).
  progressRetryMs: 100,
};

type EntryMetadata = { readonly name?: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };

/**
 * What the cache keeps of one object: its JSON and what selectors read. Selectors see it as the
 * object (metadata only). It is kept lean, since there is one per stored object: the name and
 * namespace are read back from the key (`…/<namespace>/<name>`) instead of being kept twice, and
 * apiVersion/kind are interned (a JSON.parse makes new strings for every object).
 */
class Entry implements SerializedObject {
  readonly key: string;
  readonly revision: number;
  readonly json: string;
  readonly apiVersion: string | undefined;
  readonly kind: string | undefined;
  private readonly labels: Readonly<Record<string, string>> | undefined;
  private readonly namespaced: boolean;
  /** The metadata as read, when its name and namespace are not the key's (never, from our stores). */
  private readonly explicit: EntryMetadata | undefined;

  constructor(key: string, obj: StoredObject, revision: number) {
    this.key = key;
    this.revision = revision;
    this.json = JSON.stringify(obj);
    this.apiVersion = interned(obj['apiVersion']);
    this.kind = interned(obj['kind']);
    const m = obj.metadata as { name?: unknown; namespace?: unknown; labels?: unknown };
    const name = typeof m.name === 'string' ? m.name : undefined;
    const namespace = typeof m.namespace === 'string' ? m.namespace : undefined;
    const labels = typeof m.labels === 'object' && m.labels !== null ? (m.labels as Record<string, string>) : undefined;
    this.labels = labels;
    this.namespaced = namespace !== undefined;
    const fromKey = name !== undefined && key.endsWith(namespace === undefined ? `/${name}` : `/${namespace}/${name}`);
    this.explicit = fromKey
      ? undefined
      : { ...(name === undefined ? {} : { name }), ...(namespace === undefined ? {} : { namespace }), ...(labels === undefined ? {} : { labels }) };
  }

  get metadata(): EntryMetadata {
    if (this.explicit !== undefined) return this.explicit;
    const slash = this.key.lastIndexOf('/');
    const name = this.key.slice(slash + 1);
    const namespace = this.namespaced ? this.key.slice(this.key.lastIndexOf('/', slash - 1) + 1, slash) : undefined;
    return { name, ...(namespace === undefined ? {} : { namespace }), ...(this.labels === undefined ? {} : { labels: this.labels }) };
  }
}

// A handful of distinct values (one apiVersion and kind per resource); bounded all the same.
const internTable = new Map<string, string>();
function interned(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const known = internTable.get(v);
  if (known !== undefined) return known;
  if (internTable.size < 256) internTable.set(v, v);
  return v;
}

interface CachedEvent {
  readonly key: string;
  readonly revision: number;
  /** When the cache received it (for the ring's time bound). */
  readonly at: number;
  /** Shared by every watcher; without the key. */
  readonly event: WatchEvent<StoredObject>;
}

type KeyedEvent = WatchEvent<StoredObject> & { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' };

type Route = { readonly kind: 'cache' } | { readonly kind: 'etcd' } | { readonly kind: 'error'; readonly error: StorageError };

const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The first key after every key that starts with prefix (prefix ends in '/', so '/' becomes '0'). */
const prefixEnd = (prefix: string): string => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);

const revisionPattern = /^[0-9]{1,19}$/;

function parseRevision(what: string, s: string): number {
  if (!revisionPattern.test(s)) throw new Error(`${what} is not a decimal revision: ${s}`);
  return Number(s);
}

const entryOf = (key: string, obj: StoredObject, revision: number): Entry => new Entry(key, obj, revision);

interface Signalled {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

function signalled(): Signalled {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

interface Waiter {
  readonly revision: number;
  readonly done: (reached: boolean) => void;
}

interface CacheSettings {
  readonly size: number;
  readonly maxSize: number;
  readonly freshEventsMs: number;
  readonly progressIntervalMs: number;
  readonly relistBackoffMs: { readonly initial: number; readonly max: number };
  readonly listPageSize: number;
  readonly now: () => number;
}

/** One resource's cache: its objects, its ring of events and the loop that keeps them. */
class ResourceCache {
  readonly prefix: string;
  private readonly inner: Storage;
  private readonly settings: CacheSettings;
  private readonly stopSignal: AbortSignal;

  /** Every event up to rv is applied. */
  rv = 0;
  ready = false;
  /** Bumped by every (re)list and invalidation: watchers of an older generation end with 410. */
  private generation = 0;
  private stopped = false;

  private entries = new Map<string, Entry>();
  /** The entries in key order. */
  private sorted: Entry[] = [];

  // The ring: buf[head..] are live; seq numbers run on across evictions and relists.
  private buf: CachedEvent[] = [];
  private bufStartSeq = 0;
  private head = 0;
  /** Every event after this revision is in the ring: watches from older revisions get 410. */
  private floor = 0;
  /** The newest compaction seen (through compact()): older Exact reads go to etcd. */
  private compacted = 0;

  /** Events of the newest revision, applied together once the revision is complete. */
  private pending: KeyedEvent[] = [];
  private flushScheduled = false;

  private waiters: Waiter[] = [];
  private progressTimer: NodeJS.Timeout | undefined;
  /** Drops the ring's events once they are no longer fresh, also when no new event comes to do it. */
  private readonly evictTimer: NodeJS.Timeout;
  /** A progress request is out and not answered yet. */
  private progressAsked = false;
  readonly progressRequests = new EventTarget();

  private changed = signalled();
  private firstReady = signalled();
  readonly loop: Promise<void>;

  constructor(prefix: string, inner: Storage, settings: CacheSettings, stopSignal: AbortSignal) {
    this.prefix = prefix;
    this.inner = inner;
    this.settings = settings;
    this.stopSignal = stopSignal;
    // After a burst (a bulk import) the ring holds up to maxSize fresh events, each a decoded object;
    // without a timer they would stay until the next write, however long that takes.
    this.evictTimer = setInterval(() => this.evict(this.settings.now()), Math.max(100, Math.min(10_000, settings.freshEventsMs / 4)));
    this.evictTimer.unref();
    this.loop = this.run();
  }

  whenReady(): Promise<void> {
    return this.firstReady.promise;
  }

  stats(): WatchCacheStats {
    return {
      prefix: this.prefix,
      ready: this.ready,
      revision: this.rv,
      oldestWatchRevision: this.floor,
      objects: this.sorted.length,
      events: this.buf.length - this.head,
    };
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.evictTimer);
    this.ready = false;
    this.failWaiters();
    this.signalChange();
  }

  // ---- keeping the cache ---------------------------------------------------------------------

  private async run(): Promise<void> {
    const backoff = this.settings.relistBackoffMs;
    let delay = backoff.initial;
    while (!this.stopSignal.aborted) {
      let listed = false;
      try {
        const revision = await this.relist();
        if (revision !== undefined) {
          listed = true;
          delay = backoff.initial;
          await this.follow(revision);
        }
      } catch {
        // A value that is not JSON, or an inner storage that throws: start over after a pause.
      }
      if (this.stopSignal.aborted) break;
      if (listed) this.invalidate();
      if (!(await sleep(delay * (0.5 + Math.random() / 2), this.stopSignal))) break;
      delay = Math.min(delay * 2, backoff.max);
    }
  }

  /** Lists the resource page by page at one revision and replaces the cache with it. */
  private async relist(): Promise<number | undefined> {
    const fresh: Entry[] = [];
    let token: string | undefined;
    let revision: number | undefined;
    do {
      const page = await this.inner.list<StoredObject>(this.prefix, {
        limit: this.settings.listPageSize,
        withKeys: true,
        ...(token === undefined ? {} : { continue: token }),
      });
      if (!page.ok || this.stopSignal.aborted) return undefined;
      const p = page.value;
      revision ??= Number(p.resourceVersion);
      const keys = p.keys;
      if (keys === undefined) throw new Error('the storage under the watch cache returns no keys');
      p.items.forEach((obj, i) => {
        const key = keys[i];
        if (key !== undefined) fresh.push(entryOf(key, obj, Number(obj.metadata.resourceVersion ?? '0')));
      });
      token = p.continue;
    } while (token !== undefined && token !== '');
    this.replace(fresh, revision);
    return revision;
  }

  private replace(fresh: Entry[], revision: number): void {
    fresh.sort((a, b) => compareKeys(a.key, b.key));
    this.sorted = fresh;
    this.entries = new Map(fresh.map((e) => [e.key, e]));
    this.bufStartSeq += this.buf.length;
    this.buf = [];
    this.head = 0;
    this.pending = [];
    this.progressAsked = false;
    this.floor = revision;
    this.rv = revision;
    this.generation++;
    this.ready = true;
    this.firstReady.resolve();
    this.resolveWaiters();
    this.signalChange();
  }

  /** Ends every watcher (410) and sends reads to etcd until the next list. */
  private invalidate(): void {
    this.ready = false;
    this.generation++;
    this.pending = [];
    this.progressAsked = false;
    this.entries = new Map();
    this.sorted = [];
    this.failWaiters();
    this.signalChange();
  }

  /** Applies the etcd watch from revision until it fails or the cache stops. */
  private async follow(revision: number): Promise<void> {
    const events = this.inner.watch<StoredObject>(this.prefix, String(revision), this.stopSignal, {
      progressNotify: true,
      progressRequests: this.progressRequests,
      withKeys: true,
    });
    for await (const ev of events) {
      switch (ev.type) {
        case 'PROGRESS':
          this.progressAsked = false;
          this.flush();
          this.advance(Number(ev.resourceVersion));
          break;
        case 'ERROR':
          this.flush();
          return;
        default:
          this.enqueue(ev);
      }
    }
    this.flush();
  }

  /**
   * etcd sends all events of a revision in one response, delivered here in one burst of microtasks:
   * they are applied together after it, so no reader sees half a transaction.
   */
  private enqueue(ev: KeyedEvent): void {
    const revision = Number(ev.object.metadata.resourceVersion ?? '0');
    const last = this.pending[this.pending.length - 1];
    if (last !== undefined && Number(last.object.metadata.resourceVersion ?? '0') < revision) this.flush();
    this.pending.push(ev);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  private flush(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const at = this.settings.now();
    let revision = this.rv;
    for (const ev of batch) {
      const key = ev.key;
      if (key === undefined) throw new Error('the storage under the watch cache sends events without keys');
      revision = Number(ev.object.metadata.resourceVersion ?? '0');
      if (ev.type === 'DELETED') this.remove(key);
      else this.upsert(entryOf(key, ev.object, revision));
      const event: WatchEvent<StoredObject> =
        ev.type === 'MODIFIED'
          ? ev.prevObject === undefined
            ? { type: 'MODIFIED', object: ev.object }
            : { type: 'MODIFIED', object: ev.object, prevObject: ev.prevObject }
          : { type: ev.type, object: ev.object };
      this.buf.push({ key, revision, at, event });
    }
    this.evict(at);
    this.advance(revision);
    // Events are in the ring even when the revision did not move (it cannot, but be safe).
    this.signalChange();
  }

  private upsert(e: Entry): void {
    const had = this.entries.has(e.key);
    this.entries.set(e.key, e);
    const i = this.lowerBound(e.key);
    if (had && this.sorted[i]?.key === e.key) this.sorted[i] = e;
    else this.sorted.splice(i, 0, e);
  }

  private remove(key: string): void {
    if (!this.entries.delete(key)) return;
    const i = this.lowerBound(key);
    if (this.sorted[i]?.key === key) this.sorted.splice(i, 1);
  }

  /** Drops the oldest events beyond the capacity, unless they are fresh and the ring may still grow. */
  private evict(now: number): void {
    const s = this.settings;
    while (this.buf.length - this.head > s.size) {
      const oldest = this.buf[this.head];
      if (oldest === undefined) break;
      if (this.buf.length - this.head <= s.maxSize && now - oldest.at < s.freshEventsMs) break;
      this.floor = Math.max(this.floor, oldest.revision);
      this.head++;
    }
    this.compactBuffer();
  }

  private compactBuffer(): void {
    if (this.head > 1024 && this.head * 2 > this.buf.length) {
      this.buf = this.buf.slice(this.head);
      this.bufStartSeq += this.head;
      this.head = 0;
    }
  }

  /** etcd compacted at revision: reads and watches needing older history must fail as etcd's would. */
  noteCompaction(revision: number): void {
    if (revision <= this.compacted) return;
    this.compacted = revision;
    // etcd keeps the compaction revision itself: a watch from revision - 1 still works.
    this.floor = Math.max(this.floor, revision - 1);
    while (this.head < this.buf.length && (this.buf[this.head]?.revision ?? 0) < revision) this.head++;
    this.compactBuffer();
    this.signalChange();
  }

  private advance(revision: number): void {
    if (revision <= this.rv) return;
    this.rv = revision;
    this.resolveWaiters();
    this.signalChange();
  }

  private signalChange(): void {
    const c = this.changed;
    this.changed = signalled();
    c.resolve();
  }

  // ---- waiting for a revision ----------------------------------------------------------------

  /** True once every event up to revision is in the cache; false after timeoutMs or when the cache stops. */
  waitFor(revision: number, timeoutMs: number): Promise<boolean> {
    if (this.rv >= revision) return Promise.resolve(true);
    if (!this.ready) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      const waiter: Waiter = {
        revision,
        done: (reached) => {
          clearTimeout(timer);
          resolve(reached);
        },
      };
      this.waiters.push(waiter);
      this.requestProgress();
    });
  }

  /** Asks etcd for progress unless a request is still unanswered; repeats while reads wait. */
  private requestProgress(): void {
    if (!this.progressAsked) {
      this.progressAsked = true;
      this.progressRequests.dispatchEvent(new Event('request'));
    }
    if (this.progressTimer !== undefined) return;
    this.progressTimer = setInterval(() => {
      if (this.waiters.length === 0) {
        clearInterval(this.progressTimer);
        this.progressTimer = undefined;
        return;
      }
      // An answer may have been lost (a request sent while the watch reconnected): ask again.
      this.progressRequests.dispatchEvent(new Event('request'));
    }, defaults.progressRetryMs);
    this.progressTimer.unref();
  }

  private resolveWaiters(): void {
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.revision <= this.rv) w.done(true);
      else still.push(w);
    }
    this.waiters = still;
  }

  private failWaiters(): void {
    const all = this.waiters;
    this.waiters = [];
    for (const w of all) w.done(false);
  }

  // ---- reads ---------------------------------------------------------------------------------

  get<T extends StoredObject>(key: string): Result<T, StorageError> {
    const e = this.entries.get(key);
    return e === undefined ? err({ kind: 'KeyNotFound', key }) : ok(JSON.parse(e.json) as T);
  }

  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.sorted[mid]?.key ?? '') < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The seq of the first event in the ring with a revision after `revision`. */
  private firstSeqAfter(revision: number): number {
    let lo = this.head;
    let hi = this.buf.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.buf[mid]?.revision ?? 0) <= revision) lo = mid + 1;
      else hi = mid;
    }
    return this.bufStartSeq + lo;
  }

  /**
   * Whether the cache's keys in [start, end of prefix) are exactly what they were at revision: the
   * ring covers every event since, none touched that range, and etcd has not compacted it away.
   */
  canServeAt(prefix: string, start: string, revision: number): boolean {
    if (!this.ready || revision > this.rv || revision < this.floor || revision < this.compacted) return false;
    const end = prefixEnd(prefix);
    for (let i = this.firstSeqAfter(revision) - this.bufStartSeq; i < this.buf.length; i++) {
      const k = this.buf[i]?.key ?? '';
      if (k >= start && k < end) return false;
    }
    return true;
  }

  /** One page from memory, shaped and tokened exactly as the etcd storage would answer it. */
  list<T extends StoredObject>(prefix: string, start: string, revision: number, opts: ListOptions): ListPage<T> {
    const limit = opts.limit !== undefined && opts.limit > 0 ? Math.floor(opts.limit) : 0;
    const predicate = opts.predicate;
    const metadataOnly = opts.predicateReadsMetadataOnly === true;
    const end = prefixEnd(prefix);
    const hi = this.lowerBound(end);
    const picked: Entry[] = [];
    let last = -1; // index of the last entry examined
    for (let i = this.lowerBound(start < prefix ? prefix : start); i < hi; i++) {
      if (limit > 0 && picked.length >= limit) break;
      const e = this.sorted[i];
      if (e === undefined) break;
      last = i;
      if (predicate === undefined || predicate(metadataOnly ? (e as unknown as StoredObject) : (JSON.parse(e.json) as StoredObject))) picked.push(e);
    }
    const lastEntry = this.sorted[last];
    const more =
      limit > 0 && picked.length >= limit && last + 1 < hi && lastEntry !== undefined
        ? {
            continue: encodeContinue(BigInt(revision), `${lastEntry.key.slice(prefix.length)}\u0000`),
            ...(predicate === undefined ? { remainingItemCount: hi - (last + 1) } : {}),
          }
        : {};
    let decoded: T[] | undefined;
    return {
      // Decoded on first access: a JSON response needs only `serialized`.
      get items(): T[] {
        decoded ??= picked.map((e) => JSON.parse(e.json) as T);
        return decoded;
      },
      resourceVersion: String(revision),
      ...more,
      serialized: picked,
      ...(opts.withKeys === true ? { keys: picked.map((e) => e.key) } : {}),
    };
  }

  // ---- watches -------------------------------------------------------------------------------

  async *watch<T extends StoredObject>(prefix: string, from: number, signal: AbortSignal, progressNotify: boolean): AsyncGenerator<WatchEvent<T>, void, undefined> {
    const generation = this.generation;
    const tooOld = (rv: number): WatchEvent<T> => ({ type: 'ERROR', error: { kind: 'Compacted', resourceVersion: String(rv), source: 'watch' } });
    if (from < this.floor) {
      yield tooOld(from);
      return;
    }
    let seq = this.firstSeqAfter(from);
    let sent = from; // the newest revision this watcher has been told about
    let progressAt = 0;
    for (;;) {
      if (signal.aborted || this.stopped) return;
      if (this.generation !== generation || seq < this.bufStartSeq + this.head) {
        // Relisted, or this watcher fell behind the ring's eviction.
        yield tooOld(sent);
        return;
      }
      if (seq < this.bufStartSeq + this.buf.length) {
        const ce = this.buf[seq - this.bufStartSeq];
        seq++;
        if (ce !== undefined && ce.revision > from && ce.key.startsWith(prefix)) {
          if (ce.revision > sent) sent = ce.revision;
          yield ce.event as WatchEvent<T>;
        }
        continue;
      }
      if (progressNotify && this.rv > sent) {
        const now = this.settings.now();
        if (now - progressAt >= this.settings.progressIntervalMs) {
          sent = this.rv;
          progressAt = now;
          yield { type: 'PROGRESS', resourceVersion: String(sent) };
          continue;
        }
      }
      await this.nextChange(signal);
    }
  }

  private nextChange(signal: AbortSignal): Promise<void> {
    const changed = this.changed.promise;
    return new Promise((resolve) => {
      const onAbort = (): void => resolve();
      signal.addEventListener('abort', onAbort, { once: true });
      void changed.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
}

/**
 * The batched linearizable revision read: a caller shares a read that started after it called, so
 * concurrent consistent reads cost one etcd round trip together.
 */
function revisionReader(inner: Storage): () => Promise<Result<string, StorageError>> {
  let inflight: Promise<Result<string, StorageError>> | undefined;
  let queued: Promise<Result<string, StorageError>> | undefined;
  const start = (): Promise<Result<string, StorageError>> => {
    const p = inner.currentRevision().catch((e: unknown): Result<string, StorageError> => err({ kind: 'Unavailable', message: e instanceof Error ? e.message : String(e) }));
    inflight = p;
    void p.then(() => {
      if (inflight === p) inflight = undefined;
    });
    return p;
  };
  return () => {
    if (queued !== undefined) return queued;
    if (inflight === undefined) return start();
    const q = inflight.then(() => {
      queued = undefined;
      return start();
    });
    queued = q;
    return q;
  };
}

export function createCacher(inner: Storage, opts: CacherOptions): CachedStorage {
  const stop = new AbortController();
  const defaultSize = opts.defaultSize ?? defaults.size;
  const waitTimeoutMs = opts.waitTimeoutMs ?? defaults.waitTimeoutMs;
  const caches: ResourceCache[] = [];
  for (const r of opts.resources) {
    if (!r.prefix.endsWith('/')) throw new Error(`watch cache prefix must end in '/': ${r.prefix}`);
    const size = r.size ?? defaultSize;
    if (size <= 0) continue;
    caches.push(
      new ResourceCache(
        r.prefix,
        inner,
        {
          size,
          maxSize: size * (opts.maxSizeFactor ?? defaults.maxSizeFactor),
          freshEventsMs: opts.freshEventsMs ?? defaults.freshEventsMs,
          progressIntervalMs: opts.progressIntervalMs ?? defaults.progressIntervalMs,
          relistBackoffMs: opts.relistBackoffMs ?? defaults.relistBackoffMs,
          listPageSize: opts.listPageSize ?? defaults.listPageSize,
          now: opts.now ?? Date.now,
        },
        stop.signal,
      ),
    );
  }
  const cacheFor = (keyOrPrefix: string): ResourceCache | undefined => caches.find((c) => keyOrPrefix.startsWith(c.prefix));
  const freshRevision = revisionReader(inner);

  /** Where a read of the latest state with this freshness is answered. */
  const route = async (cache: ResourceCache, minRevision: string | undefined): Promise<Route> => {
    if (!cache.ready) return { kind: 'etcd' };
    if (minRevision === '0') return { kind: 'cache' };
    if (minRevision !== undefined && minRevision !== '') {
      const wanted = parseRevision('minRevision', minRevision);
      if (cache.rv >= wanted) return { kind: 'cache' };
      // Behind: a revision etcd has not reached either is answered at once, as etcd would.
      const current = await freshRevision();
      if (!current.ok) return { kind: 'error', error: current.error };
      if (wanted > Number(current.value)) return { kind: 'error', error: { kind: 'TooLargeResourceVersion', requested: minRevision, current: current.value } };
      if (await cache.waitFor(wanted, waitTimeoutMs)) return { kind: 'cache' };
      if (!cache.ready) return { kind: 'etcd' };
      return { kind: 'error', error: { kind: 'TooLargeResourceVersion', requested: minRevision, current: String(cache.rv) } };
    }
    // Consistent: etcd's revision now, then wait for the cache to have seen it; etcd answers after a timeout.
    const current = await freshRevision();
    if (!current.ok) return { kind: 'error', error: current.error };
    return (await cache.waitFor(Number(current.value), waitTimeoutMs)) && cache.ready ? { kind: 'cache' } : { kind: 'etcd' };
  };

  async function* watchCached<T extends StoredObject>(cache: ResourceCache, prefix: string, fromRevision: string, signal: AbortSignal, wopts: WatchOptions | undefined): AsyncGenerator<WatchEvent<T>, void, undefined> {
    if (signal.aborted) return;
    let from = fromRevision;
    if (from === '0' || from === '') {
      const current = await inner.currentRevision();
      if (!current.ok) {
        yield { type: 'ERROR', error: current.error };
        return;
      }
      from = current.value;
    }
    if (!cache.ready) {
      // Not listed yet (or relisting): etcd serves the watch itself.
      yield* inner.watch<T>(prefix, from, signal, wopts);
      return;
    }
    yield* cache.watch<T>(prefix, Number(from), signal, wopts?.progressNotify === true);
  }

  return {
    create: (key, obj) => inner.create(key, obj),
    guaranteedUpdate: (key, tryUpdate) => inner.guaranteedUpdate(key, tryUpdate),
    delete: (key, preconditions, check) => inner.delete(key, preconditions, check),
    currentRevision: () => inner.currentRevision(),

    async get<T extends StoredObject>(key: string, ropts?: ReadOptions): Promise<Result<T, StorageError>> {
      const cache = cacheFor(key);
      if (cache === undefined) return inner.get<T>(key, ropts);
      const r = await route(cache, ropts?.minRevision);
      if (r.kind === 'error') return err(r.error);
      if (r.kind === 'etcd' || !cache.ready) return inner.get<T>(key, ropts);
      return cache.get<T>(key);
    },

    async list<T extends StoredObject>(prefix: string, lopts: ListOptions): Promise<Result<ListPage<T>, StorageError>> {
      const cache = cacheFor(prefix);
      if (cache === undefined) return inner.list<T>(prefix, lopts);
      if (!prefix.endsWith('/')) throw new Error(`list prefix must end in '/': ${prefix}`);
      const fromToken = lopts.continue !== undefined && lopts.continue !== '';
      const exact = lopts.revision !== undefined && lopts.revision !== '' && lopts.revision !== '0';
      if (fromToken || exact) {
        // Both together is an error etcd's storage words.
        if (fromToken && exact) return inner.list<T>(prefix, lopts);
        let revision: number;
        let start = prefix;
        if (fromToken) {
          const token = decodeContinue(lopts.continue ?? '');
          if (!token.ok) return token;
          revision = Number(token.value.revision);
          start = prefix + token.value.start;
        } else {
          revision = parseRevision('list revision', lopts.revision ?? '');
        }
        return cache.canServeAt(prefix, start, revision) ? ok(cache.list<T>(prefix, start, revision, lopts)) : inner.list<T>(prefix, lopts);
      }
      const r = await route(cache, lopts.minRevision);
      if (r.kind === 'error') return err(r.error);
      if (r.kind === 'etcd' || !cache.ready) return inner.list<T>(prefix, lopts);
      return ok(cache.list<T>(prefix, prefix, cache.rv, lopts));
    },

    watch<T extends StoredObject>(prefix: string, fromRevision: string, signal: AbortSignal, wopts?: WatchOptions): AsyncIterable<WatchEvent<T>> {
      const cache = cacheFor(prefix);
      if (cache === undefined) return inner.watch<T>(prefix, fromRevision, signal, wopts);
      if (!prefix.endsWith('/')) throw new Error(`watch prefix must end in '/': ${prefix}`);
      if (fromRevision !== '' && fromRevision !== '0') parseRevision('watch revision', fromRevision);
      return watchCached<T>(cache, prefix, fromRevision, signal, wopts);
    },

    async compact(revision: string): Promise<Result<void, StorageError>> {
      const res = await inner.compact(revision);
      if (res.ok) for (const c of caches) c.noteCompaction(Number(revision));
      return res;
    },

    async close(): Promise<void> {
      stop.abort();
      for (const c of caches) c.stop();
      await Promise.allSettled(caches.map((c) => c.loop));
      await inner.close();
    },

    ready: async (signal?: AbortSignal): Promise<void> => {
      const all = Promise.all(caches.map((c) => c.whenReady())).then(() => undefined);
      if (signal === undefined) return all;
      await Promise.race([all, new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))]);
    },
    isReady: () => caches.every((c) => c.ready),
    stats: () => caches.map((c) => c.stats()),
  };
}

export function isCachedStorage(s: Storage): s is CachedStorage {
  return 'ready' in s && typeof s.ready === 'function' && 'stats' in s && typeof s.stats === 'function';
}
