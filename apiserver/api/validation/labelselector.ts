/**
 * Label maps and label selectors, after k8s.io/apimachinery/pkg/apis/meta/v1/validation, with one
 * deliberate difference required by the domain spec (AP-V4): an unknown operator is `NotSupported`
 * listing the four operators, where Kubernetes says `Invalid: not a valid selector operator`.
 */
import { invalid, notSupported, required, forbidden } from '../field.js';
import type { FieldError, FieldPath } from '../field.js';
import { isQualifiedName, isValidLabelValue } from './names.js';

/** Structural shape only, so any kind's selector type fits without importing it. */
export interface LabelSelectorLike {
  readonly matchLabels?: Readonly<Record<string, string>> | undefined;
  readonly matchExpressions?: readonly LabelSelectorRequirementLike[] | undefined;
}

export interface LabelSelectorRequirementLike {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[] | undefined;
}

export const selectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/** Keys in sorted order: Go iterates maps randomly, we want causes in a stable order. */
export const sortedKeys = (m: Readonly<Record<string, unknown>>): string[] => Object.keys(m).sort();

/** ValidateLabelName: one Invalid per message, at the map's own path (Kubernetes names no key). */
export const validateLabelName = (key: string, path: FieldPath): FieldError[] =>
  isQualifiedName(key).map((msg) => invalid(path, key, msg));

/** ValidateLabels: keys are qualified names, values label values; all causes at `path`. */
export function validateLabels(
  labels: Readonly<Record<string, string>> | undefined,
  path: FieldPath,
): FieldError[] {
  if (labels === undefined) return [];
  return sortedKeys(labels).flatMap((k) => {
    const v = labels[k] ?? '';
    return [
      ...validateLabelName(k, path),
      ...isValidLabelValue(v).map((msg) => invalid(path, v, msg)),
    ];
  });
}

/** ValidateLabelSelectorRequirement, in Kubernetes' order: operator/values, key, each value. */
export function validateLabelSelectorRequirement(
  req: LabelSelectorRequirementLike,
  path: FieldPath,
): FieldError[] {
  const errs: FieldError[] = [];
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) {
        errs.push(
          required(path.child('values'), "must be specified when `operator` is 'In' or 'NotIn'"),
        );
      }
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) {
        errs.push(
          forbidden(
            path.child('values'),
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
          ),
        );
      }
      break;
    default:
      errs.push(notSupported(path.child('operator'), req.operator, selectorOperators));
  }
  errs.push(...validateLabelName(req.key, path.child('key')));
  // A value that is no valid label value can never match, so Kubernetes rejects it rather than
  // storing a selector that silently selects nothing.
  values.forEach((v, i) => {
    errs.push(...isValidLabelValue(v).map((msg) => invalid(path.child('values').index(i), v, msg)));
  });
  return errs;
}

export const validateMatchExpressions = (
  exprs: readonly LabelSelectorRequirementLike[] | undefined,
  path: FieldPath,
): FieldError[] =>
  (exprs ?? []).flatMap((req, i) => validateLabelSelectorRequirement(req, path.index(i)));

/** ValidateLabelSelector: `matchLabels` (AP-V3) and `matchExpressions` (AP-V4) under `path`. */
export function validateLabelSelector(
  sel: LabelSelectorLike | undefined,
  path: FieldPath,
): FieldError[] {
  if (sel === undefined) return [];
  return [
    ...validateLabels(sel.matchLabels, path.child('matchLabels')),
    ...validateMatchExpressions(sel.matchExpressions, path.child('matchExpressions')),
  ];
}

/** Whether a selector has any label term; `{}` and empty lists/maps count as none. */
export const hasLabelTerms = (sel: LabelSelectorLike | undefined): boolean =>
  sel !== undefined &&
  (Object.keys(sel.matchLabels ?? {}).length > 0 || (sel.matchExpressions ?? []).length > 0);
