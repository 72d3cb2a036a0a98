/**
 * Runs the `state.rego` jobs of domain spec §5.3 point 5 with the real Open Policy Agent: one
 * `opa eval` child process per job, the policy in a file of its own, the check object on stdin.
 *
 * - Query `data.approval.status.state`; the input is the whole check object.
 * - Rego v1: the default of OPA 1.x (v0 syntax is a parse error).
 * - Evaluation budget `timeoutMs` (1 s) through `opa eval --timeout`; the process is also killed
 *   when it runs `killGraceMs` past that (start-up and anything OPA cannot cancel).
 * - `http.send`, `net.lookup_ip_addr` and `opa.runtime` are removed from the capabilities the
 *   policy is compiled against (`allow_net: []` as well), so using one is a compile error.
 * - Undefined → `{ ok: true, state: undefined }`; compile or runtime error → `{ ok: false }` with
 *   OPA's messages (`state.rego:<row>: <code>: <message>`); timeout → `{ ok: false }` with
 *   `evaluation timed out after <n>s`. Messages never hold temporary paths, so they are stable.
 *
 * Built-in errors follow OPA's default (non-strict): a failing built-in makes its expression
 * undefined rather than raising an error.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RegoJob, RegoOutcome } from './checks.js';

/** The document the policy must define (spec §5.3 point 5). */
export const REGO_QUERY = 'data.approval.status.state';
/** Built-ins a state policy may not use (spec §5.3 point 5). */
export const FORBIDDEN_BUILTINS: readonly string[] = ['http.send', 'net.lookup_ip_addr', 'opa.runtime'];

const policyFile = 'state.rego';
const maxStdoutBytes = 1024 * 1024;
const maxStderrBytes = 16 * 1024;
const maxMessageChars = 1024;

export interface RegoEvaluatorOptions {
  /** The pinned `opa` binary (test/cluster/build-binaries.sh --opa-only, or `resolveOpaPath()`). */
  readonly opaPath: string;
  /** Evaluation budget of one job. Default 1000 (spec §5.3). */
  readonly timeoutMs?: number;
  /** Wall-clock time past `timeoutMs` after which the process is killed. Default 1000. */
  readonly killGraceMs?: number;
  /** Jobs run at once. Default 4. */
  readonly concurrency?: number;
}

export interface RegoEvaluator {
  /** One outcome per distinct job key. Never rejects. */
  evaluate(jobs: readonly RegoJob[]): Promise<Map<string, RegoOutcome>>;
  /** Removes the evaluator's temporary files; waits for running jobs first. */
  close(): Promise<void>;
}

interface Workspace {
  readonly root: string;
  readonly capabilities: string;
}

type Init = { readonly ok: true; readonly ws: Workspace } | { readonly ok: false; readonly error: string };

