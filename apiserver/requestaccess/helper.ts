/**
 * The request-access helper (domain spec §7) over an injectable client for the main API server:
 *
 * 1. SAR `proxy`, then SAR `proxy/v1/pod/<podNs>/<podName>`; either allowed → `granted/AlreadyPermitted`.
 * 2. POST the deterministic AccessRequest; `409` → GET and reuse it (a `404` on that GET repeats the
 *    POST once), unless it was made for another subject, Connector or Pod (`failed/AccessRequestConflict`).
 * 3. Watch it (on close or `410`: GET and re-watch) until the first row of §7's table matches; on
 *    `Ready=True` re-run the SARs every 500 ms within `propagationTimeoutMs`.
 *
 * Every call is retried 3 times (0.2 s, 0.4 s, 0.8 s) on connection errors, 429 and 5xx. The
 * function never throws for these outcomes: API errors, aborts and timeouts become results.
 */
import type { AccessRequest } from '../apis/connectors/v1alpha1/types.js';
import {
  type ApiError,
  type ProxySubjectAccessReviewSpec,
  type RequestAccessInput,
  type RequestAccessResult,
  accessRequestBody,
  apiErrorMessage,
  defaultPropagationTimeoutMs,
  defaultTimeoutMs,
  isRetryable,
  observe,
  propagationPollMs,
  proxyReviews,
  retryDelaysMs,
  reuseConflict,
  seconds,
  serviceAccountOf,
  timedOut,
} from './decide.js';

export type ApiResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ApiError };

export type AccessRequestWatchEvent =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: AccessRequest }
  | { readonly type: 'BOOKMARK' }
  /** An ERROR event in the stream, e.g. `410 Gone` for an expired resourceVersion. */
  | { readonly type: 'ERROR'; readonly error: ApiError };

/** What the helper needs of the main API server; faked in tests. */
export interface RequestAccessClient {
  /** `status.allowed` of a SubjectAccessReview (only that field counts). */
  createSubjectAccessReview(spec: ProxySubjectAccessReviewSpec, signal: AbortSignal): Promise<ApiResult<{ readonly allowed: boolean }>>;
  /** POST to the namespace of `body.metadata.namespace`. */
  createAccessRequest(body: AccessRequest, signal: AbortSignal): Promise<ApiResult<AccessRequest>>;
  getAccessRequest(namespace: string, name: string, signal: AbortSignal): Promise<ApiResult<AccessRequest>>;
  /**
   * Opens a watch on one AccessRequest (field selector `metadata.name`) from `resourceVersion`.
   * Resolves with an error when the server refuses the watch (e.g. `410`), else with the events,
   * which end when the server closes the stream or the signal aborts.
   */
  watchAccessRequest(namespace: string, name: string, resourceVersion: string, signal: AbortSignal): Promise<ApiResult<AsyncIterable<AccessRequestWatchEvent>>>;
}

