/**
 * The ConfigMap kube-system/extension-apiserver-authentication (AUTHN-3): kube-apiserver publishes its
 * client CA and front-proxy settings there for every extension API server. We read it at start and
 * follow it with a watch, so a rotated CA applies without a restart. Like k8s.io/apiserver's
 * ConfigMapCAController and RequestHeaderAuthRequestController, a later ConfigMap that is deleted or
 * invalid keeps the last good configuration (and is reported), rather than locking everyone out.
 */
import type { X509Certificate } from 'node:crypto';
import { CoreV1Api, type KubeConfig, Watch } from '@kubernetes/client-node';
import type { Result } from '../../storage/interface.js';
import { clientNodeCall } from '../kube/client-node-call.js';
import type { RequestHeaderConfig } from './requestheader.js';
import { realSleep } from './webhook.js';
import { parseCertificateBundle } from './x509.js';

export const authenticationConfigMapNamespace = 'kube-system';
export const authenticationConfigMapName = 'extension-apiserver-authentication';

export interface AuthenticationConfig {
  /** client-ca-file; undefined when the cluster publishes none (client certificates then fall through). */
  readonly clientCA: readonly X509Certificate[] | undefined;
  readonly requestHeader: RequestHeaderConfig;
}

export const notSetUpForAggregation = (why: string): string =>
  `kube-apiserver is not set up for aggregation: ${why} (start it with --requestheader-client-ca-file, --requestheader-allowed-names, --requestheader-username-headers, --requestheader-group-headers and --requestheader-extra-headers-prefix)`;

