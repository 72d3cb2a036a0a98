/**
 * The NamespaceLifecycle admission plugin that every generic API server runs: nothing is created in a
 * namespace that does not exist (404, `namespaces "x" not found`) or is being deleted (403 with the
 * NamespaceTerminating cause). Without it, objects created into a terminating namespace outlive it in
 * our etcd, and the namespace controller could loop on them forever.
 *
 * Namespaces come from an informer on the main API server; a miss is checked with a live GET, as
 * kube's plugin does, because a namespace created a moment ago may not have reached the cache yet.
 */
import { CoreV1Api, type KubeConfig, makeInformer, type V1Namespace } from '@kubernetes/client-node';
import { failure, forbidden, internalError, type GroupResource, type Status } from '../api/status.js';

export type NamespacePhase = 'Active' | 'Terminating';

/** What admission needs to know about a namespace; `error` when the main API server cannot say. */
export type NamespaceLookup = (name: string) => Promise<{ readonly kind: 'found'; readonly phase: NamespacePhase } | { readonly kind: 'missing' } | { readonly kind: 'error'; readonly message: string }>;

export const namespaceNotFound = (name: string): Status =>
  failure(404, 'NotFound', `namespaces "${name}" not found`, { name, kind: 'namespaces' });

/** admission.NewForbidden plus the cause kube adds for a terminating namespace. */
export function namespaceTerminating(gr: GroupResource, objectName: string, namespace: string): Status {
  const why = `unable to create new content in namespace ${namespace} because it is being terminated`;
  const base = forbidden(gr, objectName, why);
  return { ...base, details: { ...base.details, causes: [{ reason: 'NamespaceTerminating', message: why, field: 'metadata.namespace' }] } };
}

/** undefined = admitted. */
export async function admitCreate(lookup: NamespaceLookup, gr: GroupResource, objectName: string, namespace: string): Promise<Status | undefined> {
  const found = await lookup(namespace);
  if (found.kind === 'missing') return namespaceNotFound(namespace);
  if (found.kind === 'error') return internalError(`checking namespace ${namespace}: ${found.message}`);
  return found.phase === 'Terminating' ? namespaceTerminating(gr, objectName, namespace) : undefined;
}

const phaseOf = (ns: V1Namespace): NamespacePhase => (ns.status?.phase === 'Terminating' || ns.metadata?.deletionTimestamp !== undefined ? 'Terminating' : 'Active');

export interface NamespaceInformer {
  readonly lookup: NamespaceLookup;
  stop(): Promise<void>;
}

/** The informer-backed lookup; `start` resolves after the first list, so admission is never blind. */
export async function startNamespaceInformer(kc: KubeConfig, onError: (message: string) => void): Promise<NamespaceInformer> {
  const core = kc.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1Namespace>(kc, '/api/v1/namespaces', () => core.listNamespace());
  informer.on('error', (err: unknown) => {
    onError(err instanceof Error ? err.message : String(err));
    // client-node stops on error: start again after a pause, relisting.
    setTimeout(() => void informer.start().catch(() => undefined), 2000);
  });
  await informer.start();
  const lookup: NamespaceLookup = async (name) => {
    const cached = informer.get(name);
    if (cached !== undefined) return { kind: 'found', phase: phaseOf(cached) };
    try {
      return { kind: 'found', phase: phaseOf(await core.readNamespace({ name })) };
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 404) return { kind: 'missing' };
      return { kind: 'error', message: e instanceof Error ? e.message : String(e) };
    }
  };
  return { lookup, stop: () => informer.stop() };
}
