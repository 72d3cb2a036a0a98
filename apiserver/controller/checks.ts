/**
 * Check evaluation of domain spec §5.3 (with the approver constraints of §11.1): resolve each check
 * rule of each snapshot policy, render its selector against the Pod, find the check objects, give
 * every object found a verdict, and aggregate everything into AccessCheckReady.
 *
 * Pure: objects come from a synchronous lookup over the driver's informer caches, and Rego results
 * are handed in precomputed. A Rego result that is missing turns the whole evaluation into
 * `needsRego`, so the driver runs OPA on those jobs and calls again.
 */
import { createHash } from 'node:crypto';
import { parse as parseYAML } from 'yaml';
import { formatFieldError } from '../api/field.js';
import type { LabelSelector } from '../api/selector/labels.js';
import { isValidLabelValue } from '../api/validation/names.js';
import { validateAccessPolicy } from '../apis/connectors/validation/accesspolicy.js';
import type {
  AccessPolicy,
  CheckRule,
  CheckRuleSpec,
  Condition,
  MatchedCheck,
  ObjectReference,
  PolicySnapshot,
} from '../apis/connectors/v1alpha1/types.js';
import type { Result } from '../../storage/interface.js';
import { parseTemplate, renderTemplate } from '../template/jsonpath.js';
import { compareStrings, nextCondition } from './conditions.js';
import type { CheckReason, DesiredCondition } from './conditions.js';
import type { CheckObject, ConfigMap, Pod } from './objects.js';
import { nsName } from './objects.js';
import { selectorFromTerms, selectorMatches, selectorText } from './selector.js';

/** One list call against a check kind: what §5.3 step 3 asks the main API server. */
export interface CheckSearch {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  /** Empty selects everything. */
  readonly selector: LabelSelector;
  /** Exact name (`selector.objectRef.name`, or an entry being re-read). */
  readonly name?: string;
}

export type CheckListing =
  | { readonly ok: true; readonly items: readonly CheckObject[] }
  /**
   * `retry`: a transient error (cache not synced, 5xx) — no verdict, the pass is retried with
   * backoff. Otherwise (kind unknown to the cluster, list forbidden) the rule is `Failed`.
   */
  | { readonly ok: false; readonly retry: boolean; readonly message: string };

/** Must answer from one consistent snapshot; objects outside the search must not be returned. */
export type ListCheckObjects = (search: CheckSearch) => CheckListing;

export type RegoOutcome =
  /** `data.approval.status.state`; `undefined` when the rule was undefined. */
  | { readonly ok: true; readonly state: unknown }
  /** Compile or runtime error, timeout. */
  | { readonly ok: false; readonly error: string };

export interface RegoJob {
  readonly key: string;
  readonly rego: string;
  /** The whole check object: the Rego input. */
  readonly input: CheckObject;
}

/** Results are keyed by policy text and object version, so a cache of them stays valid. */
export function regoJobKey(rego: string, obj: CheckObject): string {
  const h = createHash('sha256').update(rego, 'utf8').digest('hex');
  return `${h}:${obj.metadata.uid ?? nsName(obj.metadata)}:${obj.metadata.resourceVersion ?? ''}`;
}

/**
 * A lookup over plain object lists, for tests and for drivers that hold whole caches. `failures`
 * maps `<apiVersion>/<Kind>` to the listing error of a kind that cannot be listed.
 */
export function listFromObjects(
  objects: readonly CheckObject[],
  failures: ReadonlyMap<string, CheckListing & { ok: false }> = new Map(),
): ListCheckObjects {
  return (s) => {
    const failure = failures.get(`${s.apiVersion}/${s.kind}`);
    if (failure !== undefined) return failure;
    const items = objects.filter(
      (o) =>
        o.apiVersion === s.apiVersion &&
        o.kind === s.kind &&
        o.metadata.namespace === s.namespace &&
        (s.name === undefined || o.metadata.name === s.name) &&
        selectorMatches(s.selector, o.metadata.labels),
    );
    return { ok: true, items };
  };
}

export interface CheckEnv {
  readonly pod: Pod;
  readonly systemNamespace: string;
  readonly configMaps: ReadonlyMap<string, ConfigMap>;
  readonly listCheckObjects: ListCheckObjects;
  readonly regoResults: ReadonlyMap<string, RegoOutcome>;
  /** RFC 3339, for entry conditions. */
  readonly now: string;
}

