/**
 * Per-policy `permissionSync` and the AccessPermissionSync aggregate (domain spec §5.4), for the
 * three situations a pass can be in: granting, revoking for good (context ended, Connector gone,
 * flags off, grant expired), and waiting for checks that do not pass (now or any more).
 */
import type { AccessRequest, Condition, PolicySnapshot } from '../apis/connectors/v1alpha1/types.js';
import type { CheckReason, DesiredCondition, PermissionReason } from './conditions.js';
import { findCondition } from './conditions.js';
import type { RBACObject } from './rbac.js';
import { grantName } from './rbac.js';

export type PermissionCondition = DesiredCondition<'PermissionSynced', PermissionReason>;
export type AggregateCondition = DesiredCondition<'AccessPermissionSync', PermissionReason>;

export const waitingForChecks = 'waiting for checks to pass';
/**
 * The message of a policy whose checks went back to Pending after a grant. It doubles as the record
 * that checks have passed once, which §5.3 needs (no entries are added after that) and which the
 * permissionSync reason alone no longer shows after the revoke.
 */
export const waitingForChecksAgain = 'waiting for checks to pass again';

const cond = (status: Condition['status'], reason: PermissionReason, message = ''): PermissionCondition => ({
  type: 'PermissionSynced',
  status,
  reason,
  message,
});

export const synced = (): PermissionCondition => cond('True', 'Synced');
export const noPermissionRequired = (): PermissionCondition => cond('True', 'NoPermissionRequired');
export const syncFailed = (error: string): PermissionCondition => cond('False', 'SyncFailed', error);
export const cleanedUp = (): PermissionCondition => cond('True', 'PermissionCleanUp');
export const pending = (message: string): PermissionCondition => cond('Unknown', 'Pending', message);

/** Whether AccessCheckReady has ever been True for this request, read from its status. */
export function hasPassedBefore(req: AccessRequest): boolean {
  const s = req.status ?? {};
  if (findCondition(s.conditions, 'AccessCheckReady')?.status === 'True') return true;
  if (s.grantExpiresAt !== undefined) return true;
  return (s.policies ?? []).some((p) => {
    const c = p.permissionSync;
    return c !== undefined && (c.reason !== 'Pending' || c.message === waitingForChecksAgain);
  });
}

/** A grant was made for this policy at some point, or its objects are still there. */
export function hadGrant(req: AccessRequest, snap: PolicySnapshot, owned: readonly RBACObject[]): boolean {
  const c = snap.permissionSync;
  if (c?.reason === 'Synced' || c?.reason === 'SyncFailed' || c?.reason === 'PermissionCleanUp') return true;
  if (c?.reason === 'Pending' && c.message === waitingForChecksAgain) return true;
  const name = grantName(req.metadata.name ?? '', snap.name);
  return owned.some((o) => o.metadata.name === name);
}

export interface PolicyPermission {
  readonly policy: string;
  readonly condition: PermissionCondition;
}

/**
 * Revoke for good: Synced/SyncFailed (or anything that had a grant) become PermissionCleanUp, the
 * rest is left as it is. `all` (grant expired, §11.2) turns every policy into PermissionCleanUp.
 */
export function revokedPermissions(
  req: AccessRequest,
  policies: readonly PolicySnapshot[],
  owned: readonly RBACObject[],
  all = false,
): (PolicyPermission | undefined)[] {
  return policies.map((p) =>
    all || hadGrant(req, p, owned) ? { policy: p.name, condition: cleanedUp() } : undefined,
  );
}

/** Checks are not True: nothing may be granted; ‡ of §5.7 for policies that had a grant. */
export function waitingPermissions(
  req: AccessRequest,
  policies: readonly PolicySnapshot[],
  owned: readonly RBACObject[],
  checks: CheckReason,
  passedBefore: boolean,
): PolicyPermission[] {
  return policies.map((p) => ({
    policy: p.name,
    condition:
      checks !== 'Pending' && hadGrant(req, p, owned)
        ? cleanedUp()
        : pending(passedBefore ? waitingForChecksAgain : waitingForChecks),
  }));
}

/** §5.4 Aggregate, first hit wins. */
export function aggregatePermissions(
  perms: readonly PolicyPermission[],
  pendingMessage = waitingForChecks,
): AggregateCondition {
  const as = (c: PermissionCondition, message = ''): AggregateCondition => ({
    type: 'AccessPermissionSync',
    status: c.status,
    reason: c.reason,
    message,
  });
  const failed = perms.find((p) => p.condition.reason === 'SyncFailed');
  if (failed !== undefined) return as(failed.condition, `${failed.policy}: ${failed.condition.message ?? ''}`);
  const reasons = perms.map((p) => p.condition.reason);
  if (reasons.length > 0 && reasons.every((r) => r === 'NoPermissionRequired')) return as(noPermissionRequired());
  if (reasons.length > 0 && reasons.every((r) => r === 'Synced' || r === 'NoPermissionRequired')) return as(synced());
  if (reasons.includes('PermissionCleanUp')) return as(cleanedUp());
  return as(pending(pendingMessage), pendingMessage);
}
