/**
 * A Storage decorator that times every etcd call, like kube-apiserver's etcd3 store does with
 * metrics.RecordEtcdRequest. Storage knows nothing of metrics libraries: it reports to an observer.
 */
import type { Result, Storage, StorageError } from './interface.js';

export type StorageOperation = 'create' | 'get' | 'list' | 'update' | 'delete' | 'count' | 'compact';

export interface StorageObserver {
  /**
   * One finished call. `failed` marks storage failures (etcd unreachable, rejected promise), not
   * expected outcomes such as KeyNotFound or a failed precondition.
   */
  observe(operation: StorageOperation, key: string, seconds: number, failed: boolean): void;
}

const isFailure = (r: Result<unknown, unknown>): boolean =>
  !r.ok && typeof r.error === 'object' && r.error !== null && (r.error as Partial<StorageError>).kind === 'Unavailable';

export function instrumentStorage(inner: Storage, observer: StorageObserver): Storage {
  const timed = async <R extends Result<unknown, unknown>>(operation: StorageOperation, key: string, call: () => Promise<R>): Promise<R> => {
    const start = performance.now();
    let failed = true;
    try {
      const r = await call();
      failed = isFailure(r);
      return r;
    } finally {
      observer.observe(operation, key, (performance.now() - start) / 1000, failed);
    }
  };
  return {
    create: (key, obj) => timed('create', key, () => inner.create(key, obj)),
    get: (key, opts) => timed('get', key, () => inner.get(key, opts)),
    list: (prefix, opts) => timed('list', prefix, () => inner.list(prefix, opts)),
    guaranteedUpdate: (key, tryUpdate) => timed('update', key, () => inner.guaranteedUpdate(key, tryUpdate)),
    delete: (key, preconditions, check) => timed('delete', key, () => inner.delete(key, preconditions, check)),
    // A watch is one long stream, not a request: its latency means nothing (kube does not time it either).
    watch: (prefix, fromRevision, signal, opts) => inner.watch(prefix, fromRevision, signal, opts),
    currentRevision: () => timed('count', '', () => inner.currentRevision()),
    compact: (revision) => timed('compact', '', () => inner.compact(revision)),
    close: () => inner.close(),
  };
}