export type ChecksOutcome =
  | { readonly kind: 'retry'; readonly message: string }
  | { readonly kind: 'needsRego'; readonly jobs: readonly RegoJob[] }
  | {
      readonly kind: 'evaluated';
      /** The snapshots with updated `matchedChecks`; `policySpec` untouched. */
      readonly policies: PolicySnapshot[];
      readonly condition: DesiredCondition<'AccessCheckReady', CheckReason>;
      /** Every search made, for the driver's check-kind watches and index (§5.7). */
      readonly searches: readonly CheckSearch[];
    };

// ---------------------------------------------------------------------------------------------
// Step 1: the rule's spec

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isStringMap = (v: unknown): v is Record<string, string> =>
  isRecord(v) && Object.values(v).every((x) => typeof x === 'string');

/** Shape of a CheckRuleSpec read from YAML, before AP-V11 runs on it. */
function shapeErrors(v: unknown): string[] {
  if (!isRecord(v)) return ['must be an object'];
  const errs: string[] = [];
  const sel = v['selector'];
  if (sel !== undefined && sel !== null) {
    if (!isRecord(sel)) errs.push('selector: must be an object');
    else {
      const ref = sel['objectRef'];
      if (ref !== undefined && ref !== null && (!isRecord(ref) || !Object.values(ref).every((x) => typeof x === 'string')))
        errs.push('selector.objectRef: must be an object of strings');
      if (sel['matchLabels'] != null && !isStringMap(sel['matchLabels']))
        errs.push('selector.matchLabels: must be a map of strings');
      const exprs = sel['matchExpressions'];
      if (
        exprs != null &&
        !(
          Array.isArray(exprs) &&
          exprs.every(
            (e) =>
              isRecord(e) &&
              typeof e['key'] === 'string' &&
              typeof e['operator'] === 'string' &&
              (e['values'] == null || isStringArray(e['values'])),
          )
        )
      )
        errs.push('selector.matchExpressions: must be a list of {key, operator, values}');
    }
  }
  const state = v['state'];
  if (state != null && (!isRecord(state) || (state['rego'] != null && typeof state['rego'] !== 'string')))
    errs.push('state.rego: must be a string');
  return errs;
}

/** AP-V11 on a spec from a template, by running the policy validator on a policy that holds it. */
function ruleSpecErrors(spec: CheckRuleSpec): string[] {
  const prefix = 'spec.checkGrantedPermission.spec.checks[0].spec';
  const probe = {
    metadata: {},
    spec: {
      checkGrantedPermission: {
        spec: { checks: [{ name: 'probe', spec }], roleTemplate: { ref: { configMap: { name: 'probe' } } } },
      },
    },
  } satisfies AccessPolicy;
  return validateAccessPolicy(probe).map((e) =>
    formatFieldError({ ...e, field: e.field.startsWith(`${prefix}.`) ? e.field.slice(prefix.length + 1) : e.field }),
  );
}

/** Inline `spec`, or `data.spec` of the `ref` ConfigMap in the system namespace (read at use). */
export function resolveCheckSpec(
  rule: CheckRule,
  configMaps: ReadonlyMap<string, ConfigMap>,
  systemNamespace: string,
): Result<CheckRuleSpec, string> {
  if (rule.spec !== undefined) return { ok: true, value: rule.spec };
  const name = rule.ref?.configMap.name ?? '';
  const where = `ConfigMap ${systemNamespace}/${name}`;
  if (name === '') return { ok: false, error: 'check has neither spec nor ref' };
  const cm = configMaps.get(name);
  if (cm === undefined) return { ok: false, error: `${where} not found` };
  const text = cm.data?.['spec'];
  if (text === undefined) return { ok: false, error: `${where} has no key "spec"` };
  let doc: unknown;
  try {
    doc = parseYAML(text, { maxAliasCount: 100, uniqueKeys: true }) as unknown;
  } catch (e) {
    return { ok: false, error: `${where} key spec: ${e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e)}` };
  }
  const shape = shapeErrors(doc);
  if (shape.length > 0) return { ok: false, error: `${where} key spec: ${shape.join('; ')}` };
  const spec = doc as CheckRuleSpec;
  const errs = ruleSpecErrors(spec);
  if (errs.length > 0) return { ok: false, error: `${where} key spec: ${errs.join('; ')}` };
  return { ok: true, value: spec };
}

// ---------------------------------------------------------------------------------------------
// Steps 2–3: the search

export type SearchResult =
  | { readonly ok: true; readonly search: CheckSearch }
  | { readonly ok: false; readonly reason: 'Failed' | 'Pending'; readonly message: string };

