/**
 * Shared by the reliability and security suites (issue 11): the short/soak scale, the figures every
 * suite prints (collected into one table at the end of the run), a standalone server process on a
 * real etcd, an HTTPS client, direct etcd reads and polling helpers.
 *
 * Short form (`npm test`): fixed, small counts. Soak (`npm run soak`, SOAK=1): the larger counts
 * given as the second argument of `scaled`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { freePort } from '../support/ports.js';
import { until } from '../support/poll.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const gv = 'connectors.alauda.io/v1alpha1';
export const gvPath = `/apis/${gv}`;

/** SOAK=1 (or true): the long form. */
export const soak = /^(1|true|yes)$/i.test(process.env['SOAK'] ?? '');

/** `short` in the short form, `long` in the soak. */
export const scaled = (short: number, long: number): number => (soak ? long : short);

// ---- figures ----------------------------------------------------------------------------------

type FigureValue = number | string;
const table = new Map<string, Map<string, FigureValue>>();

/** The figures of one suite: counters and values, printed after its describe block and in the final table. */
export interface Figures {
  add(name: string, n?: number): void;
  set(name: string, v: FigureValue): void;
  get(name: string): FigureValue | undefined;
}

export function figures(suite: string): Figures {
  let row = table.get(suite);
  if (row === undefined) {
    row = new Map();
    table.set(suite, row);
  }
  const r = row;
  if (typeof after === 'function') {
    after(() => {
      process.stdout.write(`      figures [${suite}]${soak ? ' (soak)' : ''}: ${[...r].map(([k, v]) => `${k}=${String(v)}`).join(', ')}\n`);
    });
  }
  return {
    add: (name, n = 1) => r.set(name, Number(r.get(name) ?? 0) + n),
    set: (name, v) => r.set(name, v),
    get: (name) => r.get(name),
  };
}

// Root hook: the whole table once, as Markdown for test/reliability/README.md.
if (typeof after === 'function') {
  after(() => {
    if (table.size === 0) return;
    const lines = [`\n  Reliability and security figures (${soak ? 'soak' : 'short form'}):\n`, '  | suite | figures |', '  | --- | --- |'];
    for (const [suite, row] of table) lines.push(`  | ${suite} | ${[...row].map(([k, v]) => `${k} = ${String(v)}`).join(', ')} |`);
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}

// ---- polling ----------------------------------------------------------------------------------

// The shared poller (test/support/poll.ts), for this suite's files.
export { until };


// ---- HTTPS ------------------------------------------------------------------------------------

export interface Target {
  readonly port: number;
  readonly ca: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Default: a fresh connection per request. */
  readonly agent?: Agent;
}

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  // Tests read arbitrary JSON paths.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
  readonly ms: number;
}

export interface CallOptions {
  readonly body?: unknown;
  readonly raw?: string | Buffer;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
  /** The client gives up after this long (the reply then has status 0). Default 30 s. */
  readonly timeoutMs?: number;
  /** A 200 is answered as soon as its headers arrive, with an empty text (for watches). */
  readonly headersOnlyOn200?: boolean;
}

/** One HTTPS request; status 0 with the error in `text` when the connection failed. */
export function call(t: Target, method: string, path: string, o: CallOptions = {}): Promise<Reply> {
  const t0 = Date.now();
  const data = o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (data !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: t.port,
        method,
        path,
        ca: t.ca,
        ...(t.cert === undefined ? {} : { cert: t.cert }),
        ...(t.key === undefined ? {} : { key: t.key }),
        checkServerIdentity: () => undefined,
        headers,
        agent: t.agent ?? false,
        timeout: o.timeoutMs ?? 30_000,
      },
      (res) => {
        if (o.headersOnlyOn200 === true && res.statusCode === 200) {
          resolve({ status: 200, headers: res.headers, text: '', body: undefined, ms: Date.now() - t0 });
          req.destroy();
          return;
        }
        let text = '';
        res.setEncoding('utf8').on('data', (s: string) => (text += s));
        res.on('end', () => {
          let body: unknown;
          try {
            body = text.startsWith('{') ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body, ms: Date.now() - t0 });
        });
        res.on('error', (e) => resolve({ status: 0, headers: {}, text: String(e), body: undefined, ms: Date.now() - t0 }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (e) => resolve({ status: 0, headers: {}, text: String(e), body: undefined, ms: Date.now() - t0 }));
    req.end(data);
  });
}

/** A Kubernetes Status body whose code is the HTTP status. */
export const isStatus = (r: Reply): boolean => r.body?.kind === 'Status' && r.body?.code === r.status;

// ---- the server as a process --------------------------------------------------------------------

export interface ServerProcess {
  readonly port: number;
  readonly ca: Buffer;
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  target(agent?: Agent): Target;
  alive(): boolean;
  /** SIGKILL, wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (SIGKILL after 15 s), wait for the exit. */
  stop(): Promise<void>;
}

