/**
 * `node --import tsx test/bench/conn-probe.ts`: how kube-apiserver's proxy connects to our server
 * under load: our server's TCP connections (established and in TIME_WAIT) before and after a run of
 * aggregated gets, and the run's figures. For the aggregation section of test/bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { startLoadClient } from './load-client.js';
import { startTargets } from './targets.js';
import { namespaces, opFor, seed, smallCount, storedTemplate } from './workloads.js';

const targets = await startTargets({ namespaces: Object.values(namespaces), log: (l) => process.stderr.write(`${l}\n`) });
const client = startLoadClient();
try {
  const t = targets.byId.aggregated;
  await seed(t.store, await storedTemplate(t), namespaces.small, 0, smallCount);
  const port = Number(/:(\d+)$/.exec(targets.byId.backend.conn.kind === 'http' ? targets.byId.backend.conn.origin : '')?.[1]);
  const conns = (): Record<string, number> => {
    const out = execFileSync('ss', ['-tanH'], { encoding: 'utf8' });
    const counts: Record<string, number> = {};
    for (const line of out.split('\n')) {
      const [state, , , local, peer] = line.trim().split(/\s+/);
      if (state === undefined || (local?.endsWith(`:${String(port)}`) !== true && peer?.endsWith(`:${String(port)}`) !== true)) continue;
      counts[state] = (counts[state] ?? 0) + 1;
    }
    return counts;
  };
  for (const concurrency of [1, 8, 32]) {
    const before = conns();
    const r = await client.run({ conn: t.conn, op: opFor('get', t, 1), concurrency, warmup: 100, count: 2000 });
    process.stdout.write(`concurrency ${String(concurrency)}: ${String(r.opsPerSec)}/s p50 ${String(r.p50Ms)} ms; our port's sockets before ${JSON.stringify(before)} after ${JSON.stringify(conns())}\n`);
  }
} finally {
  client.close();
  await targets.stop();
}
