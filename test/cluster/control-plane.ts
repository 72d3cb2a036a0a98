/**
 * The local control plane of local-control-plane.md: two etcds, kube-apiserver, our server as a host
 * process registered through an APIService (ExternalName Service → localhost), and
 * kube-controller-manager, all on 127.0.0.1 with free ports, in a per-run directory. Used by
 * `npm run up` / `npm run down` (up.ts, down.ts) and by the e2e suite (test/e2e/setup.ts).
 *
 * Processes are recorded in `<runDir>/pids/<name>.pid` and stopped by PID only (never by name), in
 * reverse start order, so parallel runs never touch each other.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPki } from './pki.js';
import type { CertPair, Pki, TokenUser } from './pki.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Set to `1` to start everything except our server (and its APIService). */
export const skipServerEnv = 'CONNECTORS_UP_SKIP_SERVER';
/** Set to `1` to keep the run directory (logs, PKI, kubeconfigs) after stop. */
export const keepRunDirEnv = 'CONNECTORS_KEEP_RUNDIR';

export const group = 'connectors.alauda.io';
export const version = 'v1alpha1';
export const apiServiceName = `${version}.${group}`;
export const systemNamespace = 'connectors-system';
export const serverName = 'connectors-access-apiserver';

/** Applied unchanged, in this order (the Namespace first). apiservice.yaml is applied patched, later. */
const manifestFiles = ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml', 'config.yaml', 'templates.yaml'] as const;

export type ComponentName =
  | 'etcd-kube'
  | 'etcd-ext'
  | 'kube-apiserver'
  | 'connectors-apiserver'
  | 'kube-controller-manager';

/** Reverse of the start order (§12); both etcds last. */
const stopOrder: readonly (readonly ComponentName[])[] = [
  ['kube-controller-manager'],
  ['connectors-apiserver'],
  ['kube-apiserver'],
  ['etcd-ext', 'etcd-kube'],
];

export interface Ports {
  readonly etcdKubeClient: number;
  readonly etcdKubePeer: number;
  readonly etcdExtClient: number;
  readonly etcdExtPeer: number;
  readonly apiserver: number;
  readonly kcm: number;
  readonly ext: number;
}

export type KubeconfigName = 'admin' | 'kcm' | 'ext' | 'alice' | 'bob';

export interface ControlPlaneOptions {
  /** Do not start our server nor register its APIService. Default: `CONNECTORS_UP_SKIP_SERVER=1`. */
  readonly skipServer?: boolean;
  /**
   * Leave everything running when this process exits (`up --detach`). Otherwise a process exit
   * hook SIGKILLs what is still running.
   */
  readonly detach?: boolean;
  /** build-binaries.sh progress: shown (`inherit`, for `up`) or only on failure (default). */
  readonly buildOutput?: 'inherit' | 'capture';
  /** Called when a step is done. */
  readonly onStep?: (step: string, ms: number) => void;
  /** Warnings (fallbacks taken, retries). Default: stderr. */
  readonly log?: (line: string) => void;
  /** Called as soon as the run directory exists, so that a crashed start can still be stopped. */
  readonly onRunDir?: (runDir: string) => void;
  /** Aborting stops the start: what was started is stopped and the promise rejects. */
  readonly signal?: AbortSignal;
}

export interface ControlPlane {
  readonly runDir: string;
  /** tmpfs directory with both etcds' data. */
  readonly dataDir: string;
  /** `<runDir>/env`: shell `export` lines (KUBECONFIG, KUBECTL, ports, PIDs). */
  readonly envFile: string;
  /** admin.kubeconfig (`system:masters`). */
  readonly kubeconfig: string;
  readonly kubeconfigs: Readonly<Record<KubeconfigName, string>>;
  readonly kubeBinDir: string;
  readonly kubectl: string;
  /** `node` arguments that start our server on a port (another replica on the same etcd). */
  readonly serverArgs: (port: number) => string[];
  readonly ports: Ports;
  readonly pids: Readonly<Partial<Record<ComponentName, number>>>;
  readonly pki: Pki;
  readonly users: { readonly alice: TokenUser; readonly bob: TokenUser };
  readonly serverSkipped: boolean;
  /** How our server authenticates to kube-apiserver (§8; the cert is the fallback). */
  readonly extIdentity: 'serviceaccount-token' | 'client-cert';
  /** `admin` when kube-controller-manager had to fall back to admin.kubeconfig (§9). */
  readonly kcmIdentity: 'service-account-credentials' | 'admin';
  /** Settles when a component exits while the control plane is up; the value says which and how. */
  readonly died: Promise<string>;
  /** Stops every component (SIGTERM, 10 s, SIGKILL; by PID) and removes the run and data dirs. */
  stop(report?: (line: string) => void): Promise<void>;
}

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function serverSkippedByEnv(): boolean {
  const v = process.env[skipServerEnv];
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}

