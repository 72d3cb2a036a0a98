/**
 * The load generator, run as a separate process (forked by main.ts) so that its CPU is not the
 * measured server's: fixed request counts at a fixed concurrency, the first `warmup` requests
 * discarded, latencies summarised here and sent back over IPC. HTTP goes through an undici Pool
 * (keep-alive, one connection per concurrent request); the etcd floor through the etcd3 raw KV client.
 *
 * Watch fan-out: W watchers opened on one collection, then one writer creating objects one by one;
 * an event's delivery latency is (time a watcher reads it) - (time its create was sent), all in this
 * process's clock.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Etcd3, type IKeyValue, type Watcher } from 'etcd3';
import { Pool } from 'undici';

// ---------------------------------------------------------------------------------------------
// Protocol

export type Conn =
  | {
      readonly kind: 'http';
      readonly origin: string;
      readonly ca?: string;
      readonly cert?: string;
      readonly key?: string;
      readonly insecure?: boolean;
      /** Sent with every request (the front-proxy's X-Remote-User/-Group for (b′)). */
      readonly headers?: Readonly<Record<string, string>>;
    }
  | { readonly kind: 'etcd'; readonly endpoint: string };

/**
 * One operation, applied to the i-th request. Paths are API paths for HTTP and etcd keys for the
 * floor (`collection` = `<prefix>/connectors.alauda.io/accessrequests/<ns>`).
 */
export type Op =
  | { readonly kind: 'get'; readonly collection: string; readonly namePrefix: string; readonly names: number }
  | { readonly kind: 'list'; readonly collection: string; readonly limit?: number }
  | { readonly kind: 'create'; readonly collection: string; readonly namePrefix: string; readonly body: Record<string, unknown> }
  | { readonly kind: 'patch'; readonly collection: string; readonly namePrefix: string; readonly patch: Record<string, unknown> }
  | { readonly kind: 'delete'; readonly collection: string; readonly namePrefix: string };

export interface LoadJob {
  readonly conn: Conn;
  readonly op: Op;
  readonly concurrency: number;
  readonly warmup: number;
  readonly count: number;
}

export interface LoadResult {
  readonly count: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly seconds: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanBytes: number;
}

export interface WatchJob {
  readonly conn: Conn;
  readonly collection: string;
  readonly body: Record<string, unknown>;
  readonly namePrefix: string;
  readonly watchers: number;
  readonly reps: number;
  readonly warmupEvents: number;
  readonly events: number;
  readonly intervalMs: number;
}

export interface WatchRep {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Deliveries expected but not seen within 10 s of the last write. */
  readonly missed: number;
  /** ERROR events and streams that ended during the repetition (all watchers). */
  readonly errorEvents: number;
  readonly streamsEnded: number;
  readonly createP50Ms: number;
}

export interface WatchResult {
  readonly connectSeconds: number;
  readonly reps: readonly WatchRep[];
}

type Request = { id: number; job: LoadJob } | { id: number; watch: WatchJob };
type Reply = { id: number; result: LoadResult | WatchResult } | { id: number; error: string };

// ---------------------------------------------------------------------------------------------
// Parent side

export interface LoadClient {
  run(job: LoadJob): Promise<LoadResult>;
  watch(job: WatchJob): Promise<WatchResult>;
  close(): void;
}

