/**
 * One local control plane for every e2e file of a mocha run (local-control-plane.md §12): started
 * lazily by the first `useControlPlane()` block that runs, stopped by a root `after` hook (registered
 * when this module is first imported), on SIGINT/SIGTERM, and (SIGKILL) when the process exits.
 * Tests share it: use unique namespaces (`uniqueName`) instead of recreating one.
 *
 * With CONNECTORS_UP_SKIP_SERVER=1 our server is not started; tests that need it check
 * `serverSkipped()` and skip.
 */
import { randomBytes } from 'node:crypto';
import {
  runCommand,
  serverSkippedByEnv,
  startControlPlane,
} from '../cluster/control-plane.js';
import type { CommandResult, ControlPlane } from '../cluster/control-plane.js';
import { until } from '../support/poll.js';

export type { CommandResult, ControlPlane } from '../cluster/control-plane.js';

let started: Promise<ControlPlane> | undefined;

/** The shared control plane, started on first call (memoized; a failed start is not retried). */
export function controlPlane(): Promise<ControlPlane> {
  if (started === undefined) {
    installSignalHandlers();
    started = startControlPlane({
      onStep: (step, ms) => {
        if (process.env['CONNECTORS_E2E_QUIET'] !== '1') {
          process.stderr.write(`      [control plane] ${step} (${(ms / 1000).toFixed(1)} s)\n`);
        }
      },
    });
  }
  return started;
}

/** Stops the shared control plane if it was started (idempotent). */
export async function stopControlPlane(): Promise<void> {
  if (started === undefined) return;
  const p = started;
  try {
    await (await p).stop();
  } catch {
    // a failed start has already cleaned up after itself
  }
}

/** Whether our server is left out (CONNECTORS_UP_SKIP_SERVER=1). */
export function serverSkipped(): boolean {
  return serverSkippedByEnv();
}

/**
 * Mocha helper for a describe block: a `before` hook that waits for the shared control plane (a cold
 * build of the binaries takes minutes, a warm start about 20 s). The getter throws before that.
 */
export function useControlPlane(): () => ControlPlane {
  let cp: ControlPlane | undefined;
  before(async function () {
    this.timeout(20 * 60_000);
    cp = await controlPlane();
  });
  return () => {
    if (cp === undefined) throw new Error('the control plane is not up: use the getter inside tests or hooks');
    return cp;
  };
}

export interface KubectlOptions {
  /**
   * `alice` or `bob`: their token kubeconfig (authenticated, no rights of their own). Any other
   * name: the admin kubeconfig with `--as=<name>` (impersonation, e.g.
   * `system:serviceaccount:ns:sa`). Default: admin.
   */
  readonly as?: string;
  /** With `as` impersonation: `--as-group` values. */
  readonly asGroups?: readonly string[];
  /** Standard input (e.g. a manifest for `apply -f -`). */
  readonly input?: string;
  readonly timeoutMs?: number;
}

/** Runs the built kubectl against the shared control plane; never throws for a non-zero exit. */
export async function kubectl(args: readonly string[], opts: KubectlOptions = {}): Promise<CommandResult> {
  const cp = await controlPlane();
  const own = opts.as === 'alice' || opts.as === 'bob' ? opts.as : undefined;
  const identity =
    own !== undefined
      ? [`--kubeconfig=${cp.kubeconfigs[own]}`]
      : [
          `--kubeconfig=${cp.kubeconfig}`,
          ...(opts.as === undefined ? [] : [`--as=${opts.as}`]),
          ...(opts.asGroups ?? []).map((g) => `--as-group=${g}`),
        ];
  return runCommand(cp.kubectl, [...identity, `--cache-dir=${cp.runDir}/kube-cache`, ...args], {
    timeoutMs: opts.timeoutMs ?? 60_000,
    ...(opts.input === undefined ? {} : { input: opts.input }),
  });
}

/** A DNS-1123 name unique to this run, e.g. for a test namespace. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined, or throws on timeout. */
export function eventually<T>(what: string, check: () => Promise<T | undefined>, { timeoutMs = 60_000, intervalMs = 250 } = {}): Promise<T> {
  return until(what, check, { timeoutMs, intervalMs });
}

let signalHandlersInstalled = false;
function installSignalHandlers(): void {
  if (signalHandlersInstalled) return;
  signalHandlersInstalled = true;
  // Node's default for these signals exits without 'exit' handlers: stop in order, then exit.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping the control plane …\n`);
      void stopControlPlane().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}

// Root-level hook: registered once, when the first e2e file imports this module during loading.
if (typeof after === 'function') {
  after(async function () {
    this.timeout(60_000);
    await stopControlPlane();
  });
}
