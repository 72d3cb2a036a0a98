/**
 * The filter chain in front of the app, in kube-apiserver's order (DefaultBuildHandlerChain, outermost
 * first): Audit-ID → metrics and request log → refusal while draining → in-flight limit → deadline.
 * Authentication and authorization run after these, inside the app.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { requestInfo, type RequestInfo } from '../endpoints/request-info.js';
import { writeStatus } from '../endpoints/responses.js';
import { shutdownSignalKey } from '../endpoints/watch.js';
import * as status from '../api/status.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics/index.js';
import { withAuditID } from './audit-id.js';
import { isHealthPath, isLongRunning, requestKindOf, tooManyRequests, type InflightLimiter } from './inflight.js';
import { observeRequest } from './observe.js';
import { armRequestTimeout, requestDeadlineMs, requestTimedOut } from './timeout.js';

export interface FilterDeps {
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly lifecycle: Lifecycle;
  readonly limiter: InflightLimiter;
  readonly requestTimeoutMs: number;
  /** The Kind served at a resource path, if any. */
  readonly kindOf: (info: Extract<RequestInfo, { kind: 'resource' }>) => string | undefined;
}

export function requestFilters(deps: FilterDeps): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const url = new URL(req.originalUrl, 'https://localhost');
    const info = requestInfo(req.method, url.pathname, url.searchParams);
    const auditID = withAuditID(req, res);
    const longRunning = isLongRunning(info);
    const health = isHealthPath(url.pathname);
    observeRequest(req, res, { info, query: url.searchParams, auditID, longRunning, kind: info.kind === 'resource' ? deps.kindOf(info) : undefined }, deps.metrics, deps.logger);

    // Every layer parses the path with WHATWG URL, which resolves dot segments: `…/accesspolicies/x/..`
    // would be the collection (a DELETE of it a deletecollection). kube-apiserver resolves nothing
    // (there `..` is a subresource: 404) and proxies such paths to us unchanged: answer as it does.
    if (hasDotSegment(req.originalUrl)) {
      return writeStatus(res, status.failure(404, 'NotFound', 'the server could not find the requested resource'));
    }

    // WithWaitGroup: once draining, new requests are refused so the in-flight ones can finish; the
    // probes still answer (readyz failing, livez ok) so the kubelet sees the truth.
    if (deps.lifecycle.isDraining() && !health) {
      res.setHeader('Connection', 'close');
      return writeStatus(res, status.failure(429, 'TooManyRequests', 'The apiserver is shutting down, please try again later.', { retryAfterSeconds: 1 }));
    }
    res.once('close', deps.lifecycle.enter());
    res.locals[shutdownSignalKey] = deps.lifecycle.drainSignal;
    if (longRunning) {
      next();
      return;
    }

    if (!health) {
      const kind = requestKindOf(info);
      const release = deps.limiter.tryAcquire(kind);
      if (release === undefined) return writeStatus(res, tooManyRequests());
      res.once('close', release);
    }

    const deadline = requestDeadlineMs(url.searchParams, deps.requestTimeoutMs);
    if (!deadline.ok) return writeStatus(res, deadline.error);
    armRequestTimeout(res, deadline.value, () => {
      deps.logger.info('request timed out', { URI: req.originalUrl, auditID, timeoutMs: deadline.value }, 2);
      writeStatus(res, requestTimedOut());
    });
    next();
  };
}

/** A `.` or `..` path segment, also percent-encoded (%2e) or after a backslash: what WHATWG URL resolves. */
export function hasDotSegment(rawUrl: string): boolean {
  const path = rawUrl.split('?')[0] ?? '';
  return path.split(/[/\\]/).some((seg) => {
    const dots = seg.replace(/%2e/gi, '.');
    return dots === '.' || dots === '..';
  });
}
