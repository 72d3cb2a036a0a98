/**
 * AccessRequest defaulting (AR-S3) and spec validation (AR-V1…AR-V14, domain spec §3.3). Metadata is
 * validated by the generic layer. The input has passed the structural type check, but required
 * objects may still be absent, so every level is read as possibly missing.
 */
import { fieldPath, forbidden, notSupported, required } from '../../../api/field.js';
import type { FieldError, FieldPath } from '../../../api/field.js';
import {
  isDNS1123Label,
  isDNS1123Subdomain,
  validateRequiredName,
} from '../../../api/validation/names.js';
import type {
  AccessRequest,
  AccessRequestSpec,
  ObjectReference,
  Subject,
} from '../v1alpha1/types.js';

const rbacGroup = 'rbac.authorization.k8s.io';
const subjectKinds = ['ServiceAccount', 'User', 'Group'] as const;

/** The apiGroup each subject kind must carry (RBAC's own SetDefaults_Subject); unknown kinds: none. */
export function defaultAPIGroup(kind: string): string | undefined {
  switch (kind) {
    case 'ServiceAccount':
      return '';
    case 'User':
    case 'Group':
      return rbacGroup;
    default:
      return undefined;
  }
}

/**
 * AR-S3, before validation so that the defaults are validated and stored: objectRef `apiVersion`
 * `v1`, subject `apiGroup` by kind. Only absent or empty values are filled; a wrong value stays and
 * is rejected by AR-V5/AR-V12/AR-V14. Never changes its input (copies only what it fills in).
 */
export function defaultAccessRequest(obj: AccessRequest): AccessRequest {
  const spec = obj.spec as AccessRequestSpec | undefined;
  if (spec === undefined) return obj;
  const next = defaultContextAndSubject(spec);
  return next === spec ? obj : { ...obj, spec: next };
}

/**
 * AR-S3 on any spec with `context.objectRef` and `subject` (AccessRequest, AccessReview): the same
 * spec when nothing was filled in, else a copy.
 */
export function defaultContextAndSubject<S extends { readonly context?: unknown; readonly subject?: unknown }>(spec: S): S {
  let next: S = spec;
  const context = spec.context as { objectRef?: ObjectReference } | undefined;
  const objectRef = context?.objectRef;
  if (context !== undefined && objectRef !== undefined && (objectRef.apiVersion ?? '') === '') {
    next = { ...next, context: { ...context, objectRef: { ...objectRef, apiVersion: 'v1' } } };
  }
  const subject = spec.subject as Subject | undefined;
  const apiGroup = subject === undefined ? undefined : defaultAPIGroup(subject.kind);
  if (subject !== undefined && apiGroup !== undefined && (subject.apiGroup ?? '') === '') {
    next = { ...next, subject: { ...subject, apiGroup } };
  }
  return next;
}

/** AR-V3…AR-V7. `apiVersion` is judged as defaulted, so an unset one passes even undefaulted. */
export function validateObjectRef(ref: ObjectReference | undefined, path: FieldPath): FieldError[] {
  if (ref === undefined) return [required(path)];
  const errs: FieldError[] = [];
  const kind = ref.kind ?? '';
  if (kind === '') errs.push(required(path.child('kind')));
  else if (kind !== 'Pod') errs.push(notSupported(path.child('kind'), kind, ['Pod']));
  const apiVersion = ref.apiVersion ?? '';
  if (apiVersion !== '' && apiVersion !== 'v1')
    errs.push(notSupported(path.child('apiVersion'), apiVersion, ['v1']));
  errs.push(...validateRequiredName(ref.name, path.child('name'), isDNS1123Subdomain));
  errs.push(...validateRequiredName(ref.namespace, path.child('namespace'), isDNS1123Label));
  return errs;
}

/** AR-V8…AR-V14, mirroring RBAC's ValidateRoleBindingSubject with this spec's stricter namespace rules. */
export function validateSubject(subject: Subject | undefined, path: FieldPath): FieldError[] {
  if (subject === undefined) return [required(path)];
  const errs: FieldError[] = [];
  const kind = subject.kind ?? '';
  const apiGroup = subject.apiGroup ?? '';
  const namespace = subject.namespace ?? '';
  switch (kind) {
    case 'ServiceAccount':
      errs.push(...validateRequiredName(subject.name, path.child('name'), isDNS1123Subdomain));
      errs.push(
        ...validateRequiredName(subject.namespace, path.child('namespace'), isDNS1123Label),
      );
      if (apiGroup !== '') errs.push(notSupported(path.child('apiGroup'), apiGroup, ['']));
      break;
    case 'User':
    case 'Group':
      if ((subject.name ?? '') === '') errs.push(required(path.child('name')));
      // A namespace would suggest a scoping that RBAC ignores for users and groups.
      if (namespace !== '')
        errs.push(
          forbidden(path.child('namespace'), `may not be specified when kind is '${kind}'`),
        );
      // Empty means "not yet defaulted", which defaulting turns into the RBAC group.
      if (apiGroup !== '' && apiGroup !== rbacGroup)
        errs.push(notSupported(path.child('apiGroup'), apiGroup, [rbacGroup]));
      break;
    default:
      // Without a known kind only the name can be judged; kind-specific rules would only add noise.
      errs.push(
        kind === ''
          ? required(path.child('kind'))
          : notSupported(path.child('kind'), kind, subjectKinds),
      );
      if ((subject.name ?? '') === '') errs.push(required(path.child('name')));
  }
  return errs;
}

/** AR-V1…AR-V14; expects `defaultAccessRequest` to have run. All causes, in field order. */
export function validateAccessRequest(obj: AccessRequest): FieldError[] {
  const p = fieldPath('spec');
  const spec = obj.spec as Partial<AccessRequestSpec> | undefined;
  if (spec === undefined) return [required(p)];
  const connectorRef = spec.connectorRef as Partial<AccessRequestSpec['connectorRef']> | undefined;
  const context = spec.context as Partial<AccessRequestSpec['context']> | undefined;
  return [
    ...validateRequiredName(
      connectorRef?.name,
      p.child('connectorRef', 'name'),
      isDNS1123Subdomain,
    ),
    ...validateObjectRef(context?.objectRef, p.child('context', 'objectRef')),
    ...validateSubject(spec.subject as Subject | undefined, p.child('subject')),
  ];
}
