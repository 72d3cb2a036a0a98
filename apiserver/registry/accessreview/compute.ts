/**
 * The answer of an AccessReview (domain spec §11.3), as pure functions over what the I/O layer
 * (`./backend.ts`) gathered: the rules of §§5–6 and §11.1–§11.2 evaluated once, nothing frozen,
 * created or changed. The controller's own pure code does the work — policy matching, check specs,
 * selector rendering, verdicts with approver constraints, role templates and the scope guard — so a
 * review and the AccessRequest it predicts cannot disagree.
 *
 * Flow: `reviewPod` → `reviewSearches` (what to list from the main API server) → the I/O layer
 * lists each search, or marks it hidden when the caller may not list that kind there → `computeReview`
 * (which may ask for Rego results first, as `evaluateChecks` does).
 */
import type {
  AccessPolicy,
  AccessRequest,
  AccessReview,
  AccessReviewCheck,
  AccessReviewCheckObject,
  AccessReviewPolicy,
  AccessReviewStatus,
  CheckRule,
  Condition,
  PolicySnapshot,
  ReviewVerdict,
} from '../../apis/connectors/v1alpha1/types.js';
import { group } from '../../apis/connectors/v1alpha1/types.js';
import type { CheckListing, CheckSearch, RegoJob, RegoOutcome } from '../../controller/checks.js';
import { aggregateChecks, approverConstraint, evaluateChecks, renderSearch, resolveCheckSpec } from '../../controller/checks.js';
import type { CheckReason } from '../../controller/conditions.js';
import { compareStrings } from '../../controller/conditions.js';
import type { FeatureFlags } from '../../controller/config.js';
import { isApprovalEnabled } from '../../controller/config.js';
import type { CheckObject, ConfigMap, Connector, Pod } from '../../controller/objects.js';
import { matchingPolicies } from '../../controller/policy-match.js';
import { grantRules } from '../../controller/rbac.js';
import { contextCondition } from '../../controller/reconcile.js';
import { selectorText } from '../../controller/selector.js';

/** A search's result: the listing, or what to add to `hidden` because the caller may not list it. */
export type ReviewListing = CheckListing | { readonly hidden: string };

export interface ReviewInputs {
  /** Defaulted and validated. */
  readonly review: AccessReview;
  /** `objectRef` form: the live Pod, `undefined` on a definite 404. Ignored for `podTemplate`. */
  readonly livePod: Pod | undefined;
  /** The Connector `spec.connectorRef.name` in the review's namespace, if it exists. */
  readonly connector: Connector | undefined;
  /** The AccessPolicies of the review's namespace; `undefined` when the caller may not list them. */
  readonly policies: readonly AccessPolicy[] | undefined;
  /** The system namespace's ConfigMaps by name (templates). */
  readonly configMaps: ReadonlyMap<string, ConfigMap>;
  readonly flags: FeatureFlags;
  readonly systemNamespace: string;
  /** By `searchKey`, for every search `reviewSearches` named. */
  readonly listings: ReadonlyMap<string, ReviewListing>;
  readonly regoResults?: ReadonlyMap<string, RegoOutcome>;
  /** The SARs of §7 step 1 for the subject: allowed, and the reason of the one that allowed. */
  readonly access: { readonly allowed: boolean; readonly reason: string };
  /** The caller may not list RoleBindings in the namespace or ClusterRoleBindings. */
  readonly roleBindingsHidden: boolean;
  /** RFC 3339, for the verdicts' bookkeeping (never shown). */
  readonly now: string;
}

export type ReviewOutcome =
  | { readonly kind: 'needsRego'; readonly jobs: readonly RegoJob[] }
  | { readonly kind: 'answered'; readonly status: AccessReviewStatus };

const namespaceOf = (r: AccessReview): string => r.metadata.namespace ?? '';

/**
 * The Pod the review is about: the live one, or for `podTemplate` a Pod built from it (namespace,
 * name, labels, ServiceAccount) — all that templates and selectors of §6.4 can sensibly read.
 */
