/**
 * Runs the controllers of this replica: at once without leader election, or only while this replica
 * holds the Lease. Losing the Lease stops them; if they cannot stop before another replica may take
 * over (lease duration − renew deadline), the process exits, as kube-controller-manager does, rather
 * than risk two writers. Every replica also creates the missing built-in templates at start-up.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../api/meta.js';
import type { Store } from '../registry/store/index.js';
import { startAccessPolicyController } from './accesspolicy-controller.js';
import { startAccessRequestController, type RunningController } from './accessrequest-controller.js';
import { ensureBuiltinTemplates } from './builtin-templates.js';
import { createKubeClient } from './kube-client.js';
import { startLeaderElection, type LeaderElector } from './leader.js';
import type { ControllerFlags } from './options.js';
import { createRegoEvaluator, type RegoEvaluator } from './rego.js';

export interface ControllerManagerOptions {
  readonly kubeConfig: KubeConfig;
  readonly stores: readonly Store<KubeObject>[];
  readonly flags: ControllerFlags;
  readonly log: (entry: Record<string, unknown>) => void;
  /** Called when controllers could not stop in time after losing the Lease. */
  readonly exit: (code: number) => void;
}

export interface ControllerManager {
  readonly elector: LeaderElector | undefined;
  stop(): Promise<void>;
}

export function startControllerManager(opts: ControllerManagerOptions): ControllerManager {
  const f = opts.flags;
  // §8: missing built-in templates are created at start-up, by every replica: a create that finds
  // one (409) leaves it alone, so replicas cannot overwrite each other or an admin's edit.
  const templates = new AbortController();
  const templatesDone = ensureBuiltinTemplates({
    client: createKubeClient(opts.kubeConfig),
    namespace: f.systemNamespace,
    log: opts.log,
    signal: templates.signal,
  }).catch((e: unknown) => {
    opts.log({ level: 'error', msg: 'creating the built-in templates failed', error: e instanceof Error ? e.message : String(e) });
  });
  const stopTemplates = async (): Promise<void> => {
    templates.abort();
    await templatesDone;
  };
  let running: RunningController[] = [];
  let elector: LeaderElector | undefined;
  // One OPA evaluator for the process (its capabilities file is written once).
  const rego: RegoEvaluator | undefined = f.opaPath === undefined ? undefined : createRegoEvaluator({ opaPath: f.opaPath });
  const start = (): void => {
    const common = {
      kubeConfig: opts.kubeConfig,
      stores: opts.stores,
      systemNamespace: f.systemNamespace,
      configMapName: f.configMapName,
      resyncPeriodMs: f.resyncPeriodMs,
      log: opts.log,
      ...(elector === undefined ? {} : { canWrite: () => elector?.canWrite() ?? false }),
    };
    running = [
      startAccessRequestController({
        ...common,
        terminalRequestTtlMs: f.terminalRequestTtlMs,
        ...(rego === undefined ? {} : { evaluateRego: (jobs) => rego.evaluate([...jobs]) }),
      }),
      startAccessPolicyController(common),
    ];
  };
  const stopAll = async (): Promise<void> => {
    const r = running;
    running = [];
    await Promise.allSettled(r.map((c) => c.stop()));
  };

  const closeRego = async (): Promise<void> => {
    await rego?.close();
  };
  if (!f.leaderElect) {
    start();
    return {
      elector: undefined,
      stop: async () => {
        await stopTemplates();
        await stopAll();
        await closeRego();
      },
    };
  }
  const graceMs = f.leaderElectLeaseDurationMs - f.leaderElectRenewDeadlineMs;
  elector = startLeaderElection({
    client: createKubeClient(opts.kubeConfig, Math.max(1000, Math.floor(f.leaderElectRenewDeadlineMs / 2))),
    namespace: f.leaderElectResourceNamespace === '' ? f.systemNamespace : f.leaderElectResourceNamespace,
    name: f.leaderElectResourceName,
    leaseDurationMs: f.leaderElectLeaseDurationMs,
    renewDeadlineMs: f.leaderElectRenewDeadlineMs,
    retryPeriodMs: f.leaderElectRetryPeriodMs,
    onStartedLeading: start,
    onStoppedLeading: async () => {
      const deadline = setTimeout(() => {
        opts.log({ level: 'error', msg: 'leader election lost and the controllers did not stop in time: exiting' });
        opts.exit(1);
      }, graceMs);
      try {
        await stopAll();
      } finally {
        clearTimeout(deadline);
      }
    },
    log: opts.log,
  });
  const e = elector;
  return {
    elector: e,
    stop: async () => {
      await stopTemplates();
      await e.stop();
      await stopAll();
      await closeRego();
    },
  };
}
