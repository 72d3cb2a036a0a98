/**
 * An informer over our own storage: one consistent list, then a watch from its revision, keeping an
 * in-memory copy of every object of one resource and telling handlers what changed. A compacted
 * revision (410) or a broken watch relists, like client-go's reflector; handlers see a relist as
 * adds/updates/deletes against the old copy, so no change is lost.
 *
 * The controllers read our objects here rather than through the main API server: they live in the
 * same process as the storage, and going around the aggregator costs nothing in consistency because
 * every write below is a compare-and-swap on etcd.
 */
import type { KubeObject } from '../api/meta.js';
import type { Storage, StoredObject } from '../../storage/interface.js';
import type { ResourceKeys } from '../../storage/keys.js';

export interface InformerHandlers<T> {
  readonly onAdd?: (obj: T) => void;
  readonly onUpdate?: (obj: T, old: T) => void;
  readonly onDelete?: (obj: T) => void;
}

export const objectKey = (o: KubeObject): string => (o.metadata.namespace === undefined || o.metadata.namespace === '' ? o.metadata.name ?? '' : `${o.metadata.namespace}/${o.metadata.name ?? ''}`);

export class LocalInformer<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly abort = new AbortController();
  private syncedResolve: (() => void) | undefined;
  readonly synced: Promise<void>;
  private loop: Promise<void> | undefined;

  private readonly storage: Storage;
  private readonly keys: ResourceKeys;
  private readonly onError: (message: string) => void;
  private readonly retryDelayMs: number;

  constructor(storage: Storage, keys: ResourceKeys, onError: (message: string) => void, retryDelayMs = 1000) {
    this.storage = storage;
    this.keys = keys;
    this.onError = onError;
    this.retryDelayMs = retryDelayMs;
    this.synced = new Promise((resolve) => (this.syncedResolve = resolve));
  }

  addHandlers(h: InformerHandlers<T>): void {
    this.handlers.push(h);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(namespace === undefined || namespace === '' ? name : `${namespace}/${name}`);
  }

  list(namespace?: string): T[] {
    const all = [...this.items.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const revision = await this.relist();
      if (revision === undefined) {
        await this.pause();
        continue;
      }
      this.syncedResolve?.();
      try {
        for await (const ev of this.storage.watch<StoredObject>(this.keys.resourcePrefix, revision, signal)) {
          if (ev.type === 'ERROR') {
            this.onError(`watch ${this.keys.resourcePrefix}: ${ev.error.kind}`);
            break;
          }
          if (ev.type === 'PROGRESS') continue;
          const obj = ev.object as unknown as T;
          const key = objectKey(obj);
          if (ev.type === 'DELETED') {
            const old = this.items.get(key);
            this.items.delete(key);
            this.emitDelete(old ?? obj);
          } else {
            const old = this.items.get(key);
            this.items.set(key, obj);
            if (old === undefined) this.emitAdd(obj);
            else this.emitUpdate(obj, old);
          }
        }
      } catch (e) {
        if (!signal.aborted) this.onError(`watch ${this.keys.resourcePrefix}: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (!signal.aborted) await this.pause();
    }
  }

  /** Lists everything at one revision and reconciles the cache against it; undefined on failure. */
  private async relist(): Promise<string | undefined> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let revision: string | undefined;
    do {
      const page = await this.storage.list<StoredObject>(this.keys.resourcePrefix, { limit: 500, ...(cont === undefined ? {} : { continue: cont }) });
      if (!page.ok) {
        this.onError(`list ${this.keys.resourcePrefix}: ${page.error.kind}`);
        return undefined;
      }
      revision ??= page.value.resourceVersion;
      for (const o of page.value.items) fresh.set(objectKey(o as unknown as T), o as unknown as T);
      cont = page.value.continue;
    } while (cont !== undefined && cont !== '');
    const old = new Map(this.items);
    this.items.clear();
    for (const [k, v] of fresh) this.items.set(k, v);
    for (const [k, v] of fresh) {
      const before = old.get(k);
      if (before === undefined) this.emitAdd(v);
      else if (before.metadata.resourceVersion !== v.metadata.resourceVersion) this.emitUpdate(v, before);
    }
    for (const [k, v] of old) if (!fresh.has(k)) this.emitDelete(v);
    return revision;
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, this.retryDelayMs);
      this.abort.signal.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
  }

  private emitAdd(o: T): void {
    for (const h of this.handlers) this.safely(() => h.onAdd?.(o));
  }

  private emitUpdate(o: T, old: T): void {
    for (const h of this.handlers) this.safely(() => h.onUpdate?.(o, old));
  }

  private emitDelete(o: T): void {
    for (const h of this.handlers) this.safely(() => h.onDelete?.(o));
  }

  private safely(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.onError(`informer handler: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
