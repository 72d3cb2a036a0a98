/**
 * The kubectl built with the control plane (test/cluster/build-binaries.sh), so tests never depend
 * on whatever kubectl a machine happens to have, a runner for it, and `useKubectl`, the preamble of
 * the integration tests that point it at an in-process API server.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

let binDir: Promise<string> | undefined;

/** KUBE_BIN_DIR from the environment, else from the build script (which builds on first use). */
export function kubeBinDir(): Promise<string> {
  binDir ??= (async () => {
    const fromEnv = process.env['KUBE_BIN_DIR'];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    const r = await run('bash', [join(repoRoot, 'test/cluster/build-binaries.sh')], {});
    const line = r.stdout.split('\n').find((l) => l.startsWith('KUBE_BIN_DIR='));
    if (r.code !== 0 || line === undefined) throw new Error(`build-binaries.sh failed (exit ${String(r.code)}):\n${r.stderr.slice(-4000)}`);
    return line.slice('KUBE_BIN_DIR='.length).trim();
  })();
  return binDir;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(cmd: string, args: readonly string[], opts: { input?: string; env?: Record<string, string> }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: repoRoot, env: { ...process.env, ...(opts.env ?? {}) }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs the built kubectl with the given leading arguments (e.g. --server …) before args. */
export async function kubectl(base: readonly string[], args: readonly string[], input?: string): Promise<RunResult> {
  const dir = await kubeBinDir();
  // A private cache dir: kubectl caches discovery and OpenAPI per server URL on disk.
  return run(join(dir, 'kubectl'), [...base, ...args], { ...(input === undefined ? {} : { input }), env: { KUBECACHEDIR: join(repoRoot, '.cluster', 'kubectl-cache', String(process.pid)) } });
}

/** kubectl against one server; arrow functions, so they can be destructured. */
export interface KubectlAgainst {
  /** `kubectl --server <url> --request-timeout=20s <args…>`; never throws for a non-zero exit. */
  readonly k: (...args: string[]) => Promise<RunResult>;
  /** `k`, expecting exit code 0 (the message names the command and its stderr); returns stdout. */
  readonly ok: (...args: string[]) => Promise<string>;
  /** `k` with `input` on stdin (none when undefined). */
  readonly kIn: (input: string | undefined, ...args: string[]) => Promise<RunResult>;
  /** `ok` with `input` on stdin (none when undefined). */
  readonly okIn: (input: string | undefined, ...args: string[]) => Promise<string>;
}

/**
 * Mocha helper for a describe block, after the server's own hooks (e.g. `useRestServer()`): a `before`
 * hook that waits for the built kubectl and then points it at `server.url()`.
 */
export function useKubectl(server: { url(): string }): KubectlAgainst {
  let base: string[] = [];
  before(async function () {
    // First use builds the control-plane binaries (minutes, cold); later runs hit the cache.
    this.timeout(40 * 60_000);
    await kubeBinDir();
    base = ['--server', server.url(), '--request-timeout=20s'];
  });
  const kIn = (input: string | undefined, ...args: string[]): Promise<RunResult> => kubectl(base, args, input);
  const okIn = async (input: string | undefined, ...args: string[]): Promise<string> => {
    const r = await kIn(input, ...args);
    expect(r.code, `kubectl ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };
  return { k: (...args) => kIn(undefined, ...args), ok: (...args) => okIn(undefined, ...args), kIn, okIn };
}
