/**
 * The metrics of this process, all in one registry served on /metrics.
 *
 * Why prom-client rather than hand-written text: it is the maintained Prometheus client for Node; it
 * writes the standard text exposition format (escaping, `# HELP`/`# TYPE`, `_bucket{le=…}`/`_sum`/
 * `_count` series with cumulative buckets) and the process_* / nodejs_* metrics, which are easy to get
 * subtly wrong by hand.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Response } from 'express';
import { createApiserverMetrics, type ApiserverMetrics } from './apiserver.js';
import { createControllerMetrics, type ControllerMetrics } from './controller.js';
import { createStorageMetrics, refreshObjectCounts, type ObjectCountSource, type StorageMetrics } from './storage.js';

export interface Metrics {
  readonly registry: Registry;
  readonly apiserver: ApiserverMetrics;
  readonly storage: StorageMetrics;
  readonly controller: ControllerMetrics;
}

export interface MetricsOptions {
  /** process_* and nodejs_* metrics; off by default because they hook GC and timers per registry. */
  readonly processMetrics?: boolean;
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (opts.processMetrics === true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    apiserver: createApiserverMetrics(registry),
    storage: createStorageMetrics(registry),
    controller: createControllerMetrics(registry),
  };
}

/** GET /metrics (after authorization): refreshes the object counts, then writes the text format. */
export async function serveMetrics(res: Response, m: Metrics, objectCounts: readonly ObjectCountSource[]): Promise<void> {
  await refreshObjectCounts(m.storage, objectCounts);
  const body = await m.registry.metrics();
  res.status(200).setHeader('Content-Type', m.registry.contentType);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(body);
}

export type { ApiserverMetrics, ControllerMetrics, ObjectCountSource, StorageMetrics };
export { requestLabelsOf, type RequestKind, type RequestLabels } from './apiserver.js';
export { etcdKeyLabels, storageObserver } from './storage.js';
