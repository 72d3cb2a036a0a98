/**
 * Storage on etcd v3 through the raw KV and Watch gRPC clients of the `etcd3` package. Its high-level
 * Watcher is not used: it hides compact_revision and can lose or repeat events when it resumes, so
 * the watch streams, their resumption and deduplication are managed here.
 */
import { rootCertificates } from 'node:tls';
import { Etcd3 } from 'etcd3';
import type {
  ICompare,
  IDuplexStream,
  IEvent,
  IKeyValue,
  IOptions,
  IRangeRequest,
  IRangeResponse,
  IRequestOp,
  IWatchCreateRequest,
  IWatchRequest,
  IWatchResponse,
} from 'etcd3';
import { decodeContinue, encodeContinue } from './continue.js';
import { err, ok } from './interface.js';
import type {
  ListOptions,
  ListPage,
  Preconditions,
  Result,
  Storage,
  StorageError,
  StoredObject,
  UpdateDecision,
  ReadOptions,
  UpdateResult,
  WatchEvent,
  WatchOptions,
} from './interface.js';
import { sleep } from './sleep.js';

export interface EtcdStorageOptions {
  readonly endpoints: readonly string[];
  /** Client TLS; without `ca` the system roots verify the server. */
  readonly tls?: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  /** Deadline of each unary call; default 15 s. */
  readonly requestTimeoutMs?: number;
  /** Keys per etcd range read when a list needs several reads; default 1000. */
  readonly rangePageSize?: number;
  /** Watch reconnect delay, doubling from `initial` up to `max`; default 100 ms to 2 s. */
  readonly watchBackoffMs?: { readonly initial: number; readonly max: number };
}

// Watch responses buffered for a slow consumer before the gRPC stream is paused.
const highWater = 1024;
const lowWater = 256;

/** The etcd failures storage tells apart; everything else is a connection problem to the caller. */
type EtcdFailure =
  | { readonly kind: 'compacted' }
  | { readonly kind: 'future' }
  | { readonly kind: 'unavailable'; readonly message: string };

type FaultPolicy = ReturnType<NonNullable<NonNullable<IOptions['faultHandling']>['host']>>;

// etcd3's default policies retry writes (unsafe after an ambiguous failure) and open a 5 s circuit
// breaker after three failures, which would delay recovery after an etcd restart. Failures go to the
// caller as Unavailable instead, and watches reconnect with their own backoff.
const passThroughPolicy: FaultPolicy = {
  // Type-only member of cockatiel's IPolicy; never read.
  _altReturn: undefined as never,
  onSuccess: () => ({ dispose: () => undefined }),
  onFailure: () => ({ dispose: () => undefined }),
  execute: async (fn) => fn({ signal: new AbortController().signal }),
};

/**
 * With several endpoints, etcd3 sends each call to a member picked at random: one member down would
 * fail a share of all calls. A call refused before it reached its member (grpc-js: "No connection
 * established", connection refused) is safe to send again, writes included, so it goes to the next
 * member; any other failure may have been applied and still goes to the caller.
 */
const nextMemberPolicy = (members: number): FaultPolicy => ({
  ...passThroughPolicy,
  execute: async (fn) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn({ signal: new AbortController().signal });
      } catch (e) {
        const neverSent = e instanceof Error && /No connection established|ECONNREFUSED/.test(e.message);
        if (attempt >= members || !neverSent) throw e;
      }
    }
  },
});