/** §5.3 step 2: `matchLabels` values are templates over `{"object": <Pod>}`; expressions are literal. */
export function renderSearch(spec: CheckRuleSpec, pod: Pod): SearchResult {
  const ref = spec.selector.objectRef;
  const rendered: Record<string, string> = {};
  let pending: string | undefined;
  for (const key of Object.keys(spec.selector.matchLabels ?? {}).sort(compareStrings)) {
    const src = spec.selector.matchLabels?.[key] ?? '';
    const t = parseTemplate(src);
    if (!t.ok) return { ok: false, reason: 'Failed', message: `selector label ${key}: ${t.error}` };
    const v = renderTemplate(t.value, { object: pod });
    // An empty value would match objects *without* the label's value; the rule matches nothing instead.
    if (v === '') {
      pending ??= `selector label ${key} rendered empty from ${src}`;
      continue;
    }
    const errs = isValidLabelValue(v);
    if (errs.length > 0)
      return { ok: false, reason: 'Failed', message: `selector label ${key}: invalid value ${JSON.stringify(v)}: ${errs.join('; ')}` };
    rendered[key] = v;
  }
  if (pending !== undefined) return { ok: false, reason: 'Pending', message: pending };
  const sel = selectorFromTerms({ matchLabels: rendered, matchExpressions: spec.selector.matchExpressions });
  if (!sel.ok) return { ok: false, reason: 'Failed', message: `selector: ${sel.error}` };
  const search: CheckSearch = {
    apiVersion: ref.apiVersion ?? '',
    kind: ref.kind ?? '',
    namespace: ref.namespace !== undefined && ref.namespace !== '' ? ref.namespace : (pod.metadata.namespace ?? ''),
    selector: sel.value,
    ...(ref.name !== undefined && ref.name !== '' ? { name: ref.name } : {}),
  };
  return { ok: true, search };
}

/** `waiting for ApprovalTask matching tekton.dev/pipelineRun=promote-run-abc12 in namespace cicd` */
export function nothingFoundMessage(s: CheckSearch): string {
  const sel = selectorText(s.selector);
  return [
    `waiting for ${s.kind}`,
    ...(s.name !== undefined ? [s.name] : []),
    ...(sel !== '' ? [`matching ${sel}`] : []),
    `in namespace ${s.namespace}`,
  ].join(' ');
}

// ---------------------------------------------------------------------------------------------
// Steps 4–5 and §11.1: one object's verdict

export interface EntryVerdict {
  readonly condition: DesiredCondition<'Ready', CheckReason>;
  readonly approvedBy: readonly string[];
}

const verdict = (status: Condition['status'], reason: CheckReason, message = ''): DesiredCondition<'Ready', CheckReason> => ({
  type: 'Ready',
  status,
  reason,
  message,
});

/** The state table of §5.3 step 4 (Tekton ApprovalTask: `pending`, `approved`, `rejected`). */
export function stateVerdict(kind: string, obj: CheckObject, state: unknown): DesiredCondition<'Ready', CheckReason> {
  const who = `${kind} ${nsName(obj.metadata)}`;
  if (state === 'approved' || state === 'passed') return verdict('True', 'Passed');
  if (state === 'rejected') return verdict('False', 'Rejected', `${who} was rejected`);
  if (state === undefined || state === null || state === 'pending' || state === '')
    return verdict('Unknown', 'Pending', `waiting for ${who} to be approved`);
  const shown = typeof state === 'string' ? state : JSON.stringify(state);
  return verdict('False', 'Failed', `${who} has unsupported state "${shown}"`);
}

export interface ApproverConstraint {
  readonly approvers: readonly string[];
  readonly required: number;
}

/** `params` of a check rule (§11.1); undefined when the rule has no `approvers`. */
export function approverConstraint(rule: CheckRule): ApproverConstraint | undefined {
  const params = rule.params ?? [];
  const approvers = params.find((p) => p.name === 'approvers')?.value;
  if (!isStringArray(approvers)) return undefined;
  const n = params.find((p) => p.name === 'numberOfApprovalsRequired')?.value;
  const required = typeof n === 'string' && /^[1-9][0-9]*$/.test(n) ? Number(n) : 1;
  return { approvers, required };
}

interface Answer {
  readonly identity: string;
  readonly response: 'approved' | 'rejected';
  readonly listed: boolean;
}

