/**
 * The HTTP side of operations for createApp: the filter chain, the probe endpoints served before
 * authentication (/livez, /readyz, /healthz), and the authorized non-resource paths (/metrics, one
 * check at /readyz/<name>), following kube-apiserver's --authorization-always-allow-paths default.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { KubeObject } from '../api/meta.js';
import { requestFilters } from '../filters/index.js';
import { healthPath, healthy, pingCheck, runHealthCheck, runHealthChecks, unhealthy, withCheckTimeout, type HealthCheck, type HealthEndpoint, type HealthReply } from '../health.js';
import { serveMetrics, type ObjectCountSource } from '../metrics/index.js';
import type { Operations } from '../operations.js';
import type { Store } from '../registry/store/index.js';

export interface OperationsEndpointsOptions {
  readonly group: string;
  readonly version: string;
  readonly stores: readonly Store<KubeObject>[];
  readonly storageReady: () => Promise<boolean>;
  readonly operations: Operations;
}

export interface OperationsEndpoints {
  readonly filters: RequestHandler;
  /** GET /livez, /readyz, /healthz (always allowed, before authentication). */
  readonly probe: RequestHandler;
  /** After authorization: serves /metrics and /<probe>/<check>; false for any other path. */
  serveAuthorized(req: Request, res: Response, path: string): Promise<boolean>;
}

// kube-apiserver's --etcd-healthcheck-timeout default.
const etcdCheckTimeoutMs = 2000;

const plain = (res: Response, reply: HealthReply): void => {
  res.status(reply.code).setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(reply.body);
};

export function operationsEndpoints(opts: OperationsEndpointsOptions): OperationsEndpoints {
  const ops = opts.operations;
  const byPlural = new Map(opts.stores.map((s) => [s.context.resource.plural, s]));
  const etcd = withCheckTimeout({ name: 'etcd', check: async () => ((await opts.storageReady()) ? healthy : unhealthy('etcd is not reachable')) }, etcdCheckTimeoutMs);
  const shutdown: HealthCheck = { name: 'shutdown', check: () => (ops.lifecycle.isShuttingDown() ? unhealthy('the server is shutting down') : healthy) };
  // livez answers for the process only: restarting the pod cures no etcd outage.
  const checks = (endpoint: HealthEndpoint): readonly HealthCheck[] => {
    switch (endpoint) {
      case 'livez':
        return [pingCheck];
      case 'readyz':
        return [pingCheck, etcd, ...ops.readinessChecks(), shutdown];
      case 'healthz':
        return [pingCheck, etcd, ...ops.readinessChecks()];
    }
  };
  const objectCounts: readonly ObjectCountSource[] = opts.stores.map((s) => ({
    group: s.context.gr.group,
    resource: s.context.gr.resource,
    count: async () => {
      // One object read: the range's count says how many follow it.
      const page = await s.context.storage.list(s.context.keys.resourcePrefix, { limit: 1 });
      return page.ok ? page.value.items.length + (page.value.remainingItemCount ?? 0) : undefined;
    },
  }));

  return {
    filters: requestFilters({
      metrics: ops.metrics,
      logger: ops.logger,
      lifecycle: ops.lifecycle,
      limiter: ops.limiter,
      requestTimeoutMs: ops.requestTimeoutMs,
      kindOf: (info) => (info.group === opts.group && info.version === opts.version ? byPlural.get(info.resource)?.context.resource.kind : undefined),
    }),
    probe: async (req, res) => {
      const p = healthPath(req.path);
      if (p === undefined) return;
      const url = new URL(req.originalUrl, 'https://localhost');
      plain(res, await runHealthChecks(p.endpoint, checks(p.endpoint), url.searchParams));
    },
    serveAuthorized: async (req, res, path) => {
      if (req.method !== 'GET') return false;
      if (path === '/metrics') {
        await serveMetrics(res, ops.metrics, objectCounts);
        return true;
      }
      const p = healthPath(path);
      const check = p?.check === undefined ? undefined : checks(p.endpoint).find((c) => c.name === p.check);
      if (check === undefined) return false;
      plain(res, await runHealthCheck(check));
      return true;
    },
  };
}
