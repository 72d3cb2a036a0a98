/**
 * The template dialect of domain spec §6.4: literal text with `{…}` JSONPath expressions, a strict
 * subset of `kubectl -o jsonpath` plus double-quoted keys. Parsing is separate from rendering so that
 * admission (AP-V11) can reject a bad template long before a controller renders it.
 *
 * Every Kubernetes construct outside the subset (`range`/`end`, filters, `..`, unions, slices,
 * quoted text, `.*`) is a parse error rather than something with subtly different meaning here.
 */

export type Step =
  | { readonly type: 'key'; readonly key: string }
  /** Negative counts from the end. */
  | { readonly type: 'index'; readonly index: number }
  /** Array elements, or object values in sorted key order. */
  | { readonly type: 'wildcard' };

export type Segment =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'expression'; readonly steps: readonly Step[] };

export interface Template {
  readonly segments: readonly Segment[];
}

export type ParseResult =
  { readonly ok: true; readonly value: Template } | { readonly ok: false; readonly error: string };

/** One scanner step: a value and the offset just past it, or the parse error. */
type Scan<T> =
  | { readonly ok: true; readonly value: T; readonly next: number }
  | { readonly ok: false; readonly error: string };

const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });
const q = (c: string): string => JSON.stringify(c);

export function parseTemplate(src: string): ParseResult {
  const segments: Segment[] = [];
  let text = '';
  let i = 0;
  while (i < src.length) {
    const c = src.charAt(i);
    if (c === '}') return fail(`unexpected "}" at offset ${String(i)} outside an expression`);
    if (c !== '{') {
      text += c;
      i += 1;
      continue;
    }
    if (text !== '') segments.push({ type: 'text', text });
    text = '';
    const expr = parseExpression(src, i);
    if (!expr.ok) return fail(expr.error);
    segments.push({ type: 'expression', steps: expr.value });
    i = expr.next;
  }
  if (text !== '') segments.push({ type: 'text', text });
  return { ok: true, value: { segments } };
}

/** `open` is the offset of the `{`; on success `next` is just past the matching `}`. */
function parseExpression(src: string, open: number): Scan<Step[]> {
  const unclosed = `unclosed "{" at offset ${String(open)}`;
  let i = open + 1;
  if (src.charAt(i) === '}') return fail(`empty expression "{}" at offset ${String(open)}`);
  if (src.charAt(i) === '$') i += 1;
  const steps: Step[] = [];
  for (;;) {
    if (i >= src.length) return fail(unclosed);
    const c = src.charAt(i);
    if (c === '}') return { ok: true, value: steps, next: i + 1 };
    const step =
      c === '.'
        ? parseName(src, i, unclosed)
        : c === '['
          ? parseBracket(src, i, unclosed)
          : undefined;
    if (step === undefined) {
      // Quoted text, `range`, `end`, `@`, whitespace …: all outside the subset.
      return fail(`unexpected ${q(c)} at offset ${String(i)}: a step starts with "." or "["`);
    }
    if (!step.ok) return step;
    steps.push(step.value);
    i = step.next;
  }
}

/**
 * `.name`: runs to the next unescaped `.`, `[` or `}`; a backslash takes the next character
 * literally (so `\.` is a dot inside the key). `unclosed` is the error for running off the end.
 */
function parseName(src: string, dot: number, unclosed: string): Scan<Step> {
  if (src.charAt(dot + 1) === '.')
    return fail(`recursive descent ".." at offset ${String(dot)} is not supported`);
  let key = '';
  let raw = '';
  let j = dot + 1;
  for (; j < src.length; j += 1) {
    const c = src.charAt(j);
    if (c === '.' || c === '[' || c === '}') break;
    // A `{` here almost always means an earlier `}` is missing; never let it become part of a key.
    if (c === '{') return fail(`unexpected "{" at offset ${String(j)} inside an expression`);
    raw += c;
    if (c === '\\') {
      j += 1;
      if (j >= src.length) break;
      raw += src.charAt(j);
      key += src.charAt(j);
    } else {
      key += c;
    }
  }
  if (j >= src.length) return fail(unclosed);
  if (key === '') return fail(`empty field name at offset ${String(dot)}`);
  if (raw === '*')
    return fail(`wildcard ".*" at offset ${String(dot)} is not supported; use "[*]"`);
  return { ok: true, value: { type: 'key', key }, next: j };
}