export function reviewPod(review: AccessReview, livePod: Pod | undefined): Pod | undefined {
  const t = review.spec.context.podTemplate;
  if (t === undefined) return livePod;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace: t.namespace,
      ...(t.name === undefined || t.name === '' ? {} : { name: t.name }),
      ...(t.labels === undefined ? {} : { labels: { ...t.labels } }),
    },
    spec: { serviceAccountName: t.serviceAccountName === undefined || t.serviceAccountName === '' ? 'default' : t.serviceAccountName },
  };
}

/** ContextObjectValid of §5.1: all its reasons for an existing Pod, SubjectMismatch for a template. */
export function reviewContext(review: AccessReview, livePod: Pod | undefined): AccessReviewStatus['context'] {
  const { subject, connectorRef } = review.spec;
  const ref = review.spec.context.objectRef;
  let c: Pick<Condition, 'status' | 'reason' | 'message'>;
  if (ref !== undefined) {
    const asRequest: AccessRequest = { metadata: {}, spec: { connectorRef, subject, context: { objectRef: ref } } };
    c = contextCondition(asRequest, livePod);
  } else {
    const t = review.spec.context.podTemplate;
    const ns = t?.namespace ?? '';
    const sa = t?.serviceAccountName === undefined || t.serviceAccountName === '' ? 'default' : t.serviceAccountName;
    const id = t?.name === undefined || t.name === '' ? `a Pod of namespace ${ns}` : `Pod ${ns}/${t.name}`;
    c =
      subject.kind === 'ServiceAccount' && (subject.namespace !== ns || subject.name !== sa)
        ? { status: 'False', reason: 'SubjectMismatch', message: `${id} runs as ServiceAccount ${ns}/${sa}, not ${subject.namespace ?? ''}/${subject.name}` }
        : { status: 'True', reason: 'Active' };
  }
  return { valid: c.status === 'True', reason: c.reason ?? '', ...(c.message === undefined || c.message === '' ? {} : { message: c.message }) };
}

const resolved = (c: Connector | undefined): c is Connector => c !== undefined && c.metadata.deletionTimestamp === undefined;

/** The policies §5.2 step 4 would match now (none without a resolved Connector or when hidden). */
function matched(inp: Pick<ReviewInputs, 'review' | 'connector' | 'policies'>): AccessPolicy[] {
  if (!resolved(inp.connector) || inp.policies === undefined) return [];
  return matchingPolicies(namespaceOf(inp.review), inp.connector, inp.policies);
}

const rulesOf = (p: AccessPolicy): readonly CheckRule[] => p.spec.checkGrantedPermission?.spec?.checks ?? [];

/** One key per distinct list call. */
export const searchKey = (s: CheckSearch): string => JSON.stringify([s.apiVersion, s.kind, s.namespace, selectorText(s.selector), s.name ?? '']);

/** Every list call the checks of the matched policies would make against the main API server. */
export function reviewSearches(inp: Pick<ReviewInputs, 'review' | 'livePod' | 'connector' | 'policies' | 'configMaps' | 'systemNamespace'>): CheckSearch[] {
  const pod = reviewPod(inp.review, inp.livePod);
  if (pod === undefined) return [];
  const out = new Map<string, CheckSearch>();
  for (const p of matched(inp)) {
    for (const rule of rulesOf(p)) {
      const spec = resolveCheckSpec(rule, inp.configMaps, inp.systemNamespace);
      if (!spec.ok) continue;
      const r = renderSearch(spec.value, pod);
      if (r.ok) out.set(searchKey(r.search), r.search);
    }
  }
  return [...out.values()];
}

/**
 * The SubjectAccessReviews of §7 step 1 for the review's subject: `proxy`, then the per-Pod
 * subresource when the Pod's name is known. A User is asked as an authenticated user, a Group as its
 * members (RBAC bindings to `system:authenticated` count for both, as they would at use).
 */
