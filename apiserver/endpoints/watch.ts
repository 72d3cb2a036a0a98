/**
 * Streams a registry watch as kube-apiserver does: one JSON event per line, flushed per event,
 * bookmarks about every minute when asked for, a clean end at timeoutSeconds (default a random
 * 30–60 minutes so that clients do not reconnect in lockstep) or at server shutdown.
 */
import type { Response } from 'express';
import type { KubeObject } from '../api/meta.js';
import type { ApiWatchEvent, WatchStream } from '../registry/store/index.js';
import { sharedJson } from './shared-json.js';

export interface WatchStreamOptions {
  readonly allowWatchBookmarks: boolean;
  readonly timeoutSeconds: number | undefined;
  readonly bookmarkIntervalMs: number;
  readonly kind: string;
  readonly apiVersion: string;
  /** Turns a registry event into what goes on the wire (Table, PartialObjectMetadata …). */
  readonly render: (ev: ApiWatchEvent<KubeObject>) => unknown;
}

/** The res.locals key of an AbortSignal that ends the watch cleanly (server shutdown). */
export const shutdownSignalKey = 'shutdownSignal';

const defaultTimeoutSeconds = (): number => 1800 + Math.floor(Math.random() * 1800);

export async function streamWatch<T extends KubeObject>(
  res: Response,
  stream: WatchStream<T>,
  controller: AbortController,
  opts: WatchStreamOptions,
): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-cache, private');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.flushHeaders();
  let lastRV = stream.startResourceVersion;
  const write = async (line: string): Promise<void> => {
    if (res.writableEnded || res.destroyed) return;
    if (!res.write(line)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  };
  const bookmark = (): Promise<void> =>
    write(lineOf(opts.render({ type: 'BOOKMARK', object: { kind: opts.kind, apiVersion: opts.apiVersion, metadata: { resourceVersion: lastRV } } })));

  const timeoutMs = (opts.timeoutSeconds ?? defaultTimeoutSeconds()) * 1000;
  // A last bookmark lets the client resume exactly where this stream ended.
  const finish = (): void => void (opts.allowWatchBookmarks ? bookmark() : Promise.resolve()).finally(() => controller.abort());
  const timer = setTimeout(finish, timeoutMs);
  // Graceful shutdown ends every watch the same way (the filter chain puts the signal in res.locals).
  const shutdown: unknown = res.locals[shutdownSignalKey];
  if (shutdown instanceof AbortSignal) {
    if (shutdown.aborted) finish();
    else shutdown.addEventListener('abort', finish, { once: true, signal: controller.signal });
  }
  const ticker = opts.allowWatchBookmarks ? setInterval(() => void bookmark(), opts.bookmarkIntervalMs) : undefined;
  res.on('close', () => controller.abort());
  try {
    for await (const ev of stream.events) {
      if (controller.signal.aborted) break;
      if (ev.type === 'BOOKMARK') {
        lastRV = ev.object.metadata.resourceVersion;
        if (!opts.allowWatchBookmarks) continue;
      } else if (ev.type !== 'ERROR') {
        lastRV = ev.object.metadata.resourceVersion ?? lastRV;
      }
      const rendered = opts.render(ev as ApiWatchEvent<KubeObject>);
      // Rendered as stored (JSON): the object's serialization is shared by every watcher.
      await write(rendered === ev && ev.type !== 'BOOKMARK' && ev.type !== 'ERROR' ? eventLine(ev.type, ev.object) : lineOf(rendered));
      if (ev.type === 'ERROR') break;
    }
  } finally {
    clearTimeout(timer);
    if (ticker !== undefined) clearInterval(ticker);
    controller.abort();
    if (!res.writableEnded) res.end();
  }
}

const lineOf = (ev: unknown): string => `${JSON.stringify(ev)}\n`;

/** The same bytes as lineOf({ type, object }), with the object's JSON computed once for all watchers. */
const eventLine = (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: object): string => `{"type":"${type}","object":${sharedJson(object)}}\n`;
