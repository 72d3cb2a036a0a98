/** The controller flags of spec §8, parsed apart from the rest of options.ts. */
import type { Result } from '../../storage/interface.js';
import { parseGoDuration } from './duration.js';

export interface ControllerFlags {
  readonly systemNamespace: string;
  readonly configMapName: string;
  readonly terminalRequestTtlMs: number;
  readonly resyncPeriodMs: number;
  /** The `opa` binary for Rego checks; unset: such checks fail with a message saying so. */
  readonly opaPath: string | undefined;
  /** Off: serve the API only (another replica, or a test, runs the controllers). */
  readonly enableControllers: boolean;
  /** Leader election (kube-controller-manager's flag names): only the Lease holder runs controllers. */
  readonly leaderElect: boolean;
  readonly leaderElectLeaseDurationMs: number;
  readonly leaderElectRenewDeadlineMs: number;
  readonly leaderElectRetryPeriodMs: number;
  readonly leaderElectResourceName: string;
  /** Empty: the system namespace. */
  readonly leaderElectResourceNamespace: string;
}

/** For node:util parseArgs. */
export const controllerFlagSpec = {
  'system-namespace': { type: 'string', default: 'connectors-system' },
  'config-map-name': { type: 'string', default: 'connectors-config' },
  'terminal-request-ttl': { type: 'string', default: '24h' },
  'resync-period': { type: 'string', default: '10m' },
  'opa-path': { type: 'string' },
  'enable-controllers': { type: 'string', default: 'true' },
  'leader-elect': { type: 'string', default: 'true' },
  'leader-elect-lease-duration': { type: 'string', default: '15s' },
  'leader-elect-renew-deadline': { type: 'string', default: '10s' },
  'leader-elect-retry-period': { type: 'string', default: '2s' },
  'leader-elect-resource-name': { type: 'string', default: 'connectors-access-apiserver' },
  'leader-elect-resource-namespace': { type: 'string', default: '' },
} as const;

export const controllerUsage = `  --system-namespace=connectors-system   the config ConfigMap and every template live here
  --config-map-name=connectors-config    the feature-flag ConfigMap (watched; changes apply at once)
  --terminal-request-ttl=24h     how long terminal AccessRequests are kept (0 = forever)
  --resync-period=10m            periodic re-evaluation of non-terminal objects
  --opa-path=<file>              the opa binary that evaluates Rego checks (test/cluster/build-binaries.sh builds one)
  --enable-controllers=true      run the status controllers (never with --standalone)
  --leader-elect=true            run the controllers only while holding a coordination.k8s.io Lease,
                                 so that several replicas can serve the API with one writer
  --leader-elect-lease-duration=15s   how long a Lease not renewed keeps others waiting
  --leader-elect-renew-deadline=10s   the leader stops leading when it could not renew for this long
  --leader-elect-retry-period=2s      how often candidates try and the leader renews
  --leader-elect-resource-name=connectors-access-apiserver   the Lease's name
  --leader-elect-resource-namespace=<system namespace>          the Lease's namespace
`;

type FlagValues = { readonly [K in Exclude<keyof typeof controllerFlagSpec, 'opa-path'>]: string } & { readonly 'opa-path'?: string | undefined };

export function parseControllerFlags(values: FlagValues): Result<ControllerFlags, string> {
  const duration = (
    flag: 'terminal-request-ttl' | 'resync-period' | 'leader-elect-lease-duration' | 'leader-elect-renew-deadline' | 'leader-elect-retry-period',
  ): number | string => {
    const ms = parseGoDuration(values[flag]);
    return ms !== undefined && ms >= 0 ? ms : `--${flag} must be a duration such as 10m or 24h, got ${values[flag]}`;
  };
  const ttl = duration('terminal-request-ttl');
  if (typeof ttl === 'string') return { ok: false, error: ttl };
  const resync = duration('resync-period');
  if (typeof resync === 'string') return { ok: false, error: resync };
  if (resync === 0) return { ok: false, error: '--resync-period must be greater than 0' };
  const lease = duration('leader-elect-lease-duration');
  if (typeof lease === 'string') return { ok: false, error: lease };
  const renew = duration('leader-elect-renew-deadline');
  if (typeof renew === 'string') return { ok: false, error: renew };
  const retry = duration('leader-elect-retry-period');
  if (typeof retry === 'string') return { ok: false, error: retry };
  // kube-controller-manager's rules: the leader must give up before anyone may take over.
  if (!(lease > renew)) return { ok: false, error: '--leader-elect-lease-duration must be greater than --leader-elect-renew-deadline' };
  if (!(renew > retry) || retry <= 0) return { ok: false, error: '--leader-elect-renew-deadline must be greater than --leader-elect-retry-period, which must be greater than 0' };
  const elect = values['leader-elect'];
  if (elect !== 'true' && elect !== 'false') return { ok: false, error: `--leader-elect must be true or false, got ${elect}` };
  const enable = values['enable-controllers'];
  if (enable !== 'true' && enable !== 'false') return { ok: false, error: `--enable-controllers must be true or false, got ${enable}` };
  if (values['system-namespace'] === '') return { ok: false, error: '--system-namespace must not be empty' };
  return {
    ok: true,
    value: {
      systemNamespace: values['system-namespace'],
      configMapName: values['config-map-name'],
      terminalRequestTtlMs: ttl,
      resyncPeriodMs: resync,
      opaPath: values['opa-path'],
      enableControllers: enable === 'true',
      leaderElect: elect === 'true',
      leaderElectLeaseDurationMs: lease,
      leaderElectRenewDeadlineMs: renew,
      leaderElectRetryPeriodMs: retry,
      leaderElectResourceName: values['leader-elect-resource-name'],
      leaderElectResourceNamespace: values['leader-elect-resource-namespace'],
    },
  };
}
