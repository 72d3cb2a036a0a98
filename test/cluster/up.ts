/**
 * `npm run up`: the local control plane in one command (local-control-plane.md). Prints one line per
 * step with its duration, then how to use it. In the foreground Ctrl-C (SIGINT/SIGTERM) stops
 * everything; `--detach` returns once ready and leaves it running for `npm run down`.
 *
 *   npm run up [-- --detach] [-- --no-server]
 *
 * `--no-server` (or CONNECTORS_UP_SKIP_SERVER=1) starts everything except our server and its
 * APIService. The run dir is recorded in `.cluster/run`, the admin kubeconfig copied to
 * `.cluster/kubeconfig`.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  repoRoot,
  rssMiB,
  runDirAlive,
  serverSkippedByEnv,
  skipServerEnv,
  startControlPlane,
  stopRunDir,
} from './control-plane.js';
import type { ControlPlane } from './control-plane.js';

const usage = `usage: npm run up [-- --detach] [-- --no-server]

  --detach     return once ready and leave everything running; stop it with npm run down
  --no-server  start everything except our server and its APIService (same as ${skipServerEnv}=1)
`;

const stepLabels: Record<string, string> = {
  binaries: 'binaries ready (build-binaries.sh)',
  pki: 'PKI written (openssl)',
  etcd: 'both etcds healthy',
  'kube-apiserver': 'kube-apiserver /readyz ok',
  'auth-configmap': 'kube-system/extension-apiserver-authentication present',
  manifests: 'manifests/ applied, ExternalName Service created',
  'ext-identity': 'ext.kubeconfig written for our server',
  'connectors-apiserver': 'our server /readyz ok',
  apiservice: 'APIService v1alpha1.connectors.alauda.io Available',
  'kube-controller-manager': 'kube-controller-manager ready (default SA, view aggregated)',
};

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  out(usage);
  process.exit(0);
}
const unknown = args.filter((a) => a !== '--detach' && a !== '--no-server');
if (unknown.length > 0) {
  process.stderr.write(`unknown argument(s): ${unknown.join(' ')}\n\n${usage}`);
  process.exit(64);
}
const detach = args.includes('--detach');
const skipServer = args.includes('--no-server') || serverSkippedByEnv();

const clusterDir = join(repoRoot, '.cluster');
const runRecord = join(clusterDir, 'run');
const kubeconfigCopy = join(clusterDir, 'kubeconfig');
mkdirSync(clusterDir, { recursive: true });

if (existsSync(runRecord)) {
  const previous = readFileSync(runRecord, 'utf8').trim();
  if (previous !== '' && runDirAlive(previous)) {
    process.stderr.write(`a control plane is already running (${previous}); stop it with: npm run down\n`);
    process.exit(1);
  }
  // A crashed run: clean what it left behind before starting afresh.
  if (previous !== '') await stopRunDir(previous);
  rmSync(runRecord, { force: true });
}

const started = Date.now();
const abort = new AbortController();
let cp: ControlPlane | undefined;
let stopRequested: (signal: string) => void = () => undefined;
const stopSignal = new Promise<string>((resolve) => (stopRequested = resolve));
const onSignal = (signal: NodeJS.Signals): void => {
  if (cp === undefined) {
    if (!abort.signal.aborted) out(`[up] ${signal}: stopping the start …`);
    abort.abort();
  } else {
    stopRequested(signal);
  }
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

try {
  cp = await startControlPlane({
    skipServer,
    detach,
    buildOutput: 'inherit',
    signal: abort.signal,
    log: (line) => out(`[up] warning: ${line}`),
    onStep: (step, ms) => out(`[up] ${stepLabels[step] ?? step} (${secs(ms)})`),
    onRunDir: (runDir) => writeFileSync(runRecord, `${runDir}\n`),
  });
} catch (e) {
  rmSync(runRecord, { force: true });
  if (abort.signal.aborted) {
    out('[up] stopped before ready; nothing left running');
    process.exit(130);
  }
  process.stderr.write(`\n[up] FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}

copyFileSync(cp.kubeconfig, kubeconfigCopy);
const rss = Object.entries(cp.pids)
  .map(([name, pid]) => `${name} ${String(rssMiB(pid) ?? '?')} MiB`)
  .join(', ');
out(`[up] ready in ${secs(Date.now() - started)}; run dir ${cp.runDir}`);
out(`[up] RSS: ${rss}`);
if (cp.serverSkipped) {
  out(`[up] our server was NOT started (${skipServerEnv}=1 / --no-server): no connectors.alauda.io API`);
}
if (cp.extIdentity !== 'serviceaccount-token') out('[up] note: our server uses the client-cert fallback identity');
if (cp.kcmIdentity !== 'service-account-credentials') out('[up] note: kube-controller-manager runs as admin (fallback)');
out(`
  export KUBECONFIG=${kubeconfigCopy}
  export PATH=${cp.kubeBinDir}:$PATH     # the built kubectl (${cp.kubectl}), same version as the cluster

  kubectl get accessrequests -A
  kubectl api-resources --api-group=connectors.alauda.io
  kubectl explain accesspolicy.spec

  ports, PIDs and paths: ${cp.envFile} (source it)
`);

if (detach) {
  out('[up] left running (--detach); stop it with: npm run down');
  process.exit(0);
}

out('[up] running; Ctrl-C stops everything');
const why = await Promise.race([stopSignal.then((s) => ({ signal: s })), cp.died.then((d) => ({ died: d }))]);
if ('died' in why) process.stderr.write(`[up] a component exited unexpectedly: ${why.died}\n`);
else out(`[up] ${why.signal}: stopping …`);
await cp.stop((line) => out(`[up] ${line}`));
rmSync(runRecord, { force: true });
rmSync(kubeconfigCopy, { force: true });
out('[up] stopped; nothing left running');
process.exit('died' in why ? 1 : 0);
