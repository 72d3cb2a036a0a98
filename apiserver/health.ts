/**
 * /livez, /readyz and /healthz as k8s.io/apiserver's healthz package serves them: named checks,
 * `ok` or a `[+]name ok` / `[-]name failed: reason withheld` listing (always on failure, on success
 * with `?verbose`), `?exclude=<name>` (repeatable), and `/<endpoint>/<name>` for one check.
 */

export type HealthResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface HealthCheck {
  readonly name: string;
  check(): HealthResult | Promise<HealthResult>;
}

export type HealthEndpoint = 'livez' | 'readyz' | 'healthz';

export interface HealthReply {
  readonly code: 200 | 500;
  readonly body: string;
}

export const healthy: HealthResult = { ok: true };
export const unhealthy = (reason: string): HealthResult => ({ ok: false, reason });

export const pingCheck: HealthCheck = { name: 'ping', check: () => healthy };

/** Runs `check` but fails it after timeoutMs: a hung etcd must not hang the kubelet's probe. */
export function withCheckTimeout(c: HealthCheck, timeoutMs: number): HealthCheck {
  return {
    name: c.name,
    check: async () => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<HealthResult>((resolve) => {
        timer = setTimeout(() => resolve(unhealthy(`timed out after ${String(timeoutMs)}ms`)), timeoutMs);
      });
      try {
        return await Promise.race([Promise.resolve(c.check()).catch((e: unknown) => unhealthy(e instanceof Error ? e.message : String(e))), late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

const formatQuoted = (names: readonly string[]): string => names.map((n) => JSON.stringify(n)).join(',');

/** The body of GET /<endpoint>: healthz.handleRootHealth. */
export async function runHealthChecks(endpoint: HealthEndpoint, checks: readonly HealthCheck[], query: URLSearchParams): Promise<HealthReply> {
  const excluded = new Set(query.getAll('exclude'));
  const results = await Promise.all(
    checks.map(async (c) => (excluded.delete(c.name) ? 'excluded' : (await Promise.resolve(c.check()).catch(() => unhealthy('check threw'))).ok ? 'ok' : 'failed')),
  );
  let out = '';
  checks.forEach((c, i) => {
    const r = results[i];
    out += r === 'excluded' ? `[+]${c.name} excluded: ok\n` : r === 'ok' ? `[+]${c.name} ok\n` : `[-]${c.name} failed: reason withheld\n`;
  });
  if (excluded.size > 0) out += `warn: some health checks cannot be excluded: no matches for ${formatQuoted([...excluded].sort())}\n`;
  // Failed: always verbose, like http.Error (which appends a newline).
  if (results.includes('failed')) return { code: 500, body: `${out}${endpoint} check failed\n` };
  return { code: 200, body: query.has('verbose') ? `${out}${endpoint} check passed\n` : 'ok' };
}

/** The body of GET /<endpoint>/<name>: the check's reason is shown, since this path is authorized. */
export async function runHealthCheck(c: HealthCheck): Promise<HealthReply> {
  const r = await Promise.resolve(c.check()).catch((e: unknown) => unhealthy(e instanceof Error ? e.message : String(e)));
  return r.ok ? { code: 200, body: 'ok' } : { code: 500, body: `internal server error: ${r.reason}\n` };
}

/** `/readyz/etcd` → { endpoint: 'readyz', check: 'etcd' }; the bare endpoint has no check. */
export function healthPath(pathname: string): { endpoint: HealthEndpoint; check: string | undefined } | undefined {
  const m = /^\/(livez|readyz|healthz)(?:\/([^/]+))?\/?$/.exec(pathname);
  const endpoint = m?.[1];
  if (endpoint !== 'livez' && endpoint !== 'readyz' && endpoint !== 'healthz') return undefined;
  return { endpoint, check: m?.[2] };
}
