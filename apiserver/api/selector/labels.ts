/**
 * Label selector strings as k8s.io/apimachinery/pkg/labels parses them:
 *   k=v, k==v, k!=v, k in (a,b), k notin (a,b), k, !k — comma-separated requirements, all must hold.
 * Errors are messages for a 400 BadRequest, as kube-apiserver answers a bad ?labelSelector=.
 */
import type { Result } from '../../../storage/interface.js';
import { isQualifiedName, isValidLabelValue } from '../validation/names.js';

export type Operator = 'Equals' | 'NotEquals' | 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface Requirement {
  readonly key: string;
  readonly operator: Operator;
  readonly values: readonly string[];
}

export type LabelSelector = readonly Requirement[];

/** Everything matches the empty selector. */
export const everything: LabelSelector = [];

type Token =
  | { readonly t: 'id'; readonly v: string }
  | { readonly t: 'op'; readonly v: '=' | '==' | '!=' | '!' | ',' | '(' | ')' }
  | { readonly t: 'in' | 'notin' };

function tokenize(src: string): Result<Token[], string> {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src.charAt(i);
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '=' && src.charAt(i + 1) === '=') {
      tokens.push({ t: 'op', v: '==' });
      i += 2;
    } else if (c === '!' && src.charAt(i + 1) === '=') {
      tokens.push({ t: 'op', v: '!=' });
      i += 2;
    } else if (c === '=' || c === '!' || c === ',' || c === '(' || c === ')') {
      tokens.push({ t: 'op', v: c });
      i++;
    } else {
      let j = i;
      while (j < src.length && !' \t\n\r=!,()'.includes(src.charAt(j))) j++;
      const word = src.slice(i, j);
      if (word === 'in' || word === 'notin') tokens.push({ t: word });
      else tokens.push({ t: 'id', v: word });
      i = j;
    }
  }
  return { ok: true, value: tokens };
}

export function parseLabelSelector(src: string): Result<LabelSelector, string> {
  const tk = tokenize(src);
  if (!tk.ok) return tk;
  const tokens = tk.value;
  const reqs: Requirement[] = [];
  let p = 0;
  const peek = (): Token | undefined => tokens[p];
  const fail = (msg: string): Result<LabelSelector, string> => ({ ok: false, error: `unable to parse requirement: ${msg}` });
  if (tokens.length === 0) return { ok: true, value: everything };
  for (;;) {
    let negated = false;
    let tok = peek();
    if (tok?.t === 'op' && tok.v === '!') {
      negated = true;
      p++;
      tok = peek();
    }
    if (tok?.t !== 'id') return fail(`found '${describe(tok)}', expected: identifier`);
    const key = tok.v;
    const keyErrs = isQualifiedName(key);
    if (keyErrs.length > 0) return fail(`invalid label key "${key}": ${keyErrs.join('; ')}`);
    p++;
    const next = peek();
    if (negated) {
      reqs.push({ key, operator: 'DoesNotExist', values: [] });
    } else if (next === undefined || (next.t === 'op' && next.v === ',')) {
      reqs.push({ key, operator: 'Exists', values: [] });
    } else if (next.t === 'op' && (next.v === '=' || next.v === '==' || next.v === '!=')) {
      p++;
      // A missing value after the operator means the empty value, as in `k=` .
      const val = peek();
      let value = '';
      if (val?.t === 'id') {
        value = val.v;
        p++;
      } else if (val !== undefined && !(val.t === 'op' && val.v === ',')) {
        return fail(`found '${describe(val)}', expected: identifier`);
      }
      const vErrs = isValidLabelValue(value);
      if (vErrs.length > 0) return fail(`invalid label value: "${value}": at key: "${key}": ${vErrs.join('; ')}`);
      reqs.push({ key, operator: next.v === '!=' ? 'NotEquals' : 'Equals', values: [value] });
    } else if (next.t === 'in' || next.t === 'notin') {
      p++;
      const open = peek();
      if (!(open?.t === 'op' && open.v === '(')) return fail(`found '${describe(open)}', expected: '('`);
      p++;
      const values: string[] = [];
      for (;;) {
        const v = peek();
        if (v?.t === 'id') {
          const vErrs = isValidLabelValue(v.v);
          if (vErrs.length > 0) return fail(`invalid label value: "${v.v}": at key: "${key}": ${vErrs.join('; ')}`);
          values.push(v.v);
          p++;
        } else if (v?.t === 'op' && (v.v === ',' || v.v === ')')) {
          // `in (a,)` and `in ()` carry an empty value, as the Go lexer allows.
          values.push('');
        } else {
          return fail(`found '${describe(v)}', expected: ',', ')' or identifier`);
        }
        const sep = peek();
        if (sep?.t === 'op' && sep.v === ',') {
          p++;
          continue;
        }
        if (sep?.t === 'op' && sep.v === ')') {
          p++;
          break;
        }
        return fail(`found '${describe(sep)}', expected: ',' or ')'`);
      }
      reqs.push({ key, operator: next.t === 'in' ? 'In' : 'NotIn', values: [...new Set(values)].sort() });
    } else {
      return fail(`found '${describe(next)}', expected: in, notin, =, ==, !=, or end of string`);
    }
    const sep = peek();
    if (sep === undefined) break;
    if (sep.t === 'op' && sep.v === ',') {
      p++;
      if (peek() === undefined) return fail(`found '', expected: identifier after ','`);
      continue;
    }
    return fail(`found '${describe(sep)}', expected: ',' or end of string`);
  }
  return { ok: true, value: reqs };
}

function describe(t: Token | undefined): string {
  if (t === undefined) return '';
  if (t.t === 'id' || t.t === 'op') return t.v;
  return t.t;
}

export function matchesLabels(sel: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  return sel.every((r) => {
    const has = Object.hasOwn(l, r.key);
    const v = has ? l[r.key] : undefined;
    switch (r.operator) {
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      case 'Equals':
      case 'In':
        return has && r.values.includes(v ?? '');
      case 'NotEquals':
      case 'NotIn':
        // As in Kubernetes: != and notin also match objects without the label.
        return !has || !r.values.includes(v ?? '');
    }
  });
}
