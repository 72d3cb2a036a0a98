/**
 * Turns a parsed request body into an object of the resource: apiVersion/kind must match the URL
 * (400), types must match the schema (422 FieldValueTypeInvalid), unknown fields are pruned and,
 * per fieldValidation, rejected (Strict → 400) or reported as warnings (Warn). Nothing unknown is
 * ever stored.
 */
import type { KubeObject } from '../../api/meta.js';
import * as status from '../../api/status.js';
import type { Status } from '../../api/status.js';
import type { Result } from '../../../storage/interface.js';
import { decodeStructural, nestingDepth } from '../../../openapi/structural.js';
import type { StoreContext } from './context.js';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

/** Deeper bodies are refused: JSON.stringify of very deep objects overflows and breaks later reads. */
export const maxNestingDepth = 100;

export interface DecodedBody<T> {
  readonly object: T;
  readonly warnings: string[];
}

export function decodeBody<T extends KubeObject>(
  c: Pick<StoreContext<T>, 'resource' | 'apiVersion'>,
  body: unknown,
  fieldValidation: FieldValidation,
): Result<DecodedBody<T>, Status> {
  const r = c.resource;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, error: status.badRequest(`the body of the request must be a JSON object describing a ${r.kind}`) };
  }
  if (nestingDepth(body, maxNestingDepth) > maxNestingDepth) {
    return { ok: false, error: status.badRequest(`the object nests deeper than ${String(maxNestingDepth)} levels`) };
  }
  const raw = body as Record<string, unknown>;
  // Missing apiVersion/kind default to the URL's, as the Kubernetes decoder does with a default GVK.
  const apiVersion = raw['apiVersion'] ?? c.apiVersion;
  const kind = raw['kind'] ?? r.kind;
  if (apiVersion !== c.apiVersion) {
    return {
      ok: false,
      error: status.badRequest(`the API version in the data (${String(apiVersion)}) does not match the expected API version (${c.apiVersion})`),
    };
  }
  if (kind !== r.kind) {
    return { ok: false, error: status.badRequest(`the kind in the data (${String(kind)}) does not match the expected kind (${r.kind})`) };
  }
  const decoded = decodeStructural(raw, r.schema);
  if (decoded.unknownFields.length > 0 && fieldValidation === 'Strict') {
    const list = decoded.unknownFields.map((f) => `unknown field "${f}"`).join(', ');
    return { ok: false, error: status.badRequest(`strict decoding error: ${list}`) };
  }
  const name = typeof (raw['metadata'] as { name?: unknown } | undefined)?.name === 'string' ? String((raw['metadata'] as { name: string }).name) : '';
  if (decoded.typeErrors.length > 0) {
    return { ok: false, error: status.invalid(r.group, r.kind, name, decoded.typeErrors) };
  }
  const object = decoded.value as T;
  if (typeof object.metadata !== 'object') object.metadata = {};
  object.apiVersion = c.apiVersion;
  object.kind = r.kind;
  const warnings = fieldValidation === 'Warn' ? decoded.unknownFields.map((f) => `unknown field "${f}"`) : [];
  return { ok: true, value: { object, warnings } };
}
