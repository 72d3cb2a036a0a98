/**
 * Records each request when its response closes: apiserver_request_total and
 * apiserver_request_duration_seconds, the long-running gauges for watches, and the request log line
 * (httplog's `"HTTP"` line at -v=2; 5xx answers at every verbosity).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Response } from 'express';
import type { RequestInfo } from '../endpoints/request-info.js';
import { formatLatency, type Logger } from '../logging.js';
import type { Metrics } from '../metrics/index.js';
import { requestLabelsOf } from '../metrics/index.js';

export interface ObservedRequest {
  readonly info: RequestInfo;
  readonly query: URLSearchParams;
  readonly auditID: string;
  readonly longRunning: boolean;
  /** The Kind served at the path, for apiserver_registered_watchers; undefined when nothing is served there. */
  readonly kind: string | undefined;
}

// The authenticated user is known only after the authentication step inside the app.
const userKey = 'requestUser';

/** Called by the app once authentication has named the caller; the request log line shows it. */
export function setRequestUser(res: Response, name: string): void {
  res.locals[userKey] = name;
}

export function observeRequest(req: IncomingMessage, res: ServerResponse & { locals?: Record<string, unknown> }, r: ObservedRequest, metrics: Metrics, logger: Logger): void {
  const start = performance.now();
  const uri = req.url ?? '';
  const srcIP = req.socket.remoteAddress ?? '';
  const labels = requestLabelsOf(req.method ?? 'GET', r.info, r.query, req.headers['content-type']);
  const m = metrics.apiserver;
  const watcher = r.longRunning && r.info.kind === 'resource' && r.kind !== undefined ? { group: r.info.group, version: r.info.version, kind: r.kind } : undefined;
  if (r.longRunning) m.longrunningRequests.inc(labels);
  if (watcher !== undefined) m.registeredWatchers.inc(watcher);
  res.once('close', () => {
    const ms = performance.now() - start;
    // A response the client abandoned before any header went out never got a status of its own.
    const code = res.headersSent || res.writableEnded ? res.statusCode : 0;
    m.requestTotal.inc({ ...labels, code: String(code) });
    m.requestDuration.observe(labels, ms / 1000);
    if (r.longRunning) m.longrunningRequests.dec(labels);
    if (watcher !== undefined) m.registeredWatchers.dec(watcher);
    const v = code >= 500 ? 0 : 2;
    if (!logger.enabled(v)) return;
    const user = res.locals?.[userKey];
    logger.info('HTTP', {
      verb: labels.verb,
      URI: uri,
      ...(typeof user === 'string' ? { user } : {}),
      auditID: r.auditID,
      latency: formatLatency(ms),
      code,
      userAgent: req.headers['user-agent'] ?? '',
      srcIP,
    }, v);
  });
}
