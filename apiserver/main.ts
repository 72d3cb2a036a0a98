/**
 * Entry point: flags → storage → stores → HTTPS server. SIGTERM/SIGINT close the listener, end
 * watches and close etcd before exiting.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { createEtcdStorage } from '../storage/etcd3.js';
import { allowAll, standaloneAuthenticator } from './auth/types.js';
import { group, version } from './apis/connectors/v1alpha1/types.js';
import { parseServerOptions, usage, type ServerOptions } from './options.js';
import { createStores } from './registry/resources.js';
import { ensureSelfSignedCert } from './self-signed.js';
import { createApp } from './server.js';

const log = (entry: Record<string, unknown>): void => {
  process.stderr.write(`${JSON.stringify({ ts: Date.now(), ...entry })}\n`);
};

async function run(opts: ServerOptions): Promise<void> {
  const readOpt = (f: string | undefined): Buffer | undefined => (f === undefined ? undefined : readFileSync(f));
  const ca = readOpt(opts.etcdCAFile);
  const cert = readOpt(opts.etcdCertFile);
  const key = readOpt(opts.etcdKeyFile);
  const storage = createEtcdStorage({
    endpoints: [...opts.etcdServers],
    ...(ca === undefined && cert === undefined ? {} : { tls: { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) } }),
  });
  const stores = createStores(storage, opts.etcdPrefix);
  if (!opts.standalone) {
    // Delegated authentication and authorization arrive with the aggregation work (issue 5).
    throw new Error('only --standalone is supported by this build');
  }
  const pair =
    opts.tlsCertFile !== undefined && opts.tlsPrivateKeyFile !== undefined
      ? { certFile: opts.tlsCertFile, keyFile: opts.tlsPrivateKeyFile }
      : await ensureSelfSignedCert(opts.certDir, ['localhost', '127.0.0.1', '::1']);
  const app = createApp({
    group,
    version,
    stores,
    authenticator: standaloneAuthenticator,
    authorizer: allowAll,
    storageReady: async () => (await storage.currentRevision()).ok,
    log,
  });
  const server = createServer({ cert: readFileSync(pair.certFile), key: readFileSync(pair.keyFile), minVersion: 'TLSv1.2' }, app);
  // The aggregator keeps idle connections for 90 s: a shorter keep-alive makes it reuse closed sockets (TLS-3).
  server.keepAliveTimeout = 95_000;
  server.headersTimeout = 100_000;
  server.requestTimeout = 0; // watches are long-running; other requests are bounded by their handlers
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.securePort, opts.bindAddress, resolve);
  });
  const addr = server.address();
  log({ msg: 'serving', address: typeof addr === 'object' && addr !== null ? `${addr.address}:${String(addr.port)}` : String(addr), standalone: opts.standalone });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log({ msg: 'shutting down', signal });
    server.close();
    server.closeAllConnections();
    void storage.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

const parsed = parseServerOptions(process.argv.slice(2));
if (!parsed.ok) {
  process.stderr.write(`error: ${parsed.error}\n\n${usage}`);
  process.exit(64);
}
run(parsed.value).catch((e: unknown) => {
  log({ msg: 'fatal', err: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});
