/**
 * The I/O driver of the AccessRequest status controller (spec §5): it keeps the caches the pure
 * `reconcileAccessRequest` reads, turns every watch event into the keys of the requests it concerns
 * (§5.7 "Re-queue on"), runs passes from a work queue, and carries out each decision — RBAC writes
 * through the main API server, the status as a compare-and-swap on our storage, Events after the
 * write, deletes after the TTL. Our own kinds come from LocalInformers over our storage; the main API
 * server's from RemoteInformers.
 */
import type { KubeObject } from '../api/meta.js';
import type { AccessPolicy, AccessRequest } from '../apis/connectors/v1alpha1/types.js';
import type { StoreContext } from '../registry/store/context.js';
import type { Store } from '../registry/store/index.js';
import type { CheckListing, CheckSearch, RegoJob, RegoOutcome } from './checks.js';
import { parseControllerConfig, type CheckKind, type ControllerConfig } from './config.js';
import { findCondition } from './conditions.js';
import { configMapInformer, ownedRBACInformers, runWorkers, storeOf, type SyncOutcome } from './driver.js';
import { createKubeClient, RemoteInformer, type KubeClient, type KubeObjectJSON } from './kube-client.js';
import { LocalInformer, objectKey } from './local-informer.js';
import type { CheckObject, ConfigMap, Connector, Pod, Role, RoleBinding } from './objects.js';
import { accessRequestLabel } from './rbac.js';
import { reconcileAccessRequest, revokeDeletedRequest, type ReconcileInputs, type RequestEvent } from './reconcile.js';
import { selectorMatches } from './selector.js';
import { writeStatus } from './status-writer.js';
import { controllerComponent, deleteRBACObject, postEvent, runRBACOp } from './writes.js';
import { WorkQueue } from './workqueue.js';
import type { KubeConfig } from '@kubernetes/client-node';

export interface ControllerOptions {
  readonly kubeConfig: KubeConfig;
  readonly stores: readonly Store<KubeObject>[];
  readonly systemNamespace: string;
  readonly configMapName: string;
  readonly terminalRequestTtlMs: number;
  readonly resyncPeriodMs: number;
  /** Evaluates Rego jobs with the real OPA; absent: every Rego check fails with a clear message. */
  readonly evaluateRego?: (jobs: readonly RegoJob[]) => Promise<ReadonlyMap<string, RegoOutcome>>;
  readonly workers?: number;
  /** Leader election's fence: false once this replica may no longer write (checked before each write). */
  readonly canWrite?: () => boolean;
  readonly log: (entry: Record<string, unknown>) => void;
  readonly now?: () => Date;
}

export interface RunningController {
  /** Resolves once every cache has listed once. */
  readonly synced: Promise<void>;
  stop(): Promise<void>;
}


/** A check kind resolved against discovery: its collection path, or why it cannot be listed. */
type CheckKindState = { readonly kind: 'served'; readonly informer: RemoteInformer } | { readonly kind: 'unserved'; readonly message: string } | { readonly kind: 'resolving' };

const kindKey = (apiVersion: string, kind: string): string => `${apiVersion}/${kind}`;