export function createEtcdStorage(opts: EtcdStorageOptions): Storage {
  const client = new Etcd3(clientOptions(opts));
  const pageSize = Math.max(1, opts.rangePageSize ?? 1000);
  const backoff = opts.watchBackoffMs ?? { initial: 100, max: 2000 };
  // Aborted by close() so that every open watch ends and releases its stream.
  const closing = new AbortController();

  const range = (req: IRangeRequest): Promise<Result<IRangeResponse, EtcdFailure>> =>
    call(() => client.kv.range(req));

  const readKey = async (key: string): Promise<Result<IKeyValue | undefined, StorageError>> => {
    const res = await range({ key: bytes(key) });
    return res.ok ? ok(res.value.kvs[0]) : err(unavailable(res.error));
  };

  /** One CAS round: `op` runs if the key's mod_revision is still `modRevision`, else the key is re-read. */
  const compareAndSwap = async (
    key: string,
    modRevision: string,
    op: IRequestOp,
  ): Promise<
    Result<
      { readonly revision: string } | { readonly current: IKeyValue | undefined },
      StorageError
    >
  > => {
    const res = await call(() =>
      client.kv.txn({
        compare: [modEquals(key, modRevision)],
        success: [op],
        failure: [{ request_range: { key: bytes(key) } }],
      }),
    );
    if (!res.ok) return err(unavailable(res.error));
    if (res.value.succeeded) return ok({ revision: res.value.header.revision });
    return ok({ current: res.value.responses[0]?.response_range.kvs[0] });
  };

  const currentRevision = async (): Promise<Result<string, StorageError>> => {
    // Any key will do: the header carries the store's revision; count_only keeps the reply empty.
    const res = await range({ key: Buffer.from([0]), count_only: true });
    return res.ok ? ok(res.value.header.revision) : err(unavailable(res.error));
  };

  const tooLarge = async (requested: string): Promise<Result<never, StorageError>> => {
    const current = await currentRevision();
    return current.ok
      ? err({ kind: 'TooLargeResourceVersion', requested, current: current.value })
      : current;
  };

  return {
    async create<T extends StoredObject>(key: string, obj: T): Promise<Result<T, StorageError>> {
      const value = encodeValue(obj);
      const res = await call(() =>
        client.kv.txn({
          compare: [modEquals(key, '0')],
          success: [{ request_put: { key: bytes(key), value: bytes(value) } }],
          failure: [],
        }),
      );
      if (!res.ok) return err(unavailable(res.error));
      if (!res.value.succeeded) return err({ kind: 'KeyExists', key });
      return ok(parseValue<T>(value, key, res.value.header.revision));
    },

    async get<T extends StoredObject>(key: string, opts?: ReadOptions): Promise<Result<T, StorageError>> {
      const res = await range({ key: bytes(key) });
      if (!res.ok) return err(unavailable(res.error));
      // A latest read satisfies every not-older-than bound etcd has reached (the header's revision).
      const min = notOlderThan(opts?.minRevision);
      const current = BigInt(res.value.header.revision);
      if (min !== undefined && min > current) {
        return err({ kind: 'TooLargeResourceVersion', requested: min.toString(), current: current.toString() });
      }
      const kv = res.value.kvs[0];
      return kv === undefined ? err({ kind: 'KeyNotFound', key }) : ok(decodeKv<T>(kv));
    },

    async list<T extends StoredObject>(
      prefix: string,
      opts: ListOptions,
    ): Promise<Result<ListPage<T>, StorageError>> {
      if (!prefix.endsWith('/')) throw new Error(`list prefix must end in '/': ${prefix}`);
      const limit = opts.limit !== undefined && opts.limit > 0 ? Math.floor(opts.limit) : 0;
      const predicate = opts.predicate;
      let key = prefix;
      let revision = 0n; // 0 = latest, pinned by the first read
      const fromToken = opts.continue !== undefined && opts.continue !== '';
      if (fromToken) {
        if (opts.revision !== undefined && opts.revision !== '' && opts.revision !== '0') {
          return err({
            kind: 'InvalidContinue',
            message: 'specifying resource version is not allowed when using continue',
          });
        }
        const token = decodeContinue(opts.continue ?? '');
        if (!token.ok) return token;
        key = prefix + token.value.start;
        revision = token.value.revision;
      } else if (opts.revision !== undefined && opts.revision !== '' && opts.revision !== '0') {
        const exact = parseRevision(opts.revision);
        if (exact === undefined) {
          throw new Error(`list revision is not a decimal revision: ${opts.revision}`);
        }
        revision = exact;
      }

      const min = fromToken || revision !== 0n ? undefined : notOlderThan(opts.minRevision);
      const end = prefixEnd(prefix);
      const items: T[] = [];
      const keys: string[] | undefined = opts.withKeys === true ? [] : undefined;
      let lastKey: Buffer | undefined;
      let hasMore = false;
      let remaining = 0;
      // Without a predicate read exactly what the page needs; with one start at the page size and
      // double (like kube-apiserver) while too few items match.
      let readLimit = limit > 0 ? Math.min(limit, pageSize) : pageSize;
      for (;;) {
        const res = await range({
          key: bytes(key),
          range_end: end,
          limit: readLimit,
          revision: revision.toString(),
        });
        if (!res.ok) {
          switch (res.error.kind) {
            case 'compacted':
              return err({
                kind: 'Compacted',
                resourceVersion: revision.toString(),
                source: fromToken ? 'continue' : 'list',
              });
            case 'future':
              return fromToken
                ? err({
                    kind: 'InvalidContinue',
                    message: 'continue token names a revision etcd has not reached',
                  })
                : tooLarge(revision.toString());
            case 'unavailable':
              return err(unavailable(res.error));
          }
        }
        const page = res.value;
        if (revision === 0n) {
          revision = BigInt(page.header.revision);
          if (min !== undefined && min > revision) {
            return err({ kind: 'TooLargeResourceVersion', requested: min.toString(), current: revision.toString() });
          }
        }
        hasMore = page.more;
        let consumed = 0;
        for (const kv of page.kvs) {
          if (limit > 0 && items.length >= limit) {
            hasMore = true;
            break;
          }
          consumed++;
          lastKey = kv.key;
          const obj = decodeKv<T>(kv);
          if (predicate === undefined || predicate(obj)) {
            items.push(obj);
            keys?.push(kv.key.toString('utf8'));
          }
        }
        remaining = Number(page.count) - consumed;
        if (!hasMore || lastKey === undefined) break;
        if (limit > 0 && items.length >= limit) break;
        key = `${lastKey.toString('utf8')}\u0000`;
        if (limit > 0) {
          readLimit =
            predicate === undefined
              ? Math.min(limit - items.length, pageSize)
              : Math.min(readLimit * 2, pageSize);
        }
      }

      const resourceVersion = revision.toString();
      const withKeys = keys === undefined ? {} : { keys };
      if (!hasMore || lastKey === undefined) return ok({ items, resourceVersion, ...withKeys });
      const next = encodeContinue(
        revision,
        `${lastKey.toString('utf8').slice(prefix.length)}\u0000`,
      );
      return ok(
        predicate === undefined
          ? { items, resourceVersion, continue: next, remainingItemCount: remaining, ...withKeys }
          : { items, resourceVersion, continue: next, ...withKeys },
      );
    },

    async guaranteedUpdate<T extends StoredObject, E>(
      key: string,
      tryUpdate: (current: T) => UpdateDecision<T, E> | Promise<UpdateDecision<T, E>>,
    ): Promise<Result<UpdateResult<T>, StorageError | E>> {
      const first = await readKey(key);
      if (!first.ok) return first;
      let current = first.value;
      for (;;) {
        if (current === undefined) return err({ kind: 'KeyNotFound', key });
        const decision = await tryUpdate(decodeKv<T>(current));
        let op: IRequestOp;
        let written: string | undefined; // the new value; undefined for a delete
        switch (decision.kind) {
          case 'abort':
            return err(decision.error);
          case 'unchanged':
            return ok({ object: decodeKv<T>(current), deleted: false });
          case 'write':
            written = encodeValue(decision.object);
            // Like kube-apiserver: identical bytes make no write, so no new revision and no event.
            if (written === current.value.toString('utf8')) {
              return ok({ object: decodeKv<T>(current), deleted: false });
            }
            op = { request_put: { key: bytes(key), value: bytes(written) } };
            break;
          case 'delete':
            op = { request_delete_range: { key: bytes(key) } };
            break;
        }
        const round = await compareAndSwap(key, current.mod_revision, op);
        if (!round.ok) return round;
        if ('revision' in round.value) {
          const revision = round.value.revision;
          return ok(
            written === undefined
              ? { object: decodeKv<T>(current, revision), deleted: true }
              : { object: parseValue<T>(written, key, revision), deleted: false },
          );
        }
        current = round.value.current;
      }
    },

    async delete<T extends StoredObject, E = never>(
      key: string,
      preconditions?: Preconditions,
      check?: (current: T) => E | undefined,
    ): Promise<Result<T, StorageError | E>> {
      const first = await readKey(key);
      if (!first.ok) return first;
      let current = first.value;
      for (;;) {
        if (current === undefined) return err({ kind: 'KeyNotFound', key });
        const obj = decodeKv<T>(current);
        const uid = preconditions?.uid;
        if (uid !== undefined && obj.metadata.uid !== uid) {
          return err({
            kind: 'PreconditionFailed',
            key,
            field: 'uid',
            expected: uid,
            actual: obj.metadata.uid ?? '',
          });
        }
        const rv = preconditions?.resourceVersion;
        if (rv !== undefined && current.mod_revision !== rv) {
          return err({
            kind: 'PreconditionFailed',
            key,
            field: 'resourceVersion',
            expected: rv,
            actual: current.mod_revision,
          });
        }
        const problem = check?.(obj);
        if (problem !== undefined) return err(problem);
        const round = await compareAndSwap(key, current.mod_revision, {
          request_delete_range: { key: bytes(key) },
        });
        if (!round.ok) return round;
        if ('revision' in round.value) return ok(decodeKv<T>(current, round.value.revision));
        current = round.value.current;
      }
    },

    watch<T extends StoredObject>(
      prefix: string,
      fromRevision: string,
      signal: AbortSignal,
      opts?: WatchOptions,
    ): AsyncIterable<WatchEvent<T>> {
      if (!prefix.endsWith('/')) throw new Error(`watch prefix must end in '/': ${prefix}`);
      let start: Promise<Result<bigint, StorageError>>;
      if (fromRevision === '0' || fromRevision === '') {
        // Resolved now rather than on the first next(), so "from now" means from this call.
        start = currentRevision().then((r) => (r.ok ? ok(BigInt(r.value)) : r));
      } else {
        const parsed = parseRevision(fromRevision);
        if (parsed === undefined)
          throw new Error(`watch revision is not a decimal revision: ${fromRevision}`);
        start = Promise.resolve(ok(parsed));
      }
      return watchEvents<T>({
        client,
        prefix,
        start,
        signals: [signal, closing.signal],
        progressNotify: opts?.progressNotify === true,
        ...(opts?.progressRequests === undefined ? {} : { progressRequests: opts.progressRequests }),
        withKeys: opts?.withKeys === true,
        backoff,
      });
    },

    currentRevision,

    async compact(revision: string): Promise<Result<void, StorageError>> {
      const parsed = parseRevision(revision);
      if (parsed === undefined)
        throw new Error(`compact revision is not a decimal revision: ${revision}`);
      // physical: the call returns once etcd has really dropped the history, so reads and watches
      // from older revisions fail from then on.
      const res = await call(() =>
        client.kv.compact({ revision: parsed.toString(), physical: true }),
      );
      if (res.ok) return ok(undefined);
      switch (res.error.kind) {
        case 'compacted': // already compacted at or past this revision
          return ok(undefined);
        case 'future':
          return tooLarge(revision);
        case 'unavailable':
          return err(unavailable(res.error));
      }
    },

    async close(): Promise<void> {
      closing.abort();
      client.close();
    },
  };
}

