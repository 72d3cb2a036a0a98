/**
 * Storage metrics of kube-apiserver: etcd request latencies by operation and resource (fed by
 * storage/instrumented.ts) and the number of stored objects per resource.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { StorageObserver } from '../../storage/instrumented.js';
import { requestDurationBuckets } from './apiserver.js';

type EtcdLabel = 'operation' | 'group' | 'resource';

export interface StorageMetrics {
  /** kube-apiserver ≥ 1.31 labels: operation, group, resource (older releases had `type`). */
  readonly etcdRequestDuration: Histogram<EtcdLabel>;
  readonly etcdRequestsTotal: Counter<EtcdLabel>;
  readonly etcdRequestErrorsTotal: Counter<EtcdLabel>;
  /** Deprecated in kube-apiserver 1.31 but still what most dashboards read; resource = `<plural>.<group>`. */
  readonly storageObjects: Gauge<'resource'>;
  readonly resourceObjects: Gauge<'group' | 'resource'>;
}

export function createStorageMetrics(registry: Registry): StorageMetrics {
  const registers = [registry];
  return {
    etcdRequestDuration: new Histogram({
      name: 'etcd_request_duration_seconds',
      help: 'Etcd request latency in seconds for each operation and object type.',
      labelNames: ['operation', 'group', 'resource'],
      buckets: [...requestDurationBuckets],
      registers,
    }),
    etcdRequestsTotal: new Counter({
      name: 'etcd_requests_total',
      help: 'Etcd request counts for each operation and object type.',
      labelNames: ['operation', 'group', 'resource'],
      registers,
    }),
    etcdRequestErrorsTotal: new Counter({
      name: 'etcd_request_errors_total',
      help: 'Etcd failed request counts for each operation and object type.',
      labelNames: ['operation', 'group', 'resource'],
      registers,
    }),
    storageObjects: new Gauge({
      name: 'apiserver_storage_objects',
      help: 'Number of stored objects at the time of last check split by kind. In case of a fetching error, the value will be -1.',
      labelNames: ['resource'],
      registers,
    }),
    resourceObjects: new Gauge({
      name: 'apiserver_resource_objects',
      help: 'Number of stored objects at the time of last check split by kind. In case of a fetching error, the value will be -1.',
      labelNames: ['group', 'resource'],
      registers,
    }),
  };
}

/**
 * Reads group and resource from a key of the layout in storage/keys.ts
 * (`<etcdPrefix>/<group>/<plural>/…`); keys outside it (revision reads, compaction) get empty labels.
 */
export function etcdKeyLabels(etcdPrefix: string, key: string): { group: string; resource: string } {
  const root = `${etcdPrefix.replace(/\/+$/, '')}/`;
  if (!key.startsWith(root)) return { group: '', resource: '' };
  const [group = '', resource = ''] = key.slice(root.length).split('/');
  return { group, resource };
}

/** The observer that storage/instrumented.ts reports each etcd call to. */
export function storageObserver(m: StorageMetrics, etcdPrefix: string): StorageObserver {
  return {
    observe: (operation, key, seconds, failed) => {
      const labels = { operation, ...etcdKeyLabels(etcdPrefix, key) };
      m.etcdRequestDuration.observe(labels, seconds);
      m.etcdRequestsTotal.inc(labels);
      if (failed) m.etcdRequestErrorsTotal.inc(labels);
    },
  };
}

export interface ObjectCountSource {
  readonly group: string;
  readonly resource: string;
  /** undefined when storage could not answer (reported as -1, as kube-apiserver does). */
  readonly count: () => Promise<number | undefined>;
}

/** Refreshes the object gauges; called on each scrape of /metrics. */
export async function refreshObjectCounts(m: StorageMetrics, sources: readonly ObjectCountSource[]): Promise<void> {
  await Promise.all(
    sources.map(async (s) => {
      const n = (await s.count().catch(() => undefined)) ?? -1;
      m.storageObjects.set({ resource: s.group === '' ? s.resource : `${s.resource}.${s.group}` }, n);
      m.resourceObjects.set({ group: s.group, resource: s.resource }, n);
    }),
  );
}
