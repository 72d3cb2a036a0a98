/**
 * The temporary RBAC of approval grants (domain spec §6.2, §6.4): role templates, rendering, the
 * scope guard, the Role + RoleBinding per (AccessRequest, snapshot policy), and the smallest set of
 * writes that brings the main API server's objects to that state. Objects are found by label and
 * trusted only when their ownerReference carries the request's uid: nothing is ever adopted.
 */
import { parse as parseYAML } from 'yaml';
import type { ObjectMeta, OwnerReference } from '../api/meta.js';
import type { AccessRequest } from '../apis/connectors/v1alpha1/types.js';
import { group, groupVersion } from '../apis/connectors/v1alpha1/types.js';
import type { Result } from '../../storage/interface.js';
import { parseTemplate, renderTemplate } from '../template/jsonpath.js';
import { boundName, labelValue } from './names.js';
import type { ConfigMap, Pod, PolicyRule, RbacSubject, Role, RoleBinding } from './objects.js';
import { rbacApiVersion, rbacGroup } from './objects.js';

export const accessRequestLabel = 'connectors.alauda.io/accessRequest';
export const accessPolicyLabel = 'connectors.alauda.io/accessPolicy';

export type RBACObject = Role | RoleBinding;

/** Our kinds that own RBAC; also what a same-named foreign object is reported against: "… is not owned by this <owner>". */
export type RBACOwnerKind = 'AccessRequest' | 'AccessPolicy';

/** One write against the main API server. `policy` maps a failed write back to its snapshot. */
export type RBACOp =
  | { readonly op: 'create'; readonly policy: string; readonly object: RBACObject }
  /** Replace (PUT) with the existing `resourceVersion` as precondition. */
  | { readonly op: 'update'; readonly policy: string; readonly object: RBACObject }
  /** `roleRef` is immutable: delete the binding (uid precondition), then create it. */
  | { readonly op: 'recreate'; readonly policy: string; readonly object: RoleBinding; readonly uid: string }
  /** Delete with uid precondition; a 404 or 409 (that uid is gone) counts as done: writes.ts deleteRBACObject. */
  | {
      readonly op: 'delete';
      readonly kind: RBACObject['kind'];
      readonly namespace: string;
      readonly name: string;
      readonly uid: string;
    };

// ---------------------------------------------------------------------------------------------
// Templates

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const ruleFields = ['apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs'] as const;

/** `data.rules` of a role template ConfigMap in the system namespace: a YAML list of PolicyRules. */
export function readRoleTemplate(
  name: string,
  configMaps: ReadonlyMap<string, ConfigMap>,
  systemNamespace: string,
): Result<PolicyRule[], string> {
  const where = `role template ConfigMap ${systemNamespace}/${name}`;
  const cm = configMaps.get(name);
  if (name === '' || cm === undefined) return { ok: false, error: `${where} not found` };
  const text = cm.data?.['rules'];
  if (text === undefined) return { ok: false, error: `${where} has no key "rules"` };
  let doc: unknown;
  try {
    doc = parseYAML(text, { maxAliasCount: 100, uniqueKeys: true }) as unknown;
  } catch (e) {
    return { ok: false, error: `${where} key rules: ${e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e)}` };
  }
  if (doc === null || doc === undefined) return { ok: true, value: [] };
  if (!Array.isArray(doc)) return { ok: false, error: `${where} key rules: must be a list of PolicyRules` };
  const rules: PolicyRule[] = [];
  for (const [i, r] of (doc as unknown[]).entries()) {
    if (!isRecord(r)) return { ok: false, error: `${where} key rules: rules[${String(i)}] must be an object` };
    const rule: PolicyRule = { verbs: [] };
    for (const f of ruleFields) {
      const v = r[f];
      if (v === undefined || v === null) continue;
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
        return { ok: false, error: `${where} key rules: rules[${String(i)}].${f} must be a list of strings` };
      rule[f] = [...(v as string[])];
    }
    rules.push(rule);
  }
  return { ok: true, value: rules };
}

/** Approval grants render each `resources` entry against `{"object": <Pod>}`; the rest is literal. */
export function renderRules(rules: readonly PolicyRule[], pod: Pod): Result<PolicyRule[], string> {
  const out: PolicyRule[] = [];
  for (const [i, rule] of rules.entries()) {
    const resources: string[] = [];
    for (const src of rule.resources ?? []) {
      const t = parseTemplate(src);
      if (!t.ok) return { ok: false, error: `rules[${String(i)}].resources: ${JSON.stringify(src)}: ${t.error}` };
      resources.push(renderTemplate(t.value, { object: pod }));
    }
    out.push({ ...rule, ...(rule.resources !== undefined ? { resources } : {}) });
  }
  return { ok: true, value: out };
}

/** Default grants are not rendered: a brace means someone expected rendering that never happens. */
export function unrenderedTemplateError(rules: readonly PolicyRule[]): string | undefined {
  for (const [i, rule] of rules.entries()) {
    for (const f of ruleFields) {
      const hit = (rule[f] ?? []).find((s) => s.includes('{') || s.includes('}'));
      if (hit !== undefined) return `rules[${String(i)}].${f}: ${JSON.stringify(hit)}: templates are not rendered in default grants`;
    }
  }
  return undefined;
}

