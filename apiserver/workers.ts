/**
 * Using every core (issue 10): with --workers=N the primary process forks N copies of the server that
 * share the listening socket (node:cluster hands connections out round-robin). Nothing is shared in
 * memory between them, so nothing can break the API's semantics: each worker reads etcd (or its own
 * watch cache, which waits for etcd's current revision on a consistent read) and every write is a
 * compare-and-swap in etcd; leader election makes one worker of one replica run the controllers.
 *
 * The primary only supervises: SIGTERM/SIGINT are passed on and it exits when every worker has; a
 * worker that dies unexpectedly is replaced, at most once per second.
 */
import cluster from 'node:cluster';

export function runWorkers(count: number, log: (entry: Record<string, unknown>) => void): void {
  let stopping = false;
  let lastFork = 0;
  const fork = (): void => {
    lastFork = Date.now();
    cluster.fork();
  };
  for (let i = 0; i < count; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    log({ level: 'error', msg: 'worker exited; starting another', pid: worker.process.pid, code, signal });
    setTimeout(fork, Math.max(0, 1000 - (Date.now() - lastFork)));
  });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(sig);
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  }
}
