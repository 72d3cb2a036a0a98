/**
 * Calls through @kubernetes/client-node, and what their failures mean: client-node throws an
 * ApiException for an error response (its HTTP status, the body as text: a Status, usually) and plain
 * errors for connection failures, timeouts and aborts. Shared by the review clients (TokenReview,
 * SubjectAccessReview), the authentication ConfigMap client, the request-access helper and
 * `migrate`'s MainApiServer. (The controllers talk to the main API server through their own JSON
 * client, ../controller/kube-client.ts, and do not use this.)
 */
import { ApiException, Observable, type ObservableMiddleware } from '@kubernetes/client-node';

/** Why a client-node call failed, in the form the callers' results carry. */
export interface ClientNodeError {
  /** HTTP status; undefined for connection errors, timeouts and aborts. */
  readonly code: number | undefined;
  readonly message: string;
}

/** The response body is outside data: it stays unknown until a validator narrows it. */
export type ClientNodeResult<T = unknown> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ClientNodeError };

/**
 * A thrown client-node error taken apart: an error response (ApiException) gives its HTTP status and
 * the message of the Status in its body, undefined when the body has none; anything else gives no
 * status and the error's own message.
 */
export type ClientNodeFailure =
  | { readonly code: number; readonly statusMessage: string | undefined }
  | { readonly code: undefined; readonly message: string };

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

export function clientNodeFailure(e: unknown): ClientNodeFailure {
  if (e instanceof ApiException) return { code: e.code, statusMessage: statusMessage(e.body) };
  return { code: undefined, message: e instanceof Error ? e.message : String(e) };
}

/** A thrown client-node error as a ClientNodeError: the Status message, else `HTTP <code>`. */
export function clientNodeError(e: unknown): ClientNodeError {
  const f = clientNodeFailure(e);
  if (f.code === undefined) return { code: undefined, message: f.message };
  return { code: f.code, message: f.statusMessage ?? `HTTP ${String(f.code)}` };
}

export interface SignalOptions {
  readonly middleware: ObservableMiddleware[];
  readonly middlewareMergeStrategy: 'append';
}

/** A middleware that hands our AbortSignal to client-node's fetch. */
const signalOptions = (signal: AbortSignal): SignalOptions => ({
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

/**
 * Wraps a client-node call that may be aborted: the value, or the failure as a ClientNodeError
 * (ApiException becomes its code and the Status message). Never throws.
 */
export async function clientNodeCall(signal: AbortSignal, call: (options: SignalOptions) => Promise<unknown>): Promise<ClientNodeResult> {
  try {
    return { ok: true, value: await call(signalOptions(signal)) };
  } catch (e) {
    return { ok: false, error: clientNodeError(e) };
  }
}