function clientOptions(opts: EtcdStorageOptions): IOptions {
  const timeout = opts.requestTimeoutMs ?? 15_000;
  const options: IOptions = {
    hosts: [...opts.endpoints],
    grpcOptions: {
      // The default 4 MiB would fail list reads of a few thousand objects.
      'grpc.max_receive_message_length': -1,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2_000,
    },
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeout }),
    faultHandling: { host: () => passThroughPolicy, global: opts.endpoints.length > 1 ? nextMemberPolicy(opts.endpoints.length) : passThroughPolicy },
  };
  const tls = opts.tls;
  if (
    tls !== undefined &&
    (tls.ca !== undefined || tls.cert !== undefined || tls.key !== undefined)
  ) {
    const credentials: NonNullable<IOptions['credentials']> = {
      rootCertificate: tls.ca ?? Buffer.from(rootCertificates.join('\n')),
    };
    if (tls.key !== undefined) credentials.privateKey = tls.key;
    if (tls.cert !== undefined) credentials.certChain = tls.cert;
    options.credentials = credentials;
  }
  return options;
}

// ---- values and keys -------------------------------------------------------------------------

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');

/** The first key after every key that starts with prefix. */
function prefixEnd(prefix: string): Buffer {
  const end = bytes(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    const b = end[i];
    if (b !== undefined && b < 0xff) {
      end[i] = b + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // prefix of only 0xff bytes: to the end of the keyspace
}

const modEquals = (key: string, modRevision: string): ICompare => ({
  key: bytes(key),
  target: 'Mod',
  result: 'Equal',
  mod_revision: modRevision,
});

/** JSON without resourceVersion (it is the key's mod_revision) and selfLink (derived per request). */
function encodeValue(obj: StoredObject): string {
  const metadata: StoredObject['metadata'] = { ...obj.metadata };
  delete metadata.resourceVersion;
  delete metadata['selfLink'];
  return JSON.stringify({ ...obj, metadata });
}

function isStoredObject(value: unknown): value is StoredObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    'metadata' in value &&
    typeof value.metadata === 'object' &&
    value.metadata !== null &&
    !Array.isArray(value.metadata)
  );
}

