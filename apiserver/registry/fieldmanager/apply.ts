/**
 * Server-side apply (`application/apply-patch+yaml`), after structured-merge-diff's Updater.Apply
 * and the kube-apiserver field manager around it: merge the applied configuration into the live
 * object, prune what this manager applied before and now omits, detect conflicts with other
 * managers, and record the manager's Apply entry.
 */
import type { Schema } from '../../../openapi/builders.js';
import { rfc3339, type KubeObject, type ManagedFieldsEntry } from '../../api/meta.js';
import { badRequest, failure, type GroupResource, type Status } from '../../api/status.js';
import {
  childSchema,
  compareStrings,
  defineKey,
  difference,
  ensureNamedFieldsAreMembers,
  fromObject,
  indexItems,
  intersection,
  isAtomicMap,
  isEmpty,
  isList,
  isRecord,
  itemSchema,
  listType,
  own,
  pathToString,
  paths,
  recursiveDifference,
  removeItems,
  shapeOf,
  union,
  valueEquals,
  compareObjects,
  emptyFieldSet,
  type FieldSet,
} from './fieldset.js';
import {
  decodeManagedFields,
  encodeManagedFields,
  excludeFields,
  ignoredFieldSet,
  managerIdentifier,
  recordUpdate,
  strippedFields,
  transferOwnership,
  withoutManagedFields,
  type Managed,
  type ManagerSet,
  type Operation,
} from './managedfields.js';

/** A field the applier set to a new value while another manager owns it. */
export interface Conflict {
  readonly manager: string;
  readonly operation: Operation;
  readonly apiVersion: string;
  readonly subresource?: string;
  /** `.spec.x`, `.spec.checks[name="a"].spec` */
  readonly field: string;
}

export interface ApplyInput {
  /** The stored object; undefined when the apply creates it. */
  readonly live: KubeObject | undefined;
  /** The applied configuration (apiVersion, kind and metadata.name already checked). */
  readonly applied: KubeObject;
  readonly manager: string;
  readonly force: boolean;
  readonly schema: Schema;
  /** group/version of the request, e.g. connectors.alauda.io/v1alpha1. */
  readonly apiVersion: string;
  readonly now: Date;
  /** Top-level fields the endpoint resets (`status` on the main resource, `spec` on /status). */
  readonly ignoredTopLevelFields?: readonly string[];
  /** '' or undefined for the main resource. */
  readonly subresource?: string;
}

export type ApplyResult =
  | { readonly ok: true; readonly object: KubeObject; readonly managedFields: ManagedFieldsEntry[] }
  | { readonly ok: false; readonly conflicts: Conflict[] };

// ---------- merge ----------

const emptyish = (v: Record<string, unknown> | readonly unknown[] | undefined): boolean =>
  v === undefined || (isList(v) ? v.length === 0 : Object.keys(v).length === 0);

/**
 * TypedValue.Merge with the applied configuration on the right: scalars, atomic maps and atomic
 * lists are taken from it whole; maps merge per key; list-map and set items merge by key or value.
 */
export function mergeObjects(live: unknown, applied: unknown, schema: Schema): unknown {
  const merge = (l: unknown, r: unknown, s: Schema): unknown => {
    // Only untyped values can differ in shape; then the applied one wins, as in SMD.
    const shape = shapeOf(s, r === undefined ? l : r);
    switch (shape) {
      case 'scalar':
        return r === undefined ? l : r;
      case 'map': {
        const lm = isRecord(l) ? l : undefined;
        const rm = isRecord(r) ? r : undefined;
        if (isAtomicMap(s) || (emptyish(lm) && emptyish(rm))) return r === undefined ? l : r;
        const out: Record<string, unknown> = {};
        for (const [k, lv] of Object.entries(lm ?? {})) {
          const v = merge(lv, own(rm, k), childSchema(s, k));
          if (v !== undefined) defineKey(out, k, v);
        }
        for (const [k, rv] of Object.entries(rm ?? {})) {
          if (lm !== undefined && Object.hasOwn(lm, k)) continue;
          const v = merge(undefined, rv, childSchema(s, k));
          if (v !== undefined) defineKey(out, k, v);
        }
        return out;
      }
      case 'list': {
        const ll = isList(l) ? l : undefined;
        const rl = isList(r) ? r : undefined;
        if (listType(s) === 'atomic' || (emptyish(ll) && emptyish(rl))) return r === undefined ? l : r;
        return mergeListItems(ll, rl, s, merge);
      }
    }
  };
  return merge(live, applied, schema);
}

/**
 * SMD's list merge order: live items the configuration does not name keep their places; items it
 * does name follow the configuration's order, its new items placed where it puts them.
 */
