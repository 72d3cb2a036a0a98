/**
 * The request metrics of kube-apiserver (k8s.io/apiserver/pkg/endpoints/metrics), with its names,
 * label sets and buckets, so that the dashboards and alerts written for kube-apiserver work on us.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RequestInfo } from '../endpoints/request-info.js';

/** Buckets of apiserver_request_duration_seconds and etcd_request_duration_seconds in kube-apiserver. */
export const requestDurationBuckets: readonly number[] = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
];

const requestLabels = ['verb', 'dry_run', 'group', 'version', 'resource', 'subresource', 'scope', 'component'] as const;
type RequestLabel = (typeof requestLabels)[number];
export type RequestLabels = Record<RequestLabel, string>;

export type RequestKind = 'readOnly' | 'mutating';

export interface ApiserverMetrics {
  readonly requestTotal: Counter<RequestLabel | 'code'>;
  readonly requestDuration: Histogram<RequestLabel>;
  readonly currentInflightRequests: Gauge<'request_kind'>;
  readonly longrunningRequests: Gauge<RequestLabel>;
  readonly registeredWatchers: Gauge<'group' | 'version' | 'kind'>;
}

export function createApiserverMetrics(registry: Registry): ApiserverMetrics {
  const registers = [registry];
  return {
    requestTotal: new Counter({
      name: 'apiserver_request_total',
      help: 'Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
      labelNames: [...requestLabels, 'code'],
      registers,
    }),
    requestDuration: new Histogram({
      name: 'apiserver_request_duration_seconds',
      help: 'Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.',
      labelNames: [...requestLabels],
      buckets: [...requestDurationBuckets],
      registers,
    }),
    currentInflightRequests: new Gauge({
      name: 'apiserver_current_inflight_requests',
      help: 'Number of requests currently being served by this apiserver, per request kind (readOnly, mutating); watches are not counted.',
      labelNames: ['request_kind'],
      registers,
    }),
    longrunningRequests: new Gauge({
      name: 'apiserver_longrunning_requests',
      help: 'Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component.',
      labelNames: [...requestLabels],
      registers,
    }),
    registeredWatchers: new Gauge({
      name: 'apiserver_registered_watchers',
      help: 'Number of currently registered watchers for a given resources',
      labelNames: ['group', 'version', 'kind'],
      registers,
    }),
  };
}

/**
 * metrics.CleanVerb: the HTTP-ish verb kube-apiserver reports. GET of a collection is LIST, a watch is
 * WATCH, a server-side apply PATCH is APPLY, and DELETE of a collection is DELETECOLLECTION.
 */
export function reportedVerb(method: string, info: RequestInfo, contentType: string | undefined): string {
  if (info.kind === 'nonResource') return method.toUpperCase();
  switch (info.verb) {
    case 'get':
      return 'GET';
    case 'list':
      return 'LIST';
    case 'watch':
      return 'WATCH';
    case 'create':
      return 'POST';
    case 'update':
      return 'PUT';
    case 'patch':
      return (contentType ?? '').split(';')[0]?.trim().toLowerCase() === 'application/apply-patch+yaml' ? 'APPLY' : 'PATCH';
    case 'delete':
      return 'DELETE';
    case 'deletecollection':
      return 'DELETECOLLECTION';
  }
}

/** metrics.CleanScope: resource for one named object (and creates), namespace, cluster, or '' outside resources. */
export function reportedScope(info: RequestInfo): string {
  if (info.kind === 'nonResource') return '';
  if (info.name !== undefined || info.verb === 'create') return 'resource';
  if (info.namespace !== undefined) return 'namespace';
  return 'cluster';
}

/** cleanDryRun: the sorted dryRun values; only `All` is valid, anything else is reported as-is. */
export const reportedDryRun = (query: URLSearchParams): string => [...new Set(query.getAll('dryRun'))].sort().join(',');

export function requestLabelsOf(method: string, info: RequestInfo, query: URLSearchParams, contentType: string | undefined): RequestLabels {
  const resource = info.kind === 'resource';
  return {
    verb: reportedVerb(method, info, contentType),
    dry_run: reportedDryRun(query),
    group: resource ? info.group : '',
    version: resource ? info.version : '',
    resource: resource ? info.resource : '',
    subresource: resource ? (info.subresource ?? '') : '',
    scope: reportedScope(info),
    component: 'apiserver',
  };
}
