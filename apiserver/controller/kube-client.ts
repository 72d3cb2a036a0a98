/**
 * A small JSON client for the main API server, over node:https with the TLS and credentials of a
 * client-node KubeConfig. The controllers' pure code works on objects exactly as they are on the wire
 * (RFC 3339 strings, unknown fields kept, e.g. for JSONPath templates over a Pod); client-node's typed
 * models turn timestamps into Dates and drop unknown fields, so the controllers read raw JSON here.
 */
import { request, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface KubeObjectJSON {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[];
    deletionTimestamp?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export type KubeResponse<T> = { readonly ok: true; readonly code: number; readonly body: T } | { readonly ok: false; readonly code: number; readonly message: string };

export interface KubeClient {
  call<T = unknown>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<KubeResponse<T>>;
  /** A watch stream: one callback per event line; resolves when the stream ends. */
  watch(path: string, onEvent: (ev: { type: string; object: KubeObjectJSON }) => void, signal: AbortSignal): Promise<{ readonly code: number; readonly message?: string }>;
}

export function createKubeClient(kc: KubeConfig, timeoutMs = 30_000): KubeClient {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig has no current cluster');
  const base = new URL(cluster.server);
  const options = async (method: string, path: string, headers: Record<string, string>): Promise<RequestOptions> => {
    const o: RequestOptions = {
      method,
      host: base.hostname,
      port: base.port === '' ? 443 : Number(base.port),
      path: `${base.pathname.replace(/\/$/, '')}${path}`,
      headers: { Accept: 'application/json', 'User-Agent': 'connectors-access-apiserver/controller', ...headers },
    };
    await kc.applyToHTTPSOptions(o);
    return o;
  };

  const call = async <T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<KubeResponse<T>> => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const contentType = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
    let o: RequestOptions;
    try {
      o = await options(method, path, payload === undefined ? {} : { 'Content-Type': contentType });
    } catch (e) {
      return { ok: false, code: 0, message: e instanceof Error ? e.message : String(e) };
    }
    return new Promise((resolve) => {
      const req = request({ ...o, timeout: timeoutMs, ...(signal === undefined ? {} : { signal }) }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (s: string) => (text += s));
        res.on('error', (e) => resolve({ ok: false, code: 0, message: e.message }));
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          if (code >= 200 && code < 300) resolve({ ok: true, code, body: parsed as T });
          else {
            const message = typeof (parsed as { message?: unknown } | undefined)?.message === 'string' ? (parsed as { message: string }).message : text.slice(0, 500);
            resolve({ ok: false, code, message });
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`request timed out after ${String(timeoutMs)} ms`)));
      req.on('error', (e) => resolve({ ok: false, code: 0, message: e.message }));
      req.end(payload);
    });
  };

  const watch = async (path: string, onEvent: (ev: { type: string; object: KubeObjectJSON }) => void, signal: AbortSignal): Promise<{ code: number; message?: string }> => {
    let o: RequestOptions;
    try {
      o = await options('GET', path, {});
    } catch (e) {
      return { code: 0, message: e instanceof Error ? e.message : String(e) };
    }
    return new Promise((resolve) => {
      const req = request({ ...o, signal }, (res) => {
        const code = res.statusCode ?? 0;
        let buf = '';
        res.setEncoding('utf8').on('data', (s: string) => {
          buf += s;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line === '') continue;
            try {
              onEvent(JSON.parse(line) as { type: string; object: KubeObjectJSON });
            } catch {
              // a malformed line: the stream is not trustworthy any more
              req.destroy();
            }
          }
        });
        res.on('error', () => resolve({ code }));
        res.on('end', () => resolve({ code }));
        res.on('close', () => resolve({ code }));
      });
      req.on('error', (e) => resolve({ code: 0, message: e.message }));
      req.end();
    });
  };

  return { call, watch };
}

export interface RemoteInformerOptions {
  readonly client: KubeClient;
  /** Collection path, e.g. `/api/v1/pods` or `/apis/rbac.authorization.k8s.io/v1/roles`. */
  readonly path: string;
  readonly labelSelector?: string;
  readonly onAdd?: (o: KubeObjectJSON) => void;
  readonly onUpdate?: (o: KubeObjectJSON, old: KubeObjectJSON) => void;
  readonly onDelete?: (o: KubeObjectJSON) => void;
  readonly onError?: (message: string) => void;
  readonly retryDelayMs?: number;
}