const proxyResource = 'connectors/proxy';

/**
 * The scope guard of §6.4, after rendering: the server holds `escalate` and `bind`, so this is what
 * keeps a template author from granting anything but the Connectors proxy.
 */
export function scopeGuardError(rules: readonly PolicyRule[]): string | undefined {
  for (const [i, rule] of rules.entries()) {
    const at = `rules[${String(i)}]`;
    const groups = rule.apiGroups ?? [];
    if (groups.length !== 1 || groups[0] !== group)
      return `${at}: apiGroups must be exactly ["${group}"], not ${JSON.stringify(groups)}`;
    for (const r of rule.resources ?? []) {
      const ok = (r === proxyResource || (r.startsWith(`${proxyResource}/`) && r.length > proxyResource.length + 1)) && !r.includes('*');
      if (!ok) return `${at}: resource ${JSON.stringify(r)} is not connectors/proxy or connectors/proxy/<path> without "*"`;
    }
    if ((rule.nonResourceURLs ?? []).length > 0) return `${at}: nonResourceURLs are not allowed`;
    if ((rule.resourceNames ?? []).length > 0) return `${at}: resourceNames are not allowed in a template`;
    if (rule.verbs.length === 0) return `${at}: verbs must not be empty`;
  }
  return undefined;
}

/**
 * The rules an approval grant of `policyTemplate` would carry: read, rendered, guarded, each with
 * `resourceNames: [<connector>]`. An empty list means NoPermissionRequired.
 */
export function grantRules(
  templateName: string,
  configMaps: ReadonlyMap<string, ConfigMap>,
  systemNamespace: string,
  pod: Pod,
  connector: string,
): Result<PolicyRule[], string> {
  const raw = readRoleTemplate(templateName, configMaps, systemNamespace);
  if (!raw.ok) return raw;
  const where = `role template ConfigMap ${systemNamespace}/${templateName}`;
  const rendered = renderRules(raw.value, pod);
  if (!rendered.ok) return { ok: false, error: `${where}: ${rendered.error}` };
  const guard = scopeGuardError(rendered.value);
  if (guard !== undefined) return { ok: false, error: `${where}: scope guard: ${guard}` };
  return { ok: true, value: rendered.value.map((r) => ({ ...r, resourceNames: [connector] })) };
}

// ---------------------------------------------------------------------------------------------
// Objects

/** `boundName(<arName>-<policyName>)`, shared by the Role and the RoleBinding. */
export const grantName = (requestName: string, policyName: string): string => boundName(`${requestName}-${policyName}`);

export const grantLabels = (requestName: string, policyName: string): Record<string, string> => ({
  [accessRequestLabel]: labelValue(requestName),
  [accessPolicyLabel]: labelValue(policyName),
});

