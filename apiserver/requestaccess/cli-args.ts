/**
 * Argument parsing of `connectors-access request` (domain spec §7), kept pure so it is tested
 * without a cluster. Flags take `--flag value` or `--flag=value`; the last of a repeated flag wins.
 */
import { parseGoDuration } from '../controller/duration.js';
import { defaultPropagationTimeoutMs, defaultTimeoutMs } from './decide.js';

export const requestUsage = `Usage: connectors-access request --connector <namespace>/<name> --pod <namespace>/<name> [flags]

Asks for temporary use of a Connector by a Pod: checks the Pod's ServiceAccount with
SubjectAccessReviews, creates or reuses its AccessRequest and waits for the verdict.
Prints one JSON line {"result","reason","message","accessRequest"} on stdout.

Flags:
  --connector <ns>/<name>        the Connector (required)
  --pod <ns>/<name>              the Pod (required)
  --pod-uid <uid>                the Pod's uid (default or "": read from the Pod)
  --service-account <name>       the Pod's ServiceAccount (default: read from the Pod; "" = default)
  --timeout <duration>           how long to wait for a verdict (default 30s)
  --propagation-timeout <dur>    how long to wait for granted RBAC to take effect (default 10s)
  --kubeconfig <path>            kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, in-cluster)
  -h, --help                     print this help

Exit codes: 0 granted, 1 failed, 2 pending, 3 rejected, 64 usage error.
`;

export interface NamespacedName {
  readonly namespace: string;
  readonly name: string;
}

export interface RequestArgs {
  readonly connector: NamespacedName;
  readonly pod: NamespacedName;
  readonly podUid?: string;
  readonly serviceAccount?: string;
  readonly timeoutMs: number;
  readonly propagationTimeoutMs: number;
  readonly kubeconfig?: string;
}

export type ParsedRequestArgs =
  | { readonly kind: 'help' }
  | { readonly kind: 'usageError'; readonly message: string }
  | { readonly kind: 'run'; readonly args: RequestArgs };

const valueFlags = ['connector', 'pod', 'pod-uid', 'service-account', 'timeout', 'propagation-timeout', 'kubeconfig'] as const;
type ValueFlag = (typeof valueFlags)[number];
const isValueFlag = (s: string): s is ValueFlag => (valueFlags as readonly string[]).includes(s);

/** `<ns>/<name>`, both parts non-empty, exactly one `/`. */
export function parseNamespacedName(s: string): NamespacedName | undefined {
  const parts = s.split('/');
  const [namespace, name] = parts;
  if (parts.length !== 2 || namespace === undefined || name === undefined || namespace === '' || name === '') return undefined;
  return { namespace, name };
}

/** A duration like `30s`, `2m` or `1m30s` (Go syntax), not negative; milliseconds. */
export function parseCliDuration(s: string): number | undefined {
  const ms = parseGoDuration(s);
  return ms === undefined || !Number.isFinite(ms) || ms < 0 ? undefined : ms;
}

export function parseRequestArgs(argv: readonly string[]): ParsedRequestArgs {
  const values = new Map<ValueFlag, string>();
  const usage = (message: string): ParsedRequestArgs => ({ kind: 'usageError', message });
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (!arg.startsWith('--')) return usage(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (!isValueFlag(flag)) return usage(`unknown flag --${flag}`);
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined) return usage(`flag --${flag} needs a value`);
    values.set(flag, value);
  }
  const connectorArg = values.get('connector');
  const podArg = values.get('pod');
  if (connectorArg === undefined) return usage('--connector is required');
  if (podArg === undefined) return usage('--pod is required');
  const connector = parseNamespacedName(connectorArg);
  if (connector === undefined) return usage(`--connector "${connectorArg}" is not of the form <namespace>/<name>`);
  const pod = parseNamespacedName(podArg);
  if (pod === undefined) return usage(`--pod "${podArg}" is not of the form <namespace>/<name>`);
  const duration = (flag: 'timeout' | 'propagation-timeout', dflt: number): number | string => {
    const v = values.get(flag);
    if (v === undefined) return dflt;
    return parseCliDuration(v) ?? `--${flag} "${v}" is not a duration such as 30s or 2m`;
  };
  const timeoutMs = duration('timeout', defaultTimeoutMs);
  if (typeof timeoutMs === 'string') return usage(timeoutMs);
  const propagationTimeoutMs = duration('propagation-timeout', defaultPropagationTimeoutMs);
  if (typeof propagationTimeoutMs === 'string') return usage(propagationTimeoutMs);
  const podUid = values.get('pod-uid');
  const serviceAccount = values.get('service-account');
  const kubeconfig = values.get('kubeconfig');
  return {
    kind: 'run',
    args: {
      connector,
      pod,
      timeoutMs,
      propagationTimeoutMs,
      ...(podUid === undefined || podUid === '' ? {} : { podUid }),
      ...(serviceAccount === undefined ? {} : { serviceAccount }),
      ...(kubeconfig === undefined || kubeconfig === '' ? {} : { kubeconfig }),
    },
  };
}
