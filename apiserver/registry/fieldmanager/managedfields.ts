/**
 * metadata.managedFields for non-apply writes (create, update, patch), after the field manager chain
 * of k8s.io/apimachinery/pkg/util/managedfields/internal: decode (live or new), skip-non-applied,
 * cap-managers, managed-fields-updater ("current-operation"), strip-meta, structured merge Update.
 * The ownership bookkeeping shared with server-side apply lives here too.
 */
import type { Schema } from '../../../openapi/builders.js';
import { rfc3339, type KubeObject, type ManagedFieldsEntry } from '../../api/meta.js';
import {
  compareObjects,
  compareStrings,
  difference,
  emptyFieldSet,
  field,
  fromFieldsV1,
  fromPaths,
  intersection,
  isEmpty,
  isRecord,
  recursiveDifference,
  toFieldsV1,
  union,
  type Comparison,
  type FieldSet,
  type Parsed,
} from './fieldset.js';

export type Operation = 'Apply' | 'Update';

/** One managedFields entry, decoded. `subresource` is '' for the main resource. */
export interface ManagerSet {
  readonly manager: string;
  readonly operation: Operation;
  readonly apiVersion: string;
  readonly subresource: string;
  readonly time: string | undefined;
  readonly set: FieldSet;
}

/** Entries by manager identifier (BuildManagerIdentifier). */
export type Managed = ReadonlyMap<string, ManagerSet>;

/**
 * BuildManagerIdentifier: the entry as JSON without time and fields, and without apiVersion for
 * appliers, so an applier keeps one entry across versions while updaters get one per version.
 */
export function managerIdentifier(m: Pick<ManagerSet, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  return JSON.stringify({
    ...(m.manager === '' ? {} : { manager: m.manager }),
    operation: m.operation,
    ...(m.operation === 'Update' && m.apiVersion !== '' ? { apiVersion: m.apiVersion } : {}),
    ...(m.subresource === '' ? {} : { subresource: m.subresource }),
  });
}

/**
 * Never owned by anyone (stripMetaManager), plus deletionTimestamp and deletionGracePeriodSeconds,
 * which only the server sets here. Removed as exact paths: `metadata` goes, `metadata.labels` stays.
 */
export const strippedFields: FieldSet = fromPaths([
  [field('apiVersion')],
  [field('kind')],
  [field('metadata')],
  ...[
    'name',
    'namespace',
    'creationTimestamp',
    'selfLink',
    'uid',
    'clusterName',
    'generation',
    'managedFields',
    'resourceVersion',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
  ].map((f) => [field('metadata'), field(f)]),
]);

/** The reset fields of an endpoint (`status` on the main resource, `spec` on /status), as a set. */
export const ignoredFieldSet = (topLevelFields: readonly string[]): FieldSet =>
  fromPaths(topLevelFields.map((f) => [field(f)]));

/** Comparison.ExcludeFields: drops the ignored fields and everything below them. */
export const excludeFields = (c: Comparison, ignored: FieldSet): Comparison => ({
  added: recursiveDifference(c.added, ignored),
  modified: recursiveDifference(c.modified, ignored),
  removed: recursiveDifference(c.removed, ignored),
});

/** DecodeManagedFields, with its checks; a later entry with the same identifier wins. */
export function decodeManagedFields(entries: readonly ManagedFieldsEntry[] | undefined): Parsed<Managed> {
  const out = new Map<string, ManagerSet>();
  for (const [i, e] of (entries ?? []).entries()) {
    if (e.operation !== 'Apply' && e.operation !== 'Update') {
      return { ok: false, error: `operation must be \`Apply\` or \`Update\` in managed fields entry ${String(i)}` };
    }
    if (e.apiVersion === undefined || e.apiVersion === '') {
      return { ok: false, error: `apiVersion must not be empty in managed fields entry ${String(i)}` };
    }
    if ((e.fieldsType as string | undefined) !== 'FieldsV1') {
      return {
        ok: false,
        error:
          e.fieldsType === undefined
            ? `missing fieldsType in managed fields entry ${String(i)}`
            : `invalid fieldsType "${String(e.fieldsType)}" in managed fields entry ${String(i)}`,
      };
    }
    const set = e.fieldsV1 === undefined ? { ok: true as const, value: emptyFieldSet } : fromFieldsV1(e.fieldsV1);
    if (!set.ok) return { ok: false, error: `error decoding versioned set from managed fields entry ${String(i)}: ${set.error}` };
    const m: ManagerSet = {
      manager: e.manager ?? '',
      operation: e.operation,
      apiVersion: e.apiVersion,
      subresource: e.subresource ?? '',
      time: e.time,
      set: set.value,
    };
    out.set(managerIdentifier(m), m);
  }
  return { ok: true, value: out };
}

