/**
 * The operations flags (limits, request deadline, shutdown delay, log verbosity), parsed apart from
 * the rest of options.ts. Names and defaults are kube-apiserver's, except --shutdown-delay-duration,
 * whose 0s default suits a single local process; a Deployment should set 5–15 s (spec OPS-5).
 */
import type { Result } from '../storage/interface.js';
import { parseGoDuration } from './controller/duration.js';
import { defaultMaxMutatingRequestsInflight, defaultMaxRequestsInflight } from './operations.js';

export interface OperationsFlags {
  readonly maxRequestsInflight: number;
  readonly maxMutatingRequestsInflight: number;
  readonly requestTimeoutMs: number;
  readonly shutdownDelayMs: number;
  readonly verbosity: number;
}

/** For node:util parseArgs. */
export const operationsFlagSpec = {
  'max-requests-inflight': { type: 'string', default: String(defaultMaxRequestsInflight) },
  'max-mutating-requests-inflight': { type: 'string', default: String(defaultMaxMutatingRequestsInflight) },
  'request-timeout': { type: 'string', default: '1m0s' },
  'shutdown-delay-duration': { type: 'string', default: '0s' },
  v: { type: 'string', short: 'v', default: '0' },
} as const;

export const operationsUsage = `  --max-requests-inflight=${String(defaultMaxRequestsInflight)}      read-only requests served at once (0 = no limit); more get 429 + Retry-After
  --max-mutating-requests-inflight=${String(defaultMaxMutatingRequestsInflight)}  mutating requests served at once (0 = no limit); watches count against neither
  --request-timeout=1m0s         deadline of a non-watch request (504 Timeout); ?timeout= may only shorten it
  --shutdown-delay-duration=0s   after SIGTERM, how long /readyz fails while requests are still served
                                 (5–15s in a cluster); then watches end and in-flight requests drain
  -v, --v=0                      log verbosity: 0 errors, warnings, startup; 2 one line per request; 4+ debug
`;

type FlagValues = { readonly [K in keyof typeof operationsFlagSpec]: string };

export function parseOperationsFlags(values: FlagValues): Result<OperationsFlags, string> {
  const count = (flag: keyof FlagValues): number | string => {
    const n = Number(values[flag]);
    return Number.isInteger(n) && n >= 0 && values[flag].trim() !== '' ? n : `--${flag} must be a non-negative integer, got ${values[flag]}`;
  };
  const duration = (flag: keyof FlagValues): number | string => {
    const ms = parseGoDuration(values[flag]);
    return ms !== undefined && ms >= 0 ? ms : `--${flag} must be a duration such as 30s or 1m0s, got ${values[flag]}`;
  };
  // `-v=4` reaches parseArgs as the short option with the value "=4".
  const v = Number(values.v.replace(/^=/, ''));
  const parsed = {
    maxRequestsInflight: count('max-requests-inflight'),
    maxMutatingRequestsInflight: count('max-mutating-requests-inflight'),
    requestTimeoutMs: duration('request-timeout'),
    shutdownDelayMs: duration('shutdown-delay-duration'),
    verbosity: Number.isInteger(v) && v >= 0 && values.v.replace(/^=/, '').trim() !== '' ? v : `-v must be a non-negative integer, got ${values.v}`,
  };
  for (const value of Object.values(parsed)) if (typeof value === 'string') return { ok: false, error: value };
  // No value is a message any more (checked just above).
  const { maxRequestsInflight, maxMutatingRequestsInflight, requestTimeoutMs, shutdownDelayMs, verbosity } = parsed as { [K in keyof typeof parsed]: number };
  if (requestTimeoutMs === 0) return { ok: false, error: '--request-timeout must be greater than 0' };
  return { ok: true, value: { maxRequestsInflight, maxMutatingRequestsInflight, requestTimeoutMs, shutdownDelayMs, verbosity } };
}