/** Answers from `status.approversResponse[]` only; `spec.approvers` is the pipeline author's. */
function answers(obj: CheckObject, listed: ReadonlySet<string>): Answer[] {
  const status = obj['status'];
  const items = isRecord(status) && Array.isArray(status['approversResponse']) ? (status['approversResponse'] as unknown[]) : [];
  const out: Answer[] = [];
  const push = (identity: unknown, response: unknown, group: string | undefined): void => {
    if (typeof identity !== 'string' || (response !== 'approved' && response !== 'rejected')) return;
    const isListed = listed.has(identity) || (group !== undefined && listed.has(`group:${group}`));
    out.push({ identity, response, listed: isListed });
  };
  for (const item of items) {
    if (!isRecord(item)) continue;
    const type = item['type'];
    if (type === 'Group') {
      const group = typeof item['name'] === 'string' ? item['name'] : undefined;
      const members = Array.isArray(item['groupMembers']) ? (item['groupMembers'] as unknown[]) : [];
      for (const m of members) if (isRecord(m)) push(m['name'], m['response'], group);
    } else if (type === undefined || type === null || type === '' || type === 'User') {
      push(item['name'], item['response'], undefined);
    }
  }
  return out;
}

/** §11.1 step 3, on top of the state verdict; first hit wins. */
export function constrainedVerdict(
  kind: string,
  obj: CheckObject,
  state: unknown,
  c: ApproverConstraint,
): EntryVerdict {
  const all = answers(obj, new Set(c.approvers));
  const approvedBy = [...new Set(all.filter((a) => a.listed && a.response === 'approved').map((a) => a.identity))].sort(compareStrings);
  const stranger = all.find((a) => !a.listed);
  if (stranger !== undefined) {
    const msg = `${kind} ${nsName(obj.metadata)} was answered by ${stranger.identity}, who is not a listed approver`;
    return { condition: verdict('False', 'ApproverMismatch', msg), approvedBy };
  }
  const base = stateVerdict(kind, obj, state);
  if (base.reason === 'Passed' && approvedBy.length < c.required) {
    const msg = `${String(approvedBy.length)} of ${String(c.required)} required approvals from listed approvers`;
    return { condition: verdict('False', 'ApproverMismatch', msg), approvedBy };
  }
  return { condition: base, approvedBy };
}

// ---------------------------------------------------------------------------------------------
// The walk over policies, rules and entries, and step 6

interface Item {
  readonly policy: string;
  readonly check: string;
  readonly reason: CheckReason;
  readonly message: string;
}

const refOf = (s: Pick<CheckSearch, 'apiVersion' | 'kind'>, o: CheckObject): ObjectReference => ({
  apiVersion: s.apiVersion,
  kind: s.kind,
  namespace: o.metadata.namespace ?? '',
  name: o.metadata.name ?? '',
  ...(o.metadata.uid !== undefined ? { uid: o.metadata.uid } : {}),
});

/** Same object: by uid when both have one, else by namespace/name. */
const sameObject = (ref: ObjectReference, o: CheckObject): boolean =>
  ref.uid !== undefined && o.metadata.uid !== undefined
    ? ref.uid === o.metadata.uid
    : ref.namespace === o.metadata.namespace && ref.name === o.metadata.name;

const compareRefs = (a: MatchedCheck, b: MatchedCheck): number =>
  compareStrings(a.ref.namespace ?? '', b.ref.namespace ?? '') || compareStrings(a.ref.name ?? '', b.ref.name ?? '');

/** First hit wins, in this order (§5.3 step 6). */
const decidingOrder = ['Rejected', 'ApproverMismatch', 'Failed', 'Pending'] as const satisfies readonly CheckReason[];

export function aggregateChecks(items: readonly Item[]): DesiredCondition<'AccessCheckReady', CheckReason> {
  for (const reason of decidingOrder) {
    const first = items.find((i) => i.reason === reason);
    if (first !== undefined) {
      return {
        type: 'AccessCheckReady',
        status: reason === 'Pending' ? 'Unknown' : 'False',
        reason,
        message: `${first.check} (policy ${first.policy}): ${first.message}`,
      };
    }
  }
  return { type: 'AccessCheckReady', status: 'True', reason: 'Passed', message: '' };
}

/**
 * Evaluates every rule of every snapshot. With `frozen` (AccessCheckReady has been True before)
 * no search runs and no entry is added: existing entries are only re-read (§5.3 stickiness).
 */