export function startLoadClient(): LoadClient {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child'], {
    execArgv: ['--import', 'tsx', '--max-old-space-size=4096'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let next = 1;
  child.on('message', (m: Reply) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if ('error' in m) p?.reject(new Error(m.error));
    else p?.resolve(m.result);
  });
  child.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`load client exited (${String(code)})`));
    pending.clear();
  });
  const call = <T>(req: Omit<Request, 'id'>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, ...req });
    });
  return {
    run: (job) => call<LoadResult>({ job }),
    watch: (watch) => call<WatchResult>({ watch }),
    close: () => {
      child.kill('SIGTERM');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Child side: statistics

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

// ---------------------------------------------------------------------------------------------
// Child side: drivers. A driver performs request i and returns the response size in bytes.

type Driver = { exec(i: number): Promise<number>; close(): Promise<void> };

class HttpError extends Error {}

function httpDriver(conn: Extract<Conn, { kind: 'http' }>, op: Op, connections: number): Driver {
  const pool = new Pool(conn.origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 120_000,
    bodyTimeout: 120_000,
    headersTimeout: 120_000,
    connect: {
      rejectUnauthorized: conn.insecure !== true,
      ...(conn.ca === undefined ? {} : { ca: conn.ca }),
      ...(conn.cert === undefined ? {} : { cert: conn.cert }),
      ...(conn.key === undefined ? {} : { key: conn.key }),
    },
  });
  const send = async (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body?: { type: string; value: unknown },
    keepText = false,
  ): Promise<{ bytes: number; text: string }> => {
    const res = await pool.request({
      method,
      path,
      headers: { accept: 'application/json', ...conn.headers, ...(body === undefined ? {} : { 'content-type': body.type }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body.value) }),
    });
    let bytes = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (keepText || res.statusCode >= 300) chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (res.statusCode >= 300) throw new HttpError(`${method} ${path}: HTTP ${String(res.statusCode)} ${text.slice(0, 300)}`);
    return { bytes, text };
  };
  const item = (collection: string, prefix: string, i: number): string => `${collection}/${prefix}${String(i)}`;
  // Paged lists: each concurrent walker continues where its last page ended, and starts over at the end.
  const tokens: string[] = [];
  let exec: (i: number) => Promise<number>;
  switch (op.kind) {
    case 'get':
      exec = async (i) => (await send('GET', item(op.collection, op.namePrefix, (i * 7919) % op.names))).bytes;
      break;
    case 'list':
      if (op.limit === undefined) {
        exec = async () => (await send('GET', op.collection)).bytes;
      } else {
        const limit = op.limit;
        exec = async () => {
          const token = tokens.pop() ?? '';
          const q = `?limit=${String(limit)}${token === '' ? '' : `&continue=${encodeURIComponent(token)}`}`;
          const { bytes, text } = await send('GET', op.collection + q, undefined, true);
          const meta = (JSON.parse(text) as { metadata?: { continue?: string } }).metadata;
          tokens.push(meta?.continue ?? '');
          return bytes;
        };
      }
      break;
    case 'create':
      exec = async (i) => {
        const body = { ...op.body, metadata: { ...(op.body['metadata'] as object), name: `${op.namePrefix}${String(i)}` } };
        return (await send('POST', op.collection, { type: 'application/json', value: body })).bytes;
      };
      break;
    case 'patch':
      exec = async (i) =>
        (await send('PATCH', item(op.collection, op.namePrefix, i), { type: 'application/merge-patch+json', value: op.patch })).bytes;
      break;
    case 'delete':
      exec = async (i) => (await send('DELETE', item(op.collection, op.namePrefix, i))).bytes;
      break;
  }
  return { exec, close: () => pool.close() };
}

/** The storage floor: what our server asks etcd for, and nothing else. */
function etcdDriver(conn: Extract<Conn, { kind: 'etcd' }>, op: Op): Driver {
  const client = new Etcd3({ hosts: conn.endpoint, grpcOptions: { 'grpc.max_receive_message_length': 256 * 2 ** 20 } });
  const kv = client.kv;
  const b = (s: string): Buffer => Buffer.from(s);
  const key = (collection: string, prefix: string, i: number): string => `${collection}/${prefix}${String(i)}`;
  const size = (kvs: readonly IKeyValue[]): number => kvs.reduce((n, x) => n + x.value.length, 0);
  const tokens: string[] = [];
  let exec: (i: number) => Promise<number>;
  switch (op.kind) {
    case 'get':
      exec = async (i) => size((await kv.range({ key: b(key(op.collection, op.namePrefix, (i * 7919) % op.names)) })).kvs);
      break;
    case 'list': {
      const start = `${op.collection}/`;
      const end = `${op.collection}0`; // '/' + 1
      const limit = op.limit;
      exec = async () => {
        const from = limit === undefined ? start : (tokens.pop() ?? start);
        const res = await kv.range({ key: b(from), range_end: b(end), ...(limit === undefined ? {} : { limit: String(limit) }) });
        const last = res.kvs[res.kvs.length - 1];
        tokens.push(res.more && last !== undefined ? `${last.key.toString()}\x00` : start);
        return size(res.kvs);
      };
      break;
    }
    case 'create':
      exec = async (i) => {
        const name = `${op.namePrefix}${String(i)}`;
        const k = b(`${op.collection}/${name}`);
        const value = JSON.stringify({ ...op.body, metadata: { ...(op.body['metadata'] as object), name } });
        const res = await kv.txn({
          compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: '0' }],
          success: [{ request_put: { key: k, value: b(value) } }],
        });
        if (!res.succeeded) throw new Error(`create ${name}: exists`);
        return value.length;
      };
      break;
    case 'patch':
      // Read, merge, compare-and-swap on mod_revision: a server's update, minus the server.
      exec = async (i) => {
        const k = b(key(op.collection, op.namePrefix, i));
        const cur = (await kv.range({ key: k })).kvs[0];
        if (cur === undefined) throw new Error(`patch ${k.toString()}: not found`);
        const obj = JSON.parse(cur.value.toString()) as { metadata: Record<string, unknown> };
        const patchMeta = (op.patch['metadata'] ?? {}) as Record<string, unknown>;
        obj.metadata = { ...obj.metadata, labels: { ...(obj.metadata['labels'] as object), ...(patchMeta['labels'] as object) } };
        const value = JSON.stringify(obj);
        const res = await kv.txn({
          compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: cur.mod_revision }],
          success: [{ request_put: { key: k, value: b(value) } }],
        });
        if (!res.succeeded) throw new Error(`patch ${k.toString()}: conflict`);
        return value.length;
      };
      break;
    case 'delete':
      exec = async (i) => {
        const res = await kv.deleteRange({ key: b(key(op.collection, op.namePrefix, i)) });
        if (res.deleted !== '1') throw new Error(`delete: ${res.deleted} deleted`);
        return 0;
      };
      break;
  }
  return { exec, close: async () => client.close() };
}

