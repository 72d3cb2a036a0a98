/**
 * The watch cache flags, named as kube-apiserver names them: --watch-cache (default true) and
 * --watch-cache-sizes (`resource[.group]#size`, comma-separated; 0 turns one resource's cache off).
 */
import type { Result } from '../storage/interface.js';

export interface WatchCacheFlags {
  /** Serve get, list and watch from an in-memory cache fed by one etcd watch per resource. */
  readonly watchCache: boolean;
  /** Events the cache keeps per resource, by `plural` or `plural.group`; 0 = that resource is not cached. */
  readonly watchCacheSizes: ReadonlyMap<string, number>;
}

/** For node:util parseArgs. A string, not a boolean: kube's form is --watch-cache=false. */
export const watchCacheFlagSpec = {
  'watch-cache': { type: 'string', default: 'true' },
  'watch-cache-sizes': { type: 'string', default: '' },
} as const;

export const watchCacheUsage = `  --watch-cache=true             serve get, list and watch from a watch cache per resource (false: from etcd)
  --watch-cache-sizes=<list>     events kept per resource, e.g. accessrequests#5000 (default 1000; 0 = not cached)
`;

type FlagValues = { readonly [K in keyof typeof watchCacheFlagSpec]: string };

export function parseWatchCacheFlags(values: FlagValues): Result<WatchCacheFlags, string> {
  const enabled = values['watch-cache'];
  if (enabled !== 'true' && enabled !== 'false') return { ok: false, error: `--watch-cache must be true or false, got ${enabled}` };
  const sizes = new Map<string, number>();
  for (const part of values['watch-cache-sizes'].split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const m = /^([a-z0-9.-]+)#([0-9]+)$/.exec(part);
    if (m === null) return { ok: false, error: `--watch-cache-sizes takes resource[.group]#size entries, got ${part}` };
    sizes.set(m[1] ?? '', Number(m[2]));
  }
  return { ok: true, value: { watchCache: enabled === 'true', watchCacheSizes: sizes } };
}
