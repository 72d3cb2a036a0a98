/**
 * Bearer tokens through TokenReview (AUTHN-5), like k8s.io/apiserver's webhook token authenticator
 * behind its cache and the bearertoken request authenticator:
 *
 * - results (authenticated or not) are cached for 10 s under sha256 of token and audiences; errors
 *   are not cached, so a flaky kube-apiserver is asked again on the next request;
 * - one TokenReview per key at a time: concurrent requests with the same token share it;
 * - the whole call, retries included, has a 10 s deadline; connection errors, 429 and 5xx are retried
 *   with exponential backoff (500 ms × 1.5, jitter 0.2, 5 attempts: DefaultAuthWebhookRetryBackoff).
 *
 * The review call and its backoff/cache plumbing are shared with the SubjectAccessReview authorizer.
 */
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { ApiException, AuthenticationV1Api, type KubeConfig, Observable, type ObservableMiddleware } from '@kubernetes/client-node';
import type { UserInfo } from '../registry/rest.js';
import type { AuthenticationResult, Authenticator } from './types.js';

// --- Review calls: the seam towards kube-apiserver, faked in tests. ---

export interface ReviewCallError {
  /** HTTP status; undefined for connection errors and timeouts. */
  readonly code: number | undefined;
  readonly message: string;
}

/** The response body is outside data: it stays unknown until a validator narrows it. */
export type ReviewCallResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: ReviewCallError };

export interface BackoffOptions {
  readonly initialMs: number;
  readonly factor: number;
  readonly jitter: number;
  /** Attempts in all, the first included. */
  readonly steps: number;
}

export const defaultReviewBackoff: BackoffOptions = { initialMs: 500, factor: 1.5, jitter: 0.2, steps: 5 };

export interface CallOptions {
  readonly timeoutMs: number;
  readonly backoff: BackoffOptions;
  /** Resolves after ms, or early when the signal aborts; injectable so tests never wait. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random: () => number;
}

export const realSleep = async (ms: number, signal: AbortSignal): Promise<void> => {
  try {
    await delay(ms, undefined, { signal });
  } catch {
    // Aborted: the caller looks at the signal.
  }
};

const isRetryable = (e: ReviewCallError): boolean => e.code === undefined || e.code === 429 || e.code >= 500;

/** Calls with one deadline over all attempts, retrying transient failures with backoff. */
export async function callWithBackoff(call: (signal: AbortSignal) => Promise<ReviewCallResult>, opts: CallOptions): Promise<ReviewCallResult> {
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const timedOut: ReviewCallResult = { ok: false, error: { code: undefined, message: `timed out after ${String(opts.timeoutMs)}ms` } };
  let wait = opts.backoff.initialMs;
  let last: ReviewCallResult = timedOut;
  for (let attempt = 1; attempt <= opts.backoff.steps; attempt++) {
    if (deadline.aborted) return timedOut;
    let onAbort = (): void => undefined;
    const aborted = new Promise<ReviewCallResult>((resolve) => {
      onAbort = () => resolve(timedOut);
      deadline.addEventListener('abort', onAbort, { once: true });
    });
    // The injected call might ignore the signal: the race keeps our deadline anyway.
    const attemptResult = call(deadline).catch(
      (e: unknown): ReviewCallResult => ({ ok: false, error: { code: undefined, message: e instanceof Error ? e.message : String(e) } }),
    );
    last = await Promise.race([attemptResult, aborted]);
    deadline.removeEventListener('abort', onAbort);
    if (!last.ok && deadline.aborted) return timedOut; // the fetch's own AbortError says less
    if (last.ok || deadline.aborted || !isRetryable(last.error) || attempt === opts.backoff.steps) break;
    await opts.sleep(wait * (1 + opts.random() * opts.backoff.jitter), deadline);
    if (deadline.aborted) return timedOut;
    wait *= opts.backoff.factor;
  }
  return last;
}

/** A middleware that hands our AbortSignal to client-node's fetch. */
const signalOptions = (signal: AbortSignal): { middleware: ObservableMiddleware[]; middlewareMergeStrategy: 'append' } => ({
  middleware: [
    {
      pre: (ctx) => {
        ctx.setSignal(signal);
        return new Observable(Promise.resolve(ctx));
      },
      post: (res) => new Observable(Promise.resolve(res)),
    },
  ],
  middlewareMergeStrategy: 'append',
});

// client-node hands over an error response body as text (a Status, usually).
function statusMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body === '' ? undefined : body.slice(0, 200);
    }
  }
  const msg = typeof parsed === 'object' && parsed !== null ? (parsed as { message?: unknown }).message : undefined;
  return typeof msg === 'string' && msg !== '' ? msg : undefined;
}

