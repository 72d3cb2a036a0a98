/**
 * One reconcile pass of the AccessRequest status controller (domain spec §5.2–§5.7, §11.1–§11.2),
 * as a pure function: snapshots in, a decision out. No I/O, no timers, no clock of its own.
 *
 * What the I/O driver supplies (`ReconcileInputs`):
 * - `request`: the AccessRequest as last read from the registry (its `resourceVersion` is the CAS
 *   precondition of the status write).
 * - `pod`: a direct GET of `spec.context.objectRef` from the main API server — `undefined` only on a
 *   definite 404. Any other error: do not call, retry with backoff (§5.1).
 * - `connector`: the Connector `spec.connectorRef.name` in the request's namespace, from our own
 *   registry; `undefined` when absent.
 * - `policies`: the AccessPolicies of the request's namespace (registry / cache).
 * - `configMaps`: the system namespace's ConfigMaps by name (templates are read at use).
 * - `listCheckObjects`: a synchronous lookup over the check-kind informer caches; a cache that is
 *   not synced yet answers `{ok: false, retry: true}`, a kind the cluster does not serve or the
 *   server may not list answers `{ok: false, retry: false}` (the rule turns `Failed`).
 * - `regoResults`: OPA results by `RegoJob.key`. Call with what you have (or nothing); a
 *   `needsRego` answer lists the jobs to run (real OPA, Rego v1, 1 s, no network); then call again.
 * - `roles` / `roleBindings`: the request namespace's objects labelled
 *   `connectors.alauda.io/accessRequest=<labelValue(name)>`, plus any object named
 *   `grantName(request, policy)` for a snapshot policy (so a foreign one is reported, never adopted).
 * - `flags` from `parseControllerConfig`, `systemNamespace`, `terminalRequestTtlMs`, `now`.
 *
 * What the driver does with the answer (`Reconciliation`):
 * - `retry`: nothing written; re-queue with backoff.
 * - `needsRego`: evaluate the jobs, call again with the results.
 * - `delete`: delete the request with a uid precondition (TTL of §5.6); the delete handler
 *   (`revokeDeletedRequest`) and, if the server was down, the garbage collector take its RBAC.
 * - `apply`: (1) run `rbac.ops` in order. A failed delete → retry the pass with backoff, writing
 *   nothing. Failed create/update/recreate → call again with the same inputs plus
 *   `rbacWriteFailures` (policy → error; a 409 on create is best reported as "Role <name> exists and
 *   is not owned by this AccessRequest"), do not run the new ops, and use that answer from here on.
 *   (2) If `status` is set, write it through the status strategy with a CAS on `resourceVersion`; on
 *   conflict re-read everything and start over. (3) Only after the write, emit `events`
 *   (core/v1 Events on the request). (4) Re-queue after `requeueAfterMs` when set (grant expiry,
 *   TTL), and keep `searches` in the check-kind index (watched kinds, §5.7).
 */
import { rfc3339 } from '../api/meta.js';
import type { AccessPolicy, AccessRequest, AccessRequestStatus, Condition, PolicySnapshot } from '../apis/connectors/v1alpha1/types.js';
import type { CheckSearch, ListCheckObjects, RegoJob, RegoOutcome } from './checks.js';
import { evaluateChecks } from './checks.js';
import type { FeatureFlags } from './config.js';
import { disabledFlags, isApprovalEnabled } from './config.js';
import { allConditionTypes, dependentTypes, findCondition, isStatus, nextCondition, setCondition } from './conditions.js';
import type { AccessRequestConditionType, CheckReason, ContextReason, DesiredCondition } from './conditions.js';
import { canonical, type ControllerEvent } from './decision.js';
import { parseGoDuration } from './duration.js';
import type { ConfigMap, Connector, Pod, Role, RoleBinding } from './objects.js';
import { nsName } from './objects.js';
import type { PolicyPermission } from './permission.js';
import {
  aggregatePermissions,
  hasPassedBefore,
  noPermissionRequired,
  revokedPermissions,
  syncFailed,
  synced,
  waitingPermissions,
} from './permission.js';
import { matchingPolicies, snapshotPolicies } from './policy-match.js';
import type { RBACObject, RBACOp } from './rbac.js';
import { cleanupOps, deleteOp, desiredGrant, grantName, grantRules, ownedObjects, planGrant } from './rbac.js';

