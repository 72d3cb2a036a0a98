/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection package does it:
 * every replica serves the API, only the holder of the Lease runs the controllers.
 *
 * - A candidate takes the Lease when it is free, or when the record it last saw has not changed for
 *   a whole lease duration, measured on the candidate's own clock from when it observed the record
 *   (never from the record's timestamps: replicas' clocks may differ).
 * - Every write is a compare-and-swap on the Lease's resourceVersion, so two candidates can never
 *   both win.
 * - The leader renews every retry period. If it has not renewed for the renew deadline (shorter than
 *   the lease duration), it stops leading at once — before any other replica may take the Lease — so
 *   there are never two writers. `canWrite()` lets the controllers check this before every write.
 * - On a clean stop the leader releases the Lease so the next one takes over without waiting.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { KubeClient } from './kube-client.js';

export interface LeaderElectionConfig {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  readonly identity?: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly onStartedLeading: () => void;
  /** Must stop every write; the elector waits for it before it may lead again. */
  readonly onStoppedLeading: () => Promise<void>;
  readonly log: (entry: Record<string, unknown>) => void;
  readonly now?: () => number;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: LeaseSpec;
}

export interface LeaderElector {
  readonly identity: string;
  isLeader(): boolean;
  /** True only while this replica holds a lease it renewed within the renew deadline. */
  canWrite(): boolean;
  stop(): Promise<void>;
}

/** MicroTime as the API serializes it (RFC 3339 with microseconds). */
const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export function startLeaderElection(cfg: LeaderElectionConfig): LeaderElector {
  const now = cfg.now ?? Date.now;
  const identity = cfg.identity ?? `${hostname()}_${randomUUID()}`;
  const path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(cfg.namespace)}/leases`;
  let leading = false;
  let lastRenew = 0;
  /** The record last seen and when (local clock) it last changed. */
  let observed: { key: string; at: number } | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let stepping: Promise<void> = Promise.resolve();

  const recordKey = (s: LeaseSpec): string => `${s.holderIdentity ?? ''}|${s.renewTime ?? ''}|${String(s.leaseTransitions ?? 0)}`;

  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const t = now();
    const got = await cfg.client.call<Lease>('GET', `${path}/${encodeURIComponent(cfg.name)}`);
    const desired = (old: LeaseSpec | undefined): LeaseSpec => {
      const sameHolder = old?.holderIdentity === identity;
      return {
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(cfg.leaseDurationMs / 1000),
        acquireTime: sameHolder && old?.acquireTime !== undefined ? old.acquireTime : microTime(t),
        renewTime: microTime(t),
        leaseTransitions: (old?.leaseTransitions ?? 0) + (old === undefined || sameHolder || (old.holderIdentity ?? '') === '' ? 0 : 1),
      };
    };
    if (!got.ok) {
      if (got.code !== 404) {
        cfg.log({ level: 'warning', msg: `leader election: reading Lease ${cfg.namespace}/${cfg.name}: ${String(got.code)} ${got.message}` });
        return false;
      }
      const lease: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: cfg.name, namespace: cfg.namespace }, spec: desired(undefined) };
      const created = await cfg.client.call<Lease>('POST', path, lease);
      if (created.ok) observed = { key: recordKey(created.body.spec), at: t };
      return created.ok;
    }
    const current = got.body;
    const key = recordKey(current.spec);
    if (observed === undefined || observed.key !== key) observed = { key, at: t };
    const holder = current.spec.holderIdentity ?? '';
    const durationMs = (current.spec.leaseDurationSeconds ?? 0) * 1000;
    if (holder !== '' && holder !== identity && observed.at + durationMs > t) return false; // held by another, not expired
    const updated = await cfg.client.call<Lease>('PUT', `${path}/${encodeURIComponent(cfg.name)}`, { ...current, spec: desired(current.spec) });
    if (updated.ok) observed = { key: recordKey(updated.body.spec), at: t };
    return updated.ok; // 409: someone else wrote first
  };

  const lose = async (why: string): Promise<void> => {
    if (!leading) return;
    leading = false;
    cfg.log({ level: 'warning', msg: `leader election: stopped leading (${why})`, identity });
    await cfg.onStoppedLeading();
  };

  const step = async (): Promise<void> => {
    if (stopped) return;
    let ok = false;
    try {
      ok = await tryAcquireOrRenew();
    } catch (e) {
      cfg.log({ level: 'warning', msg: `leader election: ${e instanceof Error ? e.message : String(e)}` });
    }
    if (stopped) return;
    const t = now();
    if (ok) {
      lastRenew = t;
      if (!leading) {
        leading = true;
        cfg.log({ level: 'info', msg: 'leader election: started leading', identity, lease: `${cfg.namespace}/${cfg.name}` });
        cfg.onStartedLeading();
      }
    } else if (leading && t - lastRenew >= cfg.renewDeadlineMs) {
      await lose('failed to renew the lease within the renew deadline');
    } else if (leading && !ok) {
      // Another replica holds it now (our CAS failed and the holder changed): stop at once.
      if (observed !== undefined && !observed.key.startsWith(`${identity}|`)) await lose('the lease is held by another replica');
    }
  };

  const loop = (): void => {
    if (stopped) return;
    stepping = step().finally(() => {
      if (!stopped) timer = setTimeout(loop, cfg.retryPeriodMs);
    });
  };
  loop();
  // A renewal stuck in a slow request must not keep us leading past the deadline.
  const watchdog = setInterval(() => {
    if (leading && now() - lastRenew >= cfg.renewDeadlineMs) void lose('no renewal within the renew deadline');
  }, Math.max(100, Math.floor(cfg.retryPeriodMs / 2)));
  watchdog.unref();

  return {
    identity,
    isLeader: () => leading,
    canWrite: () => leading && now() - lastRenew < cfg.renewDeadlineMs,
    stop: async () => {
      stopped = true;
      clearInterval(watchdog);
      if (timer !== undefined) clearTimeout(timer);
      await stepping;
      if (!leading) return;
      await lose('shutting down');
      // Release: an empty holder lets the next replica take over at once (ReleaseOnCancel).
      const got = await cfg.client.call<Lease>('GET', `${path}/${encodeURIComponent(cfg.name)}`);
      if (got.ok && got.body.spec.holderIdentity === identity) {
        const t = now();
        await cfg.client.call('PUT', `${path}/${encodeURIComponent(cfg.name)}`, {
          ...got.body,
          spec: { ...got.body.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(t), acquireTime: microTime(t) },
        });
      }
    },
  };
}
