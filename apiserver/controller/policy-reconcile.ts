/**
 * One reconcile pass of the AccessPolicy controller (domain spec §5.8, §6.3, §6.4), as a pure
 * function: snapshots in, a decision out. No I/O, no timers, no clock of its own.
 *
 * What the I/O driver supplies (`PolicyReconcileInputs`):
 * - `policy`: the AccessPolicy as last read from the registry (its `resourceVersion` is the CAS
 *   precondition of the status write). A policy being deleted is not passed here: the driver deletes
 *   its pair (`policyCleanupOps`) and the garbage collector finishes the job.
 * - `connectors`: the Connectors of the policy namespace (others are ignored).
 * - `namespaces`: every Namespace of the main API server, with its labels.
 * - `reviews`: SubjectAccessReview outcomes by `SubjectReview.key`, for this pass. Call with what you
 *   have (or nothing); a `needsReviews` answer lists the reviews to POST; then call again. A review
 *   that failed is `{ok: false}`: it is no denial (§5.8 step 4).
 * - `configMaps`: the system namespace's ConfigMaps by name (the role template is read at use).
 * - `roles` / `roleBindings`: the policy namespace's objects labelled `connectors.alauda.io/accessPolicy`
 *   (plus any object named `policyGrantName(policy)`, so that a foreign one is reported, never adopted).
 * - `flags`, `systemNamespace`, `now`.
 * - `previouslyDropped`: the `dropped` set of the previous pass (the driver keeps it in memory), so
 *   that `SubjectDropped` is emitted only when a subject *newly* fails the filter.
 * - `rbacWriteFailure`: second call of a pass only, the error of the failed create/update/recreate.
 *
 * What the driver does with the answer (`PolicyReconciliation`):
 * - `needsReviews`: POST the reviews, call again with their outcomes.
 * - `apply`: (1) run `ops` in order. A failed delete → retry the pass with backoff, writing nothing.
 *   A failed create/update/recreate → call again with the same inputs plus `rbacWriteFailure`, run
 *   none of the new ops, and use that answer from here on. (2) If `status` is set, write it with a CAS
 *   on `resourceVersion`; on conflict start over. (3) After the write, emit `events` (core/v1 Events
 *   on the policy). (4) Keep `dropped` for the next pass. (5) `retry` set: re-queue with backoff (a
 *   SubjectAccessReview failed; the pair was left as it is).
 */
import type { ObjectMeta } from '../api/meta.js';
import { rfc3339 } from '../api/meta.js';
import type { AccessPolicy, AccessPolicyStatus, Condition, NamespaceSelector } from '../apis/connectors/v1alpha1/types.js';
import { group } from '../apis/connectors/v1alpha1/types.js';
import type { Result } from '../../storage/interface.js';
import type { FeatureFlags } from './config.js';
import { flagKeys } from './config.js';
import type { DesiredCondition } from './conditions.js';
import { compareStrings, findCondition, nextCondition, setCondition } from './conditions.js';
import { canonical, type ControllerEvent } from './decision.js';
import { boundName, labelValue } from './names.js';
import type { ConfigMap, Connector, PolicyRule, RbacSubject, Role, RoleBinding } from './objects.js';
import { rbacGroup } from './objects.js';
import { selectsConnector } from './policy-match.js';
import type { Grant, RBACObject, RBACOp } from './rbac.js';
import { accessPolicyLabel, accessRequestLabel, deleteOp, isOwnedBy, ownedPair, planGrant, readRoleTemplate, scopeGuardError, unrenderedTemplateError } from './rbac.js';
import { selectorFromTerms, selectorMatches } from './selector.js';

