/**
 * The I/O driver of the AccessPolicy controller (spec §5.8): it keeps the caches the pure
 * `reconcileAccessPolicy` reads, turns watch events into the keys of the policies they concern (the
 * policy, Connectors of its namespace, Namespace add/delete/relabel, owned RBAC, system-namespace
 * ConfigMaps, resync), runs passes from a work queue, and carries out each decision — SubjectAccessReviews
 * and RBAC writes through the main API server, the status as a compare-and-swap on our storage, Events
 * after the write. Our own kinds come from LocalInformers over our storage; the main API server's
 * from RemoteInformers.
 */
import type { KubeObject } from '../api/meta.js';
import type { AccessPolicy } from '../apis/connectors/v1alpha1/types.js';
import type { StoreContext } from '../registry/store/context.js';
import type { Store } from '../registry/store/index.js';
import { parseControllerConfig, type ControllerConfig } from './config.js';
import { configMapInformer, ownedRBACInformers, runWorkers, storeOf } from './driver.js';
import { createKubeClient, RemoteInformer, type KubeClient } from './kube-client.js';
import { LocalInformer, objectKey } from './local-informer.js';
import type { ConfigMap, Connector, Role, RoleBinding } from './objects.js';
import {
  policyCleanupOps,
  reconcileAccessPolicy,
  type Namespace,
  type PolicyEvent,
  type PolicyReconcileInputs,
  type ReviewOutcome,
  type SubjectReview,
} from './policy-reconcile.js';
import { accessPolicyLabel, type RBACObject } from './rbac.js';
import { writeStatus } from './status-writer.js';
import { postEvent, runRBACOp } from './writes.js';
import { WorkQueue } from './workqueue.js';
import type { KubeConfig } from '@kubernetes/client-node';

export interface AccessPolicyControllerOptions {
  readonly kubeConfig: KubeConfig;
  readonly stores: readonly Store<KubeObject>[];
  readonly systemNamespace: string;
  readonly configMapName: string;
  readonly resyncPeriodMs: number;
  readonly workers?: number;
  /** Leader election's fence: false once this replica may no longer write (checked before each write). */
  readonly canWrite?: () => boolean;
  /** How many SubjectAccessReviews one pass runs at once. */
  readonly reviewConcurrency?: number;
  readonly log: (entry: Record<string, unknown>) => void;
  readonly now?: () => Date;
}

export interface RunningPolicyController {
  /** Resolves once every cache has listed once. */
  readonly synced: Promise<void>;
  stop(): Promise<void>;
}

const controllerName = 'accesspolicy';

const sameLabels = (a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean => {
  const ea = Object.entries(a ?? {});
  return ea.length === Object.keys(b ?? {}).length && ea.every(([k, v]) => b?.[k] === v);
};

/** Runs `f` over `items` with at most `n` in flight. */
async function pool<T>(items: readonly T[], n: number, f: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await f(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, run));
}

