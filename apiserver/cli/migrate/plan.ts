/**
 * The pure part of `connectors-access migrate` (domain spec §2.3): which kinds are copied and in
 * what order, what of an object is copied, and what a copy of one object amounts to
 * (created / updated / unchanged / conflict). No I/O here.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject, ObjectMeta } from '../../api/meta.js';
import { connectorClassResource } from '../../registry/connectorclass/resource.js';
import { connectorResource } from '../../registry/connector/resource.js';
import { apiVersionOf, type ResourceDefinition } from '../../registry/rest.js';

/** What migrate needs to know of a kind. */
export type MigratedKind = Pick<ResourceDefinition, 'group' | 'version' | 'kind' | 'plural' | 'namespaced'>;

/** ConnectorClasses first (Connectors name them), then Connectors; `--reverse` keeps the order. */
export const migratedKinds: readonly MigratedKind[] = [connectorClassResource, connectorResource];

export type Outcome = 'created' | 'updated' | 'unchanged' | 'conflict';

/** `<Kind> <namespace>/<name>`, `-` as the namespace of a cluster-scoped object. */
export function objectRef(kind: MigratedKind, obj: KubeObject): string {
  const ns = kind.namespaced ? (obj.metadata.namespace ?? '') : '-';
  return `${kind.kind} ${ns}/${obj.metadata.name ?? ''}`;
}

/** The output line of one object. */
export const outcomeLine = (kind: MigratedKind, obj: KubeObject, outcome: Outcome): string => `${objectRef(kind, obj)} ${outcome}`;

const has = (obj: KubeObject, field: string): boolean => Object.hasOwn(obj, field) && obj[field] !== undefined && obj[field] !== null;

/**
 * The object as this server stores it, from an object read through the main API server: all of
 * `metadata` but `resourceVersion` and `selfLink` (so uid, creationTimestamp, generation, labels,
 * annotations, finalizers, ownerReferences, managedFields and a set deletionTimestamp stay), plus
 * `spec` and `status`; apiVersion and kind as the server stores them. Nothing else is copied.
 */
export function storedForm(kind: MigratedKind, obj: KubeObject): KubeObject {
  const metadata: ObjectMeta = structuredClone(obj.metadata);
  delete metadata.resourceVersion;
  delete metadata.selfLink;
  if (!kind.namespaced) delete metadata.namespace;
  return {
    apiVersion: apiVersionOf(kind),
    kind: kind.kind,
    metadata,
    ...(has(obj, 'spec') ? { spec: structuredClone(obj['spec']) } : {}),
    ...(has(obj, 'status') ? { status: structuredClone(obj['status']) } : {}),
  };
}

/**
 * Forward: what writing `desired` (a storedForm) over what the server's etcd holds amounts to. An
 * object stored with the same uid is overwritten when it differs and left alone when equal; one
 * stored with another uid is not ours to touch (conflict).
 */
export function decideForward(desired: KubeObject, stored: KubeObject | undefined): Outcome {
  if (stored === undefined) return 'created';
  if ((stored.metadata.uid ?? '') !== (desired.metadata.uid ?? '')) return 'conflict';
  const current: KubeObject = { ...stored, metadata: { ...stored.metadata } };
  delete current.metadata.resourceVersion;
  delete current.metadata.selfLink;
  return isDeepStrictEqual(current, desired) ? 'unchanged' : 'updated';
}

/** An absent field, null, `{}` and `[]` all mean "none". */
function normalized(v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v)) return v.length === 0 ? undefined : v;
  if (typeof v === 'object' && Object.keys(v).length === 0) return undefined;
  return v;
}

const sameField = (a: unknown, b: unknown): boolean => isDeepStrictEqual(normalized(a), normalized(b));

/** What `--reverse` sends to create an object through the main API server (status follows separately). */
export function reverseCreateBody(kind: MigratedKind, stored: KubeObject): KubeObject {
  const m = stored.metadata;
  const metadata: ObjectMeta = { name: m.name ?? '' };
  if (kind.namespaced) metadata.namespace = m.namespace ?? '';
  for (const field of ['labels', 'annotations', 'finalizers', 'ownerReferences'] as const) {
    if (normalized(m[field]) !== undefined) Object.assign(metadata, { [field]: structuredClone(m[field]) });
  }
  return {
    apiVersion: apiVersionOf(kind),
    kind: kind.kind,
    metadata,
    ...(has(stored, 'spec') ? { spec: structuredClone(stored['spec']) } : {}),
  };
}

/** Whether `stored` has a status worth writing through the status subresource. */
export const hasStatus = (stored: KubeObject): boolean => normalized(stored['status']) !== undefined;

/**
 * Reverse: what copying `stored` (from the server's etcd) to the main API server amounts to, given
 * what the main API server has under that name. kube-apiserver gives every created object a new uid,
 * so an existing object is recognised as our copy (from an earlier, maybe interrupted, `--reverse`
 * run) by identical labels, annotations, finalizers, ownerReferences and spec; its status is then
 * brought up to date (updated) or already is (unchanged). Anything else is someone else's object.
 */
export function decideReverse(stored: KubeObject, existing: KubeObject | undefined): Outcome {
  if (existing === undefined) return 'created';
  const a = stored.metadata;
  const b = existing.metadata;
  const sameObject =
    sameField(a.labels, b.labels) &&
    sameField(a.annotations, b.annotations) &&
    sameField(a.finalizers, b.finalizers) &&
    sameField(a.ownerReferences, b.ownerReferences) &&
    sameField(stored['spec'], existing['spec']);
  if (!sameObject) return 'conflict';
  return sameField(stored['status'], existing['status']) ? 'unchanged' : 'updated';
}