async function runJob(job: LoadJob): Promise<LoadResult> {
  const driver =
    job.conn.kind === 'http' ? httpDriver(job.conn, job.op, job.concurrency) : etcdDriver(job.conn, job.op);
  const total = job.warmup + job.count;
  const latencies: number[] = [];
  let nextIndex = 0;
  let errors = 0;
  let firstError: string | undefined;
  let bytes = 0;
  let measuredStart = 0;
  let warmupLeft = job.warmup;
  let warmupDone: () => void = () => undefined;
  const warmedUp = new Promise<void>((r) => (warmupDone = r));
  if (warmupLeft === 0) warmupDone();
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = nextIndex++;
      if (i >= total) return;
      const warm = i < job.warmup;
      // Measured requests start only when every warm-up request has finished.
      if (!warm) await warmedUp;
      const t0 = performance.now();
      try {
        const n = await driver.exec(i);
        if (!warm) {
          latencies.push(performance.now() - t0);
          bytes += n;
        }
      } catch (e) {
        if (!warm) errors++;
        firstError ??= e instanceof Error ? e.message : String(e);
      }
      if (warm && --warmupLeft === 0) {
        measuredStart = performance.now();
        warmupDone();
      }
    }
  };
  if (job.warmup === 0) measuredStart = performance.now();
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  const seconds = (performance.now() - measuredStart) / 1000;
  await driver.close();
  latencies.sort((a, b) => a - b);
  const ok = latencies.length;
  return {
    count: job.count,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    seconds: round(seconds, 3),
    opsPerSec: round(ok / seconds, 1),
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    meanBytes: ok === 0 ? 0 : Math.round(bytes / ok),
  };
}