// kube-apiserver writes these keys with json.Marshal of the flag values: a comma may be part of a name.
function stringList(data: Readonly<Record<string, string>>, key: string): Result<string[], string> {
  const raw = data[key];
  if (raw === undefined || raw.trim() === '') return { ok: true, value: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    return { ok: false, error: `${key} is not a JSON array of strings: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (parsed === null) return { ok: true, value: [] };
  if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === 'string')) return { ok: false, error: `${key} is not a JSON array of strings` };
  return { ok: true, value: parsed };
}

/** Parses the ConfigMap's data; a missing requestheader-client-ca-file means no aggregation. */
export function parseAuthenticationConfig(data: Readonly<Record<string, string>>): Result<AuthenticationConfig, string> {
  const rhCA = data['requestheader-client-ca-file'];
  if (rhCA === undefined || rhCA.trim() === '') {
    return { ok: false, error: notSetUpForAggregation(`ConfigMap ${authenticationConfigMapNamespace}/${authenticationConfigMapName} has no requestheader-client-ca-file`) };
  }
  const rhBundle = parseCertificateBundle(rhCA);
  if (!rhBundle.ok) return { ok: false, error: `requestheader-client-ca-file: ${rhBundle.error}` };
  const clientCAPem = data['client-ca-file'];
  let clientCA: X509Certificate[] | undefined;
  if (clientCAPem !== undefined && clientCAPem.trim() !== '') {
    const b = parseCertificateBundle(clientCAPem);
    if (!b.ok) return { ok: false, error: `client-ca-file: ${b.error}` };
    clientCA = b.value;
  }
  const lists = {
    allowedNames: stringList(data, 'requestheader-allowed-names'),
    usernameHeaders: stringList(data, 'requestheader-username-headers'),
    groupHeaders: stringList(data, 'requestheader-group-headers'),
    extraHeaderPrefixes: stringList(data, 'requestheader-extra-headers-prefix'),
    uidHeaders: stringList(data, 'requestheader-uid-headers'),
  };
  for (const r of Object.values(lists)) if (!r.ok) return r;
  const v = (r: Result<string[], string>): string[] => (r.ok ? r.value : []);
  return {
    ok: true,
    value: {
      clientCA,
      requestHeader: {
        clientCA: rhBundle.value,
        allowedNames: v(lists.allowedNames),
        usernameHeaders: v(lists.usernameHeaders),
        groupHeaders: v(lists.groupHeaders),
        extraHeaderPrefixes: v(lists.extraHeaderPrefixes),
        uidHeaders: v(lists.uidHeaders),
      },
    },
  };
}

// --- Following the ConfigMap ---

export interface ConfigMapSnapshot {
  readonly resourceVersion: string;
  readonly data: Readonly<Record<string, string>>;
}

export type ConfigMapWatchEvent =
  | { readonly type: 'ADDED' | 'MODIFIED'; readonly object: ConfigMapSnapshot }
  | { readonly type: 'DELETED' }
  | { readonly type: 'BOOKMARK'; readonly resourceVersion: string }
  /** The watch cannot go on (410 Gone and the like): read again and start over. */
  | { readonly type: 'ERROR'; readonly message: string };

export interface AuthenticationConfigWatchOptions {
  /** Reads the ConfigMap; ok(undefined) when it does not exist. */
  readonly getConfigMap: (signal: AbortSignal) => Promise<Result<ConfigMapSnapshot | undefined, string>>;
  /** Events after resourceVersion; ends when the watch closes or the signal aborts. */
  readonly watchConfigMap: (resourceVersion: string, signal: AbortSignal) => AsyncIterable<ConfigMapWatchEvent>;
  /** After every applied change (not at start). */
  readonly onChange?: (config: AuthenticationConfig) => void;
  /** A change that could not be applied, or a failed read/watch: the last good config stays. */
  readonly onError?: (message: string) => void;
  /** Pause before reading again after a watch ended. */
  readonly retryDelayMs?: number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface AuthenticationConfigWatch {
  /** The configuration in force now; cheap, meant to be called on every request. */
  current(): AuthenticationConfig;
  /** Ends the watch; resolves when the loop has stopped. */
  stop(): Promise<void>;
}

const canonicalData = (data: Readonly<Record<string, string>>): string =>
  JSON.stringify(Object.keys(data).sort().map((k) => [k, data[k]]));

/**
 * Reads the ConfigMap once (an error value when it is missing or unusable: the caller exits), then
 * keeps `current()` up to date with a watch that is restarted, after a fresh read, whenever it ends.
 */
export async function watchAuthenticationConfig(opts: AuthenticationConfigWatchOptions): Promise<Result<AuthenticationConfigWatch, string>> {
  const controller = new AbortController();
  const signal = controller.signal;
  const first = await opts.getConfigMap(signal);
  if (!first.ok) return { ok: false, error: `reading ConfigMap ${authenticationConfigMapNamespace}/${authenticationConfigMapName}: ${first.error}` };
  if (first.value === undefined) {
    return { ok: false, error: notSetUpForAggregation(`ConfigMap ${authenticationConfigMapNamespace}/${authenticationConfigMapName} does not exist`) };
  }
  const parsed = parseAuthenticationConfig(first.value.data);
  if (!parsed.ok) return parsed;
  let current = parsed.value;
  let currentData = canonicalData(first.value.data);
  let resourceVersion = first.value.resourceVersion;
  const onError = opts.onError ?? (() => undefined);
  const sleep = opts.sleep ?? realSleep;

  const apply = (snap: ConfigMapSnapshot): void => {
    resourceVersion = snap.resourceVersion;
    const data = canonicalData(snap.data);
    if (data === currentData) return;
    const next = parseAuthenticationConfig(snap.data);
    if (!next.ok) {
      onError(`ignoring the changed ConfigMap, keeping the previous configuration: ${next.error}`);
      return;
    }
    current = next.value;
    currentData = data;
    opts.onChange?.(current);
  };

  const loop = async (): Promise<void> => {
    while (!signal.aborted) {
      try {
        events: for await (const ev of opts.watchConfigMap(resourceVersion, signal)) {
          switch (ev.type) {
            case 'ADDED':
            case 'MODIFIED':
              apply(ev.object);
              break;
            case 'BOOKMARK':
              resourceVersion = ev.resourceVersion;
              break;
            case 'DELETED':
              onError('the ConfigMap was deleted; keeping the previous configuration');
              break;
            case 'ERROR':
              onError(`watch ended: ${ev.message}`);
              break events;
          }
        }
      } catch (e) {
        onError(`watch failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (signal.aborted) break;
      await sleep(opts.retryDelayMs ?? 1000, signal);
      if (signal.aborted) break;
      // Read again: catches changes made while no watch was open, and gives a fresh resourceVersion.
      const again = await opts.getConfigMap(signal);
      if (!again.ok) onError(`reading the ConfigMap: ${again.error}`);
      else if (again.value === undefined) onError('the ConfigMap does not exist; keeping the previous configuration');
      else apply(again.value);
    }
  };
  const done = loop();
  return {
    ok: true,
    value: {
      current: () => current,
      stop: async () => {
        controller.abort();
        await done;
      },
    },
  };
}