function mergeListItems(
  ll: readonly unknown[] | undefined,
  rl: readonly unknown[] | undefined,
  s: Schema,
  merge: (l: unknown, r: unknown, s: Schema) => unknown,
): unknown[] {
  const items = itemSchema(s);
  const lItems = indexItems(s, ll);
  const rItems = indexItems(s, rl);
  const lOrder = [...lItems.keys()];
  const rOrder = [...rItems.keys()];
  const shared = rOrder.filter((k) => lItems.has(k));
  let sharedAt = 0;
  let nextShared = shared[sharedAt++];
  const out: unknown[] = [];
  const emit = (k: string): void => {
    const v = merge(lItems.get(k)?.value, rItems.get(k)?.value, items);
    if (v !== undefined) out.push(v);
  };
  let lI = 0;
  let rI = 0;
  while (lI < lOrder.length || rI < rOrder.length) {
    const lk = lOrder[lI];
    const rk = rOrder[rI];
    if (lk !== undefined && rk !== undefined) {
      if (lk === rk) {
        emit(lk);
        lI++;
        rI++;
        nextShared = shared[sharedAt++];
        continue;
      }
      if (rItems.has(lk) && nextShared !== undefined && nextShared !== lk) {
        lI++; // named by the configuration, placed when its turn there comes
        continue;
      }
    }
    if (lk !== undefined && !rItems.has(lk)) {
      emit(lk);
      lI++;
      continue;
    }
    if (rk !== undefined) {
      emit(rk);
      rI++;
      if (nextShared === rk) nextShared = shared[sharedAt++];
      continue;
    }
    lI++; // a live item already merged from the configuration
  }
  return out;
}

// ---------- prune ----------

/**
 * Updater.prune: removes what the applier applied last time, left out this time, and nobody else
 * (nor the new configuration) owns. A declared field goes whole when nothing below it is owned.
 */
function prune(merged: unknown, managed: Managed, lastSet: FieldSet | undefined, schema: Schema): unknown {
  if (lastSet === undefined || isEmpty(lastSet)) return merged;
  const ensure = (s: FieldSet): FieldSet => ensureNamedFieldsAreMembers(s, schema);
  const last = ensure(lastSet);
  const pruned = removeItems(merged, last, schema);
  // addBackOwnedItems
  const owned = ensure([...managed.values()].reduce((acc, m) => union(acc, m.set), emptyFieldSet));
  const mergedSet = ensure(fromObject(merged, schema));
  const withOwned = removeItems(merged, difference(mergedSet, union(ensure(fromObject(pruned, schema)), owned)), schema);
  // addBackDanglingItems: only what the applier owned before may go.
  const gone = difference(mergedSet, ensure(fromObject(withOwned, schema)));
  return removeItems(merged, intersection(gone, last), schema);
}

// ---------- last-applied annotation ----------

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Go's encoding/json output: sorted keys, HTML-safe escapes, a trailing newline from json.Encoder. */
function goJSON(v: unknown): string {
  const sortKeys = (x: unknown): unknown => {
    if (isList(x)) return x.map(sortKeys);
    if (!isRecord(x)) return x;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(x).sort(compareStrings)) defineKey(out, k, sortKeys(x[k]));
    return out;
  };
  const text = JSON.stringify(sortKeys(v)).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `${text}\n`;
}

/**
 * lastAppliedUpdater: when kubectl applies server-side to an object that client-side apply manages,
 * keep its annotation in step, so that a later client-side apply computes the right patch.
 */
function syncLastApplied(obj: KubeObject, applied: KubeObject, manager: string): KubeObject {
  const annotations = obj.metadata.annotations;
  if (manager !== 'kubectl' || annotations === undefined || !Object.hasOwn(annotations, LAST_APPLIED)) return obj;
  const appliedAnnotations = applied.metadata.annotations;
  let encoded: KubeObject = applied;
  if (appliedAnnotations !== undefined) {
    const { [LAST_APPLIED]: _self, ...rest } = appliedAnnotations;
    encoded = { ...applied, metadata: { ...applied.metadata, annotations: rest } };
  }
  return { ...obj, metadata: { ...obj.metadata, annotations: { ...annotations, [LAST_APPLIED]: goJSON(encoded) } } };
}

// ---------- apply ----------

const toConflicts = (conflicts: ReadonlyMap<string, FieldSet>, managed: Managed): Conflict[] =>
  [...conflicts]
    .sort(([a], [b]) => compareStrings(a, b))
    .flatMap(([id, set]) => {
      const m = managed.get(id);
      if (m === undefined) return [];
      return paths(set).map((p) => ({
        manager: m.manager,
        operation: m.operation,
        apiVersion: m.apiVersion,
        ...(m.subresource === '' ? {} : { subresource: m.subresource }),
        field: pathToString(p),
      }));
    });

