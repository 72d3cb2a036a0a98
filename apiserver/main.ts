/**
 * Entry point: flags → storage → stores → HTTPS server. SIGTERM/SIGINT shut down gracefully
 * (apiserver/shutdown.ts): /readyz fails, then the listener closes, watches end, requests drain, etcd
 * closes.
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { startControllerManager } from './controller/manager.js';
import { createEtcdStorage } from '../storage/etcd3.js';
import { instrumentStorage } from '../storage/instrumented.js';
import { KubeConfig } from '@kubernetes/client-node';
import { startNamespaceInformer, type NamespaceLookup } from './admission/namespace-lifecycle.js';
import { authenticationConfigMapClient, watchAuthenticationConfig } from './auth/authentication-config.js';
import { createDelegatingAuthenticator, createDelegatingAuthorizer, subjectAccessReviewClient } from './auth/delegating.js';
import { createTokenReviewAuthenticator, tokenReviewClient } from './auth/tokenreview.js';
import { allowAll, standaloneAuthenticator, type Authenticator, type Authorizer } from './auth/types.js';
import { group, version } from './apis/connectors/v1alpha1/types.js';
import { parseServerOptions, usage, type ServerOptions } from './options.js';
import { createStores, withWatchCache } from './registry/resources.js';
import { accessReviews } from './registry/accessreview/index.js';
import { ensureSelfSignedCert } from './self-signed.js';
import { createApp } from './server.js';
import { runWorkers } from './workers.js';
import { createLogger } from './logging.js';
import { storageObserver } from './metrics/index.js';
import { createOperations } from './operations.js';
import { gracefulShutdown } from './shutdown.js';

// Before the flags are read, and for errors outside a request: verbosity 0 is enough.
const log = createLogger({ verbosity: 0 }).log;

async function run(opts: ServerOptions): Promise<void> {
  const readOpt = (f: string | undefined): Buffer | undefined => (f === undefined ? undefined : readFileSync(f));
  const ca = readOpt(opts.etcdCAFile);
  const cert = readOpt(opts.etcdCertFile);
  const key = readOpt(opts.etcdKeyFile);
  const ops = createOperations({ ...opts, processMetrics: true });
  const storage = withWatchCache(instrumentStorage(
    createEtcdStorage({
      endpoints: [...opts.etcdServers],
      ...(ca === undefined && cert === undefined ? {} : { tls: { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) } }),
    }),
    storageObserver(ops.metrics.storage, opts.etcdPrefix),
  ), opts.etcdPrefix, opts);
  const stores = createStores(storage, opts.etcdPrefix);
  const kc = opts.standalone ? undefined : loadKubeConfig(opts);
  const auth = kc === undefined ? standaloneAuth() : await delegatedAuth(kc);
  // The status controllers need the main API server: never in standalone mode.
  const controller =
    kc === undefined || !opts.enableControllers
      ? undefined
      : startControllerManager({ kubeConfig: kc, stores, flags: opts, log, exit: (code) => process.exit(code) });
  const pair =
    opts.tlsCertFile !== undefined && opts.tlsPrivateKeyFile !== undefined
      ? { certFile: opts.tlsCertFile, keyFile: opts.tlsPrivateKeyFile }
      : await ensureSelfSignedCert(opts.certDir, ['localhost', '127.0.0.1', '::1']);
  const reviews = accessReviews({ kubeConfig: kc, stores, authorizer: auth.authorizer, flags: opts });
  const app = createApp({
    group,
    version,
    stores,
    virtualResources: [reviews.endpoint],
    authenticator: auth.authenticator,
    authorizer: auth.authorizer,
    rejectAnonymous: !opts.standalone,
    ...(auth.namespaceLookup === undefined ? {} : { namespaceLookup: auth.namespaceLookup }),
    storageReady: async () => (await storage.currentRevision()).ok,
    operations: ops,
  });
  // requestCert without rejectUnauthorized: the client certificate is asked for (front proxy, x509
  // users) and verified by the authenticators against the CAs of the moment, not by the TLS layer.
  const server = createServer(
    { cert: readFileSync(pair.certFile), key: readFileSync(pair.keyFile), minVersion: 'TLSv1.2', requestCert: !opts.standalone, rejectUnauthorized: false },
    app,
  );
  // The aggregator keeps idle connections for 90 s: a shorter keep-alive makes it reuse closed sockets (TLS-3).
  server.keepAliveTimeout = 95_000;
  // kube-apiserver's ReadHeaderTimeout. Node (≥ 18) starts this clock at a request's first byte, not
  // while a keep-alive connection idles, so the aggregator's 90 s idle connections are not cut by it.
  server.headersTimeout = 32_000;
  server.requestTimeout = 0; // watches are long-running; other requests end at --request-timeout (filters/timeout.ts)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.securePort, opts.bindAddress, resolve);
  });
  const addr = server.address();
  log({ msg: 'serving', address: typeof addr === 'object' && addr !== null ? `${addr.address}:${String(addr.port)}` : String(addr), standalone: opts.standalone, pid: process.pid });

  const stop = gracefulShutdown({
    server,
    lifecycle: ops.lifecycle,
    logger: ops.logger,
    shutdownDelayMs: opts.shutdownDelayMs,
    close: async () => {
      await controller?.stop();
      return Promise.allSettled([auth.stop(), storage.close(), reviews.close()]);
    },
    exit: (code) => process.exit(code),
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

interface Auth {
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
  readonly namespaceLookup?: NamespaceLookup;
  readonly stop: () => Promise<void>;
}

const standaloneAuth = (): Auth => ({ authenticator: standaloneAuthenticator, authorizer: allowAll, stop: () => Promise.resolve() });

/**
 * The aggregated-server setup of k8s.io/apiserver: identities from the front proxy, client
 * certificates or TokenReview, decisions from SubjectAccessReview, all against the main API server.
 * Without the extension-apiserver-authentication ConfigMap the server cannot tell who calls it: fatal.
 */