export interface ReconcileInputs {
  readonly request: AccessRequest;
  readonly pod: Pod | undefined;
  readonly connector: Connector | undefined;
  readonly policies: readonly AccessPolicy[];
  readonly configMaps: ReadonlyMap<string, ConfigMap>;
  readonly listCheckObjects: ListCheckObjects;
  readonly regoResults?: ReadonlyMap<string, RegoOutcome>;
  readonly roles: readonly Role[];
  readonly roleBindings: readonly RoleBinding[];
  readonly flags: FeatureFlags;
  readonly systemNamespace: string;
  /** `--terminal-request-ttl`; 0 = keep terminal requests forever. */
  readonly terminalRequestTtlMs: number;
  readonly now: Date;
  /** Second call of a pass only: policy name → error of its failed create/update/recreate. */
  readonly rbacWriteFailures?: ReadonlyMap<string, string>;
}

export type RBACPlan =
  /** Touch no RBAC. */
  | { readonly kind: 'none' }
  /** Grant: the desired objects of every policy that syncs, and the writes that get there. */
  | { readonly kind: 'sync'; readonly roles: readonly Role[]; readonly roleBindings: readonly RoleBinding[]; readonly ops: readonly RBACOp[] }
  /** Revoke: delete every owned object. */
  | { readonly kind: 'cleanup'; readonly ops: readonly RBACOp[] };

export type RequestEventReason = 'PermissionGranted' | 'PermissionRevoked' | 'AccessRejected';

/** An Event on the request. */
export type RequestEvent = ControllerEvent<RequestEventReason>;

export type Reconciliation =
  | { readonly kind: 'retry'; readonly message: string }
  | { readonly kind: 'needsRego'; readonly jobs: readonly RegoJob[] }
  | { readonly kind: 'delete'; readonly uid: string }
  | {
      readonly kind: 'apply';
      /** Set only when it differs from the stored status: no write without a change. */
      readonly status?: AccessRequestStatus;
      readonly rbac: RBACPlan;
      readonly events: readonly RequestEvent[];
      readonly requeueAfterMs?: number;
      readonly searches: readonly CheckSearch[];
    };

type Want = DesiredCondition<AccessRequestConditionType>;

const stopMessages = {
  context: 'waiting for a valid context object',
  connector: 'waiting for the Connector',
  policy: 'waiting for a matching AccessPolicy',
} as const;

/** ContextObjectValid, evaluated in the order of the §5.1 table. */
export function contextCondition(req: AccessRequest, pod: Pod | undefined): DesiredCondition<'ContextObjectValid', ContextReason> {
  const ref = req.spec.context.objectRef;
  const id = `Pod ${nsName(ref)}`;
  const c = (status: Condition['status'], reason: ContextReason, message = ''): DesiredCondition<'ContextObjectValid', ContextReason> => ({
    type: 'ContextObjectValid',
    status,
    reason,
    message,
  });
  if (pod === undefined) return c('False', 'NotFound', `${id} not found`);
  if (ref.uid !== undefined && ref.uid !== '' && pod.metadata.uid !== ref.uid)
    return c('False', 'NotFound', `${id} has uid ${pod.metadata.uid ?? ''}, not ${ref.uid}`);
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return c('False', 'Completed', `${id} has phase ${phase}`);
  if (pod.metadata.deletionTimestamp !== undefined) return c('False', 'Terminating', `${id} is being deleted`);
  const s = req.spec.subject;
  if (s.kind === 'ServiceAccount') {
    const sa = pod.spec?.serviceAccountName !== undefined && pod.spec.serviceAccountName !== '' ? pod.spec.serviceAccountName : 'default';
    if (s.namespace !== pod.metadata.namespace || s.name !== sa)
      return c('False', 'SubjectMismatch', `${id} runs as ServiceAccount ${pod.metadata.namespace ?? ''}/${sa}, not ${s.namespace ?? ''}/${s.name}`);
  }
  return c('True', 'Active');
}

