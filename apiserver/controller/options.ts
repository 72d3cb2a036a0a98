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
}

/** For node:util parseArgs. */
export const controllerFlagSpec = {
  'system-namespace': { type: 'string', default: 'connectors-system' },
  'config-map-name': { type: 'string', default: 'connectors-config' },
  'terminal-request-ttl': { type: 'string', default: '24h' },
  'resync-period': { type: 'string', default: '10m' },
  'opa-path': { type: 'string' },
  'enable-controllers': { type: 'string', default: 'true' },
} as const;

export const controllerUsage = `  --system-namespace=connectors-system   the config ConfigMap and every template live here
  --config-map-name=connectors-config    the feature-flag ConfigMap (watched; changes apply at once)
  --terminal-request-ttl=24h     how long terminal AccessRequests are kept (0 = forever)
  --resync-period=10m            periodic re-evaluation of non-terminal objects
  --opa-path=<file>              the opa binary that evaluates Rego checks (test/cluster/build-binaries.sh builds one)
  --enable-controllers=true      run the status controllers (never with --standalone)
`;

type FlagValues = { readonly [K in Exclude<keyof typeof controllerFlagSpec, 'opa-path'>]: string } & { readonly 'opa-path'?: string | undefined };

export function parseControllerFlags(values: FlagValues): Result<ControllerFlags, string> {
  const duration = (flag: 'terminal-request-ttl' | 'resync-period'): number | string => {
    const ms = parseGoDuration(values[flag]);
    return ms !== undefined && ms >= 0 ? ms : `--${flag} must be a duration such as 10m or 24h, got ${values[flag]}`;
  };
  const ttl = duration('terminal-request-ttl');
  if (typeof ttl === 'string') return { ok: false, error: ttl };
  const resync = duration('resync-period');
  if (typeof resync === 'string') return { ok: false, error: resync };
  if (resync === 0) return { ok: false, error: '--resync-period must be greater than 0' };
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
    },
  };
}
