/**
 * Value validation against a structural schema, as kube-apiserver validates custom resources after
 * decoding: `required` properties (FieldValueRequired), `enum` (FieldValueNotSupported), and the
 * uniqueness rules of `x-kubernetes-list-type: map|set` (FieldValueDuplicate). Types were already
 * checked by decodeStructural (structural.ts), so values of the wrong type are skipped here.
 * Untyped subtrees kept with `x-kubernetes-preserve-unknown-fields` are not looked into.
 */
import { notSupported, required, type FieldError, type FieldPath } from '../apiserver/api/field.js';
import type { Schema } from './builders.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Go's %#v of the values a duplicate cause names: strings quoted, maps as map[string]interface {}{…}. */
function goValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (isRecord(v)) {
    const entries = Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${goValue(v[k])}`);
    return `map[string]interface {}{${entries.join(', ')}}`;
  }
  return JSON.stringify(v) ?? 'nil';
}

const duplicateCause = (p: FieldPath, v: unknown): FieldError => ({
  type: 'FieldValueDuplicate',
  field: p.toString(),
  message: `Duplicate value: ${goValue(v)}`,
});

/** Every cause of `value` against `schema`, with paths below `path`. */
export function validateSchemaValues(value: unknown, schema: Schema, path: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  const walk = (v: unknown, s: Schema, p: FieldPath): void => {
    if (s.enum !== undefined && !(s.enum as unknown[]).some((e) => e === v)) {
      errs.push(notSupported(p, v, (s.enum as unknown[]).map(String)));
    }
    if (s.type === 'object' && isRecord(v)) {
      for (const k of s.required ?? []) if (v[k] === undefined) errs.push(required(p.child(k)));
      for (const [k, child] of Object.entries(v)) {
        const prop = s.properties !== undefined && Object.hasOwn(s.properties, k) ? s.properties[k] : undefined;
        if (prop !== undefined) walk(child, prop, p.child(k));
        else if (s.additionalProperties !== undefined) walk(child, s.additionalProperties, p.key(k));
      }
      return;
    }
    if (s.type === 'array' && Array.isArray(v)) {
      const items = s.items;
      if (items !== undefined) v.forEach((item, i) => walk(item, items, p.index(i)));
      const listType = s['x-kubernetes-list-type'];
      if (listType === 'set') {
        const seen = new Set<string>();
        v.forEach((item, i) => {
          const id = JSON.stringify(item);
          if (seen.has(id)) errs.push(duplicateCause(p.index(i), item));
          seen.add(id);
        });
      } else if (listType === 'map') {
        const keys = s['x-kubernetes-list-map-keys'] ?? [];
        const seen = new Set<string>();
        v.forEach((item, i) => {
          if (!isRecord(item)) return;
          const key = Object.fromEntries(keys.filter((k) => item[k] !== undefined).map((k) => [k, item[k]]));
          const id = JSON.stringify(keys.map((k) => item[k] ?? null));
          if (seen.has(id)) errs.push(duplicateCause(p.index(i), key));
          seen.add(id);
        });
      }
    }
  };
  walk(value, schema, path);
  return errs;
}