/** Wraps a client-node call: ApiException becomes its code and the Status message. */
export async function clientNodeCall(signal: AbortSignal, call: (options: ReturnType<typeof signalOptions>) => Promise<unknown>): Promise<ReviewCallResult> {
  try {
    return { ok: true, value: await call(signalOptions(signal)) };
  } catch (e) {
    if (e instanceof ApiException) return { ok: false, error: { code: e.code, message: statusMessage(e.body) ?? `HTTP ${String(e.code)}` } };
    return { ok: false, error: { code: undefined, message: e instanceof Error ? e.message : String(e) } };
  }
}

// --- A small LRU with expiry, for token and SubjectAccessReview results. ---

export interface ExpiringLru<V> {
  get(key: string): V | undefined;
  set(key: string, value: V, ttlMs: number): void;
  readonly size: number;
}

export function createExpiringLru<V>(maxEntries: number, now: () => Date): ExpiringLru<V> {
  const entries = new Map<string, { readonly value: V; readonly expires: number }>();
  return {
    get(key) {
      const e = entries.get(key);
      if (e === undefined) return undefined;
      entries.delete(key);
      if (e.expires <= now().getTime()) return undefined;
      entries.set(key, e); // most recently used goes last
      return e.value;
    },
    set(key, value, ttlMs) {
      entries.delete(key);
      entries.set(key, { value, expires: now().getTime() + ttlMs });
      for (const oldest of entries.keys()) {
        if (entries.size <= maxEntries) break;
        entries.delete(oldest);
      }
    },
    get size() {
      return entries.size;
    },
  };
}

// --- TokenReview ---

export interface TokenReviewBody {
  readonly apiVersion: 'authentication.k8s.io/v1';
  readonly kind: 'TokenReview';
  readonly spec: { readonly token: string; readonly audiences?: readonly string[] };
}

export type CreateTokenReview = (body: TokenReviewBody, signal: AbortSignal) => Promise<ReviewCallResult>;

/** The real TokenReview call (needs system:auth-delegator). */
export function tokenReviewClient(kc: KubeConfig): CreateTokenReview {
  const api = kc.makeApiClient(AuthenticationV1Api);
  return (body, signal) =>
    clientNodeCall(signal, (options) =>
      api.createTokenReview({ body: { ...body, spec: { token: body.spec.token, ...(body.spec.audiences === undefined ? {} : { audiences: [...body.spec.audiences] }) } } }, options),
    );
}

export interface TokenAuthenticator {
  /** authenticated, anonymous (the token is not valid) or error (the review failed). */
  authenticateToken(token: string): Promise<AuthenticationResult>;
}