const unixSeconds = (t: string | undefined): number => {
  const ms = t === undefined ? Number.NaN : Date.parse(t);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
};

/** encodeManagedFields: Apply entries first, then by time, manager, apiVersion and subresource. */
export function encodeManagedFields(managed: Managed): ManagedFieldsEntry[] {
  const order = (p: ManagerSet, q: ManagerSet): number =>
    compareStrings(p.operation, q.operation) ||
    unixSeconds(p.time) - unixSeconds(q.time) ||
    compareStrings(p.manager, q.manager) ||
    compareStrings(p.apiVersion, q.apiVersion) ||
    compareStrings(p.subresource, q.subresource);
  return [...managed.values()].sort(order).map((m) => ({
    ...(m.manager === '' ? {} : { manager: m.manager }),
    operation: m.operation,
    apiVersion: m.apiVersion,
    ...(m.time === undefined ? {} : { time: m.time }),
    fieldsType: 'FieldsV1' as const,
    fieldsV1: toFieldsV1(m.set),
    ...(m.subresource === '' ? {} : { subresource: m.subresource }),
  }));
}

export type Ownership =
  | { readonly ok: true; readonly managed: Map<string, ManagerSet> }
  | { readonly ok: false; readonly conflicts: ReadonlyMap<string, FieldSet> };

/**
 * Updater.update: every manager but `workflow` loses what this write removed; what it added or
 * changed under another manager is a conflict, taken from that manager when forced. Empty entries go.
 */
export function transferOwnership(managed: Managed, compare: Comparison, workflow: string, force: boolean): Ownership {
  const changed = union(compare.modified, compare.added);
  const conflicts = new Map<string, FieldSet>();
  for (const [id, m] of managed) {
    if (id === workflow) continue;
    const c = intersection(m.set, changed);
    if (!isEmpty(c)) conflicts.set(id, c);
  }
  if (!force && conflicts.size > 0) return { ok: false, conflicts };
  const out = new Map<string, ManagerSet>();
  for (const [id, m] of managed) {
    let set = m.set;
    if (id !== workflow) set = difference(difference(set, conflicts.get(id) ?? emptyFieldSet), compare.removed);
    if (!isEmpty(set)) out.set(id, set === m.set ? m : { ...m, set });
  }
  return { ok: true, managed: out };
}

export const withoutManagedFields = (obj: KubeObject): KubeObject => {
  if (!isRecord(obj.metadata) || !Object.hasOwn(obj.metadata, 'managedFields')) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata };
};

// Never a real identifier (those are JSON objects), so the writer's own earlier entry is treated as
// another manager's: it loses what this write removes, and then gains what the write changed.
const currentOperation = 'current-operation';

const DEFAULT_MAX_UPDATE_MANAGERS = 10;
const ANCIENT_CHANGES = 'ancient-changes';

/** capManagersManager: beyond 10 updaters, the oldest are merged into `ancient-changes` per version. */
export function capUpdateManagers(managed: Managed, max = DEFAULT_MAX_UPDATE_MANAGERS): Map<string, ManagerSet> {
  const out = new Map(managed);
  const updaters = [...out].filter(([, m]) => m.operation === 'Update');
  if (updaters.length <= max) return out;
  updaters.sort(([ia, a], [ib, b]) => unixSeconds(a.time) - unixSeconds(b.time) || compareStrings(ia, ib));
  const firstOfVersion = new Map<string, string>();
  let length = updaters.length;
  for (const [id, m] of updaters) {
    if (length <= max) break;
    const bucket = managerIdentifier({ manager: ANCIENT_CHANGES, operation: 'Update', apiVersion: m.apiVersion, subresource: '' });
    const first = firstOfVersion.get(m.apiVersion);
    if (first === undefined) {
      firstOfVersion.set(m.apiVersion, id);
      continue;
    }
    let into = out.get(bucket);
    if (into === undefined) {
      const seed = out.get(first);
      out.delete(first);
      into = { manager: ANCIENT_CHANGES, operation: 'Update', apiVersion: m.apiVersion, subresource: '', time: seed?.time, set: seed?.set ?? emptyFieldSet };
    }
    out.set(bucket, { ...into, set: union(m.set, into.set), time: m.time });
    out.delete(id);
    length--;
  }
  return out;
}