export function startAccessPolicyController(opts: AccessPolicyControllerOptions): RunningPolicyController {
  const now = opts.now ?? (() => new Date());
  const client: KubeClient = createKubeClient(opts.kubeConfig);
  const mayWrite = (): boolean => opts.canWrite === undefined || opts.canWrite();
  const log = (level: string, msg: string): void => opts.log({ level, msg, controller: controllerName });
  const onError = (what: string) => (message: string) => log('warning', `${what}: ${message}`);
  const apStore = storeOf(opts.stores, 'accesspolicies');
  const connStore = storeOf(opts.stores, 'connectors');
  const policies = new LocalInformer<AccessPolicy & KubeObject>(apStore.context.storage, apStore.context.keys, onError('accesspolicies'));
  const connectors = new LocalInformer<KubeObject>(connStore.context.storage, connStore.context.keys, onError('connectors'));
  const queue = new WorkQueue();
  const enqueue = (o: KubeObject): void => queue.add(objectKey(o));
  const everything = (): void => {
    for (const p of policies.list()) enqueue(p);
  };
  const inNamespace = (ns: string | undefined): void => {
    for (const p of policies.list(ns ?? '')) enqueue(p);
  };

  /** Subjects that failed the SubjectAccessReview filter in the last pass, per policy key. */
  const droppedByPolicy = new Map<string, ReadonlySet<string>>();
  /** Uids of deleted policies whose pair the next pass of that key deletes. */
  const deletedUids = new Map<string, string>();

  // --- our kinds ---
  policies.addHandlers({
    onAdd: (p) => {
      deletedUids.delete(objectKey(p));
      enqueue(p);
    },
    onUpdate: (p) => enqueue(p),
    onDelete: (p) => {
      if (p.metadata.uid !== undefined) deletedUids.set(objectKey(p), p.metadata.uid);
      enqueue(p);
    },
  });
  connectors.addHandlers({
    onAdd: (c) => inNamespace(c.metadata.namespace),
    onUpdate: (c, old) => {
      if (!sameLabels(c.metadata.labels, old.metadata.labels) || c.metadata.deletionTimestamp !== old.metadata.deletionTimestamp) inNamespace(c.metadata.namespace);
    },
    onDelete: (c) => inNamespace(c.metadata.namespace),
  });

  // --- the main API server's objects ---
  const namespaces = new RemoteInformer({
    client,
    path: '/api/v1/namespaces',
    onAdd: everything,
    onUpdate: (n, old) => {
      if (!sameLabels(n.metadata.labels, old.metadata.labels) || n.metadata.deletionTimestamp !== old.metadata.deletionTimestamp) everything();
    },
    onDelete: everything,
    onError: onError('namespaces'),
  });
  let config: ControllerConfig = parseControllerConfig(undefined);
  const setConfig = (next: ControllerConfig): void => {
    config = next;
  };
  const configMaps = configMapInformer({
    client,
    systemNamespace: opts.systemNamespace,
    configMapName: opts.configMapName,
    onConfig: setConfig,
    onConfigDeleted: setConfig,
    everything,
    onError: onError('configmaps'),
  });
  const { roles, roleBindings } = ownedRBACInformers(client, 'AccessPolicy', accessPolicyLabel, queue, onError);

  const review = async (r: SubjectReview): Promise<ReviewOutcome> => {
    const res = await client.call<{ status?: { allowed?: boolean } }>('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: r.spec,
    });
    if (!res.ok) return { ok: false, error: `${String(res.code)} ${res.message}`.trim() };
    return { ok: true, allowed: res.body.status?.allowed === true };
  };

  const postPolicyEvent = async (p: AccessPolicy, e: PolicyEvent): Promise<void> => {
    const err = await postEvent(client, { kind: 'AccessPolicy', metadata: p.metadata }, e, now());
    if (err !== undefined) log('warning', err);
  };

  const rbacIn = (ns: string): { roles: Role[]; roleBindings: RoleBinding[] } => ({
    roles: roles.list().filter((o) => o.metadata.namespace === ns) as unknown as Role[],
    roleBindings: roleBindings.list().filter((o) => o.metadata.namespace === ns) as unknown as RoleBinding[],
  });

  type Outcome = { kind: 'done' } | { kind: 'retry'; message: string } | { kind: 'again' };

  /** A policy gone or being deleted: its pair goes now; the garbage collector would do it too. */
  const cleanup = async (key: string, ns: string, name: string, uid: string | undefined): Promise<Outcome> => {
    droppedByPolicy.delete(key);
    if (uid === undefined) return { kind: 'done' };
    const live = rbacIn(ns);
    for (const op of policyCleanupOps(ns, name, uid, [...live.roles, ...live.roleBindings] as RBACObject[])) {
      if (!mayWrite()) return { kind: 'done' };
      const err = await runRBACOp(client, op, 'AccessPolicy');
      if (err !== undefined) return { kind: 'retry', message: err };
    }
    deletedUids.delete(key);
    return { kind: 'done' };
  };

  /** One pass. */
  const sync = async (key: string): Promise<Outcome> => {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const policy = policies.get(ns, name);
    if (policy === undefined) return cleanup(key, ns, name, deletedUids.get(key));
    if (policy.metadata.deletionTimestamp !== undefined) return cleanup(key, ns, name, policy.metadata.uid);
    // Re-created under the same name: the former policy's pair would block the new one's.
    const former = deletedUids.get(key);
    if (former !== undefined && former !== policy.metadata.uid) {
      const c = await cleanup(key, ns, name, former);
      if (c.kind !== 'done') return c;
    }
    const live = rbacIn(ns);
    const reviews = new Map<string, ReviewOutcome>();
    const inputs = (): PolicyReconcileInputs => ({
      policy,
      connectors: connectors.list(ns) as Connector[],
      namespaces: namespaces.list() as Namespace[],
      reviews,
      configMaps: new Map<string, ConfigMap>(configMaps.list().map((c) => [c.metadata.name ?? '', c as ConfigMap])),
      roles: live.roles,
      roleBindings: live.roleBindings,
      flags: config.flags,
      systemNamespace: opts.systemNamespace,
      now: now(),
      ...(droppedByPolicy.has(key) ? { previouslyDropped: droppedByPolicy.get(key) as ReadonlySet<string> } : {}),
    });
    let inp = inputs();
    let decision = reconcileAccessPolicy(inp);
    // Expansion does not depend on the reviews: one round of reviews suffices.
    for (let round = 0; decision.kind === 'needsReviews' && round < 2; round++) {
      await pool(decision.reviews, opts.reviewConcurrency ?? 8, async (r) => {
        reviews.set(r.key, await review(r));
      });
      inp = inputs();
      decision = reconcileAccessPolicy(inp);
    }
    if (decision.kind === 'needsReviews') return { kind: 'retry', message: 'SubjectAccessReview results incomplete' };
    // Not the leader any more (or not sure): write nothing; the new leader redoes this pass.
    if (!mayWrite()) return { kind: 'done' };
    let applied = decision;
    let writeError: string | undefined;
    for (const op of applied.ops) {
      if (!mayWrite()) return { kind: 'done' };
      const err = await runRBACOp(client, op, 'AccessPolicy');
      if (err === undefined) continue;
      if (op.op === 'delete') return { kind: 'retry', message: err };
      const second = reconcileAccessPolicy({ ...inp, rbacWriteFailure: err });
      if (second.kind !== 'apply') return { kind: 'retry', message: err };
      applied = second;
      writeError = err;
      break;
    }
    if (applied.status !== undefined) {
      if (!mayWrite()) return { kind: 'done' };
      const w = await writeStatus(apStore.context as StoreContext<KubeObject>, ns, name, policy.metadata.resourceVersion ?? '', applied.status);
      if (w.kind === 'conflict') return { kind: 'again' };
      if (w.kind === 'error') return { kind: 'retry', message: `status write: ${w.message}` };
      if (w.kind === 'notFound') return { kind: 'done' };
    }
    droppedByPolicy.set(key, applied.dropped);
    for (const e of applied.events) if (mayWrite()) await postPolicyEvent(policy, e);
    if (applied.retry !== undefined) return { kind: 'retry', message: applied.retry };
    if (writeError !== undefined) return { kind: 'retry', message: writeError };
    return { kind: 'done' };
  };

  const locals = [policies, connectors];
  const remotes = [namespaces, configMaps, roles, roleBindings];
  for (const inf of locals) inf.start();
  for (const inf of remotes) inf.start();
  const synced = Promise.all([...locals.map((i) => i.synced), ...remotes.map((i) => i.synced)]).then(() => undefined);
  const running = runWorkers({
    queue,
    synced,
    workers: opts.workers ?? 2,
    sync,
    log,
    onSynced: everything,
    resync: everything,
    resyncPeriodMs: opts.resyncPeriodMs,
    stopInformers: () => [...locals.map((i) => i.stop()), ...remotes.map((i) => i.stop())],
  });

  return { synced, stop: running.stop };
}
