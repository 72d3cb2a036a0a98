import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { createLifecycle } from '../../../apiserver/lifecycle.js';
import { createLogger } from '../../../apiserver/logging.js';
import { gracefulShutdown, type ShutdownDeps } from '../../../apiserver/shutdown.js';

/** Records the order of the shutdown steps. */
function harness(): { steps: string[]; deps: ShutdownDeps; exited: Promise<number> } {
  const steps: string[] = [];
  const lifecycle = createLifecycle();
  const server = Object.assign(new EventEmitter(), {
    close: () => {
      steps.push(`close listener (draining=${String(lifecycle.isDraining())})`);
      return server;
    },
    closeAllConnections: () => void steps.push('close connections'),
  });
  let exit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => (exit = resolve));
  return {
    steps,
    exited,
    deps: {
      server: server as unknown as ShutdownDeps['server'],
      lifecycle,
      logger: createLogger({ verbosity: 0, write: () => undefined }),
      shutdownDelayMs: 5000,
      sleep: (ms) => {
        steps.push(`wait ${String(ms)}ms`);
        return Promise.resolve();
      },
      close: () => {
        steps.push('close storage');
        return Promise.resolve();
      },
      exit: (code) => {
        steps.push(`exit ${String(code)}`);
        exit(code);
      },
    },
  };
}

describe('gracefulShutdown', () => {
  it('fails readiness at once, waits the delay, then drains, waits for requests, closes storage and exits 0', async () => {
    const { steps, deps, exited } = harness();
    const done = deps.lifecycle.enter();
    gracefulShutdown(deps)('SIGTERM');
    expect(deps.lifecycle.isShuttingDown()).to.equal(true);
    // The in-flight request holds the shutdown until it finishes.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(steps).to.deep.equal(['wait 5000ms', 'close listener (draining=true)']);
    done();
    expect(await exited).to.equal(0);
    expect(steps).to.deep.equal(['wait 5000ms', 'close listener (draining=true)', 'close connections', 'close storage', 'exit 0']);
  });

  it('exits 1 at once on a second signal', async () => {
    const { deps, exited } = harness();
    const done = deps.lifecycle.enter();
    const handle = gracefulShutdown(deps);
    handle('SIGTERM');
    handle('SIGTERM');
    expect(await exited).to.equal(1);
    done();
  });
});
