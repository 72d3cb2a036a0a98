/**
 * The I/O wiring both controller drivers (AccessRequest, AccessPolicy) share: finding their stores,
 * watching the system namespace's ConfigMaps and the RBAC they own, and the worker loop that runs
 * passes from the work queue once the caches have synced.
 */
import type { KubeObject } from '../api/meta.js';
import type { Store } from '../registry/store/index.js';
import { parseControllerConfig, type ControllerConfig } from './config.js';
import { RemoteInformer, type KubeClient, type KubeObjectJSON } from './kube-client.js';
import type { WorkQueue } from './workqueue.js';
import type { RBACOwnerKind } from './rbac.js';

/** The store of our resource `plural`; a missing one is a wiring bug. */
export function storeOf(stores: readonly Store<KubeObject>[], plural: string): Store<KubeObject> {
  const s = stores.find((x) => x.context.resource.plural === plural);
  if (s === undefined) throw new Error(`no store for ${plural}`);
  return s;
}

export interface ConfigMapInformerOptions {
  readonly client: KubeClient;
  readonly systemNamespace: string;
  /** The controller ConfigMap (§8) among them. */
  readonly configMapName: string;
  /** The controller ConfigMap was added or updated: its data, parsed. */
  readonly onConfig: (next: ControllerConfig) => void;
  /** The controller ConfigMap was deleted: the defaults. */
  readonly onConfigDeleted: (defaults: ControllerConfig) => void;
  /** After every event of any ConfigMap (role templates are read at use): re-queue every object. */
  readonly everything: () => void;
  readonly onError: (message: string) => void;
}

/** The system namespace's ConfigMaps: the controller ConfigMap and the templates. */
export function configMapInformer(o: ConfigMapInformerOptions): RemoteInformer {
  const data = (cm: KubeObjectJSON): Record<string, string> | undefined => cm['data'] as Record<string, string> | undefined;
  const onChange = (cm: KubeObjectJSON): void => {
    if (cm.metadata.name === o.configMapName) o.onConfig(parseControllerConfig(data(cm)));
    o.everything();
  };
  return new RemoteInformer({
    client: o.client,
    path: `/api/v1/namespaces/${encodeURIComponent(o.systemNamespace)}/configmaps`,
    onAdd: onChange,
    onUpdate: onChange,
    onDelete: (cm) => {
      if (cm.metadata.name === o.configMapName) o.onConfigDeleted(parseControllerConfig(undefined));
      o.everything();
    },
    onError: o.onError,
  });
}

/**
 * The Roles and RoleBindings labelled `labelSelector`, across namespaces: every event re-queues the
 * `owner` objects the object's ownerReferences name (in the object's namespace).
 */
export function ownedRBACInformers(
  client: KubeClient,
  owner: RBACOwnerKind,
  labelSelector: string,
  queue: WorkQueue,
  onError: (what: string) => (message: string) => void,
): { readonly roles: RemoteInformer; readonly roleBindings: RemoteInformer } {
  const onOwned = (o: KubeObjectJSON): void => {
    for (const ref of o.metadata.ownerReferences ?? []) {
      if (ref.kind === owner && ref.apiVersion.startsWith('connectors.alauda.io/')) queue.add(`${o.metadata.namespace ?? ''}/${ref.name}`);
    }
  };
  const informer = (plural: 'roles' | 'rolebindings'): RemoteInformer =>
    new RemoteInformer({ client, path: `/apis/rbac.authorization.k8s.io/v1/${plural}`, labelSelector, onAdd: onOwned, onUpdate: onOwned, onDelete: onOwned, onError: onError(plural) });
  const roles = informer('roles');
  const roleBindings = informer('rolebindings');
  return { roles, roleBindings };
}

/** How a pass ends: done (to come back `after` ms later, if set), retry with backoff, or again at once. */
export type SyncOutcome = { readonly kind: 'done'; readonly after?: number } | { readonly kind: 'retry'; readonly message: string } | { readonly kind: 'again' };

export interface WorkerOptions {
  readonly queue: WorkQueue;
  /** Resolves once every cache has listed once. */
  readonly synced: Promise<void>;
  readonly workers: number;
  /** One pass over `key`; a throw counts as a retry. */
  readonly sync: (key: string) => Promise<SyncOutcome>;
  readonly log: (level: string, msg: string) => void;
  /** Once synced, before the workers start. */
  readonly onSynced?: () => void;
  /** Every `resyncPeriodMs`. */
  readonly resync: () => void;
  readonly resyncPeriodMs: number;
  /** At stop, after the queue is shut down: stops the informers. */
  readonly stopInformers: () => readonly Promise<void>[];
}

/**
 * Runs the queue: `workers` workers once the caches have synced, each taking keys and re-queueing
 * them as `sync` answers; `resync` on a timer. `stop` ends the timer, the queue, the informers and
 * waits for the workers.
 */
export function runWorkers(o: WorkerOptions): { stop(): Promise<void> } {
  const { queue } = o;
  let stopped = false;
  const worker = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        const r = await o.sync(key);
        if (r.kind === 'retry') {
          o.log('info', `retrying ${key}: ${r.message}`);
          queue.addRateLimited(key);
        } else {
          queue.forget(key);
          if (r.kind === 'again') queue.add(key);
          else if (r.after !== undefined) queue.addAfter(key, r.after);
        }
      } catch (e) {
        o.log('error', `sync ${key}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
      if (stopped) return;
    }
  };

  const workers: Promise<void>[] = [];
  void o.synced.then(() => {
    if (stopped) return;
    o.onSynced?.();
    for (let i = 0; i < o.workers; i++) workers.push(worker());
  });
  const resync = setInterval(o.resync, o.resyncPeriodMs);
  resync.unref();

  return {
    stop: async () => {
      stopped = true;
      clearInterval(resync);
      queue.shutDown();
      await Promise.allSettled([...o.stopInformers(), ...workers]);
    },
  };
}