function parseValue<T extends StoredObject>(text: string, key: string, resourceVersion: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`etcd value of ${key} is not JSON: ${String(e)}`);
  }
  // Storage wrote every value itself, so a value without metadata is corruption, not a user error.
  if (!isStoredObject(value))
    throw new Error(`etcd value of ${key} is not an object with metadata`);
  value.metadata.resourceVersion = resourceVersion;
  // The caller names the type of what it stored under this key; values are not validated again.
  return value as T;
}

const decodeKv = <T extends StoredObject>(
  kv: IKeyValue,
  resourceVersion: string = kv.mod_revision,
): T => parseValue<T>(kv.value.toString('utf8'), kv.key.toString('utf8'), resourceVersion);

function parseRevision(s: string): bigint | undefined {
  return /^[0-9]{1,19}$/.test(s) ? BigInt(s) : undefined;
}

/** The bound of a ReadOptions.minRevision; undefined for a consistent or an any-state read. */
function notOlderThan(minRevision: string | undefined): bigint | undefined {
  if (minRevision === undefined || minRevision === '' || minRevision === '0') return undefined;
  const parsed = parseRevision(minRevision);
  if (parsed === undefined) throw new Error(`minRevision is not a decimal revision: ${minRevision}`);
  return parsed;
}

// ---- errors ----------------------------------------------------------------------------------

