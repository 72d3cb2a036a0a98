/**
 * The pure decisions of the request-access helper (domain spec §7): what it asks, what it creates,
 * when an existing AccessRequest may be reused, and which outcome an observed AccessRequest means.
 * No I/O here; `helper.ts` drives these against the main API server.
 */
import type { AccessRequest, Condition } from '../apis/connectors/v1alpha1/types.js';
import { groupVersion } from '../apis/connectors/v1alpha1/types.js';
import { accessRequestName, labelValue } from '../controller/names.js';

export interface RequestAccessInput {
  readonly connector: { readonly namespace: string; readonly name: string };
  /** `serviceAccountName` "" means `default`, as in a Pod spec. */
  readonly pod: { readonly namespace: string; readonly name: string; readonly uid: string; readonly serviceAccountName: string };
  /** Budget for the whole call up to a verdict; default 30 000. */
  readonly timeoutMs?: number;
  /** Budget for the RBAC to take effect once `Ready=True` is seen (its own budget); default 10 000. */
  readonly propagationTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

export type RequestAccessOutcome = 'granted' | 'pending' | 'rejected' | 'failed';

export interface RequestAccessResult {
  readonly result: RequestAccessOutcome;
  readonly reason: string;
  readonly message: string;
  /** The AccessRequest last seen; null when none was needed (or none was created before the call ended). */
  readonly accessRequest: AccessRequest | null;
}

export const defaultTimeoutMs = 30_000;
export const defaultPropagationTimeoutMs = 10_000;
/** How often the SARs are re-run while waiting for the RBAC to take effect. */
export const propagationPollMs = 500;
/** Retries of every call to the main API server: after 0.2 s, 0.4 s, 0.8 s. */
export const retryDelaysMs: readonly number[] = [200, 400, 800];

export const connectorsGroup = 'connectors.alauda.io';
export const contextLabels = {
  kind: 'connectors.cpaas.io/contextObjectKind',
  name: 'connectors.cpaas.io/contextObjectName',
  namespace: 'connectors.cpaas.io/contextObjectNamespace',
  connector: 'connectors.cpaas.io/connector',
} as const;

export const serviceAccountOf = (pod: RequestAccessInput['pod']): string => (pod.serviceAccountName === '' ? 'default' : pod.serviceAccountName);

// --- SubjectAccessReviews (§1.4, §7 step 1) ---

export interface ProxySubjectAccessReviewSpec {
  readonly user: string;
  readonly groups: readonly string[];
  readonly resourceAttributes: {
    readonly group: string;
    readonly resource: string;
    readonly verb: string;
    readonly name: string;
    readonly namespace: string;
    readonly subresource: string;
  };
}

/**
 * The two SARs of step 1, in order: any Pod (`proxy`), then this Pod (`proxy/v1/pod/<ns>/<name>`).
 * RBAC matches `resource/subresource` literally, so neither covers the other; either suffices.
 */
export function proxyReviews(input: Pick<RequestAccessInput, 'connector' | 'pod'>): ProxySubjectAccessReviewSpec[] {
  const ns = input.pod.namespace;
  const sa = serviceAccountOf(input.pod);
  const review = (subresource: string): ProxySubjectAccessReviewSpec => ({
    user: `system:serviceaccount:${ns}:${sa}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
    resourceAttributes: {
      group: connectorsGroup,
      resource: 'connectors',
      verb: '*',
      name: input.connector.name,
      namespace: input.connector.namespace,
      subresource,
    },
  });
  return [review('proxy'), review(`proxy/v1/pod/${ns}/${input.pod.name}`)];
}

// --- The AccessRequest (§3.1, §6.1, §7 step 2) ---

export function requestName(input: Pick<RequestAccessInput, 'connector' | 'pod'>): string {
  return accessRequestName({
    subjectKind: 'ServiceAccount',
    subjectNamespace: input.pod.namespace,
    subjectName: serviceAccountOf(input.pod),
    connector: input.connector.name,
    podNamespace: input.pod.namespace,
    podName: input.pod.name,
    podUid: input.pod.uid,
  });
}

/** The body the helper POSTs, in the Connector's namespace. */
export function accessRequestBody(input: Pick<RequestAccessInput, 'connector' | 'pod'>): AccessRequest {
  const { connector, pod } = input;
  return {
    apiVersion: groupVersion,
    kind: 'AccessRequest',
    metadata: {
      name: requestName(input),
      namespace: connector.namespace,
      labels: {
        [contextLabels.kind]: 'Pod',
        [contextLabels.name]: labelValue(pod.name),
        [contextLabels.namespace]: labelValue(pod.namespace),
        [contextLabels.connector]: labelValue(connector.name),
      },
    },
    spec: {
      connectorRef: { name: connector.name },
      context: {
        objectRef: { apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name, ...(pod.uid === '' ? {} : { uid: pod.uid }) },
      },
      subject: { kind: 'ServiceAccount', name: serviceAccountOf(pod), namespace: pod.namespace, apiGroup: '' },
    },
  };
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * Why a stored AccessRequest of the expected name cannot be reused (its subject, connector or
 * objectRef namespace/name/uid differ from what the helper would create), or undefined when it can.
 */
export function reuseConflict(stored: AccessRequest, wanted: AccessRequest): string | undefined {
  const diffs: string[] = [];
  const s = (stored.spec ?? {}) as Partial<AccessRequest['spec']>;
  const w = wanted.spec;
  const ss = (s.subject ?? {}) as Partial<AccessRequest['spec']['subject']>;
  if (str(ss.kind) !== w.subject.kind || str(ss.name) !== w.subject.name || str(ss.namespace) !== str(w.subject.namespace) || str(ss.apiGroup) !== str(w.subject.apiGroup)) {
    diffs.push(`subject ${str(ss.kind)} ${str(ss.namespace)}/${str(ss.name)}, not ${w.subject.kind} ${str(w.subject.namespace)}/${w.subject.name}`);
  }
  if (str(s.connectorRef?.name) !== w.connectorRef.name) diffs.push(`connector ${str(s.connectorRef?.name)}, not ${w.connectorRef.name}`);
  const so = s.context?.objectRef ?? {};
  const wo = w.context.objectRef;
  if (str(so.namespace) !== str(wo.namespace) || str(so.name) !== str(wo.name) || str(so.uid) !== str(wo.uid)) {
    diffs.push(`Pod ${str(so.namespace)}/${str(so.name)} (uid ${str(so.uid) || '<none>'}), not ${str(wo.namespace)}/${str(wo.name)} (uid ${str(wo.uid) || '<none>'})`);
  }
  if (diffs.length === 0) return undefined;
  return `AccessRequest ${str(stored.metadata.namespace)}/${str(stored.metadata.name)} exists for another request: ${diffs.join('; ')}`;
}

// --- Reading the verdict (§7 step 3) ---

export const findCondition = (ar: AccessRequest, type: string): Condition | undefined => {
  const conds = ar.status?.conditions;
  return Array.isArray(conds) ? conds.find((c) => c.type === type) : undefined;
};

export type Observation =
  /** Ready=True: the helper now waits for the RBAC to take effect. */
  | { readonly kind: 'ready' }
  /** A verdict that ends the wait. */
  | { readonly kind: 'final'; readonly result: 'rejected' | 'failed'; readonly reason: string; readonly message: string }
  /** Nothing decided yet: keep watching. */
  | { readonly kind: 'waiting' };

/** The first row of §7's table that matches the observed object wins. */
export function observe(ar: AccessRequest): Observation {
  const ready = findCondition(ar, 'Ready');
  if (ready?.status === 'True') return { kind: 'ready' };
  const check = findCondition(ar, 'AccessCheckReady');
  if (check?.status === 'False' && (check.reason === 'Rejected' || check.reason === 'ApproverMismatch')) {
    return { kind: 'final', result: 'rejected', reason: check.reason, message: check.message ?? '' };
  }
  if (ready?.status === 'False' && ready.reason === 'Expired') return { kind: 'final', result: 'rejected', reason: 'Expired', message: ready.message ?? '' };
  const context = findCondition(ar, 'ContextObjectValid');
  if (context?.status === 'False') return { kind: 'final', result: 'failed', reason: context.reason ?? '', message: context.message ?? '' };
  if (ready?.status === 'Unknown' && ready.reason === 'FeatureDisabled') return { kind: 'final', result: 'failed', reason: 'FeatureDisabled', message: ready.message ?? '' };
  return { kind: 'waiting' };
}

/** `30`, `0.5`: seconds as the timeout message writes them. */
export const seconds = (ms: number): string => String(ms / 1000);

/** The `pending` result after `timeoutMs`, from the Ready condition last seen (if any). */
export function timedOut(namespace: string, name: string, timeoutMs: number, last: AccessRequest | null): RequestAccessResult {
  const ready = last === null ? undefined : findCondition(last, 'Ready');
  const reason = ready?.reason !== undefined && ready.reason !== '' ? ready.reason : 'Pending';
  const detail = ready?.message !== undefined && ready.message !== '' ? ready.message : 'not evaluated yet';
  return {
    result: 'pending',
    reason,
    message: `timed out after ${seconds(timeoutMs)}s waiting for AccessRequest ${namespace}/${name}: ${detail}`,
    accessRequest: last,
  };
}

// --- Errors of the main API server ---

export interface ApiError {
  /** HTTP status; undefined for connection errors. */
  readonly code: number | undefined;
  readonly message: string;
}

/** Connection errors, 429 and 5xx are retried; other errors are not. */
export const isRetryable = (e: ApiError): boolean => e.code === undefined || e.code === 429 || e.code >= 500;

/** The `failed/APIError` message: what was being done, the HTTP code and the Status message. */
export const apiErrorMessage = (what: string, e: ApiError): string =>
  e.code === undefined ? `${what}: ${e.message}` : `${what}: HTTP ${String(e.code)}: ${e.message}`;

// --- CLI (§7) ---

export const exitCodes: Readonly<Record<RequestAccessOutcome, number>> = { granted: 0, failed: 1, pending: 2, rejected: 3 };
export const usageExitCode = 64;

/** The one JSON line the CLI prints. */
export function cliLine(r: RequestAccessResult): string {
  const ar = r.accessRequest;
  return JSON.stringify({
    result: r.result,
    reason: r.reason,
    message: r.message,
    accessRequest: ar === null ? null : { namespace: ar.metadata.namespace ?? '', name: ar.metadata.name ?? '' },
  });
}
