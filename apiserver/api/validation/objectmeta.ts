/**
 * ObjectMeta rules shared by every kind, after k8s.io/apimachinery/pkg/api/validation/objectmeta.go
 * (ValidateObjectMetaAccessor and ValidateObjectMetaAccessorUpdate). Paths, cause types and messages
 * are Kubernetes', including its quirks (owner reference causes carry no list index).
 */
import { Buffer } from 'node:buffer';
import { isDeepStrictEqual } from 'node:util';
import { duplicate, fieldPath, forbidden, invalid, required, tooLong } from '../field.js';
import type { FieldError, FieldPath } from '../field.js';
import type { ObjectMeta, OwnerReference } from '../meta.js';
import { isDNS1123Label, isQualifiedName } from './names.js';
import { sortedKeys, validateLabels } from './labelselector.js';

export const FieldImmutableErrorMsg = 'field is immutable';
export const TotalAnnotationSizeLimitB = 256 * 1024;

export interface ObjectMetaOptions {
  readonly namespaced: boolean;
  /**
   * Go's ValidateNameFunc: `prefix` is true for `generateName`. The prefix arrives with its trailing
   * dash already masked, so a validator may ignore the flag (a one-parameter function fits too).
   */
  readonly nameValidator: (name: string, prefix: boolean) => string[];
}

/**
 * ValidateNameFunc with prefix=true: a generateName may end in '-', because random characters follow.
 * Go replaces the last two characters by "a" (not just the dash); kept byte-for-byte.
 */
const maskTrailingDash = (name: string): string =>
  name.length > 1 && name.endsWith('-') ? `${name.slice(0, -2)}a` : name;

/** Metadata of a new or updated object; works before or after name generation (see `name`). */
export function validateObjectMeta(
  meta: Readonly<ObjectMeta> | undefined,
  opts: ObjectMetaOptions,
): FieldError[] {
  const m: Readonly<ObjectMeta> = meta ?? {};
  const p = fieldPath('metadata');
  const errs: FieldError[] = [];
  const generateName = m.generateName ?? '';
  const name = m.name ?? '';

  if (generateName !== '') {
    for (const msg of opts.nameValidator(maskTrailingDash(generateName), true)) {
      errs.push(invalid(p.child('generateName'), generateName, msg));
    }
  }
  // Kubernetes validates after generating the name, so it requires `name` alone. The generic layer
  // may call this before generation, so a generateName on its own also satisfies the requirement.
  if (name !== '') {
    for (const msg of opts.nameValidator(name, false)) {
      errs.push(invalid(p.child('name'), name, msg));
    }
  } else if (generateName === '') {
    errs.push(required(p.child('name'), 'name or generateName is required'));
  }

  const namespace = m.namespace ?? '';
  if (opts.namespaced) {
    if (namespace === '') errs.push(required(p.child('namespace')));
    else
      errs.push(
        ...isDNS1123Label(namespace).map((msg) => invalid(p.child('namespace'), namespace, msg)),
      );
  } else if (namespace !== '') {
    errs.push(forbidden(p.child('namespace'), 'not allowed on this type'));
  }

  if (m.generation !== undefined && m.generation < 0) {
    errs.push(invalid(p.child('generation'), m.generation, 'must be greater than or equal to 0'));
  }
  // Not push(...list): a list of a hundred thousand errors (one per finalizer of a 3 MiB body)
  // would overflow the stack as call arguments.
  for (const list of [
    validateLabels(m.labels, p.child('labels')),
    validateAnnotations(m.annotations, p.child('annotations')),
    validateOwnerReferences(m.ownerReferences, p.child('ownerReferences')),
    validateFinalizers(m.finalizers, p.child('finalizers')),
  ]) {
    for (const e of list) errs.push(e);
  }
  return errs;
}

/** Keys are qualified names compared in lower case; keys plus values at most 256 KiB in total. */
export function validateAnnotations(
  annotations: Readonly<Record<string, string>> | undefined,
  path: FieldPath,
): FieldError[] {
  if (annotations === undefined) return [];
  const errs: FieldError[] = [];
  let size = 0;
  for (const k of sortedKeys(annotations)) {
    errs.push(...isQualifiedName(k.toLowerCase()).map((msg) => invalid(path, k, msg)));
    size += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(annotations[k] ?? '', 'utf8');
  }
  if (size > TotalAnnotationSizeLimitB) errs.push(tooLong(path, TotalAnnotationSizeLimitB));
  return errs;
}