/** §5.5, over the effective conditions (new where decided, else stored). */
export function readyCondition(
  effective: (t: AccessRequestConditionType) => Pick<Condition, 'status' | 'reason' | 'message'> | undefined,
  flags: FeatureFlags,
  expired: string | undefined,
): Want {
  const ready = (status: Condition['status'], reason: string, message = ''): Want => ({ type: 'Ready', status, reason, message });
  if (!isApprovalEnabled(flags)) return ready('Unknown', 'FeatureDisabled', `feature flags not enabled: ${disabledFlags(flags).join(', ')}`);
  const deps = dependentTypes.map((t) => ({ t, c: effective(t) }));
  const copy = (c: Pick<Condition, 'status' | 'reason' | 'message'>): Want => ready(c.status, c.reason ?? '', c.message ?? '');
  const falseDep = deps.find((d) => d.c?.status === 'False');
  if (falseDep?.c !== undefined) return copy(falseDep.c);
  if (expired !== undefined) return ready('False', 'Expired', expired);
  const notTrue = deps.find((d) => d.c?.status !== 'True');
  if (notTrue !== undefined) return notTrue.c === undefined ? ready('Unknown', 'Pending', `waiting for ${notTrue.t}`) : copy(notTrue.c);
  const perm = effective('AccessPermissionSync');
  if (perm?.reason === 'Synced' || perm?.reason === 'NoPermissionRequired') return ready('True', perm.reason);
  return ready('Unknown', 'Pending', 'waiting for permissions to be granted again');
}

/** The smallest `maxDuration` of the snapshots, first by name on a tie (§11.2). */
function shortestMaxDuration(policies: readonly PolicySnapshot[]): { policy: string; text: string; ms: number } | undefined {
  let best: { policy: string; text: string; ms: number } | undefined;
  for (const p of policies) {
    const text = p.policySpec.checkGrantedPermission?.spec?.maxDuration;
    const ms = text === undefined ? undefined : parseGoDuration(text);
    if (text === undefined || ms === undefined || ms <= 0) continue;
    if (best === undefined || ms < best.ms) best = { policy: p.name, text, ms };
  }
  return best;
}

/**
 * Where the time limit of §11.2 starts: now, unless grant objects of this request already exist. A
 * pass creates the Role and RoleBinding before it writes the status that carries `grantExpiresAt`;
 * if the process stops in between (a restart, a lost Lease, a conflict), the next pass finds the
 * objects but no stored limit. Their `creationTimestamp`, kept by the main API server, dates the
 * limit back, so neither a restart nor a retry can extend a grant.
 */
export function grantStartMs(owned: readonly RBACObject[], nowMs: number): number {
  let start = nowMs;
  for (const o of owned) {
    const t = Date.parse(o.metadata.creationTimestamp ?? '');
    if (!Number.isNaN(t) && t < start) start = t;
  }
  return start;
}

const subjectText = (req: AccessRequest): string => {
  const s = req.spec.subject;
  return s.kind === 'ServiceAccount' ? `ServiceAccount ${s.namespace ?? ''}/${s.name}` : `${s.kind} ${s.name}`;
};

/** The pass for a terminal request: only the TTL of §5.6. */
function terminalPass(req: AccessRequest, context: Condition, inp: ReconcileInputs): Reconciliation {
  if (inp.terminalRequestTtlMs <= 0) return { kind: 'apply', rbac: { kind: 'none' }, events: [], searches: [] };
  const since = Date.parse(context.lastTransitionTime ?? '');
  const left = (Number.isNaN(since) ? inp.now.getTime() : since) + inp.terminalRequestTtlMs - inp.now.getTime();
  if (left <= 0) return { kind: 'delete', uid: req.metadata.uid ?? '' };
  return { kind: 'apply', rbac: { kind: 'none' }, events: [], searches: [], requeueAfterMs: left };
}

/**
 * A request that is being deleted, or is gone (its last known state): §5.6 "deleting any request
 * makes the controller delete its RBAC at once", whatever the flags and whether or not it is
 * terminal, without waiting for finalizers or the garbage collector. `roles` / `roleBindings` as for
 * a pass; only objects labelled for the request and owned by its uid are deleted. The Event is
 * raised only when something is deleted.
 */
