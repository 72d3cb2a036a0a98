/**
 * A throwaway single-member etcd for integration tests: binary from $ETCD_BIN or
 * test/cluster/build-binaries.sh, free ports on 127.0.0.1, data under /dev/shm when it exists,
 * flags as in shared/spec/local-control-plane.md §4.3.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

export interface EtcdProcess {
  /** `http://127.0.0.1:<client port>` */
  readonly endpoint: string;
  /** SIGTERM, wait for exit, remove the data dir. */
  stop(): Promise<void>;
  /** SIGKILL, wait for exit; keeps the data dir for restart(). */
  kill(): Promise<void>;
  /** Starts again on the same data dir and ports (stopping a running instance first). */
  restart(): Promise<void>;
  /** Sends a signal to the running process, e.g. SIGSTOP/SIGCONT to freeze and thaw it. */
  signal(sig: NodeJS.Signals): void;
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const stderrTailBytes = 16 * 1024;

// Memoized: the build script takes minutes when cold, and every file in one mocha run shares it.
let binary: Promise<string> | undefined;

/** Path of the etcd binary: $ETCD_BIN, else what build-binaries.sh --etcd-only prints. */
export function etcdBinary(): Promise<string> {
  binary ??= locateBinary();
  return binary;
}

async function locateBinary(): Promise<string> {
  const fromEnv = process.env['ETCD_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const { code, stdout, stderr } = await run(
    'bash',
    [join(repoRoot, 'test/cluster/build-binaries.sh'), '--etcd-only'],
    repoRoot,
  );
  const line = stdout.split('\n').find((l) => l.startsWith('ETCD_BIN='));
  if (code !== 0 || line === undefined) {
    throw new Error(
      `build-binaries.sh --etcd-only failed (exit ${String(code)}):\n${stderr.slice(-4000)}`,
    );
  }
  return line.slice('ETCD_BIN='.length).trim();
}

function run(
  cmd: string,
  args: readonly string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}


async function distinctFreePorts(): Promise<[number, number]> {
  const client = await freePort();
  for (;;) {
    const peer = await freePort();
    if (peer !== client) return [client, peer];
  }
}

