/**
 * The call/backoff/cache machinery shared by the TokenReview authenticator (./tokenreview.ts) and the
 * SubjectAccessReview authorizer (./delegating.ts), as kube's k8s.io/apiserver/pkg/util/webhook is
 * for its webhook token authenticator and webhook authorizer:
 *
 * - a review call is one request to kube-apiserver whose result (a ReviewCallResult) is data, never a
 *   throw; the real ones go through client-node (../kube/client-node-call.ts), tests fake them;
 * - callWithBackoff puts one deadline over all attempts and retries connection errors, 429 and 5xx
 *   with exponential backoff (DefaultAuthWebhookRetryBackoff: 500 ms × 1.5, jitter 0.2, 5 attempts);
 * - createExpiringLru is the small LRU with expiry both keep their results in.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { ClientNodeError, ClientNodeResult } from '../kube/client-node-call.js';

// --- Review calls: the seam towards kube-apiserver, faked in tests. ---

/** `code`: HTTP status; undefined for connection errors and timeouts. */
export type ReviewCallError = ClientNodeError;

/** The response body is outside data: it stays unknown until a validator narrows it. */
export type ReviewCallResult = ClientNodeResult;

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