/**
 * Applies a configuration for `manager`. The result object carries the new managedFields (none when
 * the list is empty); status and spec resets by the strategy still follow.
 */
export function applyPatch(input: ApplyInput): ApplyResult {
  const subresource = input.subresource ?? '';
  const ignored = ignoredFieldSet(input.ignoredTopLevelFields ?? []);
  const live: KubeObject = input.live === undefined ? { metadata: {} } : withoutManagedFields(input.live);
  const liveValue: unknown = input.live === undefined ? {} : live;
  const applied = withoutManagedFields(input.applied);
  const decoded = decodeManagedFields(input.live?.metadata.managedFields);
  let managed: Managed = decoded.ok ? decoded.value : new Map<string, ManagerSet>();

  // skipNonAppliedManager: without entries, what the object holds is first put down to
  // "before-first-apply", so the first apply conflicts on the values it changes.
  if (managed.size === 0) {
    managed = recordUpdate(managed, {}, liveValue, {
      manager: 'before-first-apply',
      subresource,
      apiVersion: input.apiVersion,
      now: input.now,
      schema: input.schema,
      ignored,
    });
  }

  const merged = mergeObjects(liveValue, applied, input.schema);
  const applier = { manager: input.manager, operation: 'Apply' as const, apiVersion: input.apiVersion, subresource };
  const id = managerIdentifier(applier);
  const previous = managed.get(id);
  const withApplier = new Map(managed);
  withApplier.set(id, {
    ...applier,
    time: previous?.time,
    set: recursiveDifference(fromObject(applied, input.schema), ignored),
  });
  const pruned = prune(merged, withApplier, previous?.set, input.schema);

  const compare = excludeFields(compareObjects(liveValue, pruned, input.schema), ignored);
  const owners = transferOwnership(withApplier, compare, id, input.force);
  if (!owners.ok) return { ok: false, conflicts: toConflicts(owners.conflicts, withApplier) };

  const result = owners.managed;
  const mine = result.get(id);
  if (mine !== undefined) {
    const set = difference(mine.set, strippedFields);
    // The time moves only when the object changes, as in managedFieldsUpdater.Apply.
    const time = valueEquals(liveValue, pruned) && mine.time !== undefined ? mine.time : rfc3339(input.now);
    if (isEmpty(set)) result.delete(id);
    else result.set(id, { ...mine, set, time });
  }
  const managedFields = encodeManagedFields(result);

  const base = isRecord(pruned) ? (pruned as KubeObject) : live;
  const metadata = isRecord(base.metadata) ? withoutManagedFields(base).metadata : {};
  let object: KubeObject = {
    ...base,
    metadata: managedFields.length > 0 ? { ...metadata, managedFields } : metadata,
  };
  object = syncLastApplied(object, applied, input.manager);
  return { ok: true, object, managedFields };
}

/** 400 for an applied configuration that sets managedFields, as kube-apiserver refuses it. */
export const appliedManagedFieldsError = (applied: KubeObject): Status | undefined =>
  applied.metadata.managedFields === undefined ? undefined : badRequest('metadata.managedFields must be nil');

// ---------- the 409 ----------

const printManager = (c: Conflict): string => {
  let s = JSON.stringify(c.manager);
  if (c.subresource !== undefined && c.subresource !== '') s += ` with subresource ${JSON.stringify(c.subresource)}`;
  return c.operation === 'Update' ? `${s} using ${c.apiVersion}` : s;
};

const conflictIdentifier = (c: Conflict): string =>
  managerIdentifier({ manager: c.manager, operation: c.operation, apiVersion: c.apiVersion, subresource: c.subresource ?? '' });

/**
 * NewConflictError: `Apply failed with 1 conflict: conflict with "m": .spec.x`, or for several
 * `Apply failed with N conflicts: conflicts with "m":\n- .spec.x\n- .spec.y`, grouped by manager.
 * Like kube-apiserver, the details name no object; only the causes.
 */
export function conflictStatus(conflicts: readonly Conflict[], _gr: GroupResource, _name: string): Status {
  const causes = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${printManager(c)}`,
    field: c.field,
  }));
  let message: string;
  const [only] = conflicts;
  if (conflicts.length === 1 && only !== undefined) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(only)}: ${only.field}`;
  } else {
    const groups = new Map<string, Conflict[]>();
    for (const c of conflicts) {
      const key = conflictIdentifier(c);
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    const lines = [...groups]
      .sort(([a], [b]) => compareStrings(a, b))
      .flatMap(([, cs]) => {
        const [first] = cs;
        return first === undefined ? [] : [`conflicts with ${printManager(first)}:`, ...cs.map((c) => `- ${c.field}`)];
      });
    message = `Apply failed with ${String(conflicts.length)} conflicts: ${lines.join('\n')}`;
  }
  return failure(409, 'Conflict', message, { causes });
}