export function createRegoEvaluator(opts: RegoEvaluatorOptions): RegoEvaluator {
  const timeoutMs = opts.timeoutMs ?? 1000;
  const killAfterMs = timeoutMs + (opts.killGraceMs ?? 1000);
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const timeoutMessage = `evaluation timed out after ${formatSeconds(timeoutMs)}`;

  let init: Promise<Init> | undefined;
  let jobSeq = 0;
  const running = new Set<Promise<unknown>>();

  // Set up once; a failure is retried on the next call (e.g. the binary appears later).
  const workspace = async (): Promise<Init> => {
    init ??= setUp(opts.opaPath, killAfterMs);
    const r = await init;
    if (!r.ok) init = undefined;
    return r;
  };

  const runJob = async (ws: Workspace, job: RegoJob): Promise<RegoOutcome> => {
    const dir = join(ws.root, `job-${String(++jobSeq)}`);
    try {
      await mkdir(dir);
      await writeFile(join(dir, policyFile), job.rego, 'utf8');
      const args = [
        'eval',
        '--format=json',
        '--stdin-input',
        `--data=${policyFile}`,
        `--capabilities=${ws.capabilities}`,
        `--timeout=${String(timeoutMs)}ms`,
        REGO_QUERY,
      ];
      const r = await runOpa(opts.opaPath, args, { cwd: dir, input: JSON.stringify(job.input), killAfterMs });
      return interpret(r, timeoutMessage);
    } catch (e) {
      return { ok: false, error: truncate(`opa: ${errorText(e)}`) };
    } finally {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  };

  const evaluate = async (jobs: readonly RegoJob[]): Promise<Map<string, RegoOutcome>> => {
    const results = new Map<string, RegoOutcome>();
    const unique = new Map<string, RegoJob>();
    for (const j of jobs) if (!unique.has(j.key)) unique.set(j.key, j);
    if (unique.size === 0) return results;
    const w = await workspace();
    if (!w.ok) {
      for (const key of unique.keys()) results.set(key, { ok: false, error: w.error });
      return results;
    }
    const queue = [...unique.values()];
    const worker = async (): Promise<void> => {
      for (let j = queue.shift(); j !== undefined; j = queue.shift()) results.set(j.key, await runJob(w.ws, j));
    };
    const all = Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    running.add(all);
    try {
      await all;
    } finally {
      running.delete(all);
    }
    return results;
  };

  const close = async (): Promise<void> => {
    await Promise.allSettled([...running]);
    const r = init === undefined ? undefined : await init;
    init = undefined;
    if (r?.ok === true) await rm(r.ws.root, { recursive: true, force: true }).catch(() => undefined);
  };

  return { evaluate, close };
}

/** Temporary directory and a capabilities file: the binary's own, less the forbidden built-ins. */
async function setUp(opaPath: string, killAfterMs: number): Promise<Init> {
  let caps: unknown;
  try {
    const r = await runOpa(opaPath, ['capabilities', '--current'], { cwd: tmpdir(), input: '', killAfterMs: Math.max(killAfterMs, 10_000) });
    if (r.kind !== 'exited' || r.code !== 0) return { ok: false, error: truncate(`opa capabilities: ${processFailure(r)}`) };
    caps = JSON.parse(r.stdout) as unknown;
  } catch (e) {
    return { ok: false, error: truncate(`opa capabilities: ${errorText(e)}`) };
  }
  if (!isRecord(caps) || !Array.isArray(caps['builtins']))
    return { ok: false, error: 'opa capabilities: unexpected output (no builtins list)' };
  const builtins = caps['builtins'].filter((b) => !(isRecord(b) && FORBIDDEN_BUILTINS.includes(String(b['name']))));
  let root: string | undefined;
  try {
    root = await mkdtemp(join(tmpdir(), 'connectors-rego-'));
    const capabilities = join(root, 'capabilities.json');
    await writeFile(capabilities, JSON.stringify({ ...caps, builtins, allow_net: [] }), 'utf8');
    return { ok: true, ws: { root, capabilities } };
  } catch (e) {
    if (root !== undefined) await rm(root, { recursive: true, force: true }).catch(() => undefined);
    return { ok: false, error: truncate(`rego evaluator: ${errorText(e)}`) };
  }
}

// ---------------------------------------------------------------------------------------------
// The child process

type RunResult =
  | { readonly kind: 'exited'; readonly code: number | null; readonly signal: string | null; readonly stdout: string; readonly stderr: string }
  | { readonly kind: 'killed'; readonly why: 'timeout' | 'output' }
  | { readonly kind: 'spawnError'; readonly error: string };

function runOpa(
  opaPath: string,
  args: readonly string[],
  o: { readonly cwd: string; readonly input: string; readonly killAfterMs: number },
): Promise<RunResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: RunResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    // No environment: nothing in it is the policy's business, and opa eval needs none.
    const child = spawn(opaPath, args, { cwd: o.cwd, env: {}, stdio: ['pipe', 'pipe', 'pipe'] });
    const kill = (why: 'timeout' | 'output'): void => {
      child.kill('SIGKILL');
      finish({ kind: 'killed', why });
    };
    const timer = setTimeout(() => kill('timeout'), o.killAfterMs);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > maxStdoutBytes) kill('output');
      else out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      // Keep the tail: the reason for a crash is at the end.
      err.push(b);
      errBytes += b.length;
      while (errBytes > maxStderrBytes && err.length > 1) errBytes -= err.shift()?.length ?? 0;
    });
    child.on('error', (e) => finish({ kind: 'spawnError', error: errorText(e) }));
    child.on('close', (code, signal) =>
      finish({
        kind: 'exited',
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.on('error', () => undefined); // opa may exit before reading its input
    child.stdin.end(o.input);
  });
}

interface OpaError {
  readonly message?: unknown;
  readonly code?: unknown;
  readonly location?: { readonly file?: unknown; readonly row?: unknown };
}

