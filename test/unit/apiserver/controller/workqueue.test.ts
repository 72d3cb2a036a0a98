import { expect } from 'chai';
import { WorkQueue, type Timers } from '../../../../apiserver/controller/workqueue.js';

/** Timers driven by the test: `advance(ms)` fires what is due. */
function fakeTimers(): Timers & { advance(ms: number): void; now(): number } {
  let t = 0;
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  return {
    setTimeout: (fn, ms) => {
      seq += 1;
      pending.set(seq, { at: t + ms, fn });
      return seq;
    },
    clearTimeout: (h) => void pending.delete(h as number),
    advance(ms) {
      t += ms;
      for (const [id, p] of [...pending].sort((a, b) => a[1].at - b[1].at)) {
        if (p.at <= t) {
          pending.delete(id);
          p.fn();
        }
      }
    },
    now: () => t,
  };
}

describe('WorkQueue', () => {
  it('deduplicates a key that is already queued', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.len()).to.equal(2);
    expect(await q.get()).to.equal('a');
    expect(await q.get()).to.equal('b');
  });

  it('never hands one key to two workers; an add during processing is replayed after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const k = await q.get();
    q.add('a');
    expect(q.len()).to.equal(0);
    q.done(k ?? '');
    expect(q.len()).to.equal(1);
    expect(await q.get()).to.equal('a');
  });

  it('wakes a waiting worker', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.add('x');
    expect(await waiting).to.equal('x');
  });

  it('delays with addAfter, keeping the earliest deadline', async () => {
    const timers = fakeTimers();
    const q = new WorkQueue(undefined, {}, timers, timers.now);
    q.addAfter('a', 100);
    q.addAfter('a', 50);
    q.addAfter('a', 500);
    timers.advance(49);
    expect(q.len()).to.equal(0);
    timers.advance(1);
    expect(q.len()).to.equal(1);
    timers.advance(1000);
    expect(q.len()).to.equal(1);
  });

  it('backs off exponentially per key until forget', () => {
    const timers = fakeTimers();
    const q = new WorkQueue({ baseMs: 10, maxMs: 100 }, {}, timers, timers.now);
    expect([0, 1, 2, 3, 4, 10].map((n) => q.retryDelay(n))).to.deep.equal([10, 20, 40, 80, 100, 100]);
    q.addRateLimited('a');
    q.addRateLimited('a');
    expect(q.numRequeues('a')).to.equal(2);
    q.forget('a');
    expect(q.numRequeues('a')).to.equal(0);
  });

  it('releases waiting workers on shutdown and ignores later adds', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).to.equal(undefined);
    q.add('a');
    expect(q.len()).to.equal(0);
  });
});
