/**
 * Field selectors: only metadata.name and metadata.namespace are supported (as for CRDs), with
 * =, == and !=. Anything else is a 400 naming the supported fields.
 */
import type { Result } from '../../../storage/interface.js';

export type SupportedField = 'metadata.name' | 'metadata.namespace';

export interface FieldRequirement {
  readonly field: SupportedField;
  readonly negated: boolean;
  readonly value: string;
}

export type FieldSelector = readonly FieldRequirement[];

const supported: readonly SupportedField[] = ['metadata.name', 'metadata.namespace'];

const isSupported = (f: string): f is SupportedField => (supported as readonly string[]).includes(f);

export function parseFieldSelector(src: string): Result<FieldSelector, string> {
  if (src.trim() === '') return { ok: true, value: [] };
  const reqs: FieldRequirement[] = [];
  for (const part of splitUnescaped(src, ',')) {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (m === null) return { ok: false, error: `invalid selector: '${src}'; can't understand '${part}'` };
    const [, field = '', op, value = ''] = m;
    if (!isSupported(field)) {
      return { ok: false, error: `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"` };
    }
    reqs.push({ field, negated: op === '!=', value: unescape(value) });
  }
  return { ok: true, value: reqs };
}

/** The name a selector pins, if any: authorization checks list/watch with it (AUTHZ-1). */
export const selectedName = (sel: FieldSelector): string | undefined =>
  sel.find((r) => r.field === 'metadata.name' && !r.negated)?.value;

export const selectedNamespace = (sel: FieldSelector): string | undefined =>
  sel.find((r) => r.field === 'metadata.namespace' && !r.negated)?.value;

export function matchesFields(sel: FieldSelector, meta: { readonly name?: string | undefined; readonly namespace?: string | undefined }): boolean {
  return sel.every((r) => {
    const actual = (r.field === 'metadata.name' ? meta.name : meta.namespace) ?? '';
    return r.negated ? actual !== r.value : actual === r.value;
  });
}

// Field selector values escape ',', '=' and '\' with a backslash (fields.EscapeValue).
function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charAt(i);
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s.charAt(i + 1);
      i++;
    } else if (c === sep) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const unescape = (v: string): string => v.replace(/\\(.)/g, '$1');
