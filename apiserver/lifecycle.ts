/**
 * The shutdown phases of k8s.io/apiserver's GenericAPIServer, as state the filters and health checks
 * read: `shuttingDown` from SIGTERM on (/readyz fails, everything is still served), `draining` after
 * --shutdown-delay-duration (new requests are refused, watches end), and a count of requests still
 * in flight that shutdown waits for.
 */

export interface Lifecycle {
  /** True from the first shutdown signal on: the `shutdown` readiness check fails. */
  isShuttingDown(): boolean;
  isDraining(): boolean;
  /** Aborted when draining starts: open watches write a last bookmark and end. */
  readonly drainSignal: AbortSignal;
  startShutdown(): void;
  startDrain(): void;
  /** Counts one request in; call the returned function (idempotent) when its response has closed. */
  enter(): () => void;
  inflight(): number;
  /** Resolves true once no request is in flight, or false after timeoutMs. */
  drained(timeoutMs: number): Promise<boolean>;
}

export function createLifecycle(): Lifecycle {
  let shuttingDown = false;
  let count = 0;
  const drain = new AbortController();
  const waiters = new Set<() => void>();
  const settle = (): void => {
    if (count > 0) return;
    for (const w of waiters) w();
    waiters.clear();
  };
  return {
    isShuttingDown: () => shuttingDown,
    isDraining: () => drain.signal.aborted,
    drainSignal: drain.signal,
    startShutdown: () => {
      shuttingDown = true;
    },
    startDrain: () => {
      shuttingDown = true;
      drain.abort();
    },
    enter: () => {
      count++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        count--;
        settle();
      };
    },
    inflight: () => count,
    drained: (timeoutMs) =>
      new Promise<boolean>((resolve) => {
        if (count === 0) {
          resolve(true);
          return;
        }
        const timer = setTimeout(() => {
          waiters.delete(onIdle);
          resolve(false);
        }, timeoutMs).unref();
        const onIdle = (): void => {
          clearTimeout(timer);
          resolve(true);
        };
        waiters.add(onIdle);
      }),
  };
}
