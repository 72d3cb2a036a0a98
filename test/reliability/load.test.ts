/**
 * Load (issue 11), bounded: loopback only, fixed counts, stops itself. Against the server process
 * (standalone, HTTPS) with small in-flight limits and a 3 s request timeout:
 *
 * - bursts past --max-requests-inflight / --max-mutating-requests-inflight: 429 TooManyRequests
 *   Status with Retry-After, never a 5xx; refused creates store nothing; memory stays bounded;
 * - slow clients (slowloris): connections that never finish their headers do not block anyone; a
 *   body trickled slower than the request timeout gets 504; the header timeout cuts the slow
 *   connections off (waited for in the soak only: it is the server's 32 s headersTimeout);
 * - many idle watches (1000; 3000 in the soak) do not starve requests, and all of them still deliver.
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import { expect } from 'chai';
import { useEtcd } from '../support/etcd.js';
import { call, figures, gvPath, isStatus, openWatch, policy, scaled, soak, startStandalone, until, type OpenWatch, type ServerProcess, type Target } from './support.js';

const requestTimeoutMs = 3000;

/** Resident memory of a process, in MiB. */
const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'))?.[1] ?? 0) / 1024;

describe('reliability: bounded load', function () {
  this.timeout(scaled(120_000, 1_200_000));
  const etcd = useEtcd();
  let server: ServerProcess | undefined;
  before(async function () {
    this.timeout(90_000);
    server = await startStandalone({
      etcdServers: [etcd.endpoint()],
      etcdPrefix: '/load',
      args: ['--max-requests-inflight=4', '--max-mutating-requests-inflight=2', `--request-timeout=${String(requestTimeoutMs / 1000)}s`],
    });
  });
  after(async function () {
    this.timeout(60_000);
    await server?.stop();
  });

  describe('at the in-flight limit', function () {
    const fig = figures('load at the in-flight limit');
    it('answers 429 with Retry-After past the limit, never 5xx, stores nothing refused, and memory stays bounded', async () => {
      const s = server as ServerProcess;
      const rounds = scaled(3, 30);
      const burst = 150;
      const agent = new Agent({ keepAlive: true, maxSockets: burst });
      const t = s.target(agent);
      const ns = 'burst';
      const path = `${gvPath}/namespaces/${ns}/accesspolicies`;
      const codes = new Map<number, number>();
      const bad: string[] = [];
      const created = new Set<string>();
      const refused = new Set<string>();
      let seq = 0;
      let rssFirst = 0;
      const count = (r: { status: number; headers: Record<string, unknown>; text: string }, ok: number): void => {
        codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
        if (r.status === 429) {
          if (r.headers['retry-after'] !== '1' || !isStatus(r as never)) bad.push(`429 without Retry-After or Status: ${r.text.slice(0, 200)}`);
        } else if (r.status !== ok) bad.push(`${String(r.status)} ${r.text.slice(0, 200)}`);
      };
      try {
        // Open the connections first, so that each burst reaches the server at once.
        await Promise.all(Array.from({ length: burst }, () => call(t, 'GET', '/readyz')));
        for (let round = 0; round < rounds; round++) {
          const reads = Array.from({ length: burst }, () => call(t, 'GET', path).then((r) => count(r, 200)));
          const writes = Array.from({ length: burst / 3 }, async () => {
            const name = `b-${String(seq++)}`;
            const r = await call(t, 'POST', path, { body: policy(name, ns) });
            count(r, 201);
            (r.status === 201 ? created : refused).add(name);
          });
          await Promise.all([...reads, ...writes]);
          if (round === 0) rssFirst = rssMiB(s.child.pid ?? 0);
        }
      } finally {
        agent.destroy();
      }
      const rssLast = rssMiB(s.child.pid ?? 0);
      const listed = await call(s.target(), 'GET', path);
      const stored = new Set((listed.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name));
      const fiveXX = [...codes].filter(([c]) => c >= 500).reduce((a, [, n]) => a + n, 0);
      fig.set('requests', [...codes.values()].reduce((a, b) => a + b, 0));
      fig.set('2xx', (codes.get(200) ?? 0) + (codes.get(201) ?? 0));
      fig.set('429', codes.get(429) ?? 0);
      fig.set('5xx', fiveXX);
      fig.set('RSS MiB after round 1', Math.round(rssFirst));
      fig.set(`RSS MiB after round ${String(rounds)}`, Math.round(rssLast));
      expect(bad, 'answers other than 2xx or 429 with Retry-After').to.deep.equal([]);
      expect(codes.get(429) ?? 0, '429s').to.be.greaterThan(0);
      expect([...created].filter((n) => !stored.has(n)), 'created but missing').to.deep.equal([]);
      expect([...refused].filter((n) => stored.has(n)), 'refused but stored').to.deep.equal([]);
      // Bounded: repeating the same load does not keep growing the heap.
      expect(rssLast, 'RSS (MiB)').to.be.at.most(rssFirst + 150);
    });
  });

  describe('slow clients (slowloris)', function () {
    const fig = figures('slow clients (slowloris)');
    const sockets: TLSSocket[] = [];
    const timers: NodeJS.Timeout[] = [];
    after(() => {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
    });

    const open = (s: ServerProcess): Promise<TLSSocket> =>
      new Promise((resolve, reject) => {
        const sock = connect({ host: '127.0.0.1', port: s.port, ca: s.ca, checkServerIdentity: () => undefined }, () => resolve(sock));
        sock.on('error', reject);
      });

    it('serves others while slow connections hold, answers a trickled body with 504, and cuts the slow ones off', async () => {
      const s = server as ServerProcess;
      const slow = scaled(50, 300);
      const closed = new Set<TLSSocket>();
      for (let i = 0; i < slow; i++) {
        const sock = await open(s);
        sock.on('error', () => undefined);
        sock.on('close', () => closed.add(sock));
        sockets.push(sock);
        sock.write(`GET ${gvPath}/namespaces/slow/accesspolicies HTTP/1.1\r\nHost: localhost\r\n`);
      }
      // A header line now and then, never the end of the headers.
      let n = 0;
      timers.push(setInterval(() => {
        for (const sock of sockets) if (!sock.destroyed) sock.write(`X-Slow-${String(n)}: x\r\n`);
        n++;
      }, 1000));

      // Everyone else is served meanwhile.
      const others = scaled(50, 500);
      const agent = new Agent({ keepAlive: true, maxSockets: 4 });
      const t: Target = s.target(agent);
      const replies = [];
      for (let i = 0; i < others; i++) replies.push(await call(t, 'GET', `${gvPath}/namespaces/slow/accesspolicies`, { timeoutMs: 10_000 }));
      agent.destroy();
      const served = replies.filter((r) => r.status === 200).length;
      fig.set('slow connections', slow);
      fig.set('other requests served meanwhile', `${String(served)}/${String(others)}`);
      expect(served).to.equal(others);

      // A body trickled slower than the request timeout: 504 Timeout.
      const trickle = await open(s);
      sockets.push(trickle);
      let answer = '';
      trickle.setEncoding('utf8').on('data', (d: string) => (answer += d));
      const t0 = Date.now();
      trickle.write(`POST ${gvPath}/namespaces/slow/accesspolicies HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`);
      timers.push(setInterval(() => {
        if (!trickle.destroyed) trickle.write(' ');
      }, 200));
      await until('an answer to the trickled body', () => (answer.includes('\r\n\r\n') ? true : undefined), { timeoutMs: requestTimeoutMs + 10_000 });
      fig.set('trickled body answered', `${answer.slice(9, 12)} after ${String(Date.now() - t0)} ms`);
      expect(answer.slice(0, 12)).to.equal('HTTP/1.1 504');

      if (soak) {
        // The server's headersTimeout (32 s, checked every 30 s) ends every slow connection.
        await until('the slow connections to be cut off', () => (sockets.slice(0, slow).every((x) => closed.has(x)) ? true : undefined), { timeoutMs: 200_000, intervalMs: 1000 });
        fig.set('slow connections cut off by the header timeout', closed.size);
      } else {
        fig.set('slow connections cut off by the header timeout', 'soak only (32 s headersTimeout)');
      }
    });
  });

  describe('idle watches', function () {
    const fig = figures('idle watches');
    const watches: OpenWatch[] = [];
    after(() => {
      for (const w of watches) w.close();
    });

    it('do not starve requests, and every one still delivers', async () => {
      const s = server as ServerProcess;
      const count = scaled(1000, 3000);
      const ns = 'idle';
      const path = `${gvPath}/namespaces/${ns}/accesspolicies`;
      // Opened in batches, each watch on its own connection.
      for (let i = 0; i < count; i += 100) {
        const batch = Array.from({ length: Math.min(100, count - i) }, () => openWatch(s.target(), `${path}?watch=true`));
        watches.push(...batch);
        await until('a batch of watches to start', () => (batch.every((w) => w.status === 200 || w.ended) ? true : undefined), { timeoutMs: 60_000 });
      }
      expect(watches.filter((w) => w.status !== 200).length, 'watches refused').to.equal(0);
      const rss = rssMiB(s.child.pid ?? 0);

      const agent = new Agent({ keepAlive: true, maxSockets: 4 });
      const t = s.target(agent);
      const requests = scaled(100, 1000);
      const codes = new Map<number, number>();
      for (let i = 0; i < requests; i++) {
        const r = i % 2 === 0 ? await call(t, 'GET', `${gvPath}/namespaces/other/accesspolicies`) : await call(t, 'POST', `${gvPath}/namespaces/other/accesspolicies`, { body: policy(`o-${String(i)}`, 'other') });
        codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
      }
      agent.destroy();
      const created = await call(s.target(), 'POST', path, { body: policy('ping', ns) });
      expect(created.status).to.equal(201);
      await until('every watch to deliver the event', () => (watches.every((w) => w.lines.some((l) => l.includes('"ping"'))) ? true : undefined), { timeoutMs: 60_000 });
      fig.set('idle watches', count);
      fig.set('requests meanwhile', requests);
      fig.set('requests answered 2xx', (codes.get(200) ?? 0) + (codes.get(201) ?? 0));
      fig.set('RSS MiB with the watches open', Math.round(rss));
      fig.set('watches that delivered the next event', watches.filter((w) => w.lines.some((l) => l.includes('"ping"'))).length);
      expect((codes.get(200) ?? 0) + (codes.get(201) ?? 0)).to.equal(requests);
    });
  });
});