/** Escapes allowed in a quoted key: a dot (for symmetry with `.name`), either quote, backslash. */
const quotedEscapes = new Set(['.', "'", '"', '\\']);

/** `['k']`, `["k"]`, `[n]`, `[*]`; anything else in brackets is outside the subset. */
function parseBracket(src: string, open: number, unclosed: string): Scan<Step> {
  const first = src.charAt(open + 1);
  if (first === "'" || first === '"') {
    let key = '';
    let j = open + 2;
    for (;;) {
      if (j >= src.length) return fail(unclosed);
      const c = src.charAt(j);
      if (c === first) break;
      if (c === '\\') {
        const e = src.charAt(j + 1);
        if (j + 1 >= src.length) return fail(unclosed);
        if (!quotedEscapes.has(e))
          return fail(`unknown escape ${q(`\\${e}`)} at offset ${String(j)}`);
        key += e;
        j += 2;
      } else {
        key += c;
        j += 1;
      }
    }
    if (j + 1 >= src.length) return fail(unclosed);
    if (src.charAt(j + 1) !== ']') {
      return fail(
        `expected "]" after quoted key at offset ${String(j + 1)} (unions are not supported)`,
      );
    }
    return { ok: true, value: { type: 'key', key }, next: j + 2 };
  }
  const close = src.indexOf(']', open);
  if (close < 0) return fail(unclosed);
  const body = src.slice(open + 1, close);
  if (body === '*') return { ok: true, value: { type: 'wildcard' }, next: close + 1 };
  if (/^-?[0-9]+$/.test(body))
    return { ok: true, value: { type: 'index', index: Number(body) }, next: close + 1 };
  const what = body.startsWith('?')
    ? 'filters'
    : body.includes(':')
      ? 'slices'
      : body.includes(',')
        ? 'unions'
        : '';
  return fail(
    what === ''
      ? `invalid array index ${q(body)} at offset ${String(open)}`
      : `${what} ("[${body}]" at offset ${String(open)}) are not supported`,
  );
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function applyStep(step: Step, v: unknown): unknown[] {
  switch (step.type) {
    case 'key':
      return isRecord(v) && Object.hasOwn(v, step.key) ? [v[step.key]] : [];
    case 'index': {
      if (!Array.isArray(v)) return [];
      const i = step.index < 0 ? v.length + step.index : step.index;
      return i >= 0 && i < v.length ? [v[i] as unknown] : [];
    }
    case 'wildcard':
      if (Array.isArray(v)) return v as unknown[];
      return isRecord(v)
        ? Object.keys(v)
            .sort()
            .map((k) => v[k])
        : [];
  }
}

/** All results of one expression; a missing key, an index out of range or a scalar give none. */
export function evaluate(steps: readonly Step[], data: unknown): unknown[] {
  let current: unknown[] = [data];
  for (const step of steps) current = current.flatMap((v) => applyStep(step, v));
  // `undefined` cannot come from JSON; dropping it keeps hand-built test data honest.
  return current.filter((v) => v !== undefined);
}

/** Compact JSON with sorted object keys, as Go's json.Marshal writes the maps kubectl prints. */
function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJSON(x)).join(',')}]`;
  if (isRecord(v)) {
    const body = Object.keys(v)
      .sort()
      .filter((k) => v[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJSON(v[k])}`);
    return `{${body.join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Strings as they are, `null` as "", numbers and booleans in JSON form, objects and arrays as JSON. */
function renderResult(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null) return '';
  return canonicalJSON(v);
}

/** Renders against `data` (for checks and role templates: `{"object": <Pod>}`). Never fails. */
export function renderTemplate(t: Template, data: unknown): string {
  return t.segments
    .map((s) => (s.type === 'text' ? s.text : evaluate(s.steps, data).map(renderResult).join(' ')))
    .join('');
}