const keyOf = (o: KubeObjectJSON): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

/**
 * client-go's reflector + store for one collection: list, watch from the list's resourceVersion,
 * relist on 410 or a broken stream, and tell handlers every difference.
 */
export class RemoteInformer {
  private readonly items = new Map<string, KubeObjectJSON>();
  private readonly abort = new AbortController();
  private readonly opts: RemoteInformerOptions;
  private syncedResolve: (() => void) | undefined;
  private hasSynced = false;
  /** Resolves after the first successful list. */
  readonly synced: Promise<void>;
  private loop: Promise<void> | undefined;

  constructor(opts: RemoteInformerOptions) {
    this.opts = opts;
    this.synced = new Promise((resolve) => (this.syncedResolve = resolve));
  }

  isSynced(): boolean {
    return this.hasSynced;
  }

  get(namespace: string | undefined, name: string): KubeObjectJSON | undefined {
    return this.items.get(`${namespace ?? ''}/${name}`);
  }

  list(): KubeObjectJSON[] {
    return [...this.items.values()];
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private query(extra: Record<string, string>): string {
    const q = new URLSearchParams({ ...(this.opts.labelSelector === undefined ? {} : { labelSelector: this.opts.labelSelector }), ...extra });
    return `${this.opts.path}?${q.toString()}`;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const listed = await this.opts.client.call<{ metadata: { resourceVersion: string }; items: KubeObjectJSON[] }>('GET', this.query({}), undefined, signal);
      if (!listed.ok) {
        if (!signal.aborted) this.opts.onError?.(`list ${this.opts.path}: ${String(listed.code)} ${listed.message}`);
        await this.pause();
        continue;
      }
      this.replace(listed.body.items);
      this.hasSynced = true;
      this.syncedResolve?.();
      let rv = listed.body.metadata.resourceVersion;
      // Watch until the stream ends; reopen from the last resourceVersion; relist on 410.
      for (;;) {
        let gone = false;
        const r = await this.opts.client.watch(
          this.query({ watch: 'true', resourceVersion: rv, allowWatchBookmarks: 'true', timeoutSeconds: String(300 + Math.floor(Math.random() * 300)) }),
          (ev) => {
            if (ev.type === 'ERROR') {
              gone = (ev.object as unknown as { code?: number }).code === 410;
              return;
            }
            if (ev.object.metadata.resourceVersion !== undefined) rv = ev.object.metadata.resourceVersion;
            if (ev.type === 'BOOKMARK') return;
            const key = keyOf(ev.object);
            const old = this.items.get(key);
            if (ev.type === 'DELETED') {
              this.items.delete(key);
              this.opts.onDelete?.(old ?? ev.object);
            } else {
              this.items.set(key, ev.object);
              if (old === undefined) this.opts.onAdd?.(ev.object);
              else this.opts.onUpdate?.(ev.object, old);
            }
          },
          signal,
        );
        if (signal.aborted) return;
        if (gone || r.code === 410) break;
        if (r.code !== 200) {
          this.opts.onError?.(`watch ${this.opts.path}: ${String(r.code)} ${r.message ?? ''}`);
          await this.pause();
          break;
        }
      }
    }
  }

  private replace(items: readonly KubeObjectJSON[]): void {
    const fresh = new Map(items.map((o) => [keyOf(o), o]));
    const old = new Map(this.items);
    this.items.clear();
    for (const [k, v] of fresh) this.items.set(k, v);
    for (const [k, v] of fresh) {
      const before = old.get(k);
      if (before === undefined) this.opts.onAdd?.(v);
      else if (before.metadata.resourceVersion !== v.metadata.resourceVersion) this.opts.onUpdate?.(v, before);
    }
    for (const [k, v] of old) if (!fresh.has(k)) this.opts.onDelete?.(v);
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, this.opts.retryDelayMs ?? 1000);
      this.abort.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
  }
}
