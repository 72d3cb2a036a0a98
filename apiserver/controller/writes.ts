/**
 * What both controllers write to the main API server besides status: core/v1 Events about our
 * objects, and the Roles and RoleBindings they own (paths and the create/update/delete writes).
 */
import type { ControllerEvent } from './decision.js';
import type { KubeClient, KubeResponse } from './kube-client.js';
import type { RBACOp, RBACOwnerKind } from './rbac.js';

export const controllerComponent = 'connectors-access-apiserver';

/** The collection of Roles or RoleBindings in a namespace; with a name, that object. */
export function rbacPath(kind: 'Role' | 'RoleBinding', namespace: string, name?: string): string {
  const collection = `/apis/rbac.authorization.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/${kind === 'Role' ? 'roles' : 'rolebindings'}`;
  return name === undefined ? collection : `${collection}/${encodeURIComponent(name)}`;
}

export type RBACDeleteOutcome = { readonly kind: 'deleted' | 'absent' } | { readonly kind: 'error'; readonly message: string };

const describeFailure = (r: KubeResponse<unknown>): string | undefined => (r.ok ? undefined : `${String(r.code)} ${r.message}`.trim());

/**
 * Deletes one Role or RoleBinding with its uid as precondition. A 404 means it is gone already; so
 * does a 409: the precondition failed, i.e. the object with that uid no longer exists (another one
 * has the name now, which is not ours to delete).
 */
export async function deleteRBACObject(client: KubeClient, op: RBACOp & { readonly op: 'delete' }): Promise<RBACDeleteOutcome> {
  const d = await client.call('DELETE', rbacPath(op.kind, op.namespace, op.name), { preconditions: { uid: op.uid } });
  if (d.ok) return { kind: 'deleted' };
  if (d.code === 404 || d.code === 409) return { kind: 'absent' };
  return { kind: 'error', message: `delete ${op.kind} ${op.namespace}/${op.name}: ${describeFailure(d) ?? ''}` };
}

/**
 * Carries out one RBAC write of either controller through the main API server; returns why it
 * failed, undefined when it is done. Failed creates/updates/recreates are reported as the API's
 * `<code> <message>` (a 409 on create as the foreign object `owner` cannot adopt), for the status
 * condition; a failed delete names what it was deleting, for the retry.
 */
export async function runRBACOp(client: KubeClient, op: RBACOp, owner: RBACOwnerKind): Promise<string | undefined> {
  switch (op.op) {
    case 'create': {
      const r = await client.call('POST', rbacPath(op.object.kind, op.object.metadata.namespace ?? ''), op.object);
      if (!r.ok && r.code === 409) return `${op.object.kind} ${op.object.metadata.name ?? ''} exists and is not owned by this ${owner}`;
      return describeFailure(r);
    }
    case 'update':
      return describeFailure(await client.call('PUT', rbacPath(op.object.kind, op.object.metadata.namespace ?? '', op.object.metadata.name ?? ''), op.object));
    case 'recreate': {
      // A 409 here (another binding has the name now) is an error: the create that follows would fail anyway.
      const ns = op.object.metadata.namespace ?? '';
      const d = await client.call('DELETE', rbacPath('RoleBinding', ns, op.object.metadata.name ?? ''), { preconditions: { uid: op.uid } });
      if (!d.ok && d.code !== 404) return describeFailure(d);
      return describeFailure(await client.call('POST', rbacPath('RoleBinding', ns), op.object));
    }
    case 'delete': {
      const d = await deleteRBACObject(client, op);
      return d.kind === 'error' ? d.message : undefined;
    }
  }
}

export interface InvolvedObject {
  readonly kind: 'AccessRequest' | 'AccessPolicy';
  readonly metadata: { readonly namespace?: string | undefined; readonly name?: string | undefined; readonly uid?: string | undefined; readonly resourceVersion?: string | undefined };
}

/** Posts one Event (one per transition, count 1); returns why it failed, for the caller's log. */
export async function postEvent(client: KubeClient, about: InvolvedObject, e: ControllerEvent, now: Date): Promise<string | undefined> {
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
