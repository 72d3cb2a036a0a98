/**
 * `connectors-access request` (domain spec §7): the request-access helper for a CSI driver.
 *
 *   connectors-access request --connector <ns>/<name> --pod <ns>/<name> [--pod-uid <uid>]
 *     [--service-account <name>] [--timeout 30s] [--propagation-timeout 10s] [--kubeconfig <path>]
 *
 * Prints one JSON line `{"result","reason","message","accessRequest":{"namespace","name"}|null}` and
 * exits 0 granted, 1 failed, 2 pending, 3 rejected; 64 (usage on stderr, nothing on stdout) on a
 * usage error; `--help` prints the usage and exits 0.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { Command } from './command.js';
import { type RequestArgs, parseRequestArgs, requestUsage } from '../requestaccess/cli-args.js';
import { accessRequestClient, type PodIdentity, podReader } from '../requestaccess/client.js';
import { type RequestAccessResult, apiErrorMessage, cliLine, exitCodes, usageExitCode } from '../requestaccess/decide.js';
import { type ApiResult, type HelperDeps, type RequestAccessClient, aborted, callWithRetries, requestAccessWith } from '../requestaccess/helper.js';

export type ReadPod = (namespace: string, name: string, signal: AbortSignal) => Promise<ApiResult<PodIdentity>>;

export interface Connection {
  readonly client: RequestAccessClient;
  readonly readPod: ReadPod;
}

export interface RunRequestAccessDeps {
  readonly stdout?: (s: string) => void;
  readonly stderr?: (s: string) => void;
  /** Builds the main API server's clients from `--kubeconfig` (undefined = the default loading rules). */
  readonly connect?: (kubeconfig: string | undefined) => Connection;
  readonly helperDeps?: HelperDeps;
  /** Aborts the call (the CLI also aborts on SIGINT and SIGTERM). */
  readonly signal?: AbortSignal;
}

function connectWithKubeConfig(kubeconfig: string | undefined): Connection {
  const kc = new KubeConfig();
  if (kubeconfig === undefined) kc.loadFromDefault();
  else kc.loadFromFile(kubeconfig);
  if (kc.getCurrentCluster() === null) throw new Error('no current cluster in the kubeconfig');
  return { client: accessRequestClient(kc), readPod: podReader(kc) };
}

const failed = (reason: string, message: string): RequestAccessResult => ({ result: 'failed', reason, message, accessRequest: null });

async function podIdentity(
  args: RequestArgs,
  readPod: ReadPod,
  signal: AbortSignal,
  helperDeps: HelperDeps,
): Promise<PodIdentity | RequestAccessResult> {
  const { namespace, name } = args.pod;
  if (args.podUid !== undefined && args.serviceAccount !== undefined) return { uid: args.podUid, serviceAccountName: args.serviceAccount };
  const r = await callWithRetries((s) => readPod(namespace, name, s), signal, helperDeps);
  if (r === aborted) return failed('Aborted', 'aborted while reading the Pod');
  if (!r.ok) {
    if (r.error.code === 404) return failed('NotFound', `Pod ${namespace}/${name} not found`);
    return failed('APIError', apiErrorMessage(`get Pod ${namespace}/${name}`, r.error));
  }
  return { uid: args.podUid ?? r.value.uid, serviceAccountName: args.serviceAccount ?? r.value.serviceAccountName };
}

export async function runRequestAccess(argv: readonly string[], deps: RunRequestAccessDeps = {}): Promise<number> {
  const stdout = deps.stdout ?? ((s: string) => void process.stdout.write(s));
  const stderr = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  const parsed = parseRequestArgs(argv);
  if (parsed.kind === 'help') {
    stdout(requestUsage);
    return 0;
  }
  if (parsed.kind === 'usageError') {
    stderr(`error: ${parsed.message}\n\n${requestUsage}`);
    return usageExitCode;
  }
  const args = parsed.args;
  const print = (r: RequestAccessResult): number => {
    stdout(`${cliLine(r)}\n`);
    return exitCodes[r.result];
  };

  let conn: Connection;
  try {
    conn = (deps.connect ?? connectWithKubeConfig)(args.kubeconfig);
  } catch (e) {
    return print(failed('APIError', `loading kubeconfig${args.kubeconfig === undefined ? '' : ` ${args.kubeconfig}`}: ${e instanceof Error ? e.message : String(e)}`));
  }

  const interrupt = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => interrupt.abort(new Error(`received ${sig}`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const signal = deps.signal === undefined ? interrupt.signal : AbortSignal.any([deps.signal, interrupt.signal]);
  const helperDeps = deps.helperDeps ?? {};
  try {
    const pod = await podIdentity(args, conn.readPod, signal, helperDeps);
    if ('result' in pod) return print(pod);
    const result = await requestAccessWith(
      conn.client,
      {
        connector: args.connector,
        pod: { namespace: args.pod.namespace, name: args.pod.name, uid: pod.uid, serviceAccountName: pod.serviceAccountName },
        timeoutMs: args.timeoutMs,
        propagationTimeoutMs: args.propagationTimeoutMs,
        signal,
      },
      helperDeps,
    );
    return print(result);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/** The `request` entry of the `connectors-access` command table (./cli.ts). */
export const requestCommand: Command = {
  name: 'request',
  summary: 'ask for temporary use of a Connector by a Pod and wait for the verdict',
  run: (argv, io) => runRequestAccess(argv, { stdout: io.stdout, stderr: io.stderr }),
};