export interface StandaloneOptions {
  readonly etcdServers: readonly string[];
  readonly etcdPrefix: string;
  /** Reuse a port and certificate directory (a restart); default: a free port, a new directory. */
  readonly port?: number;
  readonly certDir?: string;
  readonly args?: readonly string[];
  /** Options of node itself, after tsx's --import (so a TypeScript --import works) and before the script. */
  readonly nodeArgs?: readonly string[];
  /** Added to the environment the server inherits. */
  readonly env?: Readonly<Record<string, string>>;
}

// Servers still running when the test process exits are killed; their directories removed.
const certDirs: string[] = [];
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of certDirs) rmSync(d, { recursive: true, force: true });
});

/** `apiserver/main.ts --standalone` (HTTPS, self-signed certificate, every caller an admin) on loopback. */
export async function startStandalone(o: StandaloneOptions): Promise<ServerProcess> {
  const certDir = o.certDir ?? mkdtempSync(join(tmpdir(), 'connectors-reliability-'));
  if (o.certDir === undefined) certDirs.push(certDir);
  const port = o.port ?? (await freePort());
  const logFile = join(certDir, `server-${String(port)}-${String(Date.now())}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(
    process.execPath,
    [
      '--import', 'tsx',
      ...(o.nodeArgs ?? []),
      join(repoRoot, 'apiserver/main.ts'),
      '--standalone',
      `--etcd-servers=${o.etcdServers.join(',')}`,
      `--etcd-prefix=${o.etcdPrefix}`,
      `--secure-port=${String(port)}`,
      `--cert-dir=${certDir}`,
      ...(o.args ?? []),
    ],
    { cwd: repoRoot, stdio: ['ignore', fd, fd], ...(o.env === undefined ? {} : { env: { ...process.env, ...o.env } }) },
  );
  closeSync(fd);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  children.add(child);
  void exited.then(() => children.delete(child));
  await until(
    'the server to serve',
    () => {
      if (!alive()) throw new Error(`the server exited: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
      return readFileSync(logFile, 'utf8').includes('"msg":"serving"') ? true : undefined;
    },
    { timeoutMs: 60_000 },
  );
  const ca = readFileSync(join(certDir, 'apiserver.crt'));
  const signal = async (sig: NodeJS.Signals, graceMs: number): Promise<void> => {
    if (!alive()) return;
    child.kill(sig);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return {
    port,
    ca,
    child,
    logFile,
    exited,
    target: (agent) => ({ port, ca, ...(agent === undefined ? {} : { agent }) }),
    alive,
    kill: () => signal('SIGKILL', 0),
    stop: () => signal('SIGTERM', 15_000),
  };
}

/** Whether /readyz answers 200 (false for any other answer or none). */
export async function ready(t: Target): Promise<boolean> {
  return (await call(t, 'GET', '/readyz', { timeoutMs: 5000 })).status === 200;
}

// ---- etcd, read directly ------------------------------------------------------------------------

/** The keys and values under a prefix, read from etcd itself (not through the server). */
export async function etcdEntries(endpoints: readonly string[], prefix: string): Promise<Map<string, string>> {
  // Large prefixes (the soak's) exceed gRPC's default 4 MiB answer.
  const client = new Etcd3({ hosts: [...endpoints], grpcOptions: { 'grpc.max_receive_message_length': -1 } });
  try {
    return new Map(Object.entries(await client.getAll().prefix(prefix).strings()));
  } finally {
    client.close();
  }
}

/** A valid AccessPolicy. */
export function policy(name: string, namespace?: string, annotations?: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: gv,
    kind: 'AccessPolicy',
    metadata: { name, ...(namespace === undefined ? {} : { namespace }), ...(annotations === undefined ? {} : { annotations }) },
    spec: {},
  };
}

// ---- a streaming watch ----------------------------------------------------------------------------

export interface OpenWatch {
  /** The HTTP status once the response started (0 before, or when the connection failed). */
  status: number;
  /** Complete lines received so far (one watch event each). */
  readonly lines: string[];
  ended: boolean;
  close(): void;
}

/** GET `path` (a ?watch=true URL) and collect its event lines as they arrive. */
export function openWatch(t: Target, path: string, headers: Record<string, string> = {}): OpenWatch {
  let partial = '';
  const w: OpenWatch = { status: 0, lines: [], ended: false, close: () => req.destroy() };
  const req = request(
    {
      host: '127.0.0.1',
      port: t.port,
      path,
      ca: t.ca,
      ...(t.cert === undefined ? {} : { cert: t.cert }),
      ...(t.key === undefined ? {} : { key: t.key }),
      checkServerIdentity: () => undefined,
      agent: t.agent ?? false,
      headers,
    },
    (res) => {
      w.status = res.statusCode ?? 0;
      res.setEncoding('utf8').on('data', (s: string) => {
        partial += s;
        const parts = partial.split('\n');
        partial = parts.pop() ?? '';
        w.lines.push(...parts.filter((l) => l !== ''));
      });
      res.on('end', () => {
        if (partial !== '') w.lines.push(partial);
        w.ended = true;
      });
      res.on('error', () => (w.ended = true));
      res.on('close', () => (w.ended = true));
    },
  );
  req.on('error', () => (w.ended = true));
  req.end();
  return w;
}