export interface TokenReviewAuthenticatorOptions {
  readonly createTokenReview: CreateTokenReview;
  /** The audiences tokens must be meant for; empty: the API server's own audiences. */
  readonly audiences?: readonly string[];
  readonly cacheTtlMs?: number;
  readonly maxEntries?: number;
  readonly timeoutMs?: number;
  readonly backoff?: BackoffOptions;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  readonly now?: () => Date;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Narrows a TokenReview response; a malformed one is an error result. */
export function tokenReviewResult(body: unknown, wantAudiences: readonly string[]): AuthenticationResult {
  const status = isRecord(body) ? body['status'] : undefined;
  if (!isRecord(status)) return { kind: 'error', message: 'TokenReview response without status' };
  if (status['authenticated'] !== true) {
    const err = status['error'];
    return typeof err === 'string' && err !== '' ? { kind: 'error', message: err } : { kind: 'anonymous' };
  }
  if (wantAudiences.length > 0) {
    const got = status['audiences'];
    if (!isStringArray(got) || !got.some((a) => wantAudiences.includes(a))) return { kind: 'anonymous' };
  }
  const u = status['user'];
  if (!isRecord(u) || typeof u['username'] !== 'string' || u['username'] === '') {
    return { kind: 'error', message: 'TokenReview response without status.user.username' };
  }
  const groups = isStringArray(u['groups']) ? u['groups'] : [];
  const extraIn = u['extra'];
  const extra: Record<string, string[]> = {};
  if (isRecord(extraIn)) for (const [k, v] of Object.entries(extraIn)) if (isStringArray(v)) extra[k] = v;
  const user: UserInfo = {
    name: u['username'],
    ...(typeof u['uid'] === 'string' && u['uid'] !== '' ? { uid: u['uid'] } : {}),
    groups,
    ...(Object.keys(extra).length === 0 ? {} : { extra }),
  };
  return { kind: 'authenticated', user };
}

export function createTokenReviewAuthenticator(opts: TokenReviewAuthenticatorOptions): TokenAuthenticator {
  const audiences = opts.audiences ?? [];
  const ttl = opts.cacheTtlMs ?? 10_000;
  const cache = createExpiringLru<AuthenticationResult>(opts.maxEntries ?? 8192, opts.now ?? (() => new Date()));
  const inflight = new Map<string, Promise<AuthenticationResult>>();
  const callOpts: CallOptions = {
    timeoutMs: opts.timeoutMs ?? 10_000,
    backoff: opts.backoff ?? defaultReviewBackoff,
    sleep: opts.sleep ?? realSleep,
    random: opts.random ?? Math.random,
  };
  const review = async (token: string, key: string): Promise<AuthenticationResult> => {
    const body: TokenReviewBody = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, ...(audiences.length === 0 ? {} : { audiences }) },
    };
    const res = await callWithBackoff((signal) => opts.createTokenReview(body, signal), callOpts);
    if (!res.ok) return { kind: 'error', message: `TokenReview failed: ${res.error.message}` };
    const result = tokenReviewResult(res.value, audiences);
    if (result.kind !== 'error') cache.set(key, result, ttl);
    return result;
  };
  return {
    authenticateToken: (token) => {
      // The key never holds the token itself; the separator keeps token/audience splits apart.
      const key = createHash('sha256').update(JSON.stringify([token, audiences])).digest('hex');
      const hit = cache.get(key);
      if (hit !== undefined) return Promise.resolve(hit);
      const pending = inflight.get(key);
      if (pending !== undefined) return pending;
      const p = review(token, key).finally(() => inflight.delete(key));
      inflight.set(key, p);
      return p;
    },
  };
}

/**
 * bearertoken.Authenticator: only `Authorization: Bearer <token>` is ours; a token that does not
 * authenticate is an error ("invalid bearer token"), not anonymous, so the client sees 401.
 */
export function createBearerTokenAuthenticator(tokens: TokenAuthenticator): Authenticator {
  return {
    authenticate: async (req) => {
      const auth = (req.headers.authorization ?? '').trim();
      const parts = auth.split(' ');
      if (parts.length < 2 || parts[0]?.toLowerCase() !== 'bearer') return { kind: 'anonymous' };
      const token = parts[1] ?? '';
      if (token === '') return { kind: 'anonymous' };
      const result = await tokens.authenticateToken(token);
      return result.kind === 'anonymous' ? { kind: 'error', message: 'invalid bearer token' } : result;
    },
  };
}
