/**
 * client-go's rate-limiting work queue, in the small: a key waits in the queue at most once (adds
 * while queued are deduplicated), is never handed to two workers at once (an add while it is being
 * processed is replayed after `done`), can be delayed (`addAfter`) and retried with per-key
 * exponential backoff (`addRateLimited`, reset by `forget`). Keys are strings (`namespace/name`).
 */

export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** client-go's DefaultItemBasedRateLimiter: 5 ms doubling to 1000 s. */
export const defaultBackoff: BackoffPolicy = { baseMs: 5, maxMs: 1000_000 };

export interface QueueHooks {
  readonly onAdd?: () => void;
  readonly onDepth?: (depth: number) => void;
  readonly onRetry?: () => void;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** Pending delayed adds: the earliest wins. */
  private readonly delayed = new Map<string, { at: number; handle: unknown }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  private readonly backoff: BackoffPolicy;
  private readonly hooks: QueueHooks;
  private readonly timers: Timers;
  private readonly now: () => number;

  constructor(backoff: BackoffPolicy = defaultBackoff, hooks: QueueHooks = {}, timers: Timers = realTimers, now: () => number = Date.now) {
    this.backoff = backoff;
    this.hooks = hooks;
    this.timers = timers;
    this.now = now;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.hooks.onAdd?.();
    this.dirty.add(key);
    if (this.processing.has(key)) return; // replayed by done()
    this.push(key);
  }

  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.now() + ms;
    const pending = this.delayed.get(key);
    if (pending !== undefined && pending.at <= at) return;
    if (pending !== undefined) this.timers.clearTimeout(pending.handle);
    const handle = this.timers.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, handle });
  }

  /** Retry after this key's next backoff step. */
  addRateLimited(key: string): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.hooks.onRetry?.();
    this.addAfter(key, this.retryDelay(n));
  }

  retryDelay(failuresSoFar: number): number {
    return Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** Math.min(failuresSoFar, 40));
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The key succeeded: its backoff starts over. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** The next key, or undefined once shut down. Mark it `done` when finished. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.hooks.onDepth?.(this.queue.length);
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) this.push(key);
  }

  len(): number {
    return this.queue.length;
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { handle } of this.delayed.values()) this.timers.clearTimeout(handle);
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
    this.hooks.onDepth?.(this.queue.length);
  }
}