/** Seams for tests; the defaults are the spec's. */
export interface HelperDeps {
  /** Resolves after ms, or early when the signal aborts. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly retryDelaysMs?: readonly number[];
  readonly propagationPollMs?: number;
}

export const abortableSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/** Thrown inside the helper when a signal (the caller's, the timeout, the propagation budget) aborted. */
class Interrupted extends Error {}
/** Thrown inside the helper to end with a result. */
class Stop extends Error {
  readonly result: RequestAccessResult;
  constructor(result: RequestAccessResult) {
    super(result.reason);
    this.result = result;
  }
}

/** What a call returns instead of a result when its signal aborted. */
export const aborted: unique symbol = Symbol('aborted');

/** p, or `aborted` as soon as the signal aborts (the client might not honour it). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T | typeof aborted> {
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.resolve(aborted);
  }
  let onAbort = (): void => undefined;
  const abortP = new Promise<typeof aborted>((resolve) => {
    onAbort = () => resolve(aborted);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([p, abortP]).finally(() => signal.removeEventListener('abort', onAbort));
}

/**
 * One call to the main API server with the retries of §7: 3 more attempts (after 0.2 s, 0.4 s,
 * 0.8 s) on connection errors, 429 and 5xx. A rejected promise counts as a connection error;
 * `aborted` as soon as the signal aborts.
 */
export async function callWithRetries<T>(
  fn: (signal: AbortSignal) => Promise<ApiResult<T>>,
  signal: AbortSignal,
  deps: Pick<HelperDeps, 'sleep' | 'retryDelaysMs'> = {},
): Promise<ApiResult<T> | typeof aborted> {
  const sleep = deps.sleep ?? abortableSleep;
  const delays = deps.retryDelaysMs ?? retryDelaysMs;
  for (let attempt = 0; ; attempt++) {
    if (signal.aborted) return aborted;
    const r = await raceAbort(
      fn(signal).catch((e: unknown): ApiResult<T> => ({ ok: false, error: { code: undefined, message: errorText(e) } })),
      signal,
    );
    if (r === aborted || signal.aborted) return aborted;
    const delay = delays[attempt];
    if (r.ok || !isRetryable(r.error) || delay === undefined) return r;
    await sleep(delay, signal);
  }
}

const anySignal = (signals: readonly (AbortSignal | undefined)[]): AbortSignal => AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export async function requestAccessWith(client: RequestAccessClient, input: RequestAccessInput, deps: HelperDeps = {}): Promise<RequestAccessResult> {
  const sleep = deps.sleep ?? abortableSleep;
  const delays = deps.retryDelaysMs ?? retryDelaysMs;
  const pollMs = deps.propagationPollMs ?? propagationPollMs;
  const timeoutMs = input.timeoutMs ?? defaultTimeoutMs;
  const propagationTimeoutMs = input.propagationTimeoutMs ?? defaultPropagationTimeoutMs;
  const user = input.signal;
  const body = accessRequestBody(input);
  const ns = input.connector.namespace;
  const name = body.metadata.name ?? '';
  const reviews = proxyReviews(input);
  const sa = `${input.pod.namespace}/${serviceAccountOf(input.pod)}`;

  let last: AccessRequest | null = null;
  const result = (r: Omit<RequestAccessResult, 'accessRequest'>, ar: AccessRequest | null = last): RequestAccessResult => ({ ...r, accessRequest: ar });
  const apiFailure = (what: string, e: ApiError): Stop => new Stop(result({ result: 'failed', reason: 'APIError', message: apiErrorMessage(what, e) }));

  /** One call with the retries of §7; Interrupted when the signal aborts. */
  async function call<T>(fn: (signal: AbortSignal) => Promise<ApiResult<T>>, signal: AbortSignal): Promise<ApiResult<T>> {
    const r = await callWithRetries(fn, signal, deps);
    if (r === aborted) throw new Interrupted();
    return r;
  }

  /** The SARs of step 1: true when either is allowed. */
  async function permitted(signal: AbortSignal): Promise<boolean> {
    for (const spec of reviews) {
      const r = await call((s) => client.createSubjectAccessReview(spec, s), signal);
      if (!r.ok) throw apiFailure(`create SubjectAccessReview for ${spec.user} (connectors/${spec.resourceAttributes.subresource} ${ns}/${input.connector.name})`, r.error);
      if (r.value.allowed) return true;
    }
    return false;
  }

  async function get(signal: AbortSignal): Promise<ApiResult<AccessRequest>> {
    return call((s) => client.getAccessRequest(ns, name, s), signal);
  }

  /** Step 2: the created or reused AccessRequest. */
  async function createOrReuse(signal: AbortSignal): Promise<AccessRequest> {
    let notFound: ApiError | undefined;
    for (let posts = 0; posts < 2; posts++) {
      const c = await call((s) => client.createAccessRequest(body, s), signal);
      if (c.ok) return c.value;
      if (c.error.code !== 409) throw apiFailure(`create AccessRequest ${ns}/${name}`, c.error);
      const g = await get(signal);
      if (g.ok) {
        const conflict = reuseConflict(g.value, body);
        if (conflict !== undefined) throw new Stop(result({ result: 'failed', reason: 'AccessRequestConflict', message: conflict }, g.value));
        return g.value;
      }
      if (g.error.code !== 404) throw apiFailure(`get AccessRequest ${ns}/${name}`, g.error);
      notFound = g.error; // deleted between the POST and the GET: POST once more
    }
    throw apiFailure(`get AccessRequest ${ns}/${name}`, notFound ?? { code: 404, message: 'not found' });
  }

  const deleted = (): Stop => new Stop(result({ result: 'failed', reason: 'AccessRequestDeleted', message: `AccessRequest ${ns}/${name} was deleted` }));

  /** Step 3: watch until a row of the table matches; returns when Ready=True was seen. */
  async function waitForVerdict(first: AccessRequest, signal: AbortSignal): Promise<void> {
    const uid = first.metadata.uid;
    let current = first;
    /** Records an observed state; true on Ready=True, Stop on a verdict. */
    const seen = (ar: AccessRequest): boolean => {
      // Same name, another uid: ours was deleted and someone made a new one.
      if (uid !== undefined && ar.metadata.uid !== undefined && ar.metadata.uid !== uid) throw deleted();
      current = ar;
      last = ar;
      const o = observe(ar);
      if (o.kind === 'final') throw new Stop(result({ result: o.result, reason: o.reason, message: o.message }));
      return o.kind === 'ready';
    };
    for (;;) {
      if (seen(current)) return;
      // Each watch has its own signal, so that leaving this function always closes the stream.
      const stop = new AbortController();
      const watchSignal = AbortSignal.any([signal, stop.signal]);
      const w = await call((s) => client.watchAccessRequest(ns, name, current.metadata.resourceVersion ?? '', s), watchSignal);
      let events = 0;
      if (w.ok) {
        const it = w.value[Symbol.asyncIterator]();
        try {
          for (;;) {
            const n = await raceAbort(it.next(), signal);
            if (n === aborted) throw new Interrupted();
            if (n.done === true) break;
            const ev = n.value;
            events++;
            if (ev.type === 'DELETED') throw deleted();
            if (ev.type === 'ERROR') break; // e.g. 410 Gone: GET and re-watch
            if (ev.type === 'ADDED' || ev.type === 'MODIFIED') {
              if (seen(ev.object)) return;
            }
          }
        } finally {
          stop.abort();
          void it.return?.()?.catch(() => undefined);
        }
        if (signal.aborted) throw new Interrupted();
      } else if (w.error.code !== 410) {
        throw apiFailure(`watch AccessRequest ${ns}/${name}`, w.error);
      }
      // A stream that ended at once is not retried in a tight loop.
      if (events === 0) await sleep(delays[0] ?? 200, signal);
      const g = await get(signal);
      if (!g.ok) {
        if (g.error.code === 404) throw deleted();
        throw apiFailure(`get AccessRequest ${ns}/${name}`, g.error);
      }
      current = g.value; // judged at the top of the loop
    }
  }

  /** Ready=True: wait for the RBAC to take effect, within its own budget. */
  async function propagate(): Promise<RequestAccessResult> {
    const budget = new AbortController();
    const timer = setTimeout(() => budget.abort(), propagationTimeoutMs);
    const signal = anySignal([user, budget.signal]);
    const notEffective = (): RequestAccessResult =>
      result({
        result: 'failed',
        reason: 'PermissionNotEffective',
        message: `AccessRequest ${ns}/${name} is Ready, but ServiceAccount ${sa} still may not use Connector ${ns}/${input.connector.name} after ${seconds(propagationTimeoutMs)}s`,
      });
    try {
      for (;;) {
        if (await permitted(signal)) return result({ result: 'granted', reason: 'Approved', message: '' });
        await sleep(pollMs, signal);
        if (signal.aborted) throw new Interrupted();
      }
    } catch (e) {
      if (e instanceof Interrupted && user?.aborted !== true) return notEffective();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  const overall = new AbortController();
  const timer = setTimeout(() => overall.abort(), timeoutMs);
  const waitSignal = anySignal([user, overall.signal]);
  try {
    if (await permitted(waitSignal)) return result({ result: 'granted', reason: 'AlreadyPermitted', message: '' }, null);
    last = await createOrReuse(waitSignal);
    await waitForVerdict(last, waitSignal);
    clearTimeout(timer);
    return await propagate();
  } catch (e) {
    if (e instanceof Stop) return e.result;
    if (e instanceof Interrupted) {
      if (user?.aborted === true) return result({ result: 'failed', reason: 'Aborted', message: `aborted: ${errorText(user.reason)}` });
      return timedOut(ns, name, timeoutMs, last);
    }
    return result({ result: 'failed', reason: 'APIError', message: errorText(e) });
  } finally {
    clearTimeout(timer);
  }
}