async function call<T>(fn: () => Promise<T>): Promise<Result<T, EtcdFailure>> {
  try {
    return ok(await fn());
  } catch (e) {
    return err(classify(e));
  }
}

function classify(e: unknown): EtcdFailure {
  const message = e instanceof Error ? e.message : String(e);
  if (message.includes('required revision has been compacted')) return { kind: 'compacted' };
  if (message.includes('required revision is a future revision')) return { kind: 'future' };
  return { kind: 'unavailable', message };
}

function unavailable(failure: EtcdFailure): StorageError {
  switch (failure.kind) {
    case 'unavailable':
      return { kind: 'Unavailable', message: `etcd: ${failure.message}` };
    case 'compacted':
      return { kind: 'Unavailable', message: 'etcd: unexpected compaction error' };
    case 'future':
      return { kind: 'Unavailable', message: 'etcd: unexpected future revision error' };
  }
}

// ---- watch -----------------------------------------------------------------------------------

interface WatchContext {
  readonly client: Etcd3;
  readonly prefix: string;
  /** The revision events must come strictly after. */
  readonly start: Promise<Result<bigint, StorageError>>;
  /** The caller's signal and the storage's close signal: either ends the watch. */
  readonly signals: readonly AbortSignal[];
  readonly progressNotify: boolean;
  readonly progressRequests?: EventTarget;
  readonly withKeys: boolean;
  readonly backoff: { readonly initial: number; readonly max: number };
}

