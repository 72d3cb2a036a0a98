import { expect } from 'chai';
import { createLifecycle } from '../../../apiserver/lifecycle.js';

describe('createLifecycle', () => {
  it('reports shutdown before draining, and both after startDrain', () => {
    const l = createLifecycle();
    expect([l.isShuttingDown(), l.isDraining()]).to.deep.equal([false, false]);
    l.startShutdown();
    expect([l.isShuttingDown(), l.isDraining(), l.drainSignal.aborted]).to.deep.equal([true, false, false]);
    l.startDrain();
    expect([l.isShuttingDown(), l.isDraining(), l.drainSignal.aborted]).to.deep.equal([true, true, true]);
  });

  it('counts requests in and out, once per request', () => {
    const l = createLifecycle();
    const a = l.enter();
    const b = l.enter();
    a();
    a();
    expect(l.inflight()).to.equal(1);
    b();
    expect(l.inflight()).to.equal(0);
  });

  it('resolves drained at once when nothing is in flight', async () => {
    expect(await createLifecycle().drained(10_000)).to.equal(true);
  });

  it('resolves drained when the last request finishes', async () => {
    const l = createLifecycle();
    const done = l.enter();
    const drained = l.drained(10_000);
    done();
    expect(await drained).to.equal(true);
  });

  it('gives up after the timeout', async () => {
    const l = createLifecycle();
    l.enter();
    expect(await l.drained(1)).to.equal(false);
  });
});
