/**
 * Small builders for the one schema source: structural OpenAPI v3 schemas with the Kubernetes
 * extensions. The same objects drive request decoding (type checks, unknown-field pruning) and the
 * published /openapi documents, so the two cannot drift.
 */
import type { OpenAPIV3 } from 'openapi-types';

export type ListType = 'atomic' | 'set' | 'map';

/** A structural schema: OpenAPI v3 plus the Kubernetes vendor extensions we use. */
export type Schema = Omit<OpenAPIV3.BaseSchemaObject, 'properties' | 'additionalProperties' | 'allOf' | 'oneOf' | 'anyOf' | 'not'> & {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  items?: Schema;
  required?: string[];
  format?: string;
  'x-kubernetes-list-type'?: ListType;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-int-or-string'?: true;
  /** Not published: marks where the ObjectMeta definition is referenced in the documents. */
  'x-connectors-ref'?: string;
};

export const str = (description: string, extra: Partial<Schema> = {}): Schema => ({ type: 'string', description, ...extra });
export const int64 = (description: string): Schema => ({ type: 'integer', format: 'int64', description });
export const int32 = (description: string): Schema => ({ type: 'integer', format: 'int32', description });
export const bool = (description: string): Schema => ({ type: 'boolean', description });

export const obj = (
  description: string,
  properties: Record<string, Schema>,
  opts: { required?: string[]; atomic?: boolean } = {},
): Schema => ({
  type: 'object',
  description,
  properties,
  ...(opts.required !== undefined && opts.required.length > 0 ? { required: opts.required } : {}),
  ...(opts.atomic === true ? { 'x-kubernetes-map-type': 'atomic' as const } : {}),
});

export const stringMap = (description: string): Schema => ({
  type: 'object',
  description,
  additionalProperties: { type: 'string' },
});

export const list = (description: string, items: Schema, listType: ListType = 'atomic', mapKeys?: string[]): Schema => ({
  type: 'array',
  description,
  items,
  'x-kubernetes-list-type': listType,
  ...(mapKeys === undefined ? {} : { 'x-kubernetes-list-map-keys': mapKeys }),
});

/** A free-form object kept as sent (CRD `x-kubernetes-preserve-unknown-fields`). */
export const freeForm = (description: string): Schema => ({
  type: 'object',
  description,
  'x-kubernetes-preserve-unknown-fields': true,
});
