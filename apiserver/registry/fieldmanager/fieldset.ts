/**
 * Field sets as sigs.k8s.io/structured-merge-diff (SMD) defines them: the paths an object sets,
 * derived with its structural schema, and their FieldsV1 encoding in metadata.managedFields.
 *
 * Also the schema-aware walks the field manager builds on, each named after its SMD original:
 * fromObject (TypedValue.ToFieldSet), compareObjects (TypedValue.Compare), removeItems
 * (TypedValue.RemoveItems) and ensureNamedFieldsAreMembers (Set.EnsureNamedFieldsAreMembers).
 */
import type { Schema } from '../../../openapi/builders.js';

// ---------- path elements ----------

export interface KeyField {
  readonly name: string;
  readonly value: unknown;
}

/**
 * One step of a path: a field name (struct fields and map keys alike, `f:`), a list-map item by its
 * key fields (`k:`, fields sorted by name), a set item by its value (`v:`) or a list index (`i:`).
 */
export type PathElement =
  | { readonly kind: 'field'; readonly name: string }
  | { readonly kind: 'key'; readonly fields: readonly KeyField[] }
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'index'; readonly index: number };

export type Path = readonly PathElement[];

export const field = (name: string): PathElement => ({ kind: 'field', name });

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export const isList = (v: unknown): v is readonly unknown[] => Array.isArray(v);

/** An own property only: `constructor` of a plain object must read as absent. */
export const own = (obj: Record<string, unknown> | undefined, key: string): unknown =>
  obj !== undefined && Object.hasOwn(obj, key) ? obj[key] : undefined;