export function subjectReviews(review: AccessReview): {
  user?: string;
  groups: string[];
  resourceAttributes: { group: string; resource: string; verb: string; name: string; namespace: string; subresource: string };
}[] {
  const s = review.spec.subject;
  const identity =
    s.kind === 'ServiceAccount'
      ? { user: `system:serviceaccount:${s.namespace ?? ''}:${s.name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${s.namespace ?? ''}`, 'system:authenticated'] }
      : s.kind === 'User'
        ? { user: s.name, groups: ['system:authenticated'] }
        : { groups: [s.name, 'system:authenticated'] };
  const ref = review.spec.context.objectRef;
  const t = review.spec.context.podTemplate;
  const podNs = ref?.namespace ?? t?.namespace ?? '';
  const podName = ref?.name ?? t?.name ?? '';
  const subresources = ['proxy', ...(podName === '' ? [] : [`proxy/v1/pod/${podNs}/${podName}`])];
  return subresources.map((subresource) => ({
    ...identity,
    resourceAttributes: { group, resource: 'connectors', verb: '*', name: review.spec.connectorRef.name, namespace: namespaceOf(review), subresource },
  }));
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An object's own `spec.approvers[].name` (ApprovalTask): what the pipeline author asked for. */
function ownApprovers(obj: CheckObject | undefined): string[] {
  const spec = obj?.['spec'];
  const list = isRecord(spec) && Array.isArray(spec['approvers']) ? (spec['approvers'] as unknown[]) : [];
  return list.flatMap((a) => (isRecord(a) && typeof a['name'] === 'string' && a['name'] !== '' ? [a['name']] : []));
}

const view = (c: Pick<Condition, 'type' | 'status' | 'reason' | 'message'>, withType: boolean): ReviewVerdict => ({
  ...(withType ? { type: c.type } : {}),
  status: c.status,
  reason: c.reason ?? '',
  ...(c.message === undefined || c.message === '' ? {} : { message: c.message }),
});

const pending = (message: string): ReviewVerdict => ({ status: 'Unknown', reason: 'Pending', message });

interface Item {
  readonly policy: string;
  readonly check: string;
  readonly reason: CheckReason;
  readonly message: string;
}

