/**
 * Condition types, reasons and the one way to change a condition list (domain spec §3.1, §5.1).
 * `lastTransitionTime` moves only when `status` moves, so a reason change inside one status (Synced →
 * PermissionCleanUp, both True) keeps the time, as Kubernetes' meta.SetStatusCondition does.
 */
import type { Condition } from '../apis/connectors/v1alpha1/types.js';

export type ConditionStatus = Condition['status'];

export type ContextReason = 'Active' | 'NotFound' | 'Completed' | 'Terminating' | 'SubjectMismatch';
export type ConnectorReason = 'Resolved' | 'NotFound';
export type PolicyMatchedReason = 'Matched' | 'NoMatch';
export type CheckReason = 'Passed' | 'Rejected' | 'ApproverMismatch' | 'Failed' | 'Pending';
export type PermissionReason = 'Pending' | 'Synced' | 'NoPermissionRequired' | 'PermissionCleanUp' | 'SyncFailed';
export type ReadyReason =
  | ContextReason
  | ConnectorReason
  | PolicyMatchedReason
  | CheckReason
  | PermissionReason
  | 'FeatureDisabled'
  | 'Expired';

/** Each condition type with the reasons it may carry. */
export interface AccessRequestReasons {
  ContextObjectValid: ContextReason;
  ConnectorResolved: ConnectorReason;
  AccessPolicyMatched: PolicyMatchedReason;
  AccessCheckReady: CheckReason;
  AccessPermissionSync: PermissionReason;
  Ready: ReadyReason;
}

export type AccessRequestConditionType = keyof AccessRequestReasons;

/** The five conditions Ready is derived from, in the order §5.5 consults them. */
export const dependentTypes = [
  'ContextObjectValid',
  'ConnectorResolved',
  'AccessPolicyMatched',
  'AccessCheckReady',
  'AccessPermissionSync',
] as const satisfies readonly AccessRequestConditionType[];

export const allConditionTypes = [...dependentTypes, 'Ready'] as const;

/** A condition as a decision produces it, before times and trimming are applied. */
export interface DesiredCondition<T extends string = string, R extends string = string> {
  readonly type: T;
  readonly status: ConditionStatus;
  readonly reason: R;
  readonly message?: string;
}

export type DesiredRequestCondition = {
  [T in AccessRequestConditionType]: DesiredCondition<T, AccessRequestReasons[T]>;
}[AccessRequestConditionType];

export const maxMessageLength = 1024;

export interface ConditionOptions {
  /** AccessPolicy conditions may keep a message on True (§5.8); AccessRequest ones may not. */
  readonly messageOnTrue?: boolean;
  /** metav1.Condition (`permissionSync`) always carries `message`, possibly `""`. */
  readonly alwaysMessage?: boolean;
  /** metav1.Condition's `observedGeneration`. */
  readonly observedGeneration?: number;
}

/** The condition `want` as it is stored after `prev`, at time `now` (RFC 3339). */
export function nextCondition(
  prev: Readonly<Condition> | undefined,
  want: DesiredCondition,
  now: string,
  opts: ConditionOptions = {},
): Condition {
  const raw = want.status === 'True' && opts.messageOnTrue !== true ? '' : (want.message ?? '');
  const message = raw.slice(0, maxMessageLength);
  const c: Condition = { type: want.type, status: want.status, reason: want.reason };
  if (message !== '' || opts.alwaysMessage === true) c.message = message;
  c.lastTransitionTime = prev?.status === want.status && prev.lastTransitionTime !== undefined ? prev.lastTransitionTime : now;
  if (opts.observedGeneration !== undefined) c.observedGeneration = opts.observedGeneration;
  return c;
}

export const findCondition = (
  list: readonly Condition[] | undefined,
  type: string,
): Condition | undefined => list?.find((c) => c.type === type);

/** Replaces (or adds) the condition of `want.type`; the list stays sorted by `type` (§3.1). */
export function setCondition(
  list: readonly Condition[] | undefined,
  want: DesiredCondition,
  now: string,
  opts: ConditionOptions = {},
): Condition[] {
  const prev = findCondition(list, want.type);
  const rest = (list ?? []).filter((c) => c.type !== want.type);
  return [...rest, nextCondition(prev, want, now, opts)].sort((a, b) => compareStrings(a.type, b.type));
}

export const isStatus = (c: Readonly<Condition> | undefined, status: ConditionStatus, reason?: string): boolean =>
  c !== undefined && c.status === status && (reason === undefined || c.reason === reason);

/** Code-unit order, as Go sorts strings; never locale-dependent. */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
