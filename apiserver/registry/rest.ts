/**
 * Strategy interfaces in the shape of k8s.io/apiserver/pkg/registry/rest: the generic store runs
 * the hooks in the same fixed order as rest.BeforeCreate / rest.BeforeUpdate. Hooks return new
 * objects; inputs are never mutated (the store clones the request body once).
 */
import type { FieldError } from '../api/field.js';
import type { KubeObject } from '../api/meta.js';
import type { Schema } from '../../openapi/builders.js';

export interface UserInfo {
  readonly name: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

export interface RequestContext {
  /** The namespace of the URL; undefined for cluster-scoped or all-namespaces requests. */
  readonly namespace: string | undefined;
  readonly user: UserInfo;
  readonly now: () => Date;
}

export interface CreateStrategy<T> {
  /** Before validation; cannot fail. Clears status, sets generation 1, applies defaults. */
  prepareForCreate(ctx: RequestContext, obj: T): T;
  /** The kind's own rules; the store adds ObjectMeta validation. */
  validate(ctx: RequestContext, obj: Readonly<T>): FieldError[];
  warningsOnCreate(ctx: RequestContext, obj: Readonly<T>): string[];
  /** Only after validation passed: order-insensitive lists sorted, and the like. */
  canonicalize(obj: T): T;
}

export interface UpdateStrategy<T> {
  allowCreateOnUpdate(ctx: RequestContext): boolean;
  allowUnconditionalUpdate(ctx: RequestContext): boolean;
  /** Keeps what the endpoint may not change (status on the main resource, spec on /status); defaults. */
  prepareForUpdate(ctx: RequestContext, obj: T, old: Readonly<T>): T;
  /** Full validation of the new object plus transition rules (immutability). */
  validateUpdate(ctx: RequestContext, obj: Readonly<T>, old: Readonly<T>): FieldError[];
  warningsOnUpdate(ctx: RequestContext, obj: Readonly<T>, old: Readonly<T>): string[];
  canonicalize(obj: T): T;
}

export type Strategy<T> = CreateStrategy<T> & UpdateStrategy<T>;

/**
 * How the status subresource behaves: `computed` = GET only, writes answer 405 (status is computed
 * in-process); `writable` = PUT/PATCH through its own strategy, like any built-in status subresource.
 */
export type StatusSubresource<T> = { readonly mode: 'computed' } | { readonly mode: 'writable'; readonly strategy: UpdateStrategy<T> };

/**
 * A Table column after the implicit Name column, as a CRD's additionalPrinterColumns. `cell` reads
 * the value (null when absent); a `date` column holds a timestamp the table shows as an age.
 */
export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly description: string;
  readonly priority: number;
  /** The JSONPath a CRD would declare; documentation only. */
  readonly jsonPath: string;
  readonly cell: (obj: KubeObject) => string | number | boolean | null;
}

/** The Age column every kind ends with. */
export const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'date',
  description:
    'CreationTimestamp is a timestamp representing the server time when this object was created. It is represented in RFC3339 form and is in UTC.',
  priority: 0,
  jsonPath: '.metadata.creationTimestamp',
  cell: (obj) => obj.metadata.creationTimestamp ?? null,
};

/** A field of the condition of the given type in status.conditions, or null. */
export function conditionCell(obj: KubeObject, type: string, field: 'status' | 'reason'): string | null {
  const conditions = (obj['status'] as { conditions?: unknown } | undefined)?.conditions;
  if (!Array.isArray(conditions)) return null;
  const found = (conditions as { type?: unknown; status?: unknown; reason?: unknown }[]).find((c) => c.type === type);
  const v = found?.[field];
  return typeof v === 'string' ? v : null;
}

/** The Ready and Reason columns of kinds with a Ready condition (Connector, ConnectorClass), as their CRDs print them. */
export const readyConditionColumns: readonly PrinterColumn[] = (['status', 'reason'] as const).map((field) => ({
  name: field === 'status' ? 'Ready' : 'Reason',
  type: 'string',
  description: field === 'status' ? 'Status of the Ready condition.' : 'Reason of the Ready condition.',
  priority: 0,
  jsonPath: `.status.conditions[?(@.type=="Ready")].${field}`,
  cell: (o: KubeObject) => conditionCell(o, 'Ready', field),
}));

/** Everything the generic layers need to serve one resource. */
export interface ResourceDefinition<T extends KubeObject = KubeObject> {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly schema: Schema;
  readonly printerColumns: readonly PrinterColumn[];
  readonly strategy: Strategy<T>;
  readonly status: StatusSubresource<T>;
  /** Name rule for metadata.name (DNS-1123 subdomain for all our kinds). */
  readonly validateName: (name: string, prefix: boolean) => string[];
  /**
   * A create-only kind that is never stored, like SubjectAccessReview (AccessReview, domain spec
   * §11.3): discovery lists the verb `create` only and no status subresource, OpenAPI publishes the
   * kind and its `post` operation only (no list kind), and it has no store: its own handler answers.
   */
  readonly createOnly?: boolean;
}

export const apiVersionOf = (r: Pick<ResourceDefinition, 'group' | 'version'>): string =>
  r.group === '' ? r.version : `${r.group}/${r.version}`;

export const groupResourceOf = (r: Pick<ResourceDefinition, 'group' | 'plural'>): { group: string; resource: string } => ({
  group: r.group,
  resource: r.plural,
});
