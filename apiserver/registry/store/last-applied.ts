/**
 * lastAppliedManager of the kube-apiserver field manager chain: `kubectl apply --server-side` on an
 * object that client-side apply manages must not conflict with `kubectl-client-side-apply` over the
 * fields its last-applied-configuration annotation still describes; kubectl then migrates that
 * owner's entry into its own (a JSON patch of managedFields, after the apply succeeded).
 */
import type { KubeObject } from '../../api/meta.js';
import type { Schema } from '../../../openapi/builders.js';
import { decodeStructural } from '../../../openapi/structural.js';
import type { Conflict } from '../fieldmanager/apply.js';
import { compareObjects, difference, fromObject, pathToString, paths } from '../fieldmanager/fieldset.js';
import { withoutManagedFields } from '../fieldmanager/managedfields.js';

const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

/** Only kubectl's own server-side apply upgrades from client-side apply; other managers opt out. */
export const upgradesClientSideApply = (manager: string): boolean => manager === 'kubectl';

/**
 * The fields the annotation configures and the live object still holds with the same values, as
 * path strings (the form conflicts carry); undefined when the annotation is missing or unusable.
 */
export function lastAppliedFields(live: KubeObject, schema: Schema, apiVersion: string): Set<string> | undefined {
  const text = live.metadata.annotations?.[lastAppliedAnnotation];
  if (text === undefined || text === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed as { apiVersion?: unknown }).apiVersion !== apiVersion) return undefined;
  const decoded = decodeStructural(parsed, schema);
  if (decoded.typeErrors.length > 0) return undefined;
  const lastApplied = decoded.value;
  const compared = compareObjects(lastApplied, withoutManagedFields(live), schema);
  const unchanged = difference(difference(difference(fromObject(lastApplied, schema), compared.modified), compared.added), compared.removed);
  return new Set(paths(unchanged).map(pathToString));
}

/** The conflicts the annotation does not excuse. */
export const unexcusedConflicts = (conflicts: readonly Conflict[], excused: ReadonlySet<string>): Conflict[] =>
  conflicts.filter((c) => !excused.has(c.field));
