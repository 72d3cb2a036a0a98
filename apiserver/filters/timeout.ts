/**
 * WithRequestDeadline + WithTimeoutForNonLongRunningRequests: a non-watch request that has not
 * answered after --request-timeout (or a shorter `?timeout=`) gets 504 Timeout. The handler may still
 * be running; whatever it writes afterwards is dropped, as Go's timeoutWriter drops it.
 */
import type { ServerResponse } from 'node:http';
import * as status from '../api/status.js';
import type { Result } from '../../storage/interface.js';
import type { Status } from '../api/status.js';
import { parseGoDuration } from '../controller/duration.js';

/** The deadline in ms: the server's maximum, or `?timeout=` when it is positive and shorter. */
export function requestDeadlineMs(query: URLSearchParams, maxMs: number): Result<number, Status> {
  const raw = query.get('timeout');
  if (raw === null || raw === '') return { ok: true, value: maxMs };
  const ms = parseGoDuration(raw);
  if (ms === undefined) {
    return { ok: false, error: status.badRequest(`invalid timeout specified in the request URL - time: invalid duration ${JSON.stringify(raw)}`) };
  }
  // 0 (or negative) means "no timeout of the caller's own": the server's still applies.
  return { ok: true, value: ms > 0 && ms < maxMs ? ms : maxMs };
}

export const requestTimedOut = (): Status =>
  status.failure(504, 'Timeout', 'Timeout: request did not complete within requested timeout - context deadline exceeded', {});

/**
 * Arms the deadline; `onTimeout` writes the 504 (if nothing was sent yet) and the response then
 * ignores the handler's late writes. Returns a function that disarms it.
 */
export function armRequestTimeout(res: ServerResponse, ms: number, onTimeout: () => void): () => void {
  const timer = setTimeout(() => {
    if (res.headersSent || res.writableEnded) return;
    onTimeout();
    swallowLateWrites(res);
  }, ms);
  const disarm = (): void => clearTimeout(timer);
  res.once('close', disarm);
  return disarm;
}

function swallowLateWrites(res: ServerResponse): void {
  const code = res.statusCode;
  // Own properties shadow the prototype's methods for this one response only.
  Object.defineProperty(res, 'statusCode', { configurable: true, get: () => code, set: () => undefined });
  Object.assign(res, {
    setHeader: () => res,
    appendHeader: () => res,
    removeHeader: () => undefined,
    writeHead: () => res,
    flushHeaders: () => undefined,
    write: () => true,
    end: () => res,
  });
}