/** The FieldsV1 key of an element; also its identity inside a FieldSet. */
export function serializePathElement(pe: PathElement): string {
  switch (pe.kind) {
    case 'field':
      return `f:${pe.name}`;
    case 'key':
      return `k:{${pe.fields.map((f) => `${JSON.stringify(f.name)}:${JSON.stringify(f.value)}`).join(',')}}`;
    case 'value':
      return `v:${JSON.stringify(pe.value)}`;
    case 'index':
      return `i:${String(pe.index)}`;
  }
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** DeserializePathElement; `unknown` marks a prefix this version does not know (skipped on decode). */
export function parsePathElement(s: string): Parsed<PathElement> | { readonly ok: 'unknown' } {
  if (s.length < 2) return { ok: false, error: `key must be 2 characters long: ${s}` };
  if (s[1] !== ':') return { ok: false, error: `missing colon: ${s}` };
  const rest = s.slice(2);
  const json = (): Parsed<unknown> => {
    try {
      return { ok: true, value: JSON.parse(rest) as unknown };
    } catch (e) {
      return { ok: false, error: `${s}: ${e instanceof Error ? e.message : String(e)}` };
    }
  };
  switch (s[0]) {
    case 'f':
      return { ok: true, value: { kind: 'field', name: rest } };
    case 'v': {
      const v = json();
      return v.ok ? { ok: true, value: { kind: 'value', value: v.value } } : v;
    }
    case 'k': {
      const v = json();
      if (!v.ok) return v;
      if (!isRecord(v.value)) return { ok: false, error: `${s}: key must be a JSON object` };
      const fields = Object.entries(v.value).map(([name, value]) => ({ name, value }));
      return { ok: true, value: { kind: 'key', fields: sortKeyFields(fields) } };
    }
    case 'i': {
      if (!/^-?\d+$/.test(rest)) return { ok: false, error: `invalid index: ${s}` };
      return { ok: true, value: { kind: 'index', index: Number(rest) } };
    }
    default:
      return { ok: 'unknown' };
  }
}

/** Go's strings.Compare: byte order of UTF-8, which is code point order (not UTF-16 unit order). */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

const valueRank = (v: unknown): number => {
  if (typeof v === 'number') return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 2;
  if (Array.isArray(v)) return 3;
  if (isRecord(v)) return 4;
  return 5; // null
};

/** value.Compare: a total order, numbers < strings < booleans < lists < maps < null. */
export function compareValues(a: unknown, b: unknown): number {
  const ra = valueRank(a);
  const rb = valueRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (typeof a === 'number' && typeof b === 'number') return a === b ? 0 : a < b ? -1 : 1;
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (isList(a) && isList(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = compareValues(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(compareStrings);
    for (const k of keys) {
      if (!Object.hasOwn(a, k)) return 1;
      if (!Object.hasOwn(b, k)) return -1;
      const c = compareValues(a[k], b[k]);
      if (c !== 0) return c;
    }
  }
  return 0;
}

const sortKeyFields = (fields: KeyField[]): KeyField[] => fields.sort((x, y) => compareStrings(x.name, y.name));

const elementRank = { field: 0, key: 1, value: 2, index: 3 } as const;

/** PathElement.Compare: fields < keys < values < indexes, each in its own order. */
export function comparePathElements(a: PathElement, b: PathElement): number {
  if (a.kind !== b.kind) return elementRank[a.kind] < elementRank[b.kind] ? -1 : 1;
  switch (a.kind) {
    case 'field':
      return compareStrings(a.name, (b as typeof a).name);
    case 'key': {
      const bf = (b as typeof a).fields;
      for (let i = 0; i < Math.min(a.fields.length, bf.length); i++) {
        const x = a.fields[i];
        const y = bf[i];
        if (x === undefined || y === undefined) break;
        const c = compareStrings(x.name, y.name);
        if (c !== 0) return c;
        const cv = compareValues(x.value, y.value);
        if (cv !== 0) return cv;
      }
      return a.fields.length === bf.length ? 0 : a.fields.length < bf.length ? -1 : 1;
    }
    case 'value':
      return compareValues(a.value, (b as typeof a).value);
    case 'index': {
      const bi = (b as typeof a).index;
      return a.index === bi ? 0 : a.index < bi ? -1 : 1;
    }
  }
}

/** value.ToString, as conflict messages print key and set values. */
function valueToString(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (isList(v)) return `[${v.map(valueToString).join(',')}]`;
  if (isRecord(v)) return Object.entries(v).map(([k, x]) => `${k}=${valueToString(x)}`).join('');
  return 'null';
}

/** fieldpath.Path.String: `.spec.checks[name="a"].spec`, `.metadata.finalizers[="x"]`, `.x[0]`. */
export function pathToString(path: Path): string {
  return path
    .map((pe) => {
      switch (pe.kind) {
        case 'field':
          return `.${pe.name}`;
        case 'key':
          return `[${pe.fields.map((f) => `${f.name}=${valueToString(f.value)}`).join(',')}]`;
        case 'value':
          return `[=${valueToString(pe.value)}]`;
        case 'index':
          return `[${String(pe.index)}]`;
      }
    })
    .join('');
}

// ---------- sets ----------

export interface FieldSetNode {
  readonly element: PathElement;
  readonly set: FieldSet;
}

/**
 * An immutable set of paths, as a tree. `members` are the paths that end at this level;
 * `children` hold the longer paths, never as an empty set. Both are keyed by serialized element.
 */
export interface FieldSet {
  readonly members: ReadonlyMap<string, PathElement>;
  readonly children: ReadonlyMap<string, FieldSetNode>;
}

interface Builder {
  readonly members: Map<string, PathElement>;
  readonly children: Map<string, { readonly element: PathElement; readonly set: Builder }>;
}

const newBuilder = (): Builder => ({ members: new Map(), children: new Map() });

function insertPath(b: Builder, path: Path): void {
  let node = b;
  for (let i = 0; i < path.length; i++) {
    const pe = path[i];
    if (pe === undefined) return;
    const key = serializePathElement(pe);
    if (i === path.length - 1) {
      node.members.set(key, pe);
      return;
    }
    let child = node.children.get(key);
    if (child === undefined) {
      child = { element: pe, set: newBuilder() };
      node.children.set(key, child);
    }
    node = child.set;
  }
}

export const emptyFieldSet: FieldSet = { members: new Map(), children: new Map() };

export const isEmpty = (s: FieldSet): boolean => s.members.size === 0 && s.children.size === 0;

export function fromPaths(paths: readonly Path[]): FieldSet {
  const b = newBuilder();
  for (const p of paths) if (p.length > 0) insertPath(b, p);
  return b;
}

export function has(s: FieldSet, path: Path): boolean {
  let node: FieldSet | undefined = s;
  for (let i = 0; i < path.length && node !== undefined; i++) {
    const pe = path[i];
    if (pe === undefined) return false;
    const key = serializePathElement(pe);
    if (i === path.length - 1) return node.members.has(key);
    node = node.children.get(key)?.set;
  }
  return false;
}

/** Set.WithPrefix: the paths below one element, without it. */
export const withPrefix = (s: FieldSet, pe: PathElement): FieldSet =>
  s.children.get(serializePathElement(pe))?.set ?? emptyFieldSet;

const node = (element: PathElement, set: FieldSet): FieldSetNode => ({ element, set });

export function union(a: FieldSet, b: FieldSet): FieldSet {
  if (isEmpty(a)) return b;
  if (isEmpty(b)) return a;
  const members = new Map([...a.members, ...b.members]);
  const children = new Map(a.children);
  for (const [k, n] of b.children) {
    const mine = children.get(k);
    children.set(k, mine === undefined ? n : node(n.element, union(mine.set, n.set)));
  }
  return { members, children };
}

export function intersection(a: FieldSet, b: FieldSet): FieldSet {
  const members = new Map([...a.members].filter(([k]) => b.members.has(k)));
  const children = new Map<string, FieldSetNode>();
  for (const [k, n] of a.children) {
    const other = b.children.get(k);
    if (other === undefined) continue;
    const s = intersection(n.set, other.set);
    if (!isEmpty(s)) children.set(k, node(n.element, s));
  }
  return { members, children };
}

/** Set.Difference: removes exactly the paths of b; what lies below them stays. */
export function difference(a: FieldSet, b: FieldSet): FieldSet {
  if (isEmpty(b)) return a;
  const members = new Map([...a.members].filter(([k]) => !b.members.has(k)));
  const children = new Map<string, FieldSetNode>();
  for (const [k, n] of a.children) {
    const other = b.children.get(k);
    const s = other === undefined ? n.set : difference(n.set, other.set);
    if (!isEmpty(s)) children.set(k, node(n.element, s));
  }
  return { members, children };
}

/** Set.RecursiveDifference: removes the paths of b and everything below them. */
export function recursiveDifference(a: FieldSet, b: FieldSet): FieldSet {
  if (isEmpty(b)) return a;
  const members = new Map([...a.members].filter(([k]) => !b.members.has(k)));
  const children = new Map<string, FieldSetNode>();
  for (const [k, n] of a.children) {
    if (b.members.has(k)) continue;
    const other = b.children.get(k);
    const s = other === undefined ? n.set : recursiveDifference(n.set, other.set);
    if (!isEmpty(s)) children.set(k, node(n.element, s));
  }
  return { members, children };
}

/** Set.Leaves: only the members that have nothing below them. */
export function leaves(s: FieldSet): FieldSet {
  const members = new Map([...s.members].filter(([k]) => !s.children.has(k)));
  const children = new Map<string, FieldSetNode>();
  for (const [k, n] of s.children) {
    const l = leaves(n.set);
    if (!isEmpty(l)) children.set(k, node(n.element, l));
  }
  return { members, children };
}

export function equals(a: FieldSet, b: FieldSet): boolean {
  if (a.members.size !== b.members.size || a.children.size !== b.children.size) return false;
  for (const k of a.members.keys()) if (!b.members.has(k)) return false;
  for (const [k, n] of a.children) {
    const other = b.children.get(k);
    if (other === undefined || !equals(n.set, other.set)) return false;
  }
  return true;
}

/** Whether two sets name the same leaf fields, ignoring the item and map markers (`.`). */
export const leavesEqual = (a: FieldSet, b: FieldSet): boolean => equals(leaves(a), leaves(b));

const sortedEntries = <T>(m: ReadonlyMap<string, T>, element: (t: T) => PathElement): [string, T][] =>
  [...m].sort((x, y) => comparePathElements(element(x[1]), element(y[1])));

/** Set.Iterate order: at each level the members first, then the children, each sorted. */
export function paths(s: FieldSet): Path[] {
  const out: Path[] = [];
  const walk = (set: FieldSet, prefix: Path): void => {
    for (const [, pe] of sortedEntries(set.members, (x) => x)) out.push([...prefix, pe]);
    for (const [, n] of sortedEntries(set.children, (x) => x.element)) walk(n.set, [...prefix, n.element]);
  };
  walk(s, []);
  return out;
}

// ---------- FieldsV1 ----------

/** The FieldsV1 JSON of a set, keys in SMD's serialization order. */
export function toFieldsV1(s: FieldSet): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = new Map<string, PathElement>([...s.members]);
  for (const [k, n] of s.children) keys.set(k, n.element);
  for (const [k] of sortedEntries(keys, (x) => x)) {
    const child = s.children.get(k);
    const value: Record<string, unknown> = child === undefined ? {} : toFieldsV1(child.set);
    defineKey(out, k, s.members.has(k) && child !== undefined ? { '.': {}, ...value } : value);
  }
  return out;
}

/** Parses FieldsV1; unknown element prefixes are dropped, as SMD drops them. */
export function fromFieldsV1(v: unknown): Parsed<FieldSet> {
  interface Level {
    readonly members: Map<string, PathElement>;
    readonly children: Map<string, FieldSetNode>;
  }
  const read = (obj: unknown): Parsed<{ set: Level | undefined; isMember: boolean }> => {
    if (!isRecord(obj)) return { ok: false, error: 'FieldsV1 values must be JSON objects' };
    let set: Level | undefined;
    let isMember = false;
    for (const [key, child] of Object.entries(obj)) {
      if (key === '.') {
        isMember = true;
        continue;
      }
      const pe = parsePathElement(key);
      if (pe.ok === 'unknown') continue;
      if (!pe.ok) return pe;
      const sub = read(child);
      if (!sub.ok) return sub;
      set ??= { members: new Map(), children: new Map() };
      // Keys are re-serialized, so `k:{"b":1,"a":2}` and `k:{"a":2,"b":1}` are one element.
      const canonical = serializePathElement(pe.value);
      if (sub.value.isMember) set.members.set(canonical, pe.value);
      if (sub.value.set !== undefined && !isEmpty(sub.value.set)) {
        const existing = set.children.get(canonical);
        set.children.set(canonical, node(pe.value, existing === undefined ? sub.value.set : union(existing.set, sub.value.set)));
      }
    }
    return { ok: true, value: { set, isMember: isMember || set === undefined } };
  };
  if (!isRecord(v)) return { ok: false, error: 'FieldsV1 must be a JSON object' };
  const r = read(v);
  if (!r.ok) return r;
  return { ok: true, value: r.value.set ?? emptyFieldSet };
}

/** Sets a key even when it is `__proto__`, which a plain assignment would turn into a prototype change. */
export function defineKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

// ---------- schema navigation ----------

export type Shape = 'map' | 'list' | 'scalar';

/** SMD's `__untyped_deduced_`: maps granular, lists atomic, the rest scalar. */
export const deducedSchema: Schema = { 'x-kubernetes-preserve-unknown-fields': true };

export function shapeOf(schema: Schema, v: unknown): Shape {
  if (schema['x-kubernetes-int-or-string'] === true) return 'scalar';
  switch (schema.type) {
    case 'object':
      return 'map';
    case 'array':
      return 'list';
    case undefined:
      return isRecord(v) ? 'map' : Array.isArray(v) ? 'list' : 'scalar';
    default:
      return 'scalar';
  }
}

export const isAtomicMap = (schema: Schema): boolean => schema['x-kubernetes-map-type'] === 'atomic';

/** Untyped (deduced) lists are atomic, like lists without x-kubernetes-list-type. */
export const listType = (schema: Schema): 'atomic' | 'set' | 'map' =>
  schema.type === undefined ? 'atomic' : (schema['x-kubernetes-list-type'] ?? 'atomic');

export const isDeclaredField = (schema: Schema, key: string): boolean =>
  schema.properties !== undefined && Object.hasOwn(schema.properties, key);

export function childSchema(schema: Schema, key: string): Schema {
  if (schema.properties !== undefined && Object.hasOwn(schema.properties, key)) {
    const s = schema.properties[key];
    if (s !== undefined) return s;
  }
  return schema.additionalProperties ?? deducedSchema;
}

export const itemSchema = (schema: Schema): Schema => schema.items ?? deducedSchema;

/**
 * listItemToPathElement. SMD refuses a list-map item without its key fields and a set item that is
 * a map or list; as such objects never pass validation here, they fall back to their index.
 */
export function listItemElement(listSchema: Schema, item: unknown, index: number): PathElement {
  const keys = listSchema['x-kubernetes-list-map-keys'] ?? [];
  if (listType(listSchema) === 'map' && keys.length > 0) {
    if (!isRecord(item) || !keys.every((k) => Object.hasOwn(item, k))) return { kind: 'index', index };
    return { kind: 'key', fields: sortKeyFields(keys.map((k) => ({ name: k, value: item[k] }))) };
  }
  if (typeof item === 'object' && item !== null) return { kind: 'index', index };
  return { kind: 'value', value: item };
}

/** value.Equals: deep equality with maps unordered. */
export function valueEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isList(a)) return isList(b) && a.length === b.length && a.every((x, i) => valueEquals(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && valueEquals(a[k], b[k]));
  }
  return false;
}

