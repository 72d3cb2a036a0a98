/**
 * AccessReview defaulting and spec validation (domain spec §11.3): `connectorRef` as AR-V2, `subject`
 * as AR-V8…AR-V14 with the defaults of AR-S3, and exactly one of `context.objectRef` (AR-V4…AR-V7)
 * and `context.podTemplate` (RV-V1). Metadata is validated by the handler (name optional).
 */
import { fieldPath, forbidden, required } from '../../../api/field.js';
import type { FieldError, FieldPath } from '../../../api/field.js';
import { validateLabels } from '../../../api/validation/labelselector.js';
import {
  isDNS1123Label,
  isDNS1123Subdomain,
  validateOptionalName,
  validateRequiredName,
} from '../../../api/validation/names.js';
import type { AccessReview, AccessReviewPodTemplate, AccessReviewSpec, Subject } from '../v1alpha1/types.js';
import { defaultContextAndSubject, validateObjectRef, validateSubject } from './accessrequest.js';

/**
 * AR-S3 applied to a review: objectRef `apiVersion` `v1`, subject `apiGroup` by kind. Only absent or
 * empty values are filled; never changes its input.
 */
export function defaultAccessReview(obj: AccessReview): AccessReview {
  const spec = obj.spec as AccessReviewSpec | undefined;
  if (spec === undefined) return obj;
  const next = defaultContextAndSubject(spec);
  return next === spec ? obj : { ...obj, spec: next };
}

/** A Pod not yet started: namespace required, name optional, valid labels, a ServiceAccount name. */
function validatePodTemplate(t: AccessReviewPodTemplate, path: FieldPath): FieldError[] {
  return [
    ...validateRequiredName(t.namespace, path.child('namespace'), isDNS1123Label),
    ...validateOptionalName(t.name, path.child('name'), isDNS1123Subdomain),
    ...validateLabels(t.labels, path.child('labels')),
    ...validateOptionalName(t.serviceAccountName, path.child('serviceAccountName'), isDNS1123Subdomain),
  ];
}

/** RV-V1: exactly one of objectRef and podTemplate; each validated on its own. */
function validateContext(context: Partial<AccessReviewSpec['context']> | undefined, path: FieldPath): FieldError[] {
  const ref = context?.objectRef;
  const template = context?.podTemplate;
  if (ref === undefined && template === undefined) return [required(path, 'must specify one of objectRef or podTemplate')];
  const errs: FieldError[] = [];
  if (ref !== undefined && template !== undefined) errs.push(forbidden(path, 'may not specify both objectRef and podTemplate'));
  if (ref !== undefined) errs.push(...validateObjectRef(ref, path.child('objectRef')));
  if (template !== undefined) errs.push(...validatePodTemplate(template, path.child('podTemplate')));
  return errs;
}

/** All causes, in field order; expects `defaultAccessReview` to have run. */
export function validateAccessReview(obj: AccessReview): FieldError[] {
  const p = fieldPath('spec');
  const spec = obj.spec as Partial<AccessReviewSpec> | undefined;
  if (spec === undefined) return [required(p)];
  const connectorRef = spec.connectorRef as Partial<AccessReviewSpec['connectorRef']> | undefined;
  return [
    ...validateRequiredName(connectorRef?.name, p.child('connectorRef', 'name'), isDNS1123Subdomain),
    ...validateContext(spec.context, p.child('context')),
    ...validateSubject(spec.subject as Subject | undefined, p.child('subject')),
  ];
}