/** Runs a command to completion; `code` is -1 when it could not start or was killed by a signal. */
export function runCommand(
  cmd: string,
  args: readonly string[],
  opts: {
    input?: string;
    cwd?: string;
    timeoutMs?: number;
    stderr?: 'pipe' | 'inherit';
    signal?: AbortSignal | undefined;
  } = {},
): Promise<CommandResult> {
  installExitHook();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? repoRoot,
      stdio: ['pipe', 'pipe', opts.stderr ?? 'pipe'],
      killSignal: 'SIGKILL',
      ...(opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs }),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    commands.add(child);
    child.on('exit', () => commands.delete(child));
    child.on('error', (e) => {
      commands.delete(child);
      resolve({ code: -1, stdout, stderr: stderr + e.message });
    });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    // EPIPE when the command exits without reading its input is reported by 'close' already.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? '');
  });
}

/** KUBE_BIN_DIR and ETCD_BIN from build-binaries.sh (cached: under a second; cold: minutes). */
export async function resolveBinaries(
  buildOutput: 'inherit' | 'capture' = 'capture',
): Promise<{ kubeBinDir: string; etcdBin: string; opaBin: string | undefined }> {
  const res = await runCommand('bash', [join(repoRoot, 'test/cluster/build-binaries.sh')], {
    stderr: buildOutput === 'inherit' ? 'inherit' : 'pipe',
  });
  const value = (key: string): string | undefined =>
    res.stdout
      .split('\n')
      .find((l) => l.startsWith(`${key}=`))
      ?.slice(key.length + 1)
      .trim();
  const kubeBinDir = value('KUBE_BIN_DIR');
  const etcdBin = value('ETCD_BIN');
  if (res.code !== 0 || kubeBinDir === undefined || etcdBin === undefined) {
    throw new Error(
      `test/cluster/build-binaries.sh failed (exit ${String(res.code)}):\n${res.stderr.slice(-4000)}`,
    );
  }
  return { kubeBinDir, etcdBin, opaBin: value('OPA_BIN') };
}

// ---------------------------------------------------------------------------------------------
// Processes

interface Proc {
  readonly name: ComponentName;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Set once the process has exited (or failed to spawn). */
  exit: string | undefined;
  readonly exited: Promise<void>;
}

// Control planes of this process that are not detached: SIGKILLed when the process exits, whatever
// the reason, so that a crashed test run leaves nothing behind (an orderly stop is stop()'s job).
const live = new Map<string, { procs: Map<ComponentName, Proc>; dirs: string[] }>();
// Commands (kubectl, openssl, build-binaries.sh) still running when the process exits.
const commands = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of commands) c.kill('SIGKILL');
    for (const { procs, dirs } of live.values()) {
      for (const p of procs.values()) if (p.exit === undefined) p.child.kill('SIGKILL');
      if (process.env[keepRunDirEnv] !== '1') {
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
      }
    }
  });
}

/** The last `n` lines of a log file ('' when missing). */
export function logTail(file: string, n = 50): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return '';
  }
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

class StartError extends Error {}

function tailMessage(p: Proc): string {
  return `--- last 50 lines of ${p.logFile} ---\n${logTail(p.logFile)}\n--- end of ${p.name} log ---`;
}

function freePorts(n: number): Promise<number[]> {
  // All listeners stay open until every port is known, so the ports are distinct.
  const servers: Server[] = [];
  const one = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const s = createServer();
      servers.push(s);
      s.on('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const a = s.address();
        if (typeof a === 'object' && a !== null) resolve(a.port);
        else reject(new Error('no port from listen(0)'));
      });
    });
  return Promise.all(Array.from({ length: n }, one)).finally(() =>
    Promise.all(servers.map((s) => new Promise((r) => s.close(r)))),
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers signal 0; it is gone for our purposes.
  try {
    const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /s.test(stat);
  } catch {
    return false;
  }
}

/** Whether `pid` is still one of this run's processes (its command line names the run or data dir). */
function belongsToRun(pid: number, markers: readonly string[]): boolean {
  try {
    const cmdline = readFileSync(`/proc/${String(pid)}/cmdline`, 'utf8');
    return markers.some((m) => cmdline.includes(m));
  } catch {
    return false;
  }
}

async function stopPid(pid: number, markers: readonly string[]): Promise<'stopped' | 'killed' | 'gone'> {
  if (!alive(pid) || !belongsToRun(pid, markers)) return 'gone';
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (!alive(pid)) return 'stopped';
    await sleep(100);
  }
  if (alive(pid) && belongsToRun(pid, markers)) process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
  return 'killed';
}