/** schema.ParseGroupVersion: "" and "/" are empty, more than one slash is unparsable (also empty). */
function parseGroupVersion(apiVersion: string): { group: string; version: string } {
  const parts = apiVersion === '/' ? [] : apiVersion.split('/');
  if (parts.length === 1) return { group: '', version: apiVersion };
  if (parts.length === 2) return { group: parts[0] ?? '', version: parts[1] ?? '' };
  return { group: '', version: '' };
}

function validateOwnerReference(ref: Readonly<OwnerReference>, path: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  const apiVersion = ref.apiVersion ?? '';
  const { group, version } = parseGroupVersion(apiVersion);
  const kind = ref.kind ?? '';
  if (version === '')
    errs.push(invalid(path.child('apiVersion'), apiVersion, 'version must not be empty'));
  if (kind === '') errs.push(invalid(path.child('kind'), kind, 'must not be empty'));
  if ((ref.name ?? '') === '')
    errs.push(invalid(path.child('name'), ref.name ?? '', 'must not be empty'));
  if ((ref.uid ?? '') === '')
    errs.push(invalid(path.child('uid'), ref.uid ?? '', 'must not be empty'));
  // BannedOwners: core/v1 Events are garbage-collected by TTL, never as dependents' owners.
  if (group === '' && version === 'v1' && kind === 'Event') {
    errs.push(invalid(path, ref, '/v1, Kind=Event is disallowed from being an owner'));
  }
  return errs;
}

/** Every reference complete; at most one `controller: true` (the GC follows a single controller). */
export function validateOwnerReferences(
  refs: readonly OwnerReference[] | undefined,
  path: FieldPath,
): FieldError[] {
  const errs: FieldError[] = [];
  let firstController = '';
  for (const ref of refs ?? []) {
    errs.push(...validateOwnerReference(ref, path));
    if (ref.controller !== true) continue;
    const current = `${ref.kind}/${ref.name}`;
    if (firstController === '') firstController = current;
    else {
      errs.push(
        invalid(
          path,
          refs,
          `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${current}`,
        ),
      );
    }
  }
  return errs;
}

/**
 * Qualified names, `orphan` and `foregroundDeletion` not both, and (our addition; Kubernetes 1.36
 * accepts them) no duplicates, which would otherwise need removing twice before deletion completes.
 */
export function validateFinalizers(
  finalizers: readonly string[] | undefined,
  path: FieldPath,
): FieldError[] {
  const list = finalizers ?? [];
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  list.forEach((f, i) => {
    errs.push(...isQualifiedName(f).map((msg) => invalid(path, f, msg)));
    if (seen.has(f)) errs.push(duplicate(path.index(i), f));
    seen.add(f);
  });
  if (seen.has('orphan') && seen.has('foregroundDeletion')) {
    errs.push(invalid(path, list, 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
  return errs;
}

/** Go's `%#v` of a []string, as ValidateNoNewFinalizers prints it. */
const goStringSlice = (xs: readonly string[]): string =>
  `[]string{${xs.map((x) => JSON.stringify(x)).join(', ')}}`;

/**
 * Update-only rules: immutable identity fields and no new finalizers once deletion started. The
 * caller also runs `validateObjectMeta` on the new metadata (labels, annotations, owners), as
 * Kubernetes' BeforeUpdate does; `resourceVersion` and `generation` belong to the generic store.
 */
export function validateObjectMetaUpdate(
  newMeta: Readonly<ObjectMeta> | undefined,
  oldMeta: Readonly<ObjectMeta> | undefined,
): FieldError[] {
  const n: Readonly<ObjectMeta> = newMeta ?? {};
  const o: Readonly<ObjectMeta> = oldMeta ?? {};
  const p = fieldPath('metadata');
  const errs: FieldError[] = [];

  if (o.deletionTimestamp !== undefined && o.deletionTimestamp !== '') {
    const old = new Set(o.finalizers ?? []);
    const extra = [...new Set(n.finalizers ?? [])].filter((f) => !old.has(f)).sort();
    if (extra.length > 0) {
      errs.push(
        forbidden(
          p.child('finalizers'),
          `no new finalizers can be added if the object is being deleted, found new finalizers ${goStringSlice(extra)}`,
        ),
      );
    }
  }

  // Absent and "" are the same Go zero value, so neither direction counts as a change.
  for (const f of ['name', 'namespace', 'uid', 'creationTimestamp'] as const) {
    const nv = n[f] ?? '';
    if (!isDeepStrictEqual(nv, o[f] ?? ''))
      errs.push(invalid(p.child(f), nv, FieldImmutableErrorMsg));
  }
  return errs;
}