/** The controller reference our `kind` object `owner` puts on the RBAC it owns. */
export function controllerOwnerReference(kind: RBACOwnerKind, owner: ObjectMeta): OwnerReference {
  return {
    apiVersion: groupVersion,
    kind,
    name: owner.name ?? '',
    uid: owner.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The request's subject as an RBAC subject (apiGroup `""` is left out, as the API server stores it). */
export function rbacSubject(req: AccessRequest): RbacSubject {
  const s = req.spec.subject;
  if (s.kind === 'ServiceAccount') return { kind: s.kind, name: s.name, namespace: s.namespace ?? '' };
  return { kind: s.kind, name: s.name, apiGroup: s.apiGroup !== undefined && s.apiGroup !== '' ? s.apiGroup : rbacGroup };
}

export interface Grant {
  readonly role: Role;
  readonly roleBinding: RoleBinding;
}

export interface OwnedPair {
  /** The kind of the owner: AccessRequest for an approval grant, AccessPolicy for a default pair. */
  readonly ownerKind: RBACOwnerKind;
  readonly owner: ObjectMeta;
  /** Shared by the Role and the RoleBinding. */
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly rules: readonly PolicyRule[];
  readonly subjects: readonly RbacSubject[];
}

/**
 * The Role and the RoleBinding to it that an owner wants, in its namespace and controlled by it:
 * the shape of an approval grant (§6.2) and of a policy's default pair (§6.3) alike. Everything is
 * copied: the objects share nothing with the arguments or with each other.
 */
export function ownedPair(p: OwnedPair): Grant {
  const metadata = {
    name: p.name,
    namespace: p.owner.namespace ?? '',
    labels: p.labels,
    ownerReferences: [controllerOwnerReference(p.ownerKind, p.owner)],
  };
  return {
    role: { apiVersion: rbacApiVersion, kind: 'Role', metadata: structuredClone(metadata), rules: structuredClone([...p.rules]) },
    roleBinding: {
      apiVersion: rbacApiVersion,
      kind: 'RoleBinding',
      metadata: structuredClone(metadata),
      subjects: structuredClone([...p.subjects]),
      roleRef: { apiGroup: rbacGroup, kind: 'Role', name: p.name },
    },
  };
}

export function desiredGrant(req: AccessRequest, policyName: string, rules: readonly PolicyRule[]): Grant {
  return ownedPair({
    ownerKind: 'AccessRequest',
    owner: req.metadata,
    name: grantName(req.metadata.name ?? '', policyName),
    labels: grantLabels(req.metadata.name ?? '', policyName),
    rules,
    subjects: [rbacSubject(req)],
  });
}

export const isOwnedBy = (obj: RBACObject, uid: string | undefined): boolean =>
  uid !== undefined && uid !== '' && (obj.metadata.ownerReferences ?? []).some((r) => r.uid === uid);

/** Labelled for the request and owned by its uid: the objects a revoke deletes. */
export function ownedObjects(req: AccessRequest, objects: readonly RBACObject[]): RBACObject[] {
  const label = labelValue(req.metadata.name ?? '');
  return objects.filter(
    (o) =>
      o.metadata.namespace === req.metadata.namespace &&
      o.metadata.labels?.[accessRequestLabel] === label &&
      isOwnedBy(o, req.metadata.uid),
  );
}

export const deleteOp = (o: RBACObject): RBACOp => ({
  op: 'delete',
  kind: o.kind,
  namespace: o.metadata.namespace ?? '',
  name: o.metadata.name ?? '',
  uid: o.metadata.uid ?? '',
});

/** Every owned object deleted: revoke, terminal, and the request's own deletion (§5.6). */
export const cleanupOps = (req: AccessRequest, objects: readonly RBACObject[]): RBACOp[] =>
  ownedObjects(req, objects).map(deleteOp);

// ---------------------------------------------------------------------------------------------
// Convergence

const normRule = (r: PolicyRule): Required<PolicyRule> => ({
  apiGroups: r.apiGroups ?? [],
  resources: r.resources ?? [],
  verbs: r.verbs,
  resourceNames: r.resourceNames ?? [],
  nonResourceURLs: r.nonResourceURLs ?? [],
});
const normSubject = (s: RbacSubject): RbacSubject => ({
  kind: s.kind,
  name: s.name,
  namespace: s.namespace ?? '',
  apiGroup: s.apiGroup ?? '',
});
const sameJSON = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

const hasLabels = (o: RBACObject, want: Readonly<Record<string, string>>): boolean =>
  Object.entries(want).every(([k, v]) => o.metadata.labels?.[k] === v);

/** The desired object on top of the live one's metadata: other labels and annotations survive. */
function updated<T extends RBACObject>(desired: T, live: RBACObject): T {
  const meta = { ...desired.metadata, labels: { ...live.metadata.labels, ...desired.metadata.labels } };
  if (live.metadata.uid !== undefined) meta.uid = live.metadata.uid;
  if (live.metadata.resourceVersion !== undefined) meta.resourceVersion = live.metadata.resourceVersion;
  if (live.metadata.annotations !== undefined) meta.annotations = live.metadata.annotations;
  const refs = live.metadata.ownerReferences ?? [];
  meta.ownerReferences = refs.some((r) => r.uid === desired.metadata.ownerReferences?.[0]?.uid)
    ? refs
    : [...refs, ...(desired.metadata.ownerReferences ?? [])];
  return { ...desired, metadata: meta };
}

const notOwned = (o: RBACObject): string => `${o.kind} ${o.metadata.name ?? ''} exists and is not owned by this AccessRequest`;

/**
 * The writes that turn `live` (objects of the request's namespace with the grant's name, if any)
 * into `grant`; a same-named object owned by someone else is an error and nothing is written.
 */
export function planGrant(
  policy: string,
  grant: Grant,
  liveRole: Role | undefined,
  liveBinding: RoleBinding | undefined,
  requestUid: string | undefined,
): Result<RBACOp[], string> {
  if (liveRole !== undefined && !isOwnedBy(liveRole, requestUid)) return { ok: false, error: notOwned(liveRole) };
  if (liveBinding !== undefined && !isOwnedBy(liveBinding, requestUid)) return { ok: false, error: notOwned(liveBinding) };
  const ops: RBACOp[] = [];
  const labels = grant.role.metadata.labels ?? {};
  if (liveRole === undefined) ops.push({ op: 'create', policy, object: grant.role });
  else if (!sameJSON((liveRole.rules ?? []).map(normRule), (grant.role.rules ?? []).map(normRule)) || !hasLabels(liveRole, labels))
    ops.push({ op: 'update', policy, object: updated(grant.role, liveRole) });
  if (liveBinding === undefined) ops.push({ op: 'create', policy, object: grant.roleBinding });
  else if (!sameJSON(liveBinding.roleRef, grant.roleBinding.roleRef))
    ops.push({ op: 'recreate', policy, object: grant.roleBinding, uid: liveBinding.metadata.uid ?? '' });
  else if (
    !sameJSON((liveBinding.subjects ?? []).map(normSubject), (grant.roleBinding.subjects ?? []).map(normSubject)) ||
    !hasLabels(liveBinding, labels)
  )
    ops.push({ op: 'update', policy, object: updated(grant.roleBinding, liveBinding) });
  return { ok: true, value: ops };
}
