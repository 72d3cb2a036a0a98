/**
 * AccessPolicy spec validation (AP-V1…AP-V13, domain spec §4.2; AP-V14 approver constraints and AP-V15
 * maxDuration, §11.1–§11.2). Every field is optional, an omitted
 * `spec` is `{}`, and a spec with neither permission is valid (AP-V13), so absence is an error only
 * where a rule says "present". Not checked here: ConfigMaps, Rego, check kinds (runtime matters).
 */
import { duplicate, fieldPath, forbidden, invalid, notSupported, required } from '../../../api/field.js';
import type { FieldError, FieldPath } from '../../../api/field.js';
import {
  hasLabelTerms,
  sortedKeys,
  validateLabelName,
  validateLabelSelector,
  validateMatchExpressions,
} from '../../../api/validation/labelselector.js';
import {
  isDNS1123Label,
  isDNS1123Subdomain,
  validateOptionalName,
  validateRequiredName,
} from '../../../api/validation/names.js';
import { parseTemplate } from '../../../template/jsonpath.js';
import { parseGoDuration } from '../../../controller/duration.js';
import type {
  AccessPolicy,
  AccessPolicySpec,
  CheckRule,
  CheckRuleSpec,
  ConfigMapRef,
  NamespaceSelector,
  ServiceAccountSelector,
} from '../v1alpha1/types.js';

type DefaultPermission = NonNullable<AccessPolicySpec['defaultPermission']>;

const mutuallyExclusive = 'names and label selectors are mutually exclusive';

/**
 * A list of names, each valid per `validate`. With `unique`, a repeat is a `Duplicate` at its own
 * index while the first occurrence stays valid, as Kubernetes reports duplicates.
 */
function validateNameList(
  names: readonly string[] | undefined,
  path: FieldPath,
  validate: (name: string) => string[],
  unique: boolean,
): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  (names ?? []).forEach((n, i) => {
    errs.push(...validate(n).map((msg) => invalid(path.index(i), n, msg)));
    if (unique && seen.has(n)) errs.push(duplicate(path.index(i), n));
    seen.add(n);
  });
  return errs;
}

/**
 * `names` and label terms together would need a rule for how they combine (union? intersection?);
 * the spec makes them exclusive instead (D7). Empty lists and maps count as absent.
 */
function validateNamesOrLabels(sel: NamespaceSelector | undefined, path: FieldPath): FieldError[] {
  if (sel === undefined || (sel.names ?? []).length === 0 || !hasLabelTerms(sel)) return [];
  return [invalid(path, sel, mutuallyExclusive)];
}

/** `ref.configMap.name`: required, DNS-1123 subdomain (AP-V5, AP-V10, AP-V12). */
function validateConfigMapRef(
  ref: Partial<ConfigMapRef> | undefined,
  path: FieldPath,
): FieldError[] {
  const configMap = ref?.configMap as Partial<ConfigMapRef['configMap']> | undefined;
  return validateRequiredName(configMap?.name, path.child('configMap', 'name'), isDNS1123Subdomain);
}

/** AP-V1…AP-V4 for `spec.connector`. */
function validateConnector(
  connector: AccessPolicySpec['connector'],
  path: FieldPath,
): FieldError[] {
  if (connector === undefined) return [];
  return [
    ...validateNameList(connector.names, path.child('names'), isDNS1123Subdomain, true),
    ...validateNamesOrLabels(connector, path),
    ...validateLabelSelector(connector, path),
  ];
}

/** AP-V6, AP-V7 for one `bindingTemplate.serviceAccounts[i]`. */
function validateServiceAccountSelector(sa: ServiceAccountSelector, path: FieldPath): FieldError[] {
  const ns = sa.namespaceSelector;
  const nsPath = path.child('namespaceSelector');
  return [
    ...validateNameList(sa.names, path.child('names'), isDNS1123Subdomain, true),
    ...(ns === undefined
      ? []
      : [
          // AP-V7 asks no uniqueness here: a repeated namespace selects nothing twice.
          ...validateNameList(ns.names, nsPath.child('names'), isDNS1123Label, false),
          ...validateNamesOrLabels(ns, nsPath),
          ...validateLabelSelector(ns, nsPath),
        ]),
  ];
}

