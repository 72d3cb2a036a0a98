import { expect } from 'chai';
import type { KubeClient, KubeResponse } from '../../../../apiserver/controller/kube-client.js';
import { startLeaderElection, type LeaderElector } from '../../../../apiserver/controller/leader.js';

/** The Lease endpoint's semantics only: create-if-absent and compare-and-swap on resourceVersion. */
function leaseServer(): { client: (partitioned: () => boolean) => KubeClient; holder: () => string | undefined } {
  let stored: { metadata: { resourceVersion: string }; spec: { holderIdentity?: string } } | undefined;
  let rv = 0;
  const client = (partitioned: () => boolean): KubeClient => ({
    call: <T>(method: string, _path: string, body?: unknown): Promise<KubeResponse<T>> => {
      if (partitioned()) return Promise.resolve({ ok: false, code: 0, message: 'connection refused' });
      const copy = (): T => structuredClone(stored) as T;
      if (method === 'GET') return Promise.resolve(stored === undefined ? { ok: false, code: 404, message: 'not found' } : { ok: true, code: 200, body: copy() });
      const obj = structuredClone(body) as NonNullable<typeof stored>;
      if (method === 'POST') {
        if (stored !== undefined) return Promise.resolve({ ok: false, code: 409, message: 'exists' });
      } else if (stored === undefined || obj.metadata.resourceVersion !== stored.metadata.resourceVersion) {
        return Promise.resolve({ ok: false, code: 409, message: 'conflict' });
      }
      rv += 1;
      stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
      return Promise.resolve({ ok: true, code: 200, body: copy() });
    },
    watch: () => Promise.resolve({ code: 200 }),
  });
  return { client, holder: () => stored?.spec.holderIdentity };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Polls instead of trusting a fixed delay: the machine running the tests may be slow. */
async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('leader election', () => {
  const timing = { leaseDurationMs: 600, renewDeadlineMs: 400, retryPeriodMs: 50 };
  const electors: LeaderElector[] = [];
  afterEach(async () => {
    await Promise.all(electors.splice(0).map((e) => e.stop()));
  });

  it('elects exactly one of several candidates, and a standby takes over after the leader is partitioned', async () => {
    const server = leaseServer();
    const cut = new Set<string>();
    const leading = new Map<string, boolean>();
    for (const id of ['a', 'b', 'c']) {
      electors.push(
        startLeaderElection({
          client: server.client(() => cut.has(id)),
          namespace: 'ns',
          name: 'lease',
          identity: id,
          ...timing,
          onStartedLeading: () => leading.set(id, true),
          onStoppedLeading: () => {
            leading.set(id, false);
            return Promise.resolve();
          },
          log: () => undefined,
        }),
      );
    }
    await until('a leader', () => electors.some((e) => e.isLeader()));
    await sleep(200); // others keep trying meanwhile: still one leader
    const leaders = electors.filter((e) => e.isLeader());
    expect(leaders).to.have.length(1);
    const first = leaders[0]?.identity ?? '';
    expect(server.holder()).to.equal(first);

    cut.add(first);
    // The old leader gives up at the renew deadline, before the lease may be taken (lease duration).
    await until('the old leader to step down', () => leading.get(first) === false);
    expect(electors.find((e) => e.identity === first)?.canWrite()).to.equal(false);
    await until('a new leader', () => electors.some((e) => e.isLeader() && e.identity !== first));
    const next = electors.filter((e) => e.isLeader());
    expect(next).to.have.length(1);
    expect(next[0]?.identity).to.not.equal(first);
  });

  it('releases the lease on stop so a standby takes over at once', async () => {
    const server = leaseServer();
    const mk = (id: string): LeaderElector =>
      startLeaderElection({ client: server.client(() => false), namespace: 'ns', name: 'lease', identity: id, ...timing, onStartedLeading: () => undefined, onStoppedLeading: () => Promise.resolve(), log: () => undefined });
    const a = mk('a');
    await until('a to lead', () => a.isLeader());
    const b = mk('b');
    electors.push(b);
    await sleep(150);
    expect(a.isLeader()).to.equal(true);
    expect(b.isLeader()).to.equal(false);
    await a.stop();
    // Well inside the lease duration: only a released lease lets b in this fast.
    await until('b to lead', () => b.isLeader(), timing.leaseDurationMs);
  });
});
