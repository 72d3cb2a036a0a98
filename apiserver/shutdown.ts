/**
 * Graceful shutdown, in GenericAPIServer's order: /readyz fails at once (so the endpoints controller
 * and the aggregator stop sending traffic), the server keeps serving for --shutdown-delay-duration,
 * then stops accepting connections, refuses new requests on open ones, ends watches with a last
 * bookmark, waits for in-flight requests (at most 55 s), and finally closes what `close` names; the
 * process is gone --shutdown-delay-duration + 60 s after the signal in any case.
 */
import type { Server } from 'node:net';
import type { Lifecycle } from './lifecycle.js';
import type { Logger } from './logging.js';

export interface ShutdownDeps {
  readonly server: Server & { closeAllConnections(): void };
  readonly lifecycle: Lifecycle;
  readonly logger: Logger;
  readonly shutdownDelayMs: number;
  /** Releases the lease, stops informers, closes storage. */
  readonly close: () => Promise<unknown>;
  readonly exit: (code: number) => void;
  readonly drainTimeoutMs?: number;
  /** The wait of --shutdown-delay-duration (injectable for tests). */
  readonly sleep?: (ms: number) => Promise<void>;
}

export const drainTimeoutMs = 55_000;
const hardExitMs = 60_000;

/** Returns the signal handler: the first signal shuts down gracefully, a second one exits at once. */
export function gracefulShutdown(deps: ShutdownDeps): (signal: string) => void {
  let started = false;
  let hardExit: NodeJS.Timeout | undefined;
  const drainMs = deps.drainTimeoutMs ?? drainTimeoutMs;
  return (signal) => {
    if (started) {
      deps.logger.warn('second signal, exiting immediately', { signal });
      clearTimeout(hardExit);
      deps.exit(1);
      return;
    }
    started = true;
    deps.lifecycle.startShutdown();
    deps.logger.info('shutting down', { signal, shutdownDelay: `${String(deps.shutdownDelayMs / 1000)}s` });
    // Whatever hangs, the process is gone within the promised time.
    hardExit = setTimeout(() => {
      deps.logger.warn('shutdown did not finish in time, exiting', { inflight: deps.lifecycle.inflight() });
      deps.exit(1);
    }, deps.shutdownDelayMs + Math.max(hardExitMs, drainMs + 1000)).unref();
    void (async () => {
      await (deps.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms))))(deps.shutdownDelayMs);
      deps.lifecycle.startDrain();
      deps.server.close();
      const drained = await deps.lifecycle.drained(drainMs);
      if (!drained) deps.logger.warn('requests still in flight after the drain timeout', { inflight: deps.lifecycle.inflight() });
      deps.server.closeAllConnections();
      await deps.close().catch((e: unknown) => deps.logger.error('closing', e));
      deps.logger.info('shutdown complete');
      clearTimeout(hardExit);
      deps.exit(0);
    })();
  };
}
