/**
 * WithMaxInFlightLimit: at most N read-only and M mutating requests at once; past that a request is
 * refused at once with 429 and `Retry-After: 1`, never queued (behind the aggregator each waiting
 * request would hold one of kube-apiserver's priority-and-fairness seats). Long-running requests
 * (watches) and health probes are not counted.
 */
import * as status from '../api/status.js';
import type { Status } from '../api/status.js';
import type { RequestInfo } from '../endpoints/request-info.js';

export type RequestKind = 'readOnly' | 'mutating';

export interface InflightLimits {
  /** 0 = no limit (as in kube-apiserver). */
  readonly readOnly: number;
  readonly mutating: number;
}

export interface InflightLimiter {
  /** A release function (idempotent) when a seat is free, else undefined. */
  tryAcquire(kind: RequestKind): (() => void) | undefined;
  current(kind: RequestKind): number;
}

export function createInflightLimiter(limits: InflightLimits, onChange: (kind: RequestKind, current: number) => void = () => undefined): InflightLimiter {
  const counts: Record<RequestKind, number> = { readOnly: 0, mutating: 0 };
  return {
    tryAcquire: (kind) => {
      const limit = limits[kind];
      if (limit > 0 && counts[kind] >= limit) return undefined;
      counts[kind]++;
      onChange(kind, counts[kind]);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        counts[kind]--;
        onChange(kind, counts[kind]);
      };
    },
    current: (kind) => counts[kind],
  };
}

// kube-apiserver's nonMutatingRequestVerbs, plus HEAD and OPTIONS, which change nothing either.
const readOnlyVerbs = new Set(['get', 'list', 'watch', 'head', 'options']);

export const requestKindOf = (info: RequestInfo): RequestKind => (readOnlyVerbs.has(info.verb) ? 'readOnly' : 'mutating');

/** The long-running check of kube-apiserver, for the verbs we serve: watches. */
export const isLongRunning = (info: RequestInfo): boolean => info.kind === 'resource' && info.verb === 'watch';

export const isHealthPath = (pathname: string): boolean => /^\/(livez|readyz|healthz)(\/|$)/.test(pathname);

export const tooManyRequests = (): Status =>
  status.failure(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds: 1 });