// ---------------------------------------------------------------------------------------------
// Child side: watch fan-out

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function runWatch(job: WatchJob): Promise<WatchResult> {
  // sent[n] = when the create of `${namePrefix}${n}` was sent; deliveries[n] = latencies seen.
  const sent = new Map<number, number>();
  const deliveries = new Map<number, number[]>();
  const nameRe = new RegExp(`"${job.namePrefix}(\\d+)"`);
  const delivered = (n: number): void => {
    const t = sent.get(n);
    // An event can be read before the create's response: only the send time matters.
    const arr = deliveries.get(n);
    if (t !== undefined && arr !== undefined) arr.push(performance.now() - t);
  };
  let errorEvents = 0;
  let streamsEnded = 0;
  const connectStart = performance.now();
  const closers: (() => void)[] = [];
  let create: (name: string) => Promise<void>;

  if (job.conn.kind === 'http') {
    const conn = job.conn;
    const tls = {
      rejectUnauthorized: conn.insecure !== true,
      ...(conn.ca === undefined ? {} : { ca: conn.ca }),
      ...(conn.cert === undefined ? {} : { cert: conn.cert }),
      ...(conn.key === undefined ? {} : { key: conn.key }),
    };
    const watchPool = new Pool(conn.origin, { connections: job.watchers, pipelining: 1, bodyTimeout: 0, headersTimeout: 60_000, connect: tls });
    const writePool = new Pool(conn.origin, { connections: 1, pipelining: 1, connect: tls });
    closers.push(() => void watchPool.destroy(), () => void writePool.close());
    // Start at the collection's current revision, so existing objects are not replayed.
    const list = await writePool.request({ method: 'GET', path: `${job.collection}?limit=1`, headers: { ...conn.headers } });
    const rv = (JSON.parse(await list.body.text()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    let closing = false;
    closers.unshift(() => (closing = true));
    const open = async (): Promise<void> => {
      const res = await watchPool.request({ method: 'GET', path: `${job.collection}?watch=true&resourceVersion=${rv}`, headers: { ...conn.headers } });
      if (res.statusCode !== 200) throw new Error(`watch: HTTP ${String(res.statusCode)} ${await res.body.text()}`);
      let buf = '';
      res.body.setEncoding('utf8');
      res.body.on('data', (s: string) => {
        buf += s;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.startsWith('{"type":"ERROR"')) errorEvents++;
          if (!line.startsWith('{"type":"ADDED"')) continue;
          const m = nameRe.exec(line);
          if (m?.[1] !== undefined) delivered(Number(m[1]));
        }
      });
      res.body.on('error', () => undefined);
      res.body.on('close', () => {
        if (!closing) streamsEnded++;
      });
    };
    // Opened in batches, so a thousand TLS handshakes do not all time out at once.
    for (let i = 0; i < job.watchers; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, job.watchers - i) }, open));
    }
    create = async (name) => {
      const body = { ...job.body, metadata: { ...(job.body['metadata'] as object), name } };
      const res = await writePool.request({
        method: 'POST',
        path: job.collection,
        headers: { ...conn.headers, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`create ${name}: HTTP ${String(res.statusCode)} ${text.slice(0, 300)}`);
    };
  } else {
    const client = new Etcd3({ hosts: job.conn.endpoint });
    closers.push(() => client.close());
    const watchers: Watcher[] = [];
    for (let i = 0; i < job.watchers; i++) {
      const w = await client.watch().prefix(`${job.collection}/`).create();
      w.on('put', (kv: IKeyValue) => {
        const m = nameRe.exec(`"${kv.key.toString().slice(job.collection.length + 1)}"`);
        if (m?.[1] !== undefined) delivered(Number(m[1]));
      });
      watchers.push(w);
    }
    closers.unshift(() => void Promise.all(watchers.map((w) => w.cancel())));
    create = async (name) => {
      const k = Buffer.from(`${job.collection}/${name}`);
      const value = JSON.stringify({ ...job.body, metadata: { ...(job.body['metadata'] as object), name } });
      await client.kv.txn({
        compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: '0' }],
        success: [{ request_put: { key: k, value: Buffer.from(value) } }],
      });
    };
  }
  const connectSeconds = round((performance.now() - connectStart) / 1000, 2);
  await sleep(500);

  const reps: WatchRep[] = [];
  let n = 0;
  try {
    for (let rep = 0; rep < job.reps; rep++) {
      const measured: number[] = [];
      errorEvents = 0;
      streamsEnded = 0;
      const createMs: number[] = [];
      for (let e = 0; e < job.warmupEvents + job.events; e++) {
        const id = n++;
        if (e >= job.warmupEvents) measured.push(id);
        deliveries.set(id, []);
        const t0 = performance.now();
        sent.set(id, t0);
        await create(`${job.namePrefix}${String(id)}`);
        createMs.push(performance.now() - t0);
        await sleep(Math.max(0, job.intervalMs - (performance.now() - t0)));
      }
      // Wait for the last deliveries (10 s at most).
      const deadline = performance.now() + 10_000;
      const expected = measured.length * job.watchers;
      const seen = (): number => measured.reduce((s, id) => s + (deliveries.get(id)?.length ?? 0), 0);
      while (seen() < expected && performance.now() < deadline) await sleep(50);
      const lat = measured.flatMap((id) => deliveries.get(id) ?? []).sort((a, b) => a - b);
      createMs.sort((a, b) => a - b);
      reps.push({
        p50Ms: round(percentile(lat, 50)),
        p99Ms: round(percentile(lat, 99)),
        maxMs: round(lat[lat.length - 1] ?? Number.NaN),
        missed: expected - lat.length,
        errorEvents,
        streamsEnded,
        createP50Ms: round(percentile(createMs, 50)),
      });
      for (const id of measured) deliveries.delete(id);
      await sleep(300);
    }
  } finally {
    for (const c of closers) c();
  }
  return { connectSeconds, reps };
}

// ---------------------------------------------------------------------------------------------

if (process.argv[2] === '--child' && process.send !== undefined) {
  process.on('message', (m: Request) => {
    const work = 'job' in m ? runJob(m.job) : runWatch(m.watch);
    work.then(
      (result) => process.send?.({ id: m.id, result } satisfies Reply),
      (e: unknown) => process.send?.({ id: m.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies Reply),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