/** The status of §11.3 for one review. */
export function computeReview(inp: ReviewInputs): ReviewOutcome {
  const review = inp.review;
  const pod = reviewPod(review, inp.livePod);
  const context = reviewContext(review, inp.livePod);
  const connectorResolved = resolved(inp.connector);
  const hidden = new Set<string>();
  if (inp.policies === undefined) hidden.add('accesspolicies');
  if (inp.roleBindingsHidden) hidden.add('rolebindings');

  const items: Item[] = [];
  const jobs = new Map<string, RegoJob>();
  let checksHidden = false;
  const policies: AccessReviewPolicy[] = [];
  for (const p of matched(inp)) {
    const name = p.metadata.name ?? '';
    const entry: AccessReviewPolicy = { name };
    const maxDuration = p.spec.checkGrantedPermission?.spec?.maxDuration;
    if (maxDuration !== undefined) entry.maxDuration = maxDuration;
    const checks: AccessReviewCheck[] = [];
    for (const rule of rulesOf(p)) {
      const c: AccessReviewCheck = { name: rule.name };
      checks.push(c);
      const constraint = approverConstraint(rule);
      if (constraint !== undefined) {
        c.approvers = [...constraint.approvers];
        c.numberOfApprovalsRequired = constraint.required;
      }
      if (pod === undefined) continue;
      const add = (reason: CheckReason, message: string): void => {
        items.push({ policy: name, check: rule.name, reason, message });
      };
      const spec = resolveCheckSpec(rule, inp.configMaps, inp.systemNamespace);
      if (!spec.ok) {
        c.condition = { status: 'False', reason: 'Failed', message: spec.error };
        add('Failed', spec.error);
        continue;
      }
      const r = renderSearch(spec.value, pod);
      if (!r.ok) {
        c.condition = { status: r.reason === 'Pending' ? 'Unknown' : 'False', reason: r.reason, message: r.message };
        add(r.reason, r.message);
        continue;
      }
      const s = r.search;
      const labelSelector = selectorText(s.selector);
      c.search = {
        apiVersion: s.apiVersion,
        kind: s.kind,
        namespace: s.namespace,
        ...(labelSelector === '' ? {} : { labelSelector }),
        ...(s.name === undefined ? {} : { name: s.name }),
      };
      const listing: ReviewListing = inp.listings.get(searchKey(s)) ?? { ok: false, retry: false, message: `${s.kind} objects were not listed` };
      if ('hidden' in listing) {
        // What the objects say is what the caller may not read: neither they nor the verdict are shown.
        hidden.add(listing.hidden);
        checksHidden = true;
        continue;
      }
      const asFailure = (l: CheckListing): CheckListing => (l.ok ? l : { ...l, retry: false });
      const snapshot: PolicySnapshot = { name, policySpec: { checkGrantedPermission: { spec: { checks: [rule] } } } };
      const outcome = evaluateChecks(
        [snapshot],
        {
          pod,
          systemNamespace: inp.systemNamespace,
          configMaps: inp.configMaps,
          listCheckObjects: () => asFailure(listing),
          regoResults: inp.regoResults ?? new Map(),
          now: inp.now,
        },
        false,
      );
      if (outcome.kind === 'needsRego') {
        for (const j of outcome.jobs) jobs.set(j.key, j);
        continue;
      }
      if (outcome.kind === 'retry') {
        c.condition = { status: 'False', reason: 'Failed', message: outcome.message };
        add('Failed', outcome.message);
        continue;
      }
      const raw = listing.ok ? listing.items : [];
      const objects = (outcome.policies[0]?.matchedChecks ?? []).map((e): AccessReviewCheckObject => {
        const o: AccessReviewCheckObject = { ref: e.ref, condition: view(e.condition, true) };
        if (constraint === undefined) {
          const own = ownApprovers(raw.find((x) => (e.ref.uid !== undefined ? x.metadata.uid === e.ref.uid : x.metadata.name === e.ref.name)));
          if (own.length > 0) o.approvers = own;
        }
        if (e.approvedBy !== undefined && e.approvedBy.length > 0) o.approvedBy = [...e.approvedBy];
        return o;
      });
      if (objects.length > 0) c.objects = objects;
      const prefix = `${rule.name} (policy ${name}): `;
      const msg = outcome.condition.message ?? '';
      const message = msg.startsWith(prefix) ? msg.slice(prefix.length) : msg;
      c.condition = view({ ...outcome.condition, message }, false);
      add(outcome.condition.reason as CheckReason, message);
    }
    if (checks.length > 0) entry.checks = checks;
    if (pod !== undefined) {
      const template = p.spec.checkGrantedPermission?.spec?.roleTemplate?.ref?.configMap.name ?? '';
      const rules = grantRules(template, inp.configMaps, inp.systemNamespace, pod, inp.connector?.metadata.name ?? '');
      if (rules.ok) {
        if (rules.value.length > 0) entry.rules = rules.value;
      } else entry.error = rules.error;
    }
    policies.push(entry);
  }
  if (jobs.size > 0) return { kind: 'needsRego', jobs: [...jobs.values()] };

  // What AccessCheckReady would be: the controller's first stopping step, else the aggregate (§5.3 step 6).
  let checkReady: ReviewVerdict | undefined;
  if (inp.policies === undefined || (checksHidden && context.valid && connectorResolved)) checkReady = undefined;
  else if (!context.valid) checkReady = pending('waiting for a valid context object');
  else if (!connectorResolved) checkReady = pending('waiting for the Connector');
  else if (policies.length === 0) checkReady = pending('waiting for a matching AccessPolicy');
  else {
    const agg = aggregateChecks(items);
    checkReady = view(agg, false);
  }

  const allowedBy = inp.access.allowed && !inp.roleBindingsHidden && inp.access.reason !== '' ? inp.access.reason : undefined;
  const status: AccessReviewStatus = {
    approvalEnabled: isApprovalEnabled(inp.flags),
    context,
    connectorResolved,
    allowed: inp.access.allowed,
    ...(allowedBy === undefined ? {} : { allowedBy }),
    ...(policies.length === 0 ? {} : { policies }),
    ...(checkReady === undefined ? {} : { checkReady }),
    ...(hidden.size === 0 ? {} : { hidden: [...hidden].sort(compareStrings) }),
  };
  return { kind: 'answered', status };
}