async function* watchEvents<T extends StoredObject>(
  ctx: WatchContext,
): AsyncGenerator<WatchEvent<T>, void, undefined> {
  // Linked by hand rather than with AbortSignal.any, and only while the generator runs, so that
  // nothing stays attached to the long-lived close signal after a watch ends.
  const local = new AbortController();
  const abort = (): void => local.abort();
  for (const s of ctx.signals) {
    if (s.aborted) local.abort();
    else s.addEventListener('abort', abort, { once: true });
  }
  try {
    yield* resumingWatch<T>(ctx, local.signal);
  } finally {
    for (const s of ctx.signals) s.removeEventListener('abort', abort);
  }
}

/**
 * One etcd watch at a time, re-created from the last revision delivered + 1 whenever its stream
 * breaks; events at or below that revision (replayed by etcd after a resume) are dropped. etcd sends
 * all events of one revision in one response (fragment is off), so a revision is never half delivered.
 */
async function* resumingWatch<T extends StoredObject>(
  ctx: WatchContext,
  signal: AbortSignal,
): AsyncGenerator<WatchEvent<T>, void, undefined> {
  const start = await untilAborted(ctx.start, signal);
  if (start === undefined || signal.aborted) return;
  if (!start.ok) {
    yield { type: 'ERROR', error: start.error };
    return;
  }
  let last = start.value;
  let delay = ctx.backoff.initial;
  let current: WatchStream | undefined;
  const onProgressRequest = (): void => current?.requestProgress();
  ctx.progressRequests?.addEventListener('request', onProgressRequest);
  try {
    yield* watchLoop();
  } finally {
    ctx.progressRequests?.removeEventListener('request', onProgressRequest);
  }

  async function* watchLoop(): AsyncGenerator<WatchEvent<T>, void, undefined> {
    while (!signal.aborted) {
      const stream = openWatchStream(
        ctx.client,
        {
          key: bytes(ctx.prefix),
          range_end: prefixEnd(ctx.prefix),
          start_revision: (last + 1n).toString(),
          prev_kv: true,
          progress_notify: ctx.progressNotify,
        },
        signal,
      );
      current = stream;
      try {
        for (;;) {
          const item = await stream.next();
          if (item.kind === 'closed') return;
          if (item.kind === 'broken') break;
          const res = item.response;
          if (BigInt(res.compact_revision || '0') > 0n) {
            yield {
              type: 'ERROR',
              error: { kind: 'Compacted', resourceVersion: last.toString(), source: 'watch' },
            };
            return;
          }
          if (res.canceled) {
            yield {
              type: 'ERROR',
              error: {
                kind: 'Unavailable',
                message: `etcd canceled the watch: ${res.cancel_reason}`,
              },
            };
            return;
          }
          if (res.created) {
            delay = ctx.backoff.initial;
            continue;
          }
          if (res.events.length === 0) {
            // A progress notification: etcd says every event up to header.revision was sent. It does
            // not move `last`: etcd before 3.4.24/3.5.8 could send one ahead of pending events, and
            // treating those as replays would lose them.
            const progress = BigInt(res.header.revision);
            if (ctx.progressNotify && progress >= last) {
              yield { type: 'PROGRESS', resourceVersion: progress.toString() };
            }
            continue;
          }
          let newest = last;
          for (const ev of res.events) {
            const revision = BigInt(ev.kv.mod_revision);
            if (revision <= last) continue;
            if (revision > newest) newest = revision;
            const event = toWatchEvent<T>(ev, ctx.withKeys);
            yield event;
            if (event.type === 'ERROR' || signal.aborted) return;
          }
          last = newest;
        }
      } finally {
        current = undefined;
        stream.close();
      }
      if (!(await sleep(delay * (0.5 + Math.random() / 2), signal))) return;
      delay = Math.min(delay * 2, ctx.backoff.max);
    }
  }
}

