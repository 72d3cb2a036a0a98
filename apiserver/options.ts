/**
 * Command-line flags, named as kube-apiserver names them. Parsing and validation are separate from
 * running, like the options → complete → validate → run chain of k8s.io/apiserver.
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import type { Result } from '../storage/interface.js';
import { operationsFlagSpec, operationsUsage, parseOperationsFlags, type OperationsFlags } from './operations-options.js';
import { controllerFlagSpec, controllerUsage, parseControllerFlags, type ControllerFlags } from './controller/options.js';
import { parseWatchCacheFlags, watchCacheFlagSpec, watchCacheUsage, type WatchCacheFlags } from './watch-cache-options.js';

export interface ServerOptions extends OperationsFlags, ControllerFlags, WatchCacheFlags {
  readonly etcdServers: readonly string[];
  readonly etcdPrefix: string;
  readonly etcdCAFile: string | undefined;
  readonly etcdCertFile: string | undefined;
  readonly etcdKeyFile: string | undefined;
  readonly securePort: number;
  readonly bindAddress: string;
  readonly tlsCertFile: string | undefined;
  readonly tlsPrivateKeyFile: string | undefined;
  readonly certDir: string;
  readonly standalone: boolean;
  /** How to reach the main kube-apiserver (TokenReview, SubjectAccessReview, the controllers); in-cluster config when unset. */
  readonly kubeconfig: string | undefined;
  /** Server processes sharing the port (node:cluster); 1 = this process serves. */
  readonly workers: number;
}

export const usage = `Usage: connectors-access-apiserver [flags]

  --etcd-servers=<urls>          comma-separated etcd client URLs (required)
  --etcd-prefix=/registry        prefix of every key in etcd
  --etcd-cafile, --etcd-certfile, --etcd-keyfile   TLS towards etcd
  --secure-port=8443             HTTPS port
  --bind-address=0.0.0.0         address to listen on (loopback only with --standalone)
  --tls-cert-file, --tls-private-key-file   serving certificate and key (PEM)
  --cert-dir=apiserver.local.config/certificates   where a self-signed certificate is written when none is given
  --kubeconfig=<file>            how to reach kube-apiserver for delegated auth and the controllers
                                 (the in-cluster ServiceAccount when unset); ignored with --standalone
  --workers=1                    server processes sharing the port, to use more than one core
  --standalone                   development mode: loopback only, every request is an administrator
${watchCacheUsage}${operationsUsage}${controllerUsage}`;

const isLoopback = (addr: string): boolean =>
  addr === 'localhost' || addr === '::1' || (isIP(addr) === 4 && addr.startsWith('127.'));

export function parseServerOptions(argv: readonly string[]): Result<ServerOptions, string> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'etcd-servers': { type: 'string' },
        'etcd-prefix': { type: 'string', default: '/registry' },
        'etcd-cafile': { type: 'string' },
        'etcd-certfile': { type: 'string' },
        'etcd-keyfile': { type: 'string' },
        'secure-port': { type: 'string', default: '8443' },
        'bind-address': { type: 'string' },
        'tls-cert-file': { type: 'string' },
        'tls-private-key-file': { type: 'string' },
        'cert-dir': { type: 'string', default: 'apiserver.local.config/certificates' },
        standalone: { type: 'boolean', default: false },
        kubeconfig: { type: 'string' },
        workers: { type: 'string', default: '1' },
        ...operationsFlagSpec,
        ...controllerFlagSpec,
        ...watchCacheFlagSpec,
      },
    }));
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  const etcdServers = (values['etcd-servers'] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (etcdServers.length === 0) return { ok: false, error: '--etcd-servers must be set' };
  const port = Number(values['secure-port']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return { ok: false, error: `--secure-port must be a port number, got ${values['secure-port']}` };
  const standalone = values.standalone;
  const bindAddress = values['bind-address'] ?? (standalone ? '127.0.0.1' : '0.0.0.0');
  // Standalone trusts every caller as an administrator: it must never be reachable from elsewhere.
  if (standalone && !isLoopback(bindAddress)) {
    return { ok: false, error: `--standalone serves every request as an administrator and only binds loopback addresses, not ${bindAddress}` };
  }
  if ((values['tls-cert-file'] === undefined) !== (values['tls-private-key-file'] === undefined)) {
    return { ok: false, error: '--tls-cert-file and --tls-private-key-file must be given together' };
  }
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) return { ok: false, error: `--workers must be an integer from 1 to 64, got ${values.workers}` };
  const operations = parseOperationsFlags(values);
  if (!operations.ok) return operations;
  const controller = parseControllerFlags(values);
  if (!controller.ok) return controller;
  const watchCache = parseWatchCacheFlags(values);
  if (!watchCache.ok) return watchCache;
  if (!standalone && values['tls-cert-file'] === undefined) {
    return { ok: false, error: 'a serving certificate (--tls-cert-file, --tls-private-key-file) is required outside --standalone' };
  }
  return {
    ok: true,
    value: {
      etcdServers,
      etcdPrefix: values['etcd-prefix'],
      etcdCAFile: values['etcd-cafile'],
      etcdCertFile: values['etcd-certfile'],
      etcdKeyFile: values['etcd-keyfile'],
      securePort: port,
      bindAddress,
      tlsCertFile: values['tls-cert-file'],
      tlsPrivateKeyFile: values['tls-private-key-file'],
      certDir: values['cert-dir'],
      standalone,
      kubeconfig: values.kubeconfig,
      workers,
      ...operations.value,
      ...controller.value,
      ...watchCache.value,
    },
  };
}