function readPid(runDir: string, name: ComponentName): number | undefined {
  try {
    const pid = Number(readFileSync(join(runDir, 'pids', `${name}.pid`), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stops the control plane recorded in `runDir` (for `npm run down` and for stop()): in reverse start
 * order, SIGTERM, up to 10 s, then SIGKILL, by PID; a PID whose command line no longer names this
 * run is left alone. Then removes the data dir and the run dir (kept with CONNECTORS_KEEP_RUNDIR=1).
 */
export async function stopRunDir(
  runDir: string,
  report: (line: string) => void = () => undefined,
): Promise<void> {
  let dataDir: string | undefined;
  try {
    dataDir = readFileSync(join(runDir, 'data-dir'), 'utf8').trim();
  } catch {
    dataDir = undefined;
  }
  const markers = [runDir, ...(dataDir === undefined || dataDir === '' ? [] : [dataDir])];
  for (const names of stopOrder) {
    await Promise.all(
      names.map(async (name) => {
        const pid = readPid(runDir, name);
        if (pid === undefined) return;
        const t0 = Date.now();
        const how = await stopPid(pid, markers);
        if (how !== 'gone') report(`${name} (pid ${String(pid)}) ${how} in ${seconds(Date.now() - t0)}`);
      }),
    );
  }
  if (dataDir !== undefined && dataDir !== '') rmSync(dataDir, { recursive: true, force: true });
  if (process.env[keepRunDirEnv] === '1') report(`kept ${runDir} (${keepRunDirEnv}=1)`);
  else rmSync(runDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// HTTP and kubeconfigs

interface TlsClient {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly token?: string;
  /** kube-controller-manager serves a self-signed certificate from its cert dir. */
  readonly insecure?: boolean;
}

type HttpResult = { ok: true; status: number; body: string } | { ok: false; error: string };

function httpsGet(url: string, tls: TlsClient, timeoutMs = 3000): Promise<HttpResult> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'GET',
        agent: false,
        timeout: timeoutMs,
        rejectUnauthorized: tls.insecure !== true,
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        ...(tls.cert === undefined ? {} : { cert: tls.cert }),
        ...(tls.key === undefined ? {} : { key: tls.key }),
        headers: tls.token === undefined ? {} : { authorization: `Bearer ${tls.token}` },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (s: string) => (body += s));
        res.on('end', () => resolve({ ok: true, status: res.statusCode ?? 0, body }));
        res.on('error', (e) => resolve({ ok: false, error: e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${String(timeoutMs)} ms`)));
    req.on('error', (e) => resolve({ ok: false, error: e.message }));
    req.end();
  });
}

function describeResult(r: HttpResult): string {
  return r.ok ? `HTTP ${String(r.status)}: ${r.body.trim().slice(0, 300)}` : r.error;
}

type KubeUser =
  | { readonly kind: 'cert'; readonly name: string; readonly pair: CertPair }
  | { readonly kind: 'token'; readonly name: string; readonly token: string };

const b64 = (file: string): string => readFileSync(file).toString('base64');

function writeKubeconfig(file: string, server: string, caFile: string, user: KubeUser): void {
  const credentials =
    user.kind === 'cert'
      ? [
          `    client-certificate-data: ${b64(user.pair.crt)}`,
          `    client-key-data: ${b64(user.pair.key)}`,
        ]
      : [`    token: ${user.token}`];
  const text = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: e2e',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(caFile)}`,
    'users:',
    `- name: ${user.name}`,
    '  user:',
    ...credentials,
    'contexts:',
    '- name: e2e',
    '  context:',
    '    cluster: e2e',
    `    user: ${user.name}`,
    'current-context: e2e',
    '',
  ].join('\n');
  writeFileSync(file, text, { mode: 0o600 });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Start

/** One start attempt's mutable state, shared by the steps. */
interface Attempt {
  readonly runDir: string;
  readonly dataDir: string;
  readonly ports: Ports;
  readonly procs: Map<ComponentName, Proc>;
  readonly opts: ControlPlaneOptions;
  stopping: boolean;
}

function launch(
  at: Attempt,
  name: ComponentName,
  bin: string,
  args: readonly string[],
  cwd = at.runDir,
): Proc {
  const logFile = join(at.runDir, `${name}.log`);
  const fd = openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    // Own process group: a terminal's Ctrl-C reaches only the harness, which stops components in order.
    child = spawn(bin, args, { cwd, detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (at.opts.detach === true) child.unref();
  const pid = child.pid ?? -1;
  let markExited: () => void = () => undefined;
  const exited = new Promise<void>((r) => (markExited = r));
  const proc: Proc = { name, pid, child, logFile, exit: undefined, exited };
  child.on('error', (e) => {
    proc.exit ??= `could not start ${bin}: ${e.message}`;
    markExited();
  });
  child.on('exit', (code, signal) => {
    proc.exit ??= signal === null ? `exited with code ${String(code)}` : `was killed by ${signal}`;
    markExited();
  });
  if (pid > 0) writeFileSync(join(at.runDir, 'pids', `${name}.pid`), `${String(pid)}\n`);
  at.procs.set(name, proc);
  return proc;
}

function checkAlive(at: Attempt, waitingFor: string): void {
  for (const p of at.procs.values()) {
    if (p.exit !== undefined) {
      throw new StartError(`${p.name} ${p.exit} while waiting for ${waitingFor}\n${tailMessage(p)}`);
    }
  }
}

function checkAborted(at: Attempt): void {
  if (at.opts.signal?.aborted === true) throw new StartError('start aborted');
}

/**
 * Polls `ready` every 250 ms until it returns true; fails at once when a started process exits,
 * and after `timeoutMs` with `detail()` (e.g. /readyz?verbose) and the log tail of `proc`.
 */
async function waitUntil(
  at: Attempt,
  what: string,
  timeoutMs: number,
  ready: () => Promise<boolean>,
  onTimeout: { proc?: Proc | undefined; detail?: () => Promise<string> } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    checkAborted(at);
    checkAlive(at, what);
    if (await ready()) return;
    if (Date.now() > deadline) {
      const detail = onTimeout.detail === undefined ? '' : `\n${await onTimeout.detail()}`;
      const tail = onTimeout.proc === undefined ? '' : `\n${tailMessage(onTimeout.proc)}`;
      throw new StartError(`timed out after ${seconds(timeoutMs)} waiting for ${what}${detail}${tail}`);
    }
    await sleep(250);
  }
}

async function etcdArgs(etcdBin: string, name: string, dataDir: string, client: number, peer: number): Promise<string[]> {
  // Debian's 3.4 fallback has no --unsafe-no-fsync (its data is on tmpfs anyway).
  const v = await runCommand(etcdBin, ['--version']);
  const is34 = /etcd Version: 3\.4\./.test(v.stdout);
  const clientUrl = `http://127.0.0.1:${String(client)}`;
  const peerUrl = `http://127.0.0.1:${String(peer)}`;
  return [
    `--name=${name}`,
    `--data-dir=${join(dataDir, name)}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=${name}=${peerUrl}`,
    '--initial-cluster-state=new',
    `--initial-cluster-token=${name}`,
    '--snapshot-count=10000',
    '--quota-backend-bytes=1073741824',
    '--logger=zap',
    '--log-outputs=stderr',
    '--log-level=warn',
    ...(is34 ? [] : ['--unsafe-no-fsync=true']),
  ];
}

async function etcdHealthy(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${String(port)}/health`, {
      signal: AbortSignal.timeout(1000),
    });
    if (!res.ok) return false;
    const body = parseJson(await res.text());
    return isRecord(body) && body['health'] === 'true';
  } catch {
    return false;
  }
}

/** kubectl bound to a kubeconfig, with a per-run discovery cache (not ~/.kube/cache). */
function kubectlFor(kubectl: string, runDir: string, kubeconfig: string, signal?: AbortSignal) {
  return (args: readonly string[], input?: string): Promise<CommandResult> =>
    runCommand(
      kubectl,
      [`--kubeconfig=${kubeconfig}`, `--cache-dir=${join(runDir, 'kube-cache')}`, ...args],
      { ...(input === undefined ? {} : { input }), timeoutMs: 120_000, signal },
    );
}

function mustSucceed(what: string, r: CommandResult): string {
  if (r.code !== 0) throw new StartError(`${what} failed (exit ${String(r.code)}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Starts the control plane; retries up to 3 times when a port was taken in between (§5). */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    if (opts.signal?.aborted === true) throw new StartError('start aborted');
    const t0 = Date.now();
    const v = await fn();
    opts.onStep?.(name, Date.now() - t0);
    return v;
  };
  const bins = await step('binaries', () => resolveBinaries(opts.buildOutput));
  const runDir = mkdtempSync(join(tmpdir(), 'connectors-e2e.'));
  opts.onRunDir?.(runDir);
  try {
    mkdirSync(join(runDir, 'pids'));
    const pki = await step('pki', () => createPki(join(runDir, 'pki')));
    for (let attempt = 1; ; attempt++) {
      try {
        return await startOnce(runDir, pki, bins, opts, step, log);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (attempt >= 3 || !/address already in use|EADDRINUSE/.test(msg) || opts.signal?.aborted === true) {
          throw e;
        }
        log(`a port was taken during start (attempt ${String(attempt)} of 3); retrying on new ports`);
      }
    }
  } catch (e) {
    await stopRunDir(runDir);
    throw e;
  }
}

async function startOnce(
  runDir: string,
  pki: Pki,
  bins: { kubeBinDir: string; etcdBin: string; opaBin: string | undefined },
  opts: ControlPlaneOptions,
  step: <T>(name: string, fn: () => Promise<T>) => Promise<T>,
  log: (line: string) => void,
): Promise<ControlPlane> {
  const [etcdKubeClient, etcdKubePeer, etcdExtClient, etcdExtPeer, apiserverPort, kcmPort, extPort] =
    (await freePorts(7)) as [number, number, number, number, number, number, number];
  const ports: Ports = {
    etcdKubeClient, etcdKubePeer, etcdExtClient, etcdExtPeer, apiserver: apiserverPort, kcm: kcmPort, ext: extPort,
  };
  const tmpfs = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dataDir = mkdtempSync(join(tmpfs, 'connectors-e2e-data.'));
  writeFileSync(join(runDir, 'data-dir'), `${dataDir}\n`);
  const at: Attempt = { runDir, dataDir, ports, procs: new Map(), opts, stopping: false };
  if (opts.detach !== true) {
    installExitHook();
    live.set(runDir, { procs: at.procs, dirs: [dataDir, runDir] });
  }
  const skipServer = opts.skipServer ?? serverSkippedByEnv();
  const kubectl = join(bins.kubeBinDir, 'kubectl');
  const apiserverUrl = `https://127.0.0.1:${String(apiserverPort)}`;
  const kubeconfigs: Record<KubeconfigName, string> = {
    admin: join(runDir, 'admin.kubeconfig'),
    kcm: join(runDir, 'kcm.kubeconfig'),
    ext: join(runDir, 'ext.kubeconfig'),
    alice: join(runDir, 'alice.kubeconfig'),
    bob: join(runDir, 'bob.kubeconfig'),
  };
  const ca = readFileSync(pki.ca.crt);
  const admin: TlsClient = { ca, cert: readFileSync(pki.admin.crt), key: readFileSync(pki.admin.key) };
  const adminGet = (path: string): Promise<HttpResult> => httpsGet(`${apiserverUrl}${path}`, admin);
  const k = kubectlFor(kubectl, runDir, kubeconfigs.admin, opts.signal);

  try {
    // 1. etcds
    await step('etcd', async () => {
      for (const [name, client, peer] of [
        ['etcd-kube', etcdKubeClient, etcdKubePeer],
        ['etcd-ext', etcdExtClient, etcdExtPeer],
      ] as const) {
        launch(at, name, bins.etcdBin, await etcdArgs(bins.etcdBin, name, dataDir, client, peer));
      }
      for (const [name, port] of [['etcd-kube', etcdKubeClient], ['etcd-ext', etcdExtClient]] as const) {
        await waitUntil(at, `${name} /health`, 20_000, () => etcdHealthy(port), { proc: at.procs.get(name) });
      }
    });

    // 2. kube-apiserver (§7)
    writeKubeconfig(kubeconfigs.admin, apiserverUrl, pki.ca.crt, { kind: 'cert', name: 'e2e-admin', pair: pki.admin });
    writeKubeconfig(kubeconfigs.kcm, apiserverUrl, pki.ca.crt, {
      kind: 'cert', name: 'system:kube-controller-manager', pair: pki.kcm,
    });
    for (const u of [pki.users.alice, pki.users.bob]) {
      writeKubeconfig(kubeconfigs[u.name === 'alice' ? 'alice' : 'bob'], apiserverUrl, pki.ca.crt, {
        kind: 'token', name: u.name, token: u.token,
      });
    }
    await step('kube-apiserver', async () => {
      const proc = launch(at, 'kube-apiserver', join(bins.kubeBinDir, 'kube-apiserver'), [
        `--etcd-servers=http://127.0.0.1:${String(etcdKubeClient)}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${String(apiserverPort)}`,
        `--tls-cert-file=${pki.apiserver.crt}`,
        `--tls-private-key-file=${pki.apiserver.key}`,
        `--cert-dir=${join(runDir, 'apiserver-certs')}`,
        `--client-ca-file=${pki.ca.crt}`,
        `--token-auth-file=${pki.tokensCsv}`,
        '--anonymous-auth=false',
        '--authorization-mode=Node,RBAC',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        `--requestheader-client-ca-file=${pki.frontProxyCa.crt}`,
        '--requestheader-allowed-names=front-proxy-client',
        '--requestheader-username-headers=X-Remote-User',
        '--requestheader-group-headers=X-Remote-Group',
        '--requestheader-extra-headers-prefix=X-Remote-Extra-',
        '--requestheader-uid-headers=X-Remote-Uid',
        `--proxy-client-cert-file=${pki.frontProxyClient.crt}`,
        `--proxy-client-key-file=${pki.frontProxyClient.key}`,
        '--enable-aggregator-routing=false',
        '--profiling=false',
        // Without it an open watch (kubectl -w, a test's informer) holds SIGTERM for the whole 60 s
        // shutdown timeout, so every stop ended in SIGKILL after 10 s; with it, about 1 s.
        '--shutdown-watch-termination-grace-period=2s',
        '--v=1',
      ]);
      await waitUntil(
        at,
        'kube-apiserver /readyz',
        90_000,
        async () => {
          const r = await adminGet('/readyz');
          return r.ok && r.status === 200 && r.body.trim() === 'ok';
        },
        { proc, detail: async () => `/readyz?verbose: ${describeResult(await adminGet('/readyz?verbose'))}` },
      );
    });

    // 3. the auth ConfigMap is written asynchronously after /readyz
    await step('auth-configmap', () =>
      waitUntil(at, 'kube-system/extension-apiserver-authentication', 30_000, async () => {
        const r = await adminGet('/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication');
        return r.ok && r.status === 200;
      }),
    );

    // 4. the project's manifests, unchanged, then the local ExternalName Service
    await step('manifests', async () => {
      const files = manifestFiles.flatMap((f) => ['-f', join(repoRoot, 'manifests', f)]);
      mustSucceed('kubectl apply manifests/', await k(['apply', ...files]));
      const service = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: serverName, namespace: systemNamespace },
        // A DNS name: the aggregator dials https://localhost:<APIService port> (§10).
        spec: { type: 'ExternalName', externalName: 'localhost' },
      };
      mustSucceed('kubectl apply ExternalName Service', await k(['apply', '-f', '-'], JSON.stringify(service)));
      await failOnOwnCrd(adminGet);
    });

    const extIdentity = await step('ext-identity', () =>
      writeExtKubeconfig(at, pki, kubeconfigs.ext, apiserverUrl, k, log),
    );

    /** Our server's command line on a port: the one `up` runs, and more replicas for tests. */
    const serverArgs = (port: number): string[] => [
      '--import', 'tsx', join(repoRoot, 'apiserver/main.ts'),
      `--secure-port=${String(port)}`,
      '--bind-address=127.0.0.1',
      `--tls-cert-file=${pki.extServing.crt}`,
      `--tls-private-key-file=${pki.extServing.key}`,
      `--etcd-servers=http://127.0.0.1:${String(etcdExtClient)}`,
      `--kubeconfig=${kubeconfigs.ext}`,
      ...(bins.opaBin === undefined ? [] : [`--opa-path=${bins.opaBin}`]),
    ];

    if (!skipServer) {
      // 5. our server, before its APIService: the availability controller backs off after failures
      await step('connectors-apiserver', async () => {
        const proc = launch(
          at,
          'connectors-apiserver',
          process.execPath,
          serverArgs(extPort),
          repoRoot,
        );
        // The admin cert is offered in case our server only answers authenticated /readyz calls.
        const probe: TlsClient = { ...admin, ca: readFileSync(pki.extCa.crt) };
        const readyz = (): Promise<HttpResult> => httpsGet(`https://127.0.0.1:${String(extPort)}/readyz`, probe);
        try {
          await waitUntil(
            at,
            `our server's /readyz on 127.0.0.1:${String(extPort)}`,
            60_000,
            async () => {
              const r = await readyz();
              return r.ok && r.status === 200;
            },
            { proc, detail: async () => `/readyz: ${describeResult(await readyz())}` },
          );
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          throw new StartError(
            `our server (apiserver/main.ts) did not become ready: ${msg}\n` +
              `To start everything else without it: ${skipServerEnv}=1 (npm run up -- --no-server).`,
          );
        }
      });

      // 6. the production APIService, patched with our CA and port
      await step('apiservice', async () => {
        const patch = JSON.stringify({ spec: { caBundle: b64(pki.extCa.crt), service: { port: extPort } } });
        const obj = mustSucceed(
          'kubectl patch --local apiservice.yaml',
          await k(['patch', '--local', '-f', join(repoRoot, 'manifests/apiservice.yaml'), '--type=merge', '-p', patch, '-o', 'json']),
        );
        mustSucceed('kubectl apply APIService', await k(['apply', '-f', '-'], obj));
        const wait = await k(['wait', '--for=condition=Available', `apiservice/${apiServiceName}`, '--timeout=60s']);
        checkAlive(at, `APIService ${apiServiceName}`);
        if (wait.code !== 0) {
          const conditions = await k(['get', 'apiservice', apiServiceName, '-o', 'jsonpath={.status.conditions}']);
          const server = at.procs.get('connectors-apiserver');
          throw new StartError(
            `APIService ${apiServiceName} not Available after 60 s: ${wait.stderr.trim()}\n` +
              `conditions: ${conditions.stdout}${server === undefined ? '' : `\n${tailMessage(server)}`}`,
          );
        }
        mustSucceed(`GET /apis/${group}/${version}`, await k(['get', '--raw', `/apis/${group}/${version}`]));
      });
    }

    // 7. kube-controller-manager, last: its first discovery already includes our group
    const kcmIdentity = await step('kube-controller-manager', () =>
      startKcm(at, pki, bins.kubeBinDir, kubeconfigs, adminGet, log),
    );

    // 8. env
    const pids: Partial<Record<ComponentName, number>> = {};
    for (const [name, p] of at.procs) pids[name] = p.pid;
    const envFile = join(runDir, 'env');
    const env: Record<string, string> = {
      RUNDIR: runDir,
      DATA_DIR: dataDir,
      KUBECONFIG: kubeconfigs.admin,
      KUBECTL: kubectl,
      KUBE_BIN_DIR: bins.kubeBinDir,
      ETCD_BIN: bins.etcdBin,
      APISERVER_URL: apiserverUrl,
      ETCD_KUBE_PORT: String(etcdKubeClient),
      ETCD_EXT_PORT: String(etcdExtClient),
      APISERVER_PORT: String(apiserverPort),
      KCM_PORT: String(kcmPort),
      EXT_PORT: String(extPort),
      // Not CONNECTORS_UP_SKIP_SERVER: sourcing this file must not change the next `up`.
      SERVER_SKIPPED: skipServer ? '1' : '0',
      ...Object.fromEntries(
        Object.entries(pids).map(([n, pid]) => [`${n.toUpperCase().replaceAll('-', '_')}_PID`, String(pid)]),
      ),
    };
    writeFileSync(envFile, Object.entries(env).map(([key, v]) => `export ${key}='${v}'\n`).join(''));

    let stopped: Promise<void> | undefined;
    const died = Promise.race(
      [...at.procs.values()].map((p) => p.exited.then(() => `${p.name} ${p.exit ?? 'exited'}\n${tailMessage(p)}`)),
    );
    return {
      runDir,
      dataDir,
      envFile,
      kubeconfig: kubeconfigs.admin,
      kubeconfigs,
      kubeBinDir: bins.kubeBinDir,
      kubectl,
      serverArgs,
      ports,
      pids,
      pki,
      users: pki.users,
      serverSkipped: skipServer,
      extIdentity,
      kcmIdentity,
      // Only exits before stop() count.
      died: died.then((why) => (at.stopping ? new Promise<string>(() => undefined) : why)),
      stop(report) {
        at.stopping = true;
        stopped ??= stopRunDir(runDir, report).finally(() => live.delete(runDir));
        return stopped;
      },
    };
  } catch (e) {
    // Tear down this attempt only; the caller decides whether to retry and owns the run dir.
    at.stopping = true;
    await stopAttempt(at);
    throw e;
  }
}

async function stopAttempt(at: Attempt): Promise<void> {
  for (const names of stopOrder) {
    await Promise.all(
      names.map(async (name) => {
        const p = at.procs.get(name);
        if (p === undefined || p.exit !== undefined) return;
        await stopPid(p.pid, [at.runDir, at.dataDir]);
        if (p.exit === undefined) p.child.kill('SIGKILL');
        await p.exited;
      }),
    );
  }
  for (const name of at.procs.keys()) rmSync(join(at.runDir, 'pids', `${name}.pid`), { force: true });
  rmSync(at.dataDir, { recursive: true, force: true });
  rmSync(join(at.runDir, 'data-dir'), { force: true });
  live.delete(at.runDir);
}

/** §10: an APIService owns its whole group/version; a CRD of ours would collide with it. */
async function failOnOwnCrd(adminGet: (path: string) => Promise<HttpResult>): Promise<void> {
  const r = await adminGet('/apis/apiextensions.k8s.io/v1/customresourcedefinitions');
  if (!r.ok || r.status !== 200) throw new StartError(`cannot list CRDs: ${describeResult(r)}`);
  const body = parseJson(r.body);
  const items = isRecord(body) && Array.isArray(body['items']) ? (body['items'] as unknown[]) : [];
  const clashing = items.flatMap((item) => {
    if (!isRecord(item) || !isRecord(item['spec']) || !isRecord(item['metadata'])) return [];
    const spec = item['spec'];
    const versions = Array.isArray(spec['versions']) ? (spec['versions'] as unknown[]) : [];
    const served = versions.some((v) => isRecord(v) && v['name'] === version);
    return spec['group'] === group && served ? [String(item['metadata']['name'])] : [];
  });
  if (clashing.length > 0) {
    throw new StartError(
      `CRD ${clashing.join(', ')} serves ${group}/${version}, which our APIService owns ` +
        '(local-control-plane.md §10, connectors-approval.md D1): delete the CRD or migrate it first',
    );
  }
}

/**
 * ext.kubeconfig: a ServiceAccount token (production RBAC with ServiceAccount subjects), checked by
 * reading the auth ConfigMap with it; fallback (§8): a cluster-CA client cert
 * `CN=connectors-access-apiserver` plus the same bindings for that User.
 */
async function writeExtKubeconfig(
  at: Attempt,
  pki: Pki,
  file: string,
  apiserverUrl: string,
  k: (args: readonly string[], input?: string) => Promise<CommandResult>,
  log: (line: string) => void,
): Promise<'serviceaccount-token' | 'client-cert'> {
  const ca = readFileSync(pki.ca.crt);
  const probe = (tls: TlsClient): Promise<HttpResult> =>
    httpsGet(`${apiserverUrl}/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication`, {
      ca,
      ...tls,
    });
  // RBAC changes reach the authorizer through an informer: allow a few seconds.
  const works = async (tls: TlsClient): Promise<HttpResult> => {
    let last: HttpResult = { ok: false, error: 'not tried' };
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      checkAlive(at, 'our identity');
      last = await probe(tls);
      if (last.ok && (last.status === 200 || last.status === 401)) return last;
      await sleep(250);
    }
    return last;
  };
  const minted = await k(['create', 'token', serverName, '-n', systemNamespace, '--duration=24h']);
  const token = minted.stdout.trim();
  if (minted.code === 0 && token !== '') {
    const r = await works({ token });
    if (r.ok && r.status === 200) {
      writeKubeconfig(file, apiserverUrl, pki.ca.crt, { kind: 'token', name: serverName, token });
      return 'serviceaccount-token';
    }
    log(`ServiceAccount token for ${serverName} does not work (${describeResult(r)}); falling back to a client cert`);
  } else {
    log(`kubectl create token failed (${minted.stderr.trim()}); falling back to a client cert`);
  }
  // The manifests' bindings, again for the User the client cert names.
  const binding = (kind: 'ClusterRole' | 'Role', role: string, name: string, namespace?: string) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: kind === 'Role' ? 'RoleBinding' : 'ClusterRoleBinding',
    metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name: role },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: serverName }],
  });
  const bindings = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      binding('ClusterRole', 'system:auth-delegator', `${serverName}-user:system:auth-delegator`),
      binding('ClusterRole', serverName, `${serverName}-user`),
      binding('Role', 'extension-apiserver-authentication-reader', `${serverName}-user-auth-reader`, 'kube-system'),
      binding('Role', serverName, `${serverName}-user`, systemNamespace),
    ],
  };
  mustSucceed('kubectl apply User bindings', await k(['apply', '-f', '-'], JSON.stringify(bindings)));
  const r = await works({ cert: readFileSync(pki.extClient.crt), key: readFileSync(pki.extClient.key) });
  if (!r.ok || r.status !== 200) {
    throw new StartError(`the fallback identity ${serverName} cannot read the auth ConfigMap: ${describeResult(r)}`);
  }
  writeKubeconfig(file, apiserverUrl, pki.ca.crt, { kind: 'cert', name: serverName, pair: pki.extClient });
  return 'client-cert';
}

