/**
 * The world of domain spec §10 (Connector devops/prod-harbor, task Pod
 * cicd/promote-run-abc12-push-image-pod, policy prod-harbor-approval, the built-in templates of §8)
 * and a fake I/O driver that runs passes against it the way the header of reconcile.ts asks.
 */
import type { AccessPolicy, AccessRequest } from '../../../../apiserver/apis/connectors/v1alpha1/types.js';
import type { CheckListing, CheckSearch, RegoJob, RegoOutcome } from '../../../../apiserver/controller/checks.js';
import { listFromObjects } from '../../../../apiserver/controller/checks.js';
import type { FeatureFlags } from '../../../../apiserver/controller/config.js';
import { allFlagsOn } from '../../../../apiserver/controller/config.js';
import type { CheckObject, ConfigMap, Connector, Pod, Role, RoleBinding } from '../../../../apiserver/controller/objects.js';
import type { RBACObject, RBACOp } from '../../../../apiserver/controller/rbac.js';
import type { Reconciliation, ReconcileInputs, RequestEvent } from '../../../../apiserver/controller/reconcile.js';
import { reconcileAccessRequest } from '../../../../apiserver/controller/reconcile.js';
import { builtinTemplates as shippedTemplates } from '../../../../apiserver/controller/builtin-templates.js';

export const systemNamespace = 'connectors-system';
export const requestName = 'prod-harbor-promote-run-abc12-push-image-pod-6342dabe';
export const requestUid = '0b6f7a2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b';
export const podUid = '2f0d4c7e-8b1a-4f5e-9c3d-6a7b8c9d0e1f';
export const taskUid = '5d1c0b2a-6e7f-4a8b-9c0d-1e2f3a4b5c6d';
export const grant = `${requestName}-prod-harbor-approval`;
export const ttl24h = 24 * 3600 * 1000;

/** `M` of §10. */
export const M =
  'manual-approval (policy prod-harbor-approval): waiting for ApprovalTask cicd/promote-run-abc12-wait-for-approval to be approved';

export const at = (hms: string): Date => new Date(`2026-03-30T${hms}Z`);

export function pod(): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace: 'cicd',
      name: 'promote-run-abc12-push-image-pod',
      uid: podUid,
      labels: { 'tekton.dev/pipelineRun': 'promote-run-abc12' },
    },
    spec: { serviceAccountName: 'builder', containers: [{ name: 'step-push' }] },
    status: { phase: 'Running' },
  };
}

export function connector(): Connector {
  return {
    apiVersion: 'connectors.alauda.io/v1alpha1',
    kind: 'Connector',
    metadata: { namespace: 'devops', name: 'prod-harbor', uid: 'c-1', labels: { 'connectors.alauda.io/connectorclass': 'oci' } },
  };
}

export function policy(): AccessPolicy {
  return {
    apiVersion: 'connectors.alauda.io/v1alpha1',
    kind: 'AccessPolicy',
    metadata: { namespace: 'devops', name: 'prod-harbor-approval', uid: 'p-1', generation: 1 },
    spec: {
      connector: { names: ['prod-harbor'] },
      checkGrantedPermission: {
        spec: {
          checks: [{ name: 'manual-approval', ref: { configMap: { name: 'connectors-approvals-in-pipeline' } } }],
          roleTemplate: { ref: { configMap: { name: 'connectors-use-connectors-proxy-in-pod' } } },
        },
      },
    },
  };
}

export function request(): AccessRequest {
  return {
    apiVersion: 'connectors.alauda.io/v1alpha1',
    kind: 'AccessRequest',
    metadata: { namespace: 'devops', name: requestName, uid: requestUid, generation: 1, resourceVersion: '1' },
    spec: {
      connectorRef: { name: 'prod-harbor' },
      context: {
        objectRef: { apiVersion: 'v1', kind: 'Pod', namespace: 'cicd', name: 'promote-run-abc12-push-image-pod', uid: podUid },
      },
      subject: { kind: 'ServiceAccount', name: 'builder', namespace: 'cicd', apiGroup: '' },
    },
  };
}

export function approvalTask(state: unknown = 'pending', name = 'promote-run-abc12-wait-for-approval', uid = taskUid): CheckObject {
  return {
    apiVersion: 'openshift-pipelines.org/v1alpha1',
    kind: 'ApprovalTask',
    metadata: { namespace: 'cicd', name, uid, resourceVersion: '7', labels: { 'tekton.dev/pipelineRun': 'promote-run-abc12' } },
    spec: { approvers: [{ name: 'alice', type: 'User' }] },
    status: { state },
  };
}

const cm = (name: string, data: Record<string, string>): ConfigMap => ({ metadata: { namespace: systemNamespace, name }, data });

/** The built-in templates of §8: the server's own (equal to manifests/templates.yaml). */
export function builtinTemplates(): Map<string, ConfigMap> {
  return new Map(shippedTemplates(systemNamespace).map((t) => [t.metadata.name, cm(t.metadata.name, { ...t.data })]));
}