/** A core `v1` Namespace: only its name, labels and deletion are read. */
export interface Namespace {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export type PolicyConditionType = 'ConnectorsMatched' | 'PermissionSynced' | 'Ready';
export type ConnectorsMatchedReason = 'Matched' | 'NoMatch';
export type PolicyPermissionReason = 'Pending' | 'Synced' | 'NoPermissionRequired' | 'NoSubjects' | 'SyncFailed' | 'FeatureDisabled';
export type PolicyReadyReason = ConnectorsMatchedReason | PolicyPermissionReason;

/** The outcome of one SubjectAccessReview: only `status.allowed` counts; an error is no denial. */
export type ReviewOutcome = { readonly ok: true; readonly allowed: boolean } | { readonly ok: false; readonly error: string };

/** `spec` of an authorization.k8s.io/v1 SubjectAccessReview. */
export interface SubjectAccessReviewSpec {
  user?: string;
  groups: string[];
  resourceAttributes: { group: string; resource: string; verb: string; namespace: string };
}

/** One review the filter needs: POST `{apiVersion: authorization.k8s.io/v1, kind: SubjectAccessReview, spec}`. */
export interface SubjectReview {
  /** `subjectText(subject)`: also the key of `reviews` and of `dropped`. */
  readonly key: string;
  readonly subject: RbacSubject;
  readonly spec: SubjectAccessReviewSpec;
}

export interface PolicyReconcileInputs {
  readonly policy: AccessPolicy;
  readonly connectors: readonly Connector[];
  readonly namespaces: readonly Namespace[];
  readonly reviews: ReadonlyMap<string, ReviewOutcome>;
  readonly configMaps: ReadonlyMap<string, ConfigMap>;
  readonly roles: readonly Role[];
  readonly roleBindings: readonly RoleBinding[];
  readonly flags: FeatureFlags;
  readonly systemNamespace: string;
  readonly now: Date;
  readonly previouslyDropped?: ReadonlySet<string>;
  readonly rbacWriteFailure?: string;
}

export type PolicyEventReason = 'PermissionGranted' | 'PermissionRevoked' | 'SubjectDropped';

/** An Event on the policy. */
export type PolicyEvent = ControllerEvent<PolicyEventReason>;

export type PolicyReconciliation =
  | { readonly kind: 'needsReviews'; readonly reviews: readonly SubjectReview[] }
  | {
      readonly kind: 'apply';
      /** Set only when it differs from the stored status: no write without a change. */
      readonly status?: AccessPolicyStatus;
      readonly ops: readonly RBACOp[];
      readonly events: readonly PolicyEvent[];
      /** Subjects that fail the SubjectAccessReview filter now (keys of `SubjectReview`). */
      readonly dropped: ReadonlySet<string>;
      /** The desired pair when one is wanted (informational: the driver runs `ops`). */
      readonly grant?: Grant;
      /** Set: a review failed; nothing was changed about the pair; re-queue with backoff. */
      readonly retry?: string;
    };

// ---------------------------------------------------------------------------------------------
// The default pair (§6.3)

/** `boundName(connectors-policy-<policyName>)`, shared by the Role and the RoleBinding. */
export const policyGrantName = (policyName: string): string => boundName(`connectors-policy-${policyName}`);

export const policyGrantLabels = (policyName: string): Record<string, string> => ({ [accessPolicyLabel]: labelValue(policyName) });

/** Subjects sorted by kind, namespace, name (§6.3). */
export const compareSubjects = (a: RbacSubject, b: RbacSubject): number =>
  compareStrings(a.kind, b.kind) || compareStrings(a.namespace ?? '', b.namespace ?? '') || compareStrings(a.name, b.name);

export function desiredPolicyGrant(policy: AccessPolicy, rules: readonly PolicyRule[], subjects: readonly RbacSubject[]): Grant {
  return ownedPair({
    ownerKind: 'AccessPolicy',
    owner: policy.metadata,
    name: policyGrantName(policy.metadata.name ?? ''),
    labels: policyGrantLabels(policy.metadata.name ?? ''),
    rules,
    subjects: [...subjects].sort(compareSubjects),
  });
}

/**
 * The policy's default pair as found: labelled for the policy, not an approval grant, owned by the
 * policy's uid. Found by label, confirmed by owner uid; nothing else is ever touched.
 */
export function ownedPolicyObjects(policy: AccessPolicy, objects: readonly RBACObject[]): RBACObject[] {
  const label = labelValue(policy.metadata.name ?? '');
  return objects.filter(
    (o) =>
      o.metadata.namespace === policy.metadata.namespace &&
      o.metadata.labels?.[accessPolicyLabel] === label &&
      o.metadata.labels[accessRequestLabel] === undefined &&
      isOwnedBy(o, policy.metadata.uid),
  );
}

/** What the driver deletes when a policy goes away (the garbage collector does it too). */
export function policyCleanupOps(namespace: string, policyName: string, policyUid: string, objects: readonly RBACObject[]): RBACOp[] {
  return ownedPolicyObjects({ metadata: { namespace, name: policyName, uid: policyUid }, spec: {} }, objects).map(deleteOp);
}

/** Template rules, unrendered (a brace is an error), guarded, each with `resourceNames` = `connectors`. */
export function defaultGrantRules(
  templateName: string,
  configMaps: ReadonlyMap<string, ConfigMap>,
  systemNamespace: string,
  connectors: readonly string[],
): Result<PolicyRule[], string> {
  const raw = readRoleTemplate(templateName, configMaps, systemNamespace);
  if (!raw.ok) return raw;
  const where = `role template ConfigMap ${systemNamespace}/${templateName}`;
  const braces = unrenderedTemplateError(raw.value);
  if (braces !== undefined) return { ok: false, error: `${where}: ${braces}` };
  const guard = scopeGuardError(raw.value);
  if (guard !== undefined) return { ok: false, error: `${where}: scope guard: ${guard}` };
  const names = [...new Set(connectors)].sort(compareStrings);
  return { ok: true, value: raw.value.map((r) => ({ ...r, resourceNames: [...names] })) };
}

// ---------------------------------------------------------------------------------------------
// Subjects (§5.8 steps 3 and 4)

export const saGroupPrefix = 'system:serviceaccounts';
const saGroup = (ns: string): string => `${saGroupPrefix}:${ns}`;

/** `ServiceAccount <ns>/<name>` or `Group <name>`: messages, review keys and `dropped` entries. */
export const subjectText = (s: RbacSubject): string => (s.kind === 'ServiceAccount' ? `ServiceAccount ${s.namespace ?? ''}/${s.name}` : `${s.kind} ${s.name}`);

const isEmptyNamespaceSelector = (sel: NamespaceSelector): boolean =>
  (sel.names ?? []).length === 0 && Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0;

/**
 * `bindingTemplate.serviceAccounts` expanded by the table of §5.8 against the namespaces that exist
 * now: deduplicated and sorted by kind, namespace, name.
 */
export function expandSubjects(policy: AccessPolicy, namespaces: readonly Namespace[]): RbacSubject[] {
  const policyNs = policy.metadata.namespace ?? '';
  const existing = [...new Set(namespaces.map((n) => n.metadata.name ?? '').filter((n) => n !== ''))].sort(compareStrings);
  const out = new Map<string, RbacSubject>();
  const add = (s: RbacSubject): void => {
    out.set(subjectText(s), s);
  };
  for (const entry of policy.spec.defaultPermission?.bindingTemplate?.serviceAccounts ?? []) {
    const names = [...new Set(entry.names ?? [])];
    const sel = entry.namespaceSelector ?? undefined;
    let selected: string[];
    let all = false;
    if (sel === undefined) selected = [policyNs];
    else if (isEmptyNamespaceSelector(sel)) {
      all = true;
      selected = existing;
    } else if ((sel.names ?? []).length > 0) {
      const wanted = new Set(sel.names);
      selected = existing.filter((n) => wanted.has(n));
    } else {
      const parsed = selectorFromTerms(sel);
      selected = parsed.ok
        ? namespaces.filter((n) => selectorMatches(parsed.value, n.metadata.labels)).map((n) => n.metadata.name ?? '').filter((n) => n !== '')
        : [];
    }
    if (names.length > 0) {
      for (const ns of selected) for (const name of names) add({ kind: 'ServiceAccount', name, namespace: ns });
    } else if (all) add({ kind: 'Group', name: saGroupPrefix, apiGroup: rbacGroup });
    else for (const ns of selected) add({ kind: 'Group', name: saGroup(ns), apiGroup: rbacGroup });
  }
  return [...out.values()].sort(compareSubjects);
}

/**
 * The SubjectAccessReview of the filter: may the subject `get` `connectors` in the policy namespace?
 * A namespace's ServiceAccounts are represented by its `default` ServiceAccount; all ServiceAccounts
 * by the groups alone.
 */
export function subjectReview(subject: RbacSubject, policyNamespace: string): SubjectReview {
  const resourceAttributes = { group, resource: 'connectors', verb: 'get', namespace: policyNamespace };
  const key = subjectText(subject);
  const saSpec = (ns: string, sa: string): SubjectAccessReviewSpec => ({
    user: `system:serviceaccount:${ns}:${sa}`,
    groups: [saGroupPrefix, saGroup(ns), 'system:authenticated'],
    resourceAttributes,
  });
  if (subject.kind === 'ServiceAccount') return { key, subject, spec: saSpec(subject.namespace ?? '', subject.name) };
  if (subject.name === saGroupPrefix) return { key, subject, spec: { groups: [saGroupPrefix, 'system:authenticated'], resourceAttributes } };
  return { key, subject, spec: saSpec(subject.name.slice(saGroupPrefix.length + 1), 'default') };
}

// ---------------------------------------------------------------------------------------------
// Conditions (§5.8)

type Want = DesiredCondition<PolicyConditionType, PolicyReadyReason>;

export const featureDisabledMessage = `feature flags not enabled: ${flagKeys.connectorProxyPermissions}`;
export const noSubjectsMessage = 'no subject left after expansion and the SubjectAccessReview filter';
export const noMatchMessage = (ns: string): string => `no Connector in namespace ${ns} matches spec.connector`;
export const matchedMessage = (n: number): string => `${String(n)} Connector(s) matched`;

/** Ready of §5.8, over the effective ConnectorsMatched and PermissionSynced. */
export function policyReadyCondition(
  flags: FeatureFlags,
  matched: Pick<Condition, 'status' | 'reason' | 'message'> | undefined,
  permission: Pick<Condition, 'status' | 'reason' | 'message'> | undefined,
): Want {
  const ready = (status: Condition['status'], reason: string, message = ''): Want => ({ type: 'Ready', status, reason: reason as PolicyReadyReason, message });
  if (!flags.connectorProxyPermissions) return ready('Unknown', 'FeatureDisabled', featureDisabledMessage);
  if (matched?.status === 'True' && permission?.status === 'True') return ready('True', permission.reason ?? '');
  const deps: [string, Pick<Condition, 'status' | 'reason' | 'message'> | undefined][] = [
    ['ConnectorsMatched', matched],
    ['PermissionSynced', permission],
  ];
  const copy = (c: Pick<Condition, 'status' | 'reason' | 'message'>): Want => ready(c.status, c.reason ?? '', c.message ?? '');
  const f = deps.find(([, c]) => c?.status === 'False');
  if (f?.[1] !== undefined) return copy(f[1]);
  const u = deps.find(([, c]) => c?.status !== 'True');
  if (u !== undefined) return u[1] === undefined ? ready('Unknown', 'Pending', `waiting for ${u[0]}`) : copy(u[1]);
  return ready('Unknown', 'Pending', 'waiting for PermissionSynced');
}

const conditionOptions = { messageOnTrue: true } as const;

// ---------------------------------------------------------------------------------------------
// The pass

/** Connectors of the policy namespace that `spec.connector` selects, not being deleted, by name. */
export function matchedConnectors(policy: AccessPolicy, connectors: readonly Connector[]): string[] {
  const names = connectors
    .filter(
      (c) =>
        c.metadata.namespace === policy.metadata.namespace &&
        c.metadata.deletionTimestamp === undefined &&
        selectsConnector(policy.spec.connector ?? undefined, c),
    )
    .map((c) => c.metadata.name ?? '');
  return [...new Set(names)].sort(compareStrings);
}

const maxEventMessage = 1024;
const cutMessage = (s: string): string => (s.length <= maxEventMessage ? s : `${s.slice(0, maxEventMessage - 1)}…`);

export function reconcileAccessPolicy(inp: PolicyReconcileInputs): PolicyReconciliation {
  const policy = inp.policy;
  const ns = policy.metadata.namespace ?? '';
  const old = policy.status ?? {};
  const now = rfc3339(inp.now);
  const generation = policy.metadata.generation ?? 1;
  const previouslyDropped = inp.previouslyDropped ?? new Set<string>();
  const owned = ownedPolicyObjects(policy, [...inp.roles, ...inp.roleBindings]);
  const pairName = policyGrantName(policy.metadata.name ?? '');

  const wants = new Map<PolicyConditionType, Want>();
  const want = (w: Want): void => {
    wants.set(w.type, w);
  };
  const events: PolicyEvent[] = [];
  let ops: RBACOp[] = [];
  let dropped: ReadonlySet<string> = previouslyDropped;
  let grant: Grant | undefined;
  let retry: string | undefined;
  let matchedList: { name: string }[] | undefined = old.matchedConnectors;

  /** Delete the pair if present, with `PermissionRevoked`. */
  const revoke = (cause: string): void => {
    ops = owned.map(deleteOp);
    if (owned.length > 0)
      events.push({ type: 'Normal', reason: 'PermissionRevoked', message: cutMessage(`deleted Role and RoleBinding ${ns}/${pairName}: ${cause}`) });
  };
  const permission = (status: Condition['status'], reason: PolicyPermissionReason, message = ''): void =>
    want({ type: 'PermissionSynced', status, reason, message });

  const pass = ((): PolicyReconciliation | undefined => {
    if (!inp.flags.connectorProxyPermissions) {
      revoke(featureDisabledMessage);
      permission('Unknown', 'FeatureDisabled', featureDisabledMessage);
      return undefined;
    }
    // 1. matchedConnectors.
    const matched = matchedConnectors(policy, inp.connectors);
    matchedList = matched.map((name) => ({ name }));
    if (matched.length > 0) want({ type: 'ConnectorsMatched', status: 'True', reason: 'Matched', message: matchedMessage(matched.length) });
    else want({ type: 'ConnectorsMatched', status: 'False', reason: 'NoMatch', message: noMatchMessage(ns) });
    // 2. Nothing to grant: never an empty resourceNames (it would mean every Connector).
    const dp = policy.spec.defaultPermission ?? undefined;
    if (dp === undefined || matched.length === 0) {
      revoke(dp === undefined ? 'spec.defaultPermission is not set' : noMatchMessage(ns));
      permission('True', 'NoPermissionRequired');
      return undefined;
    }
    // 3. Expansion, 4. the SubjectAccessReview filter.
    const expanded = expandSubjects(policy, inp.namespaces);
    const reviews = expanded.map((s) => subjectReview(s, ns));
    const missing = reviews.filter((r) => !inp.reviews.has(r.key));
    if (missing.length > 0) return { kind: 'needsReviews', reviews: missing };
    const failed = reviews.flatMap((r) => {
      const o = inp.reviews.get(r.key);
      return o !== undefined && !o.ok ? [`${r.key}: ${o.error}`] : [];
    });
    if (failed.length > 0) {
      // No denial: the pair stays as it is; only a first pass reports Pending.
      retry = `SubjectAccessReview failed: ${failed.join('; ')}`;
      const prev = findCondition(old.conditions, 'PermissionSynced');
      if (prev === undefined || prev.reason === 'FeatureDisabled') permission('Unknown', 'Pending', `waiting for SubjectAccessReviews: ${failed[0] ?? ''}`);
      return undefined;
    }
    const denied = reviews.filter((r) => {
      const o = inp.reviews.get(r.key);
      return o?.ok === true && !o.allowed;
    });
    dropped = new Set(denied.map((r) => r.key));
    for (const r of denied)
      if (!previouslyDropped.has(r.key))
        events.push({ type: 'Warning', reason: 'SubjectDropped', message: `${r.key} cannot get connectors in namespace ${ns}` });
    const subjects = expanded.filter((s) => !dropped.has(subjectText(s)));
    // 5. The role template, then the pair.
    const templateName = dp.roleTemplate?.ref?.configMap.name ?? '';
    const raw = readRoleTemplate(templateName, inp.configMaps, inp.systemNamespace);
    if (!raw.ok) {
      permission('False', 'SyncFailed', raw.error);
      return undefined;
    }
    if (raw.value.length === 0) {
      revoke(`role template ConfigMap ${inp.systemNamespace}/${templateName} has no rules`);
      permission('True', 'NoPermissionRequired');
      return undefined;
    }
    const rules = defaultGrantRules(templateName, inp.configMaps, inp.systemNamespace, matched);
    if (!rules.ok) {
      permission('False', 'SyncFailed', rules.error);
      return undefined;
    }
    if (subjects.length === 0) {
      revoke(noSubjectsMessage);
      permission('False', 'NoSubjects', noSubjectsMessage);
      return undefined;
    }
    const g = desiredPolicyGrant(policy, rules.value, subjects);
    const liveRole = inp.roles.find((r) => r.metadata.namespace === ns && r.metadata.name === pairName);
    const liveBinding = inp.roleBindings.find((r) => r.metadata.namespace === ns && r.metadata.name === pairName);
    const foreign = [liveRole, liveBinding].find((o) => o !== undefined && !isOwnedBy(o, policy.metadata.uid));
    if (foreign !== undefined) {
      permission('False', 'SyncFailed', `${foreign.kind} ${pairName} exists and is not owned by this AccessPolicy`);
      return undefined;
    }
    if (inp.rbacWriteFailure !== undefined) {
      permission('False', 'SyncFailed', inp.rbacWriteFailure);
      return undefined;
    }
    const plan = planGrant(policy.metadata.name ?? '', g, liveRole, liveBinding, policy.metadata.uid);
    if (!plan.ok) {
      permission('False', 'SyncFailed', plan.error);
      return undefined;
    }
    grant = g;
    // Owned objects under another name (e.g. a former naming) go.
    ops = [...plan.value, ...owned.filter((o) => o.metadata.name !== pairName).map(deleteOp)];
    if (plan.value.length > 0)
      events.push({
        type: 'Normal',
        reason: 'PermissionGranted',
        message: cutMessage(
          `Role and RoleBinding ${ns}/${pairName} grant the use of Connector(s) ${matched.join(', ')} to ${subjects.map(subjectText).join(', ')}`,
        ),
      });
    permission('True', 'Synced');
    return undefined;
  })();
  if (pass !== undefined) return pass;

  // Assemble: ConnectorsMatched and matchedConnectors stay as they are while the flag is off.
  const effective = (t: PolicyConditionType): Pick<Condition, 'status' | 'reason' | 'message'> | undefined => {
    const w = wants.get(t);
    return w === undefined ? findCondition(old.conditions, t) : nextCondition(undefined, w, now, conditionOptions);
  };
  want(policyReadyCondition(inp.flags, effective('ConnectorsMatched'), effective('PermissionSynced')));
  let conditions = old.conditions ?? [];
  for (const t of ['ConnectorsMatched', 'PermissionSynced', 'Ready'] as const) {
    const w = wants.get(t);
    if (w !== undefined) conditions = setCondition(conditions, w, now, conditionOptions);
  }
  const status: AccessPolicyStatus = { ...old, observedGeneration: generation, conditions };
  if (matchedList !== undefined && matchedList.length > 0) status.matchedConnectors = matchedList;
  else delete status.matchedConnectors;
  return {
    kind: 'apply',
    ...(canonical(status) !== canonical(old) ? { status } : {}),
    ops,
    events,
    dropped,
    ...(grant === undefined ? {} : { grant }),
    ...(retry === undefined ? {} : { retry }),
  };
}