/**
 * §9. Ready when /healthz is ok, the serviceaccount controller made `default/default` and the
 * aggregation controller filled `view` with our rules. If that does not happen and the log shows
 * `forbidden` for the manager's own identity, restart it with admin.kubeconfig and without
 * per-controller credentials.
 */
async function startKcm(
  at: Attempt,
  pki: Pki,
  kubeBinDir: string,
  kubeconfigs: Readonly<Record<KubeconfigName, string>>,
  adminGet: (path: string) => Promise<HttpResult>,
  log: (line: string) => void,
): Promise<'service-account-credentials' | 'admin'> {
  const start = (kubeconfig: string, perControllerCredentials: boolean): Proc =>
    launch(at, 'kube-controller-manager', join(kubeBinDir, 'kube-controller-manager'), [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${String(at.ports.kcm)}`,
      `--cert-dir=${join(at.runDir, 'kcm-certs')}`,
      '--controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller,clusterrole-aggregation-controller',
      `--use-service-account-credentials=${String(perControllerCredentials)}`,
      `--service-account-private-key-file=${pki.saKey}`,
      `--root-ca-file=${pki.ca.crt}`,
      '--leader-elect=false',
      '--v=1',
    ]);
  const healthy = async (): Promise<boolean> => {
    const r = await httpsGet(`https://127.0.0.1:${String(at.ports.kcm)}/healthz`, { insecure: true });
    return r.ok && r.status === 200 && r.body.trim() === 'ok';
  };
  const controllersWork = async (): Promise<boolean> => {
    const sa = await adminGet('/api/v1/namespaces/default/serviceaccounts/default');
    if (!sa.ok || sa.status !== 200) return false;
    const view = await adminGet('/apis/rbac.authorization.k8s.io/v1/clusterroles/view');
    return view.ok && view.status === 200 && view.body.includes(`"${group}"`);
  };
  const forbiddenOwnIdentity = (p: Proc): boolean =>
    /forbidden: User \\?"system:kube-controller-manager\\?"/.test(logTail(p.logFile, 2000));

  let proc = start(kubeconfigs.kcm, true);
  await waitUntil(at, 'kube-controller-manager /healthz', 60_000, healthy, { proc });
  const t0 = Date.now();
  try {
    await waitUntil(at, 'kube-controller-manager to create default/default and aggregate view', 60_000, async () => {
      if (await controllersWork()) return true;
      // Early forbidden lines can be informer start-up races; only a persisting failure counts.
      if (Date.now() - t0 > 15_000 && forbiddenOwnIdentity(proc)) throw new KcmForbidden();
      return false;
    }, { proc });
    return 'service-account-credentials';
  } catch (e) {
    if (!(e instanceof KcmForbidden)) throw e;
  }
  log('kube-controller-manager is forbidden as system:kube-controller-manager; restarting it with admin.kubeconfig (§9)');
  await stopPid(proc.pid, [at.runDir]);
  if (proc.exit === undefined) proc.child.kill('SIGKILL');
  await proc.exited;
  at.procs.delete('kube-controller-manager');
  proc = start(kubeconfigs.admin, false);
  await waitUntil(at, 'kube-controller-manager /healthz', 60_000, healthy, { proc });
  await waitUntil(at, 'kube-controller-manager to create default/default and aggregate view', 60_000, controllersWork, { proc });
  return 'admin';
}

class KcmForbidden extends Error {}

/** RSS in MiB of a running process (from /proc), or undefined. */
export function rssMiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'));
    return m?.[1] === undefined ? undefined : Math.round(Number(m[1]) / 1024);
  } catch {
    return undefined;
  }
}

/** Names of the components recorded in a run dir, for `down`. */
export function recordedComponents(runDir: string): ComponentName[] {
  try {
    const names = new Set(readdirSync(join(runDir, 'pids')).map((f) => f.replace(/\.pid$/, '')));
    return stopOrder.flat().filter((n) => names.has(n));
  } catch {
    return [];
  }
}

/** Whether any process recorded in `runDir` is still running. */
export function runDirAlive(runDir: string): boolean {
  let dataDir = '';
  try {
    dataDir = readFileSync(join(runDir, 'data-dir'), 'utf8').trim();
  } catch {
    // no data dir recorded
  }
  const markers = [runDir, ...(dataDir === '' ? [] : [dataDir])];
  return recordedComponents(runDir).some((n) => {
    const pid = readPid(runDir, n);
    return pid !== undefined && alive(pid) && belongsToRun(pid, markers);
  });
}
