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
 * The review call, its backoff and the result cache come from ./webhook.ts, shared with the
 * SubjectAccessReview authorizer; the client-node call from ../kube/client-node-call.ts.
 */
import { createHash } from 'node:crypto';
import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { clientNodeCall } from '../kube/client-node-call.js';
import type { UserInfo } from '../registry/rest.js';
import type { AuthenticationResult, Authenticator } from './types.js';
import {
  callWithBackoff,
  createExpiringLru,
  defaultReviewBackoff,
  realSleep,
  type BackoffOptions,
  type CallOptions,
  type ReviewCallResult,
} from './webhook.js';

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