export interface RecordUpdate {
  readonly manager: string;
  readonly subresource: string;
  readonly apiVersion: string;
  readonly now: Date;
  readonly schema: Schema;
  readonly ignored: FieldSet;
}

/**
 * The Update path below decoding: the fields this write added or changed go to the writer's Update
 * entry (time = now); every other entry loses them and whatever the write removed.
 */
export function recordUpdate(managed: Managed, live: unknown, updated: unknown, w: RecordUpdate): Map<string, ManagerSet> {
  const compare = excludeFields(compareObjects(live, updated, w.schema), w.ignored);
  const owners = transferOwnership(managed, compare, currentOperation, true);
  const out = owners.ok ? owners.managed : new Map(managed);
  const mine = difference(
    recursiveDifference(difference(union(compare.modified, compare.added), compare.removed), w.ignored),
    strippedFields,
  );
  if (!isEmpty(mine)) {
    const entry = { manager: w.manager, operation: 'Update' as const, apiVersion: w.apiVersion, subresource: w.subresource };
    const id = managerIdentifier(entry);
    const previous = out.get(id);
    out.set(id, { ...entry, time: rfc3339(w.now), set: previous === undefined ? mine : union(mine, previous.set) });
  }
  return capUpdateManagers(out);
}

const isResetManagedFields = (mf: readonly ManagedFieldsEntry[] | undefined): boolean =>
  mf !== undefined &&
  (mf.length === 0 ||
    (mf.length === 1 && Object.values(mf[0] ?? {}).every((v: unknown) => v === undefined || v === '')));

/**
 * decodeLiveOrNew: a main-resource write may set managedFields itself (`[]` or `[{}]` clears them);
 * otherwise, and always on a subresource, the live entries count. Undecodable entries count as none.
 */
function decodeLiveOrNew(live: KubeObject | undefined, updated: KubeObject, isSubresource: boolean): Managed {
  const fromLive = (): Managed => {
    const r = decodeManagedFields(live?.metadata.managedFields);
    return r.ok ? r.value : new Map();
  };
  if (isSubresource) return fromLive();
  const mf = updated.metadata.managedFields;
  if (isResetManagedFields(mf)) return new Map();
  const r = decodeManagedFields(mf);
  return !r.ok || r.value.size === 0 ? fromLive() : r.value;
}

export interface UpdateManagedFieldsInput {
  /** The stored object; undefined on create. */
  readonly live: KubeObject | undefined;
  /** The object about to be stored (a PUT body, or the patched object). */
  readonly updated: KubeObject;
  readonly manager: string;
  /** '' or undefined for the main resource, 'status' for /status. */
  readonly subresource?: string;
  /** group/version of the request, e.g. connectors.alauda.io/v1alpha1. */
  readonly apiVersion: string;
  readonly now: Date;
  readonly schema: Schema;
  /** Top-level fields the endpoint resets (`status` on the main resource, `spec` on /status). */
  readonly ignoredTopLevelFields?: readonly string[];
}

/**
 * The managedFields to store with `updated` after a create, update or non-apply patch. An empty
 * result means the object carries none: like kube-apiserver, an update of an object whose entries
 * are gone (or were cleared with `managedFields: [{}]`) starts no tracking.
 */
export function updateManagedFields(input: UpdateManagedFieldsInput): ManagedFieldsEntry[] {
  const subresource = input.subresource ?? '';
  const managed = decodeLiveOrNew(input.live, input.updated, subresource !== '');
  // skipNonAppliedManager: only a create (no uid yet) starts tracking.
  if (managed.size === 0 && input.live !== undefined && (input.live.metadata.uid ?? '') !== '') return [];
  const live = input.live === undefined ? {} : withoutManagedFields(input.live);
  const result = recordUpdate(managed, live, withoutManagedFields(input.updated), {
    manager: input.manager,
    subresource,
    apiVersion: input.apiVersion,
    now: input.now,
    schema: input.schema,
    ignored: ignoredFieldSet(input.ignoredTopLevelFields ?? []),
  });
  return encodeManagedFields(result);
}