// --- The real client, over client-node ---

const snapshot = (obj: unknown): ConfigMapSnapshot | undefined => {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const o = obj as { metadata?: { resourceVersion?: unknown }; data?: unknown };
  const data: Record<string, string> = {};
  if (typeof o.data === 'object' && o.data !== null) {
    for (const [k, v] of Object.entries(o.data)) if (typeof v === 'string') data[k] = v;
  }
  return { resourceVersion: typeof o.metadata?.resourceVersion === 'string' ? o.metadata.resourceVersion : '', data };
};

/** getConfigMap and watchConfigMap over client-node (needs the extension-apiserver-authentication-reader Role). */
export function authenticationConfigMapClient(kc: KubeConfig): Pick<AuthenticationConfigWatchOptions, 'getConfigMap' | 'watchConfigMap'> {
  const core = kc.makeApiClient(CoreV1Api);
  const watcher = new Watch(kc);
  return {
    getConfigMap: async (signal) => {
      const res = await clientNodeCall(signal, (options) =>
        core.readNamespacedConfigMap({ name: authenticationConfigMapName, namespace: authenticationConfigMapNamespace }, options),
      );
      if (!res.ok) return res.error.code === 404 ? { ok: true, value: undefined } : { ok: false, error: res.error.message };
      const snap = snapshot(res.value);
      return snap === undefined ? { ok: false, error: 'unexpected response' } : { ok: true, value: snap };
    },
    watchConfigMap: (resourceVersion, signal) => watchEvents(watcher, resourceVersion, signal),
  };
}

/** client-node's callback Watch as an AsyncIterable that ends with the watch or the signal. */
async function* watchEvents(watcher: Watch, resourceVersion: string, signal: AbortSignal): AsyncGenerator<ConfigMapWatchEvent> {
  const queue: ConfigMapWatchEvent[] = [];
  let ended = false;
  let wake = (): void => undefined;
  const push = (ev: ConfigMapWatchEvent | 'end'): void => {
    if (ev === 'end') ended = true;
    else queue.push(ev);
    wake();
  };
  const onAbort = (): void => push('end');
  signal.addEventListener('abort', onAbort, { once: true });
  let abortWatch: AbortController | undefined;
  try {
    abortWatch = await watcher.watch(
      `/api/v1/namespaces/${authenticationConfigMapNamespace}/configmaps`,
      { fieldSelector: `metadata.name=${authenticationConfigMapName}`, resourceVersion, allowWatchBookmarks: true },
      (phase: string, obj: unknown) => {
        const snap = snapshot(obj);
        if (phase === 'ADDED' || phase === 'MODIFIED') {
          if (snap !== undefined) push({ type: phase, object: snap });
        } else if (phase === 'DELETED') push({ type: 'DELETED' });
        else if (phase === 'BOOKMARK') push({ type: 'BOOKMARK', resourceVersion: snap?.resourceVersion ?? resourceVersion });
        else if (phase === 'ERROR') {
          const msg = typeof obj === 'object' && obj !== null && typeof (obj as { message?: unknown }).message === 'string' ? (obj as { message: string }).message : 'watch error';
          push({ type: 'ERROR', message: msg });
        }
      },
      (err: unknown) => {
        if (err !== null && err !== undefined && !signal.aborted) push({ type: 'ERROR', message: err instanceof Error ? err.message : String(err) });
        push('end');
      },
    );
    if (signal.aborted) abortWatch.abort();
    while (true) {
      const ev = queue.shift();
      if (ev !== undefined) {
        yield ev;
        continue;
      }
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    abortWatch?.abort();
  }
}