export function startAccessRequestController(opts: ControllerOptions): RunningController {
  const now = opts.now ?? (() => new Date());
  const client: KubeClient = createKubeClient(opts.kubeConfig);
  const log = (level: string, msg: string): void => opts.log({ level, msg, controller: 'accessrequest' });
  const onError = (what: string) => (message: string) => log('warning', `${what}: ${message}`);
  const arStore = storeOf(opts.stores, 'accessrequests');
  const apStore = storeOf(opts.stores, 'accesspolicies');
  const connStore = storeOf(opts.stores, 'connectors');
  const requests = new LocalInformer<AccessRequest & KubeObject>(arStore.context.storage, arStore.context.keys, onError('accessrequests'));
  const policies = new LocalInformer<AccessPolicy & KubeObject>(apStore.context.storage, apStore.context.keys, onError('accesspolicies'));
  const connectors = new LocalInformer<KubeObject>(connStore.context.storage, connStore.context.keys, onError('connectors'));
  const queue = new WorkQueue();
  const enqueue = (o: KubeObject): void => queue.add(objectKey(o));
  const nonTerminal = (r: AccessRequest): boolean => findCondition(r.status?.conditions ?? [], 'ContextObjectValid')?.status !== 'False';

  // --- indexes from the requests to what they depend on ---
  const requestsByPod = new Map<string, Set<string>>();
  const searchesByRequest = new Map<string, readonly CheckSearch[]>();
  /** Deleted requests whose grant has not been removed yet, by key: their last known state. */
  const gone = new Map<string, AccessRequest>();
  const podKeyOf = (r: AccessRequest): string => `${r.spec.context.objectRef.namespace ?? ''}/${r.spec.context.objectRef.name}`;
  const indexRequest = (r: AccessRequest, add: boolean): void => {
    const pk = podKeyOf(r);
    const k = objectKey(r);
    const set = requestsByPod.get(pk) ?? new Set<string>();
    if (add) set.add(k);
    else set.delete(k);
    if (set.size === 0) requestsByPod.delete(pk);
    else requestsByPod.set(pk, set);
    if (!add) searchesByRequest.delete(k);
  };
  requests.addHandlers({
    onAdd: (r) => {
      indexRequest(r, true);
      enqueue(r);
    },
    onUpdate: (r, old) => {
      indexRequest(old, false);
      indexRequest(r, true);
      enqueue(r);
    },
    onDelete: (r) => {
      indexRequest(r, false);
      // Its grant goes at once (§5.6); the pass needs the last known uid to find it.
      gone.set(objectKey(r), r);
      enqueue(r);
    },
  });
  const requestsInNamespace = (ns: string | undefined): (AccessRequest & KubeObject)[] => requests.list(ns);
  // A policy change can only matter to requests not matched yet (snapshots never change).
  const onPolicy = (p: KubeObject): void => {
    for (const r of requestsInNamespace(p.metadata.namespace)) if ((r.status?.policies ?? []).length === 0 && nonTerminal(r)) enqueue(r);
  };
  policies.addHandlers({ onAdd: onPolicy, onUpdate: onPolicy, onDelete: onPolicy });
  const onConnector = (c: KubeObject): void => {
    for (const r of requestsInNamespace(c.metadata.namespace)) if (r.spec.connectorRef.name === c.metadata.name) enqueue(r);
  };
  connectors.addHandlers({ onAdd: onConnector, onUpdate: onConnector, onDelete: onConnector });

  // --- the main API server's objects ---
  const onPod = (p: KubeObjectJSON): void => {
    for (const k of requestsByPod.get(`${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`) ?? []) queue.add(k);
  };
  const pods = new RemoteInformer({ client, path: '/api/v1/pods', onAdd: onPod, onUpdate: onPod, onDelete: onPod, onError: onError('pods') });
  let config: ControllerConfig = parseControllerConfig(undefined);
  const everything = (): void => {
    for (const r of requests.list()) enqueue(r);
  };
  const configMaps = configMapInformer({
    client,
    systemNamespace: opts.systemNamespace,
    configMapName: opts.configMapName,
    onConfig: (next) => {
      for (const w of next.warnings) log('warning', w);
      config = next;
      ensureCheckKinds(config.checkKinds);
    },
    onConfigDeleted: (defaults) => {
      config = defaults;
    },
    everything,
    onError: onError('configmaps'),
  });
  const { roles, roleBindings } = ownedRBACInformers(client, 'AccessRequest', accessRequestLabel, queue, onError);

  // --- check kinds: resolved through discovery, watched from start-up (§8 check-kinds) ---
  const checkKinds = new Map<string, CheckKindState>();
  const onCheckObject = (o: KubeObjectJSON): void => {
    const k = kindKey(o.apiVersion ?? '', o.kind ?? '');
    for (const [req, searches] of searchesByRequest) {
      if (searches.some((s) => kindKey(s.apiVersion, s.kind) === k && s.namespace === o.metadata.namespace)) queue.add(req);
    }
  };
  const resolveKind = async (ck: CheckKind): Promise<void> => {
    const key = kindKey(ck.apiVersion, ck.kind);
    const path = ck.group === '' ? `/api/${ck.version}` : `/apis/${ck.group}/${ck.version}`;
    const r = await client.call<{ resources?: { name: string; kind: string }[] }>('GET', path);
    const res = r.ok ? (r.body.resources ?? []).find((x) => x.kind === ck.kind && !x.name.includes('/')) : undefined;
    if (res === undefined) {
      checkKinds.set(key, { kind: 'unserved', message: `kind ${ck.kind} of ${ck.apiVersion} is not served by the cluster` });
      return;
    }
    const informer = new RemoteInformer({
      client,
      path: `${path}/${res.name}`,
      onAdd: onCheckObject,
      onUpdate: onCheckObject,
      onDelete: onCheckObject,
      onError: onError(`${key} objects`),
    });
    checkKinds.set(key, { kind: 'served', informer });
    informer.start();
    void informer.synced.then(everything);
  };
  const ensureCheckKinds = (kinds: readonly CheckKind[]): void => {
    for (const ck of kinds) {
      const key = kindKey(ck.apiVersion, ck.kind);
      const state = checkKinds.get(key);
      if (state !== undefined && state.kind !== 'unserved') continue;
      checkKinds.set(key, { kind: 'resolving' });
      void resolveKind(ck).catch((e: unknown) => checkKinds.set(key, { kind: 'unserved', message: e instanceof Error ? e.message : String(e) }));
    }
  };
  const listCheckObjects = (s: CheckSearch): CheckListing => {
    const key = kindKey(s.apiVersion, s.kind);
    const state = checkKinds.get(key);
    if (state === undefined) {
      // A kind a request uses without being configured: start watching it and retry.
      const [group, version] = s.apiVersion.includes('/') ? (s.apiVersion.split('/') as [string, string]) : ['', s.apiVersion];
      ensureCheckKinds([{ group, version, kind: s.kind, apiVersion: s.apiVersion }]);
      return { ok: false, retry: true, message: `starting to watch ${key}` };
    }
    if (state.kind === 'resolving') return { ok: false, retry: true, message: `resolving ${key}` };
    if (state.kind === 'unserved') return { ok: false, retry: false, message: state.message };
    if (!state.informer.isSynced()) return { ok: false, retry: true, message: `${key} cache not synced` };
    const items = state.informer
      .list()
      .filter((o) => o.metadata.namespace === s.namespace && (s.name === undefined || o.metadata.name === s.name) && selectorMatches(s.selector, o.metadata.labels))
      .map((o) => o as CheckObject);
    return { ok: true, items };
  };

  // --- one pass ---
  const getPod = async (r: AccessRequest): Promise<{ ok: true; pod: Pod | undefined } | { ok: false; message: string }> => {
    const ref = r.spec.context.objectRef;
    const res = await client.call<Pod>('GET', `/api/v1/namespaces/${encodeURIComponent(ref.namespace ?? '')}/pods/${encodeURIComponent(ref.name ?? '')}`);
    if (res.ok) return { ok: true, pod: res.body };
    if (res.code === 404) return { ok: true, pod: undefined };
    return { ok: false, message: `GET Pod: ${String(res.code)} ${res.message}` };
  };

  /** §5.6: a request being deleted, or gone, loses its grant at once. Returns an error to retry on. */
  const revokeDeleted = async (ns: string, r: AccessRequest): Promise<string | undefined> => {
    const inNs = (o: KubeObjectJSON): boolean => o.metadata.namespace === ns;
    const plan = revokeDeletedRequest(r, roles.list().filter(inNs) as unknown as Role[], roleBindings.list().filter(inNs) as unknown as RoleBinding[]);
    let deleted = false;
    for (const op of plan.ops) {
      if (op.op !== 'delete') continue;
      const d = await deleteRBACObject(client, op);
      if (d.kind === 'error') return d.message;
      if (d.kind === 'deleted') deleted = true;
    }
    // The cache may still show objects an earlier pass deleted: no second Event for those.
    if (deleted) for (const e of plan.events) await postRequestEvent(r, e);
    return undefined;
  };

  const postRequestEvent = async (r: AccessRequest, e: RequestEvent): Promise<void> => {
    const err = await postEvent(client, { kind: 'AccessRequest', metadata: r.metadata }, e, now());
    if (err !== undefined) log('warning', err);
  };

  /** One pass; returns how to continue: done, retry with backoff, or come back later. */
  const sync = async (key: string): Promise<SyncOutcome> => {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const request = requests.get(ns, name);
    const former = gone.get(key);
    if (former !== undefined) {
      // Deleted (perhaps re-created since under the same name): remove the former request's grant.
      if (former.metadata.uid !== request?.metadata.uid) {
        const err = await revokeDeleted(ns, former);
        if (err !== undefined) return { kind: 'retry', message: err };
      }
      gone.delete(key);
    }
    if (request === undefined) return { kind: 'done' };
    if (request.metadata.deletionTimestamp !== undefined) {
      const err = await revokeDeleted(ns, request);
      return err === undefined ? { kind: 'done' } : { kind: 'retry', message: err };
    }
    const pod = await getPod(request);
    if (!pod.ok) return { kind: 'retry', message: pod.message };
    const connector = connectors.get(ns, request.spec.connectorRef.name) as Connector | undefined;
    const cms = new Map<string, ConfigMap>(configMaps.list().map((c) => [c.metadata.name ?? '', c as ConfigMap]));
    const label = (o: KubeObjectJSON): boolean => o.metadata.namespace === ns;
    const base: ReconcileInputs = {
      request,
      pod: pod.pod,
      connector,
      policies: policies.list(ns),
      configMaps: cms,
      listCheckObjects,
      roles: roles.list().filter(label) as unknown as Role[],
      roleBindings: roleBindings.list().filter(label) as unknown as RoleBinding[],
      flags: config.flags,
      systemNamespace: opts.systemNamespace,
      terminalRequestTtlMs: opts.terminalRequestTtlMs,
      now: now(),
    };
    let decision = reconcileAccessRequest(base);
    let inputs = base;
    for (let round = 0; decision.kind === 'needsRego' && round < 3; round++) {
      const results: ReadonlyMap<string, RegoOutcome> =
        opts.evaluateRego === undefined
          ? new Map(decision.jobs.map((j) => [j.key, { ok: false, error: 'Rego checks need the OPA binary (--opa-path) and it is not configured' } as RegoOutcome]))
          : await opts.evaluateRego(decision.jobs);
      inputs = { ...inputs, regoResults: new Map([...(inputs.regoResults ?? new Map<string, RegoOutcome>()), ...results]) };
      decision = reconcileAccessRequest(inputs);
    }
    // Not the leader any more (or not sure): write nothing; the new leader redoes this pass.
    if (opts.canWrite !== undefined && !opts.canWrite()) return { kind: 'done' };
    switch (decision.kind) {
      case 'needsRego':
        return { kind: 'retry', message: 'Rego results incomplete' };
      case 'retry':
        return { kind: 'retry', message: decision.message };
      case 'delete': {
        const d = await arStore.delete({ namespace: ns, user: { name: `system:serviceaccount:${opts.systemNamespace}:${controllerComponent}`, groups: [] }, now }, name, {
          dryRun: false,
          preconditions: { uid: decision.uid },
          propagationPolicy: 'Background',
          orphanDependentsFalse: false,
        });
        if (!d.ok && d.error.code !== 404 && d.error.code !== 409) return { kind: 'retry', message: d.error.message };
        return { kind: 'done' };
      }
      case 'apply':
        break;
    }
    searchesByRequest.set(key, decision.searches);
    let applied = decision;
    if (applied.rbac.kind !== 'none') {
      const failures = new Map<string, string>();
      for (const op of applied.rbac.ops) {
        if (opts.canWrite !== undefined && !opts.canWrite()) return { kind: 'done' };
        const err = await runRBACOp(client, op, 'AccessRequest');
        if (err === undefined) continue;
        if (op.op === 'delete') return { kind: 'retry', message: err };
        failures.set(op.policy, err);
        break;
      }
      if (failures.size > 0) {
        const second = reconcileAccessRequest({ ...inputs, rbacWriteFailures: failures });
        if (second.kind !== 'apply') return { kind: 'retry', message: [...failures.values()].join('; ') };
        applied = second;
      }
    }
    if (applied.status !== undefined) {
      if (opts.canWrite !== undefined && !opts.canWrite()) return { kind: 'done' };
      const w = await writeStatus(arStore.context as StoreContext<KubeObject>, ns, name, request.metadata.resourceVersion ?? '', applied.status);
      if (w.kind === 'conflict') return { kind: 'again' };
      if (w.kind === 'error') return { kind: 'retry', message: `status write: ${w.message}` };
      if (w.kind === 'notFound') return { kind: 'done' };
    }
    for (const e of applied.events) await postRequestEvent(request, e);
    return { kind: 'done', ...(applied.requeueAfterMs === undefined ? {} : { after: applied.requeueAfterMs }) };
  };

  for (const inf of [requests, policies, connectors]) inf.start();
  for (const inf of [pods, configMaps, roles, roleBindings]) inf.start();
  ensureCheckKinds(config.checkKinds);
  const synced = Promise.all([requests.synced, policies.synced, connectors.synced, pods.synced, configMaps.synced, roles.synced, roleBindings.synced]).then(() => undefined);
  const running = runWorkers({
    queue,
    synced,
    workers: opts.workers ?? 2,
    sync,
    log,
    resync: () => {
      for (const r of requests.list()) if (nonTerminal(r)) enqueue(r);
      for (const ck of config.checkKinds) if (checkKinds.get(kindKey(ck.apiVersion, ck.kind))?.kind === 'unserved') checkKinds.delete(kindKey(ck.apiVersion, ck.kind));
      ensureCheckKinds(config.checkKinds);
    },
    resyncPeriodMs: opts.resyncPeriodMs,
    stopInformers: () => {
      const served = [...checkKinds.values()].flatMap((s) => (s.kind === 'served' ? [s.informer] : []));
      return [...[requests, policies, connectors].map((i) => i.stop()), ...[pods, configMaps, roles, roleBindings, ...served].map((i) => i.stop())];
    },
  });

  return { synced, stop: running.stop };
}
