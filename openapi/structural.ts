/**
 * Decodes a request body against a structural schema, as kube-apiserver does for CRDs: type errors
 * become FieldValueTypeInvalid causes, unknown fields are reported (for fieldValidation) and pruned,
 * and a JSON null for an optional field means the field is absent.
 */
import { typeInvalid, type FieldError } from '../apiserver/api/field.js';
import type { Schema } from './builders.js';

export interface Decoded {
  readonly value: unknown;
  /** Dotted paths of pruned fields, e.g. `spec.foo`, `spec.checks[0].bar`. */
  readonly unknownFields: readonly string[];
  readonly typeErrors: readonly FieldError[];
}

const jsonType = (v: unknown): string => {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return isInt64(v) ? 'integer' : 'number';
  return typeof v;
};

/**
 * An integer that a Go client can decode as int64: larger ones would be stored in exponent form
 * (JSON.stringify(1e21) is "1e+21") and break every reader of the object.
 */
const isInt64 = (v: number): boolean => Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 63;

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

const fitsType = (t: NonNullable<Schema['type']>, v: unknown): boolean => {
  switch (t) {
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && isInt64(v);
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
  }
};

export function decodeStructural(value: unknown, schema: Schema): Decoded {
  const unknownFields: string[] = [];
  const typeErrors: FieldError[] = [];

  const walk = (v: unknown, s: Schema, path: string): unknown => {
    if (s['x-kubernetes-int-or-string'] === true) {
      if (typeof v === 'string' || (typeof v === 'number' && isInt64(v))) return v;
      typeErrors.push(typeInvalid(path, jsonType(v), 'must be of type int-or-string'));
      return v;
    }
    if (s.type === undefined) return v; // untyped and preserved (e.g. a parameter value)
    if (!fitsType(s.type, v)) {
      typeErrors.push(typeInvalid(path, jsonType(v), `must be of type ${s.type}`));
      return v;
    }
    if (s.type === 'array') {
      const items = s.items;
      return items === undefined ? v : (v as unknown[]).map((item, i) => walk(item, items, `${path}[${String(i)}]`));
    }
    if (s.type !== 'object') return v;
    const out: Record<string, unknown> = {};
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      // Prototype keys must never reach a merge or an object spread (hostile input, OPS-1).
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') {
        unknownFields.push(join(path, k));
        continue;
      }
      // Own properties only: a field named like an Object.prototype member ("toString") is unknown.
      const declared = s.properties !== undefined && Object.hasOwn(s.properties, k) ? s.properties[k] : undefined;
      const propSchema = declared ?? s.additionalProperties;
      if (propSchema === undefined) {
        if (s['x-kubernetes-preserve-unknown-fields'] === true) out[k] = child;
        else unknownFields.push(join(path, k));
        continue;
      }
      // null = absent for optional fields; a null inside a map of strings is a type error.
      if (child === null && declared !== undefined) continue;
      out[k] = walk(child, propSchema, declared !== undefined ? join(path, k) : `${path}[${k}]`);
    }
    return out;
  };

  const decoded = walk(value, schema, '');
  return { value: decoded, unknownFields, typeErrors };
}

/** Deepest nesting of arrays/objects; bodies beyond a limit are refused before anything else. */
export function nestingDepth(v: unknown, limit: number): number {
  const stack: { v: unknown; d: number }[] = [{ v, d: 0 }];
  let max = 0;
  while (stack.length > 0) {
    const top = stack.pop();
    if (top === undefined) break;
    if (typeof top.v !== 'object' || top.v === null) continue;
    const d = top.d + 1;
    if (d > max) max = d;
    if (max > limit) return max;
    for (const child of Object.values(top.v as Record<string, unknown>)) stack.push({ v: child, d });
  }
  return max;
}