function toWatchEvent<T extends StoredObject>(ev: IEvent, withKey: boolean): WatchEvent<T> {
  const event = eventOf<T>(ev);
  return withKey && event.type !== 'ERROR' && event.type !== 'PROGRESS'
    ? { ...event, key: ev.kv.key.toString('utf8') }
    : event;
}

function eventOf<T extends StoredObject>(ev: IEvent): WatchEvent<T> {
  if (ev.type === 'Delete') {
    const prev: IKeyValue | null | undefined = ev.prev_kv;
    if (prev === null || prev === undefined) {
      const key = ev.kv.key.toString('utf8');
      return {
        type: 'ERROR',
        error: {
          kind: 'Unavailable',
          message: `etcd sent a DELETE of ${key} without its previous value`,
        },
      };
    }
    return { type: 'DELETED', object: decodeKv<T>(prev, ev.kv.mod_revision) };
  }
  if (ev.kv.create_revision === ev.kv.mod_revision) return { type: 'ADDED', object: decodeKv<T>(ev.kv) };
  // The previous state lets selector-filtered watches turn a change into ADDED or DELETED.
  const prev: IKeyValue | null | undefined = ev.prev_kv;
  return {
    type: 'MODIFIED',
    object: decodeKv<T>(ev.kv),
    ...(prev === null || prev === undefined ? {} : { prevObject: decodeKv<T>(prev) }),
  };
}

type StreamItem =
  | { readonly kind: 'response'; readonly response: IWatchResponse }
  /** The stream failed or ended; responses queued before it are still valid. */
  | { readonly kind: 'broken'; readonly reason: string }
  /** The watch's signal aborted. */
  | { readonly kind: 'closed' };

interface WatchStream {
  next(): Promise<StreamItem>;
  /** Asks etcd for a progress notification (dropped until the watch is created). */
  requestProgress(): void;
  close(): void;
}

interface Pausable {
  pause(): unknown;
  resume(): unknown;
}

function isPausable(s: object): s is Pausable {
  return (
    'pause' in s && typeof s.pause === 'function' && 'resume' in s && typeof s.resume === 'function'
  );
}

/** A gRPC watch stream carrying one watch, as a pull queue that ends with `broken` or `closed`. */
function openWatchStream(
  client: Etcd3,
  request: IWatchCreateRequest,
  signal: AbortSignal,
): WatchStream {
  const queue: StreamItem[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let paused = false;
  let created = false;
  let stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined;

  const stop = (): void => {
    ended = true;
    signal.removeEventListener('abort', onAbort);
    stream?.cancel();
  };
  const push = (item: StreamItem): void => {
    if (ended) return;
    if (item.kind !== 'response') stop();
    queue.push(item);
    if (stream !== undefined && !paused && queue.length > highWater && isPausable(stream)) {
      paused = true;
      stream.pause();
    }
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onAbort = (): void => push({ kind: 'closed' });
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();

  void client.watchClient.watch().then(
    (s) => {
      if (ended) {
        s.cancel();
        return;
      }
      stream = s;
      s.on('data', (response) => {
        if (response.created) created = true;
        push({ kind: 'response', response });
      });
      s.on('error', (e) => push({ kind: 'broken', reason: e.message }));
      s.on('end', () => push({ kind: 'broken', reason: 'etcd ended the watch stream' }));
      s.write({ create_request: request });
    },
    (e: unknown) => push({ kind: 'broken', reason: e instanceof Error ? e.message : String(e) }),
  );

  return {
    async next(): Promise<StreamItem> {
      for (;;) {
        const item = queue.shift();
        if (item !== undefined) {
          if (paused && queue.length < lowWater && stream !== undefined && isPausable(stream)) {
            paused = false;
            stream.resume();
          }
          return item;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
    requestProgress(): void {
      // Before `created` etcd could answer for a stream with no watcher yet: a false progress.
      if (!ended && created) stream?.write({ progress_request: {} });
    },
    close(): void {
      if (!ended) stop();
    },
  };
}

/** p's value, or undefined as soon as signal aborts. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

