/**
 * The kubectl built with the control plane (test/cluster/build-binaries.sh), so tests never depend
 * on whatever kubectl a machine happens to have, and a runner for it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