/** AP-V5…AP-V7. */
function validateDefaultPermission(
  dp: DefaultPermission | undefined,
  path: FieldPath,
): FieldError[] {
  if (dp === undefined) return [];
  const errs: FieldError[] = [];
  const roleTemplate = dp.roleTemplate;
  if (roleTemplate === undefined) errs.push(required(path.child('roleTemplate')));
  else errs.push(...validateConfigMapRef(roleTemplate.ref, path.child('roleTemplate', 'ref')));
  const binding = dp.bindingTemplate;
  if (binding === undefined) errs.push(required(path.child('bindingTemplate')));
  else {
    const saPath = path.child('bindingTemplate', 'serviceAccounts');
    (binding.serviceAccounts ?? []).forEach((sa, i) =>
      errs.push(...validateServiceAccountSelector(sa, saPath.index(i))),
    );
  }
  return errs;
}

/**
 * AP-V11. matchLabels values are templates rendered against the Pod, so they are parsed here rather
 * than checked as label values: a parse error would otherwise surface only as a `Failed` check.
 */
function validateCheckSpec(spec: CheckRuleSpec, path: FieldPath): FieldError[] {
  const selPath = path.child('selector');
  const selector = spec.selector as Partial<CheckRuleSpec['selector']> | undefined;
  if (selector === undefined) return [required(selPath)];
  const errs: FieldError[] = [];
  const refPath = selPath.child('objectRef');
  const objectRef = selector.objectRef ?? {};
  if ((objectRef.apiVersion ?? '') === '') errs.push(required(refPath.child('apiVersion')));
  if ((objectRef.kind ?? '') === '') errs.push(required(refPath.child('kind')));
  errs.push(
    ...validateOptionalName(objectRef.namespace, refPath.child('namespace'), isDNS1123Label),
  );
  errs.push(...validateOptionalName(objectRef.name, refPath.child('name'), isDNS1123Subdomain));
  const labelsPath = selPath.child('matchLabels');
  const matchLabels = selector.matchLabels ?? {};
  for (const key of sortedKeys(matchLabels)) {
    errs.push(...validateLabelName(key, labelsPath));
    const value = matchLabels[key] ?? '';
    const parsed = parseTemplate(value);
    if (!parsed.ok) errs.push(invalid(labelsPath.key(key), value, parsed.error));
  }
  errs.push(
    ...validateMatchExpressions(selector.matchExpressions, selPath.child('matchExpressions')),
  );
  return errs;
}

/** AP-V10 (and AP-V11 through `validateCheckSpec`) for `checks[i]`. */
function validateCheckSource(check: CheckRule, path: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  // A check is either a shared template (ref) or inline (spec); with both, which one wins is unclear.
  if (check.ref === undefined && check.spec === undefined) {
    errs.push(required(path, 'must specify one of ref or spec'));
  } else if (check.ref !== undefined && check.spec !== undefined) {
    errs.push(forbidden(path, 'may not specify both ref and spec'));
  }
  if (check.ref !== undefined) errs.push(...validateConfigMapRef(check.ref, path.child('ref')));
  if (check.spec !== undefined) errs.push(...validateCheckSpec(check.spec, path.child('spec')));
  return errs;
}

/** The param names of §11.1, in the Connectors approver-constraint design's spelling. */
export const checkParamNames = ['approvers', 'numberOfApprovalsRequired'] as const;
const approversMsg = 'must be a non-empty list of user names and group:<name> entries';

/** One `approvers` value: user names, groups written `group:<name>`; non-empty, no repeats. */
function validateApprovers(value: unknown, path: FieldPath): FieldError[] {
  if (!Array.isArray(value) || value.length === 0) return [invalid(path, value, approversMsg)];
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  value.forEach((v: unknown, i) => {
    const at = path.index(i);
    if (typeof v !== 'string' || v === '') errs.push(invalid(at, v, 'must be a non-empty string'));
    else if (v === 'group:') errs.push(invalid(at, v, 'a group must be written group:<name>'));
    else if (seen.has(v)) errs.push(duplicate(at, v));
    if (typeof v === 'string') seen.add(v);
  });
  return errs;
}