function loadKubeConfig(opts: ServerOptions): KubeConfig {
  const kc = new KubeConfig();
  if (opts.kubeconfig === undefined) kc.loadFromCluster();
  else kc.loadFromFile(opts.kubeconfig);
  return kc;
}

async function delegatedAuth(kc: KubeConfig): Promise<Auth> {
  const watch = await watchAuthenticationConfig({
    ...authenticationConfigMapClient(kc),
    onChange: () => log({ msg: 'authentication configuration changed' }),
    onError: (message) => log({ msg: 'authentication configuration', err: message }),
  });
  if (!watch.ok) throw new Error(watch.error);
  const w = watch.value;
  const namespaces = await startNamespaceInformer(kc, (message) => log({ msg: 'namespace informer', err: message }));
  return {
    namespaceLookup: namespaces.lookup,
    authenticator: createDelegatingAuthenticator({
      authenticationConfig: () => w.current(),
      tokens: createTokenReviewAuthenticator({ createTokenReview: tokenReviewClient(kc) }),
    }),
    authorizer: createDelegatingAuthorizer({
      createSubjectAccessReview: subjectAccessReviewClient(kc),
      onError: (message) => log({ msg: 'authorization', err: message }),
    }),
    stop: async () => {
      await Promise.allSettled([w.stop(), namespaces.stop()]);
    },
  };
}

const parsed = parseServerOptions(process.argv.slice(2));
if (!parsed.ok) {
  process.stderr.write(`error: ${parsed.error}\n\n${usage}`);
  process.exit(64);
}
const opts = parsed.value;
if (opts.workers > 1 && cluster.isPrimary) {
  // The self-signed certificate is made once, here, so the workers do not race to write it.
  const made = opts.tlsCertFile === undefined ? ensureSelfSignedCert(opts.certDir, ['localhost', '127.0.0.1', '::1']) : Promise.resolve();
  made.then(
    () => runWorkers(opts.workers, log),
    (e: unknown) => {
      log({ msg: 'fatal', err: e instanceof Error ? e.message : String(e) });
      process.exit(1);
    },
  );
} else
  run(parsed.value).catch((e: unknown) => {
    log({ msg: 'fatal', err: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  });