/** Everything a pass reads, mutable between passes like the cluster is. */
export interface World {
  request: AccessRequest;
  pod: Pod | undefined;
  connector: Connector | undefined;
  policies: AccessPolicy[];
  configMaps: Map<string, ConfigMap>;
  checkObjects: CheckObject[];
  /** `<apiVersion>/<Kind>` → listing failure. */
  listFailures: Map<string, CheckListing & { ok: false }>;
  roles: Role[];
  roleBindings: RoleBinding[];
  flags: FeatureFlags;
  ttlMs: number;
  /** Policy name → error for the fake API server to answer its creates/updates with. */
  failWrites: Map<string, string>;
  rego: ((job: RegoJob) => RegoOutcome) | undefined;
  /** Appended by `runPass`. */
  events: RequestEvent[];
  searches: CheckSearch[];
  deleted: boolean;
  rbacOps: RBACOp[];
  statusWrites: number;
  nextUid: number;
}

export function world(): World {
  return {
    request: request(),
    pod: pod(),
    connector: connector(),
    policies: [policy()],
    configMaps: builtinTemplates(),
    checkObjects: [approvalTask()],
    listFailures: new Map(),
    roles: [],
    roleBindings: [],
    flags: allFlagsOn,
    ttlMs: ttl24h,
    failWrites: new Map(),
    rego: undefined,
    events: [],
    searches: [],
    deleted: false,
    rbacOps: [],
    statusWrites: 0,
    nextUid: 1,
  };
}

export function inputs(w: World, now: Date): ReconcileInputs {
  return {
    request: w.request,
    pod: w.pod,
    connector: w.connector,
    policies: w.policies,
    configMaps: w.configMaps,
    listCheckObjects: listFromObjects(w.checkObjects, w.listFailures),
    roles: w.roles,
    roleBindings: w.roleBindings,
    flags: w.flags,
    systemNamespace,
    terminalRequestTtlMs: w.ttlMs,
    now,
  };
}

function applyOp(w: World, op: RBACOp): string | undefined {
  const list = (kind: RBACObject['kind']): RBACObject[] => (kind === 'Role' ? w.roles : w.roleBindings);
  const store = (o: RBACObject, uid: string): void => {
    const stored = structuredClone(o);
    stored.metadata.uid = uid;
    stored.metadata.resourceVersion = String(w.nextUid++);
    const l = list(o.kind);
    const i = l.findIndex((x) => x.metadata.name === o.metadata.name);
    if (i >= 0) l.splice(i, 1);
    l.push(stored);
  };
  w.rbacOps.push(op);
  switch (op.op) {
    case 'delete': {
      const l = list(op.kind);
      const i = l.findIndex((x) => x.metadata.uid === op.uid);
      if (i >= 0) l.splice(i, 1);
      return undefined;
    }
    case 'create':
    case 'update':
    case 'recreate': {
      const failure = w.failWrites.get(op.policy);
      if (failure !== undefined) return failure;
      store(op.object, op.op === 'update' ? (op.object.metadata.uid ?? '') : `rbac-${String(w.nextUid++)}`);
      return undefined;
    }
  }
}

/** One pass as the driver of reconcile.ts runs it; returns the answer that was acted on. */
export function runPass(w: World, now: Date): Reconciliation {
  let inp = inputs(w, now);
  let r = reconcileAccessRequest(inp);
  if (r.kind === 'needsRego') {
    const rego = w.rego;
    if (rego === undefined) throw new Error('test world has no Rego evaluator');
    inp = { ...inp, regoResults: new Map(r.jobs.map((j) => [j.key, rego(j)])) };
    r = reconcileAccessRequest(inp);
  }
  if (r.kind === 'delete') {
    w.deleted = true;
    return r;
  }
  if (r.kind !== 'apply') return r;
  const failures = new Map<string, string>();
  const ops = r.rbac.kind === 'none' ? [] : r.rbac.ops;
  for (const op of ops) {
    const err = applyOp(w, op);
    if (err !== undefined && op.op !== 'delete') failures.set(op.policy, err);
  }
  if (failures.size > 0) {
    r = reconcileAccessRequest({ ...inp, rbacWriteFailures: failures });
    if (r.kind !== 'apply') return r;
  }
  if (r.status !== undefined) {
    w.request = { ...w.request, status: r.status, metadata: { ...w.request.metadata, resourceVersion: String(w.nextUid++) } };
    w.statusWrites++;
  }
  w.events.push(...r.events);
  w.searches.push(...r.searches);
  return r;
}

export const conditionsOf = (r: AccessRequest): Record<string, [string, string, string]> =>
  Object.fromEntries(
    (r.status?.conditions ?? []).map((c) => [c.type, [c.status, c.reason ?? '', c.message ?? ''] as [string, string, string]]),
  );

export const condition = (r: AccessRequest, type: string): { status: string; reason?: string; message?: string; lastTransitionTime?: string } | undefined =>
  r.status?.conditions?.find((c) => c.type === type);

/** The value, which the test set up to be there. */
export function some<T>(v: T | undefined): T {
  if (v === undefined) throw new Error('test setup: expected a value');
  return v;
}
