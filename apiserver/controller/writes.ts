/**
 * What both controllers write to the main API server besides status: core/v1 Events about our
 * objects, and the paths of the Roles and RoleBindings they own.
 */
import type { KubeClient } from './kube-client.js';

export const controllerComponent = 'connectors-access-apiserver';

/** The collection of Roles or RoleBindings in a namespace; with a name, that object. */
export function rbacPath(kind: 'Role' | 'RoleBinding', namespace: string, name?: string): string {
  const collection = `/apis/rbac.authorization.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/${kind === 'Role' ? 'roles' : 'rolebindings'}`;
  return name === undefined ? collection : `${collection}/${encodeURIComponent(name)}`;
}

export interface InvolvedObject {
  readonly kind: 'AccessRequest' | 'AccessPolicy';
  readonly metadata: { readonly namespace?: string | undefined; readonly name?: string | undefined; readonly uid?: string | undefined; readonly resourceVersion?: string | undefined };
}

export interface EventToPost {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/** Posts one Event (one per transition, count 1); returns why it failed, for the caller's log. */
export async function postEvent(client: KubeClient, about: InvolvedObject, e: EventToPost, now: Date): Promise<string | undefined> {
  const ts = now.toISOString();
  const ns = about.metadata.namespace ?? 'default';
  const m = about.metadata;
  const ev = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${m.name ?? about.kind.toLowerCase()}.`, namespace: ns },
    involvedObject: { apiVersion: 'connectors.alauda.io/v1alpha1', kind: about.kind, namespace: ns, name: m.name, uid: m.uid, resourceVersion: m.resourceVersion },
    type: e.type,
    reason: e.reason,
    message: e.message,
    source: { component: controllerComponent },
    reportingComponent: controllerComponent,
    reportingInstance: controllerComponent,
    firstTimestamp: ts,
    lastTimestamp: ts,
    count: 1,
  };
  const res = await client.call('POST', `/api/v1/namespaces/${encodeURIComponent(ns)}/events`, ev);
  return res.ok ? undefined : `event ${e.reason}: ${String(res.code)} ${res.message}`;
}
