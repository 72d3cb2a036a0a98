/**
 * Everything an operator sees of the running server, built once and shared by the app and main.ts:
 * metrics, logger, shutdown lifecycle, in-flight limiter, request deadline and extra readiness checks.
 */
import { createInflightLimiter, type InflightLimiter } from './filters/inflight.js';
import { healthy, type HealthCheck } from './health.js';
import { createLifecycle, type Lifecycle } from './lifecycle.js';
import { createLogger, type Logger } from './logging.js';
import { createMetrics, type Metrics } from './metrics/index.js';

export interface OperationsOptions {
  /** -v: 0 errors/warnings/startup, 2 request lines, 4+ debug. */
  readonly verbosity?: number;
  /** --max-requests-inflight (read-only requests; 0 = unlimited). */
  readonly maxRequestsInflight?: number;
  /** --max-mutating-requests-inflight (0 = unlimited). */
  readonly maxMutatingRequestsInflight?: number;
  /** --request-timeout in ms. */
  readonly requestTimeoutMs?: number;
  readonly processMetrics?: boolean;
  /** Where log lines go (stderr by default). */
  readonly writeLog?: (line: string) => void;
}

export interface Operations {
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly lifecycle: Lifecycle;
  readonly limiter: InflightLimiter;
  readonly requestTimeoutMs: number;
  /**
   * Adds or replaces a readiness check (readyz and healthz). `informer-sync` exists from the start and
   * passes until main.ts registers the real one (auth ConfigMap, namespace informer synced).
   */
  registerReadinessCheck(name: string, check: HealthCheck['check']): void;
  /** The registered readiness checks, in registration order. */
  readinessChecks(): readonly HealthCheck[];
}

export const defaultMaxRequestsInflight = 400;
export const defaultMaxMutatingRequestsInflight = 200;
export const defaultRequestTimeoutMs = 60_000;

export function createOperations(opts: OperationsOptions = {}): Operations {
  const metrics = createMetrics({ processMetrics: opts.processMetrics ?? false });
  const inflight = metrics.apiserver.currentInflightRequests;
  const limiter = createInflightLimiter(
    { readOnly: opts.maxRequestsInflight ?? defaultMaxRequestsInflight, mutating: opts.maxMutatingRequestsInflight ?? defaultMaxMutatingRequestsInflight },
    (kind, n) => inflight.set({ request_kind: kind }, n),
  );
  inflight.set({ request_kind: 'readOnly' }, 0);
  inflight.set({ request_kind: 'mutating' }, 0);
  const checks = new Map<string, HealthCheck['check']>([['informer-sync', () => healthy]]);
  return {
    metrics,
    logger: createLogger({ verbosity: opts.verbosity ?? 0, ...(opts.writeLog === undefined ? {} : { write: opts.writeLog }) }),
    lifecycle: createLifecycle(),
    limiter,
    requestTimeoutMs: opts.requestTimeoutMs ?? defaultRequestTimeoutMs,
    registerReadinessCheck: (name, check) => void checks.set(name, check),
    readinessChecks: () => [...checks].map(([name, check]) => ({ name, check })),
  };
}