// ---------- schema-aware walks ----------

/**
 * TypedValue.ToFieldSet: every scalar, every atomic list or map, every list item (so a list-map item
 * is `.` plus its fields) and every map key that is not a declared field. Declared fields holding a
 * non-atomic map are not members themselves, so `f:spec` only groups what is below it.
 */
export function fromObject(obj: unknown, schema: Schema): FieldSet {
  const b = newBuilder();
  const walk = (v: unknown, s: Schema, path: Path): void => {
    switch (shapeOf(s, v)) {
      case 'scalar':
        insertPath(b, path);
        return;
      case 'list': {
        if (listType(s) === 'atomic') {
          insertPath(b, path);
          return;
        }
        if (!isList(v)) return;
        const items = itemSchema(s);
        v.forEach((item, i) => {
          const p = [...path, listItemElement(s, item, i)];
          walk(item, items, p);
          insertPath(b, p);
        });
        return;
      }
      case 'map': {
        if (isAtomicMap(s)) {
          insertPath(b, path);
          return;
        }
        if (!isRecord(v)) return;
        for (const [k, child] of Object.entries(v)) {
          if (child === undefined) continue;
          const p = [...path, field(k)];
          walk(child, childSchema(s, k), p);
          if (!isDeclaredField(s, k)) insertPath(b, p);
        }
        return;
      }
    }
  };
  walk(obj, schema, []);
  return b;
}