/**
 * AP-V14 for `checks[i].params`. Unknown names are refused rather than ignored (the design ignores
 * them): a misspelt `approver` would silently drop the constraint the policy author meant to set.
 */
function validateCheckParams(params: CheckRule['params'], path: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  (params ?? []).forEach((p, j) => {
    const at = path.index(j);
    const name = p.name ?? '';
    if (name === '') errs.push(required(at.child('name')));
    else if (!(checkParamNames as readonly string[]).includes(name)) errs.push(notSupported(at.child('name'), name, checkParamNames));
    else if (seen.has(name)) errs.push(duplicate(at.child('name'), name));
    else if (name === 'approvers') errs.push(...validateApprovers(p.value, at.child('value')));
    else if (typeof p.value !== 'string' || !/^[1-9][0-9]*$/.test(p.value))
      errs.push(invalid(at.child('value'), p.value, 'must be a string holding a whole number of at least 1, such as "2"'));
    seen.add(name);
  });
  if (seen.has('numberOfApprovalsRequired') && !seen.has('approvers')) {
    const j = (params ?? []).findIndex((p) => p.name === 'numberOfApprovalsRequired');
    errs.push(forbidden(path.index(j), 'numberOfApprovalsRequired needs approvers'));
  }
  return errs;
}

/** AP-V15: a Go duration (metav1.Duration), greater than zero. */
function validateMaxDuration(value: string | undefined, path: FieldPath): FieldError[] {
  if (value === undefined) return [];
  const ms = parseGoDuration(value);
  return ms === undefined || ms <= 0 ? [invalid(path, value, 'must be a positive duration such as 30m or 1h30m')] : [];
}

/** AP-V8…AP-V12 for `spec.checkGrantedPermission`. */
function validateCheckGranted(
  cg: AccessPolicySpec['checkGrantedPermission'],
  path: FieldPath,
): FieldError[] {
  if (cg === undefined) return [];
  const specPath = path.child('spec');
  const spec = cg.spec;
  if (spec === undefined) return [required(specPath)];
  const errs: FieldError[] = [];
  const checks = spec.checks ?? [];
  const checksPath = specPath.child('checks');
  // Without a check the permission would be granted unconditionally: that is defaultPermission's job.
  if (checks.length === 0) errs.push(required(checksPath, 'must have at least one check'));
  // AP-V9: names are echoed in matchedChecks[].name, so they must tell the checks apart.
  const names = new Set<string>();
  checks.forEach((check, i) => {
    const checkPath = checksPath.index(i);
    const name = check.name ?? '';
    errs.push(...validateRequiredName(name, checkPath.child('name'), isDNS1123Label));
    if (name !== '' && names.has(name)) errs.push(duplicate(checkPath.child('name'), name));
    names.add(name);
    errs.push(...validateCheckSource(check, checkPath));
    errs.push(...validateCheckParams(check.params, checkPath.child('params')));
  });
  const roleTemplate = spec.roleTemplate;
  if (roleTemplate === undefined) errs.push(required(specPath.child('roleTemplate')));
  else errs.push(...validateConfigMapRef(roleTemplate.ref, specPath.child('roleTemplate', 'ref')));
  errs.push(...validateMaxDuration(spec.maxDuration, specPath.child('maxDuration')));
  return errs;
}

/** AP-V1…AP-V15; all causes, in field order. */
export function validateAccessPolicy(obj: AccessPolicy): FieldError[] {
  const p = fieldPath('spec');
  const spec = (obj.spec as AccessPolicySpec | undefined) ?? {};
  return [
    ...validateConnector(spec.connector, p.child('connector')),
    ...validateDefaultPermission(spec.defaultPermission, p.child('defaultPermission')),
    ...validateCheckGranted(spec.checkGrantedPermission, p.child('checkGrantedPermission')),
  ];
}