// Children still running when the test process exits are killed, and their data removed.
const live = new Set<{ child: ChildProcess; dataDir: string }>();
process.on('exit', () => {
  for (const { child, dataDir } of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

export interface StartEtcdOptions {
  /** etcd's watch progress notification interval (a Go duration, e.g. '200ms'; etcd's default is 10m). */
  readonly progressNotifyInterval?: string;
}

export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdProcess> {
  // Ports come from listen(0) and are released before etcd binds them, so another process may take
  // one in between: start again on fresh ports (as local-control-plane.md §5 says, up to 3 times).
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (e) {
      if (attempt >= 3 || !(e instanceof Error) || !e.message.includes('address already in use')) {
        throw e;
      }
    }
  }
}

interface MemberSpec {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  /** `--initial-cluster`: `name=peerUrl,…` of every member. */
  readonly initialCluster: string;
  readonly token: string;
  readonly dataDir: string;
}

async function memberArgs(bin: string, m: MemberSpec, opts: StartEtcdOptions): Promise<string[]> {
  const version = await run(bin, ['--version'], repoRoot);
  // Debian's 3.4 has no --unsafe-no-fsync; 3.6 renamed the experimental flags.
  const minor = /etcd Version: 3\.([0-9]+)\./.exec(version.stdout)?.[1];
  const is34 = minor === '4';
  const progressFlag =
    minor !== undefined && Number(minor) >= 6
      ? '--watch-progress-notify-interval'
      : '--experimental-watch-progress-notify-interval';
  const clientUrl = `http://127.0.0.1:${String(m.clientPort)}`;
  const peerUrl = `http://127.0.0.1:${String(m.peerPort)}`;
  return [
    `--name=${m.name}`,
    `--data-dir=${join(m.dataDir, m.name)}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=${m.initialCluster}`,
    '--initial-cluster-state=new',
    `--initial-cluster-token=${m.token}`,
    '--snapshot-count=10000',
    '--quota-backend-bytes=1073741824',
    '--logger=zap',
    '--log-outputs=stderr',
    '--log-level=warn',
    ...(is34 ? [] : ['--unsafe-no-fsync=true']),
    ...(opts.progressNotifyInterval === undefined
      ? []
      : [`${progressFlag}=${opts.progressNotifyInterval}`]),
  ];
}

async function startOnce(opts: StartEtcdOptions): Promise<EtcdProcess> {
  const bin = await etcdBinary();
  const [clientPort, peerPort] = await distinctFreePorts();
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dataDir = mkdtempSync(join(base, 'storage-etcd-'));
  const name = 'storage-test';
  const peerUrl = `http://127.0.0.1:${String(peerPort)}`;
  const spec = { name, clientPort, peerPort, initialCluster: `${name}=${peerUrl}`, token: name, dataDir };
  const member = superviseMember(bin, await memberArgs(bin, spec, opts), `http://127.0.0.1:${String(clientPort)}`, dataDir);
  try {
    await member.started;
  } catch (e) {
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  return member.process;
}

/** Runs one etcd member: `started` settles when it is healthy (or failed to start). */
function superviseMember(
  bin: string,
  args: readonly string[],
  clientUrl: string,
  dataDir: string,
): { process: EtcdProcess; started: Promise<void> } {
  let current:
    { child: ChildProcess; dataDir: string; stderr: string[]; exited: Promise<void> } | undefined;

  const launch = async (): Promise<void> => {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const stderr: string[] = [];
    let stderrSize = 0;
    child.stderr?.setEncoding('utf8').on('data', (s: string) => {
      stderr.push(s);
      stderrSize += s.length;
      while (stderrSize > stderrTailBytes && stderr.length > 1)
        stderrSize -= stderr.shift()?.length ?? 0;
    });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const entry = { child, dataDir, stderr, exited };
    current = entry;
    live.add(entry);
    let gone = false;
    void exited.then(() => {
      gone = true;
      live.delete(entry);
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (gone) throw new Error(`etcd exited during startup:\n${stderr.join('')}`);
      if (await healthy(clientUrl)) return;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        await exited;
        throw new Error(`etcd not healthy after 30 s:\n${stderr.join('')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const entry = current;
    if (entry === undefined) return;
    current = undefined;
    if (entry.child.exitCode === null && entry.child.signalCode === null) {
      entry.child.kill(signal);
      const timer = setTimeout(() => entry.child.kill('SIGKILL'), 10_000);
      await entry.exited;
      clearTimeout(timer);
    }
  };

  return {
    started: launch(),
    process: {
      endpoint: clientUrl,
      async stop() {
        current?.child.kill('SIGCONT');
        await terminate('SIGTERM');
        rmSync(dataDir, { recursive: true, force: true });
      },
      kill: () => terminate('SIGKILL'),
      async restart() {
        current?.child.kill('SIGCONT');
        await terminate('SIGTERM');
        await launch();
      },
      signal(sig) {
        current?.child.kill(sig);
      },
    },
  };
}

export interface EtcdCluster {
  /** One per member, in member order. */
  readonly members: readonly EtcdProcess[];
  /** Every member's client URL. */
  readonly endpoints: readonly string[];
  /** Stops every member and removes the data. */
  stop(): Promise<void>;
}

/**
 * A cluster of `size` members on 127.0.0.1 (as startEtcd, one data dir). Members start together:
 * none is healthy before a quorum is up. Each member can be killed and restarted on its own.
 */
export async function startEtcdCluster(size: number, opts: StartEtcdOptions = {}): Promise<EtcdCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(size, opts);
    } catch (e) {
      if (attempt >= 3 || !(e instanceof Error) || !e.message.includes('address already in use')) throw e;
    }
  }
}

async function startClusterOnce(size: number, opts: StartEtcdOptions): Promise<EtcdCluster> {
  const bin = await etcdBinary();
  const ports = new Set<number>();
  while (ports.size < 2 * size) ports.add(await freePort());
  const [...all] = ports;
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dataDir = mkdtempSync(join(base, 'storage-etcd-cluster-'));
  const names = Array.from({ length: size }, (_, i) => `member-${String(i)}`);
  const peerPort = (i: number): number => all[2 * i + 1] ?? 0;
  const clientPort = (i: number): number => all[2 * i] ?? 0;
  const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${String(peerPort(i))}`).join(',');
  const members = await Promise.all(
    names.map(async (name, i) => {
      // A directory per member, so that one member's stop() removes only its own data.
      const memberDir = join(dataDir, name);
      const spec = { name, clientPort: clientPort(i), peerPort: peerPort(i), initialCluster, token: `cluster-${String(process.pid)}`, dataDir: memberDir };
      return superviseMember(bin, await memberArgs(bin, spec, opts), `http://127.0.0.1:${String(clientPort(i))}`, memberDir);
    }),
  );
  const stopAll = async (): Promise<void> => {
    await Promise.all(members.map((m) => m.process.kill()));
    rmSync(dataDir, { recursive: true, force: true });
  };
  const results = await Promise.allSettled(members.map((m) => m.started));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await stopAll();
    throw failed.reason;
  }
  return {
    members: members.map((m) => m.process),
    endpoints: members.map((m) => m.process.endpoint),
    stop: stopAll,
  };
}

async function healthy(clientUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    if (!res.ok) return false;
    const body: unknown = await res.json();
    return typeof body === 'object' && body !== null && 'health' in body && body.health === 'true';
  } catch {
    return false;
  }
}

/**
 * Mocha helper: one etcd for the enclosing describe, started in `before` (only when the block runs)
 * and stopped in `after`. The getters throw outside the block's lifetime.
 */
export function useEtcd(opts: StartEtcdOptions = {}): {
  endpoint(): string;
  process(): EtcdProcess;
} {
  let etcd: EtcdProcess | undefined;
  before(async function () {
    // A cold build-binaries.sh run takes minutes.
    this.timeout(15 * 60_000);
    etcd = await startEtcd(opts);
  });
  after(async function () {
    this.timeout(30_000);
    await etcd?.stop();
    etcd = undefined;
  });
  const get = (): EtcdProcess => {
    if (etcd === undefined)
      throw new Error('etcd is not running: use the getters inside tests or hooks');
    return etcd;
  };
  return { endpoint: () => get().endpoint, process: get };
}