export interface Comparison {
  readonly added: FieldSet;
  readonly modified: FieldSet;
  readonly removed: FieldSet;
}

const isEmptyContainer = (v: Record<string, unknown> | readonly unknown[] | undefined): boolean =>
  v === undefined || (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0);

/**
 * TypedValue.Compare: leaves (scalars, atomic values, empty containers) that were added, changed or
 * removed, plus every non-leaf map field or list item present on one side only.
 */
export function compareObjects(lhs: unknown, rhs: unknown, schema: Schema): Comparison {
  const added = newBuilder();
  const modified = newBuilder();
  const removed = newBuilder();

  const compare = (l: unknown, r: unknown, s: Schema, path: Path): void => {
    const state = { inLeaf: false };
    const doLeaf = (st: { inLeaf: boolean }): void => {
      if (st.inLeaf) return;
      st.inLeaf = true;
      if (l === undefined) insertPath(added, path);
      else if (r === undefined) insertPath(removed, path);
      else if (!valueEquals(l, r)) insertPath(modified, path);
    };
    const handle = (shape: Shape, st: { inLeaf: boolean }): void => {
      switch (shape) {
        case 'scalar':
          doLeaf(st);
          return;
        case 'map': {
          const lm = isRecord(l) ? l : undefined;
          const rm = isRecord(r) ? r : undefined;
          if (isAtomicMap(s) || (isEmptyContainer(lm) && isEmptyContainer(rm))) {
            doLeaf(st);
            return;
          }
          const keys = new Set([...Object.keys(lm ?? {}), ...Object.keys(rm ?? {})]);
          for (const k of keys) {
            const lv = own(lm, k);
            const rv = own(rm, k);
            if (lv === undefined && rv === undefined) continue;
            compare(lv, rv, childSchema(s, k), [...path, field(k)]);
          }
          return;
        }
        case 'list': {
          const ll = isList(l) ? l : undefined;
          const rl = isList(r) ? r : undefined;
          if (listType(s) === 'atomic' || (isEmptyContainer(ll) && isEmptyContainer(rl))) {
            doLeaf(st);
            return;
          }
          const items = itemSchema(s);
          const lItems = indexItems(s, ll);
          const rItems = indexItems(s, rl);
          const all = new Map([...lItems].map(([k, x]) => [k, x.element]));
          for (const [k, x] of rItems) if (!all.has(k)) all.set(k, x.element);
          for (const [k, pe] of all) compare(lItems.get(k)?.value, rItems.get(k)?.value, items, [...path, pe]);
          return;
        }
      }
    };
    const ls = l === undefined ? undefined : shapeOf(s, l);
    const rs = shapeOf(s, r);
    if (r === undefined && ls !== undefined) handle(ls, state);
    else if (ls === undefined || ls === rs) handle(rs, state);
    else {
      // Only untyped values change shape; both sides are walked, as SMD does.
      handle(ls, { inLeaf: false });
      handle(rs, state);
    }
    if (!state.inLeaf) {
      if (l === undefined) insertPath(added, path);
      else if (r === undefined) insertPath(removed, path);
    }
  };
  compare(lhs, rhs, schema, []);
  return { added, modified, removed };
}