export function evaluateChecks(policies: readonly PolicySnapshot[], env: CheckEnv, frozen: boolean): ChecksOutcome {
  const items: Item[] = [];
  const searches: CheckSearch[] = [];
  const jobs = new Map<string, RegoJob>();
  const out: PolicySnapshot[] = [];

  for (const snap of policies) {
    const rules = snap.policySpec.checkGrantedPermission?.spec?.checks ?? [];
    const old = snap.matchedChecks ?? [];
    const entries: MatchedCheck[] = [];
    for (const rule of rules) {
      const add = (reason: CheckReason, message: string): void => {
        items.push({ policy: snap.name, check: rule.name, reason, message });
      };
      const oldEntries = old.filter((e) => e.name === rule.name);
      const spec = resolveCheckSpec(rule, env.configMaps, env.systemNamespace);
      if (!spec.ok) {
        // Without the spec the state cannot be read either: entries keep their verdicts.
        add('Failed', spec.error);
        entries.push(...oldEntries);
        oldEntries.forEach((e) => add(e.condition.reason as CheckReason, e.condition.message ?? ''));
        continue;
      }
      const rego = spec.value.state?.rego?.trim() ?? '';
      const constraint = approverConstraint(rule);
      const judge = (s: Pick<CheckSearch, 'kind'>, obj: CheckObject): EntryVerdict | undefined => {
        let state: unknown;
        if (rego === '') {
          const st = obj['status'];
          state = isRecord(st) ? st['state'] : undefined;
        } else {
          const key = regoJobKey(rego, obj);
          const r = env.regoResults.get(key);
          if (r === undefined) {
            jobs.set(key, { key, rego, input: obj });
            return undefined;
          }
          if (!r.ok) {
            const msg = `state.rego for ${s.kind} ${nsName(obj.metadata)}: ${r.error}`;
            return { condition: verdict('False', 'Failed', msg), approvedBy: [] };
          }
          state = r.state;
        }
        return constraint === undefined
          ? { condition: stateVerdict(s.kind, obj, state), approvedBy: [] }
          : constrainedVerdict(s.kind, obj, state, constraint);
      };

      let found: readonly CheckObject[] = [];
      let search: CheckSearch | undefined;
      if (!frozen) {
        const r = renderSearch(spec.value, env.pod);
        if (!r.ok) add(r.reason, r.message);
        else {
          search = r.search;
          searches.push(search);
          const listing = env.listCheckObjects(search);
          if (!listing.ok) {
            if (listing.retry) return { kind: 'retry', message: listing.message };
            add('Failed', listing.message);
          } else {
            found = listing.items;
            if (found.length === 0) add('Pending', nothingFoundMessage(search));
          }
        }
      }

      const ruleEntries: MatchedCheck[] = [];
      const toEntry = (prev: MatchedCheck | undefined, ref: ObjectReference, v: EntryVerdict): MatchedCheck => {
        const e: MatchedCheck = { name: rule.name, ref, condition: nextCondition(prev?.condition, v.condition, env.now) };
        if (v.approvedBy.length > 0) e.approvedBy = [...v.approvedBy];
        return e;
      };
      // Existing entries: re-read while the object exists, else keep the verdict (never removed).
      for (const prev of oldEntries) {
        const ref = prev.ref;
        const kindOf = { apiVersion: ref.apiVersion ?? '', kind: ref.kind ?? '' };
        let live = found.find((o) => sameObject(ref, o));
        if (live === undefined) {
          const reread: CheckSearch = { ...kindOf, namespace: ref.namespace ?? '', selector: [], name: ref.name ?? '' };
          searches.push(reread);
          const again = env.listCheckObjects(reread);
          if (!again.ok) {
            if (again.retry) return { kind: 'retry', message: again.message };
            add('Failed', again.message);
          } else live = again.items.find((o) => sameObject(ref, o));
        }
        const v = live === undefined ? undefined : judge(kindOf, live);
        ruleEntries.push(v === undefined ? prev : toEntry(prev, ref, v));
      }
      if (search !== undefined) {
        for (const obj of found) {
          if (oldEntries.some((e) => sameObject(e.ref, obj))) continue;
          const v = judge(search, obj);
          if (v !== undefined) ruleEntries.push(toEntry(undefined, refOf(search, obj), v));
        }
      }
      ruleEntries.sort(compareRefs);
      for (const e of ruleEntries) add(e.condition.reason as CheckReason, e.condition.message ?? '');
      entries.push(...ruleEntries);
    }
    // Entries of a rule name no longer in the snapshot cannot exist (snapshots are frozen); keep any.
    entries.push(...old.filter((e) => !rules.some((r) => r.name === e.name)));
    const next: PolicySnapshot = { ...snap };
    if (entries.length > 0) next.matchedChecks = entries;
    else delete next.matchedChecks;
    out.push(next);
  }

  if (jobs.size > 0) return { kind: 'needsRego', jobs: [...jobs.values()] };
  return { kind: 'evaluated', policies: out, condition: aggregateChecks(items), searches };
}