function interpret(r: RunResult, timeoutMessage: string): RegoOutcome {
  if (r.kind === 'killed')
    return { ok: false, error: r.why === 'timeout' ? timeoutMessage : `opa output exceeds ${String(maxStdoutBytes)} bytes` };
  if (r.kind === 'spawnError') return { ok: false, error: truncate(`opa: ${r.error}`) };
  let doc: unknown;
  try {
    doc = JSON.parse(r.stdout) as unknown;
  } catch {
    return { ok: false, error: truncate(`opa: ${processFailure(r)}`) };
  }
  if (!isRecord(doc)) return { ok: false, error: truncate(`opa: ${processFailure(r)}`) };
  const errors = doc['errors'];
  if (Array.isArray(errors) && errors.length > 0) {
    const errs = errors.filter(isRecord) as OpaError[];
    if (errs.some((e) => e.code === 'eval_cancel_error')) return { ok: false, error: timeoutMessage };
    return { ok: false, error: truncate(errs.map(formatOpaError).join('; ')) };
  }
  if (r.code !== 0) return { ok: false, error: truncate(`opa: ${processFailure(r)}`) };
  const result = doc['result'];
  if (result === undefined) return { ok: true, state: undefined }; // undefined document
  const first: unknown = Array.isArray(result) ? result[0] : undefined;
  const exprs = isRecord(first) ? first['expressions'] : undefined;
  const expr: unknown = Array.isArray(exprs) ? exprs[0] : undefined;
  if (!isRecord(expr) || !('value' in expr)) return { ok: false, error: 'opa: unexpected output (no expression value)' };
  return { ok: true, state: expr['value'] };
}

function formatOpaError(e: OpaError): string {
  const file = typeof e.location?.file === 'string' ? e.location.file : '';
  const row = typeof e.location?.row === 'number' ? e.location.row : undefined;
  const where = file !== '' && row !== undefined ? `${file}:${String(row)}: ` : '';
  const code = typeof e.code === 'string' && e.code !== '' ? `${e.code}: ` : '';
  const msg = typeof e.message === 'string' ? e.message.replace(/\s*\n\s*/g, ' ') : 'unknown error';
  return `${where}${code}${msg}`;
}

function processFailure(r: RunResult): string {
  if (r.kind === 'killed') return r.why === 'timeout' ? 'timed out' : 'output too large';
  if (r.kind === 'spawnError') return r.error;
  const how = r.signal !== null ? `killed by ${r.signal}` : `exit code ${String(r.code)}`;
  const tail = r.stderr.trim().split('\n').slice(-5).join(' ');
  return tail === '' ? how : `${how}: ${tail}`;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const truncate = (s: string): string => (s.length > maxMessageChars ? `${s.slice(0, maxMessageChars - 1)}…` : s);

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${String(ms / 1000)}s` : `${String(ms)}ms`;
}

// ---------------------------------------------------------------------------------------------
// Locating the binary

let resolved: Promise<string> | undefined;

/**
 * `$OPA_PATH` when set; else the opa that `test/cluster/build-binaries.sh --opa-only` builds (cached
 * outside the repository; a cold build takes minutes), found by walking up from this module so it
 * works from the sources and from `dist/`. Memoized; rejects when neither is available.
 */
export function resolveOpaPath(): Promise<string> {
  resolved ??= locateOpa();
  const p = resolved;
  p.catch(() => {
    if (resolved === p) resolved = undefined;
  });
  return p;
}

async function locateOpa(): Promise<string> {
  const fromEnv = process.env['OPA_PATH'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const script = findUp(dirname(fileURLToPath(import.meta.url)), join('test', 'cluster', 'build-binaries.sh'));
  if (script === undefined) throw new Error('OPA_PATH is not set and test/cluster/build-binaries.sh was not found');
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn('bash', [script, '--opa-only'], { cwd: dirname(script), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
      child.stderr.on('data', (b: Buffer) => (err = (err + b.toString('utf8')).slice(-8000)));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('OPA_BIN='));
  if (code !== 0 || line === undefined)
    throw new Error(`build-binaries.sh --opa-only failed (exit ${String(code)}):\n${stderr.slice(-4000)}`);
  return line.slice('OPA_BIN='.length).trim();
}

function findUp(from: string, rel: string): string | undefined {
  for (let dir = from; ; ) {
    const candidate = join(dir, rel);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