export interface IndexedItem {
  readonly element: PathElement;
  readonly value: unknown;
}

/** List items by serialized path element, in list order; a repeated element keeps its first item. */
export function indexItems(listSchema: Schema, list: readonly unknown[] | undefined): Map<string, IndexedItem> {
  const out = new Map<string, IndexedItem>();
  (list ?? []).forEach((item, i) => {
    const pe = listItemElement(listSchema, item, i);
    const k = serializePathElement(pe);
    if (!out.has(k)) out.set(k, { element: pe, value: item });
  });
  return out;
}

/**
 * TypedValue.RemoveItems: drops every member of the set (with all below it) from the value. A map or
 * list left empty by the removal is dropped too (SMD leaves a null, which decoding treats as absent).
 */
export function removeItems(obj: unknown, toRemove: FieldSet, schema: Schema): unknown {
  const walk = (v: unknown, set: FieldSet, s: Schema): unknown => {
    switch (shapeOf(s, v)) {
      case 'scalar':
        return v;
      case 'list': {
        if (!isList(v) || v.length === 0 || listType(s) === 'atomic') return v;
        const items = itemSchema(s);
        const out: unknown[] = [];
        v.forEach((item, i) => {
          const pe = listItemElement(s, item, i);
          const key = serializePathElement(pe);
          if (set.members.has(key)) return;
          const sub = set.children.get(key);
          const kept = sub === undefined ? item : walk(item, sub.set, items);
          if (kept !== undefined) out.push(kept);
        });
        return out.length > 0 ? out : undefined;
      }
      case 'map': {
        if (!isRecord(v) || Object.keys(v).length === 0 || isAtomicMap(s)) return v;
        const out: Record<string, unknown> = {};
        for (const [k, child] of Object.entries(v)) {
          const key = serializePathElement(field(k));
          if (set.members.has(key)) continue;
          const sub = set.children.get(key);
          const kept = sub === undefined ? child : walk(child, sub.set, childSchema(s, k));
          if (kept !== undefined) defineKey(out, k, kept);
        }
        return Object.keys(out).length > 0 ? out : undefined;
      }
    }
  };
  if (isEmpty(toRemove)) return obj;
  return walk(obj, toRemove, schema) ?? {};
}

/**
 * Set.EnsureNamedFieldsAreMembers: declared (struct) fields with paths below them become members,
 * so removing such a set removes the whole field. Map keys and list items are left as they are.
 */
export function ensureNamedFieldsAreMembers(s: FieldSet, schema: Schema | undefined): FieldSet {
  const members = new Map(s.members);
  const children = new Map<string, FieldSetNode>();
  for (const [k, n] of s.children) {
    let sub: Schema | undefined;
    if (schema !== undefined && n.element.kind === 'field') {
      if (isDeclaredField(schema, n.element.name)) members.set(k, n.element);
      sub = childSchema(schema, n.element.name);
    } else if (schema !== undefined && n.element.kind === 'key') {
      sub = itemSchema(schema);
    }
    children.set(k, node(n.element, ensureNamedFieldsAreMembers(n.set, sub)));
  }
  return { members, children };
}
