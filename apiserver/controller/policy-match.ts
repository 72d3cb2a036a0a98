/**
 * Which AccessPolicies an AccessRequest matches (domain spec §5.2 step 4) and the frozen snapshots
 * taken of them. Matching happens only while `status.policies` is empty; once a snapshot exists the
 * list and every `policySpec` in it stay as they are (AP-S4), so policy edits never reach requests
 * in flight.
 */
import type { AccessPolicy, AccessPolicySpec, PolicySnapshot } from '../apis/connectors/v1alpha1/types.js';
import { compareStrings } from './conditions.js';
import type { Connector } from './objects.js';
import { selectorFromTerms, selectorMatches } from './selector.js';

/**
 * `spec.connector` selects by `names` or by labels (never both, AP-V2). Omitted, `{}` or all-empty
 * selects every Connector of the namespace; an invalid selector selects nothing.
 */
export function selectsConnector(sel: AccessPolicySpec['connector'], connector: Connector): boolean {
  const name = connector.metadata.name ?? '';
  if (sel === undefined) return true;
  const names = sel.names ?? [];
  if (names.length > 0) return names.includes(name);
  const parsed = selectorFromTerms(sel);
  return parsed.ok && selectorMatches(parsed.value, connector.metadata.labels);
}

/**
 * The candidates of §5.2 step 4, sorted by name: policies of `namespace` that are not being
 * deleted, carry `checkGrantedPermission` and select the Connector.
 */
export function matchingPolicies(
  namespace: string,
  connector: Connector,
  policies: readonly AccessPolicy[],
): AccessPolicy[] {
  return policies
    .filter(
      (p) =>
        p.metadata.namespace === namespace &&
        p.metadata.deletionTimestamp === undefined &&
        p.spec.checkGrantedPermission != null &&
        selectsConnector(p.spec.connector, connector),
    )
    .sort((a, b) => compareStrings(a.metadata.name ?? '', b.metadata.name ?? ''));
}

/** Name + deep copy of `spec`; later changes to the policy object cannot reach the snapshot. */
export function snapshotPolicies(policies: readonly AccessPolicy[]): PolicySnapshot[] {
  return policies
    .map((p) => ({ name: p.metadata.name ?? '', policySpec: structuredClone(p.spec) }))
    .sort((a, b) => compareStrings(a.name, b.name));
}