export function revokeDeletedRequest(
  req: AccessRequest,
  roles: readonly Role[],
  roleBindings: readonly RoleBinding[],
): { readonly ops: readonly RBACOp[]; readonly events: readonly RequestEvent[] } {
  const ops = cleanupOps(req, [...roles, ...roleBindings] as RBACObject[]);
  if (ops.length === 0) return { ops, events: [] };
  const connectorId = `${req.metadata.namespace ?? ''}/${req.spec.connectorRef.name}`;
  return {
    ops,
    events: [
      {
        type: 'Normal',
        reason: 'PermissionRevoked',
        message: `revoked ${subjectText(req)}'s use of Connector ${connectorId}: the AccessRequest is being deleted`,
      },
    ],
  };
}

export function reconcileAccessRequest(inp: ReconcileInputs): Reconciliation {
  const req = inp.request;
  const old = req.status ?? {};
  const now = rfc3339(inp.now);
  const nowMs = Date.parse(now);
  const generation = req.metadata.generation ?? 1;
  const connectorId = `${req.metadata.namespace ?? ''}/${req.spec.connectorRef.name}`;

  // 1. Terminal: never evaluated again, also with the flags off.
  const oldContext = findCondition(old.conditions, 'ContextObjectValid');
  if (oldContext?.status === 'False') return terminalPass(req, oldContext, inp);

  const owned = ownedObjects(req, [...inp.roles, ...inp.roleBindings] as RBACObject[]);
  const wants = new Map<AccessRequestConditionType, Want>();
  const want = (w: Want): void => {
    wants.set(w.type as AccessRequestConditionType, w);
  };
  let policies: PolicySnapshot[] = (old.policies ?? []).map((p) => ({ ...p }));
  let perms: (PolicyPermission | undefined)[] = policies.map(() => undefined);
  let rbac: RBACPlan = { kind: 'none' };
  const events: RequestEvent[] = [];
  let searches: readonly CheckSearch[] = [];
  let stop: string | undefined;
  let grantExpiresAt = old.grantExpiresAt;
  let expired: string | undefined;
  let requeueAfterMs: number | undefined;
  let terminal = false;

  const revokedEvent = (cause: string): void => {
    const wasSynced = policies.some((p) => p.permissionSync?.reason === 'Synced');
    if (owned.length > 0 || wasSynced)
      events.push({
        type: 'Normal',
        reason: 'PermissionRevoked',
        message: `revoked ${subjectText(req)}'s use of Connector ${connectorId}: ${cause}`,
      });
  };
  /** Revoke for good (§5.4): delete owned objects, Synced/SyncFailed → PermissionCleanUp. */
  const revoke = (cause: string, all = false): void => {
    perms = revokedPermissions(req, policies, owned, all);
    if (owned.length > 0 || perms.some((p) => p !== undefined))
      want({ type: 'AccessPermissionSync', status: 'True', reason: 'PermissionCleanUp', message: '' });
    if (owned.length > 0) rbac = { kind: 'cleanup', ops: owned.map(deleteOp) };
    revokedEvent(cause);
  };

  const pass = ((): Reconciliation | undefined => {
    // 2. Flags.
    if (!isApprovalEnabled(inp.flags)) {
      revoke(`feature flags not enabled: ${disabledFlags(inp.flags).join(', ')}`);
      return undefined;
    }
    // 3. Context, then Connector.
    const context = contextCondition(req, inp.pod);
    want(context);
    if (context.status === 'False') {
      terminal = true;
      stop = stopMessages.context;
      revoke(context.message ?? '');
      return undefined;
    }
    const connector = inp.connector;
    if (connector === undefined || connector.metadata.deletionTimestamp !== undefined) {
      const message = `Connector ${connectorId} ${connector === undefined ? 'not found' : 'is being deleted'}`;
      want({ type: 'ConnectorResolved', status: 'False', reason: 'NotFound', message });
      stop = stopMessages.connector;
      revoke(message);
      return undefined;
    }
    want({ type: 'ConnectorResolved', status: 'True', reason: 'Resolved' });
    // 4. Policies: matched until the first match, then frozen.
    if (policies.length === 0) {
      const matched = matchingPolicies(req.metadata.namespace ?? '', connector, inp.policies);
      if (matched.length === 0) {
        const message = `no AccessPolicy with checkGrantedPermission in namespace ${req.metadata.namespace ?? ''} selects Connector ${req.spec.connectorRef.name}`;
        want({ type: 'AccessPolicyMatched', status: 'False', reason: 'NoMatch', message });
        want({ type: 'AccessCheckReady', status: 'Unknown', reason: 'Pending', message: stopMessages.policy });
        want({ type: 'AccessPermissionSync', status: 'Unknown', reason: 'Pending', message: stopMessages.policy });
        return undefined;
      }
      policies = snapshotPolicies(matched);
      perms = policies.map(() => undefined);
    }
    want({ type: 'AccessPolicyMatched', status: 'True', reason: 'Matched' });
    // 5. Checks. Rejected and ApproverMismatch are final: nothing is re-read after them.
    const pod = inp.pod;
    if (pod === undefined) throw new Error('bug: an Active context without a Pod');
    const passedBefore = hasPassedBefore(req);
    const oldChecks = findCondition(old.conditions, 'AccessCheckReady');
    let checks: DesiredCondition<'AccessCheckReady', CheckReason>;
    if (isStatus(oldChecks, 'False', 'Rejected') || isStatus(oldChecks, 'False', 'ApproverMismatch')) {
      checks = { type: 'AccessCheckReady', status: 'False', reason: oldChecks?.reason as CheckReason, message: oldChecks?.message ?? '' };
    } else {
      const outcome = evaluateChecks(
        policies,
        {
          pod,
          systemNamespace: inp.systemNamespace,
          configMaps: inp.configMaps,
          listCheckObjects: inp.listCheckObjects,
          regoResults: inp.regoResults ?? new Map(),
          now,
        },
        passedBefore,
      );
      if (outcome.kind !== 'evaluated') return outcome;
      policies = outcome.policies;
      checks = outcome.condition;
      searches = outcome.searches;
    }
    want(checks);
    if ((checks.reason === 'Rejected' || checks.reason === 'ApproverMismatch') && !isStatus(oldChecks, 'False', checks.reason))
      events.push({ type: 'Warning', reason: 'AccessRejected', message: checks.message ?? '' });

    // §11.2: the time limit starts in the write in which checks first pass — or when this request's
    // grant objects were created, if a pass made them and never got to write its status.
    if (checks.status === 'True' && !passedBefore && grantExpiresAt === undefined) {
      const d = shortestMaxDuration(policies);
      if (d !== undefined) grantExpiresAt = rfc3339(new Date(grantStartMs(owned, nowMs) + d.ms));
    }
    if (grantExpiresAt !== undefined && inp.now.getTime() >= Date.parse(grantExpiresAt)) {
      const d = shortestMaxDuration(policies);
      expired = `grant expired at ${grantExpiresAt}${d === undefined ? '' : ` (maxDuration ${d.text} of AccessPolicy ${d.policy})`}`;
    }

    // 6. Permission. Expired is final, whatever the checks do later (§11.2).
    if (expired !== undefined) {
      revoke(expired, true);
    } else if (checks.status !== 'True') {
      const waiting = waitingPermissions(req, policies, owned, checks.reason, passedBefore);
      perms = waiting;
      want(aggregatePermissions(waiting));
      if (owned.length > 0) rbac = { kind: 'cleanup', ops: owned.map(deleteOp) };
      revokedEvent(`checks no longer pass: ${checks.message ?? ''}`);
    } else {
      grant(connector.metadata.name ?? '', pod);
      if (grantExpiresAt !== undefined) requeueAfterMs = Date.parse(grantExpiresAt) - inp.now.getTime();
    }
    return undefined;
  })();

  /** Grant (§5.4) for every snapshot policy; a failing policy leaves its objects alone. */
  function grant(connectorName: string, pod: Pod): void {
    const ops: RBACOp[] = [];
    const roles: Role[] = [];
    const roleBindings: RoleBinding[] = [];
    const keep = new Set<string>();
    const granted = policies.map((p): PolicyPermission => {
      const name = grantName(req.metadata.name ?? '', p.name);
      const template = p.policySpec.checkGrantedPermission?.spec?.roleTemplate?.ref?.configMap.name ?? '';
      const rules = grantRules(template, inp.configMaps, inp.systemNamespace, pod, connectorName);
      if (!rules.ok) {
        keep.add(name);
        return { policy: p.name, condition: syncFailed(rules.error) };
      }
      if (rules.value.length === 0) return { policy: p.name, condition: noPermissionRequired() };
      const g = desiredGrant(req, p.name, rules.value);
      const liveRole = inp.roles.find((r) => r.metadata.namespace === req.metadata.namespace && r.metadata.name === name);
      const liveBinding = inp.roleBindings.find((r) => r.metadata.namespace === req.metadata.namespace && r.metadata.name === name);
      const plan = planGrant(p.name, g, liveRole, liveBinding, req.metadata.uid);
      keep.add(name);
      if (!plan.ok) return { policy: p.name, condition: syncFailed(plan.error) };
      const failure = inp.rbacWriteFailures?.get(p.name);
      if (failure !== undefined) return { policy: p.name, condition: syncFailed(failure) };
      ops.push(...plan.value);
      roles.push(g.role);
      roleBindings.push(g.roleBinding);
      return { policy: p.name, condition: synced() };
    });
    // Owned objects no policy wants (an emptied template, an old name) go.
    ops.push(...owned.filter((o) => !keep.has(o.metadata.name ?? '')).map(deleteOp));
    perms = granted;
    rbac = { kind: 'sync', roles, roleBindings, ops };
    const aggregate = aggregatePermissions(granted);
    want(aggregate);
    if (aggregate.reason === 'Synced' && !isStatus(findCondition(old.conditions, 'AccessPermissionSync'), 'True', 'Synced'))
      events.push({
        type: 'Normal',
        reason: 'PermissionGranted',
        message: `granted ${subjectText(req)} use of Connector ${connectorId} from Pod ${nsName(req.spec.context.objectRef)}`,
      });
  }

  if (pass !== undefined) return pass;

  // Every write with the flags on holds all six conditions (§5.1).
  const approvalOn = isApprovalEnabled(inp.flags);
  if (approvalOn)
    for (const t of dependentTypes)
      if (!wants.has(t) && findCondition(old.conditions, t) === undefined)
        want({ type: t, status: 'Unknown', reason: 'Pending', message: stop ?? `waiting for ${t}` });
  const effective = (t: AccessRequestConditionType): Pick<Condition, 'status' | 'reason' | 'message'> | undefined => {
    const w = wants.get(t);
    if (w === undefined) return findCondition(old.conditions, t);
    // Trimmed exactly as stored, so Ready copies the stored message.
    return nextCondition(undefined, w, now);
  };
  want(readyCondition(effective, inp.flags, expired));

  // Assemble.
  let conditions = old.conditions ?? [];
  for (const t of allConditionTypes) {
    const w = wants.get(t);
    if (w !== undefined) conditions = setCondition(conditions, w, now);
  }
  const snapshots = policies.map((p, i) => {
    const perm = perms[i];
    if (perm === undefined) return p;
    return { ...p, permissionSync: nextCondition(p.permissionSync, perm.condition, now, { alwaysMessage: true, observedGeneration: generation }) };
  });
  const status: AccessRequestStatus = { ...old, observedGeneration: generation, conditions };
  if (snapshots.length > 0) status.policies = snapshots;
  if (grantExpiresAt !== undefined) status.grantExpiresAt = grantExpiresAt;

  // The TTL runs from ContextObjectValid's lastTransitionTime, which is `now` cut to seconds.
  if (terminal && inp.terminalRequestTtlMs > 0) requeueAfterMs = nowMs + inp.terminalRequestTtlMs - inp.now.getTime();
  return {
    kind: 'apply',
    ...(canonical(status) !== canonical(old) ? { status } : {}),
    rbac,
    events,
    searches,
    ...(requeueAfterMs !== undefined ? { requeueAfterMs: Math.max(0, requeueAfterMs) } : {}),
  };
}
