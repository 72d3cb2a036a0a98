/**
 * Controller metrics under the names client-go's workqueue, controller-runtime and client-go's leader
 * election export, for the reconcilers in apiserver/controller/. Defined here so that one /metrics
 * serves everything; label `name` is the queue name, `controller` the reconciler name.
 */
import { Counter, Gauge, Histogram, exponentialBuckets, type Registry } from 'prom-client';

export interface ControllerMetrics {
  readonly workqueueDepth: Gauge<'name'>;
  readonly workqueueAddsTotal: Counter<'name'>;
  readonly workqueueRetriesTotal: Counter<'name'>;
  /** Seconds an item waits in the queue before being processed. */
  readonly workqueueQueueDuration: Histogram<'name'>;
  /** Seconds processing an item takes. */
  readonly workqueueWorkDuration: Histogram<'name'>;
  readonly workqueueUnfinishedWorkSeconds: Gauge<'name'>;
  readonly workqueueLongestRunningProcessorSeconds: Gauge<'name'>;
  /** result: success | error | requeue | requeue_after. */
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrorsTotal: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  /** 1 while this replica holds the Lease `name`, else 0. */
  readonly leaderStatus: Gauge<'name'>;
}

// client-go's workqueue buckets: 10ns … 10s, ×10.
const workqueueBuckets = exponentialBuckets(10e-9, 10, 10);
// controller-runtime's reconcile_time_seconds buckets.
const reconcileBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0,
  3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

export function createControllerMetrics(registry: Registry): ControllerMetrics {
  const registers = [registry];
  const queue = ['name'] as const;
  return {
    workqueueDepth: new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: queue, registers }),
    workqueueAddsTotal: new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: queue, registers }),
    workqueueRetriesTotal: new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: queue, registers }),
    workqueueQueueDuration: new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested.',
      labelNames: queue,
      buckets: workqueueBuckets,
      registers,
    }),
    workqueueWorkDuration: new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes.',
      labelNames: queue,
      buckets: workqueueBuckets,
      registers,
    }),
    workqueueUnfinishedWorkSeconds: new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: 'How many seconds of work has done that is in progress and hasn\'t been observed by work_duration.',
      labelNames: queue,
      registers,
    }),
    workqueueLongestRunningProcessorSeconds: new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: queue,
      registers,
    }),
    reconcileTotal: new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    }),
    reconcileErrorsTotal: new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    }),
    reconcileTime: new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: reconcileBuckets,
      registers,
    }),
    leaderStatus: new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. \'name\' is the string used to identify the lease.',
      labelNames: ['name'],
      registers,
    }),
  };
}
