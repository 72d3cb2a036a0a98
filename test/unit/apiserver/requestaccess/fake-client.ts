/**
 * An in-memory main API server for the request-access helper: AccessRequests with uids and
 * resourceVersions, watches that see later writes, SubjectAccessReviews decided by a function, and
 * hooks to inject failures. Tests play the controller by calling setConditions / remove.
 */
import type { AccessRequest, Condition } from '../../../../apiserver/apis/connectors/v1alpha1/types.js';
import type { ApiError, ProxySubjectAccessReviewSpec } from '../../../../apiserver/requestaccess/decide.js';
import type { AccessRequestWatchEvent, ApiResult, RequestAccessClient } from '../../../../apiserver/requestaccess/helper.js';

type Op = 'sar' | 'create' | 'get' | 'watch';

interface Watcher {
  readonly name: string;
  readonly push: (ev: AccessRequestWatchEvent | 'end') => void;
}

export class FakeCluster implements RequestAccessClient {
  readonly objects = new Map<string, AccessRequest>();
  readonly calls: string[] = [];
  readonly reviews: ProxySubjectAccessReviewSpec[] = [];
  /** Decides each SAR; default: denied. */
  allow: (spec: ProxySubjectAccessReviewSpec) => boolean = () => false;
  /** Errors to return, in order, before the real answer of an operation. */
  readonly failures: Record<Op, ApiError[]> = { sar: [], create: [], get: [], watch: [] };
  private rv = 100;
  private uids = 0;
  private watchers = new Set<Watcher>();

  private key = (ns: string, name: string): string => `${ns}/${name}`;

  private fail(op: Op): ApiError | undefined {
    return this.failures[op].shift();
  }

  private emit(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: AccessRequest): void {
    for (const w of this.watchers) if (w.name === obj.metadata.name) w.push({ type, object: structuredClone(obj) });
  }

  /** Stores an object as if someone else had created it. */
  put(obj: AccessRequest): AccessRequest {
    const stored = structuredClone(obj);
    stored.metadata.uid = `uid-${String(++this.uids)}`;
    stored.metadata.resourceVersion = String(++this.rv);
    this.objects.set(this.key(stored.metadata.namespace ?? '', stored.metadata.name ?? ''), stored);
    this.emit('ADDED', stored);
    return stored;
  }

  /** The controller's status write. */
  setConditions(ns: string, name: string, conditions: Condition[]): void {
    const obj = this.objects.get(this.key(ns, name));
    if (obj === undefined) throw new Error(`no ${ns}/${name}`);
    obj.status = { ...(obj.status ?? {}), conditions };
    obj.metadata.resourceVersion = String(++this.rv);
    this.emit('MODIFIED', obj);
  }

  remove(ns: string, name: string): void {
    const obj = this.objects.get(this.key(ns, name));
    if (obj === undefined) return;
    this.objects.delete(this.key(ns, name));
    obj.metadata.resourceVersion = String(++this.rv);
    this.emit('DELETED', obj);
  }

  /** Ends every open watch, as a server does at its request timeout. */
  closeWatches(): void {
    for (const w of this.watchers) w.push('end');
  }

  /** Sends an ERROR event (e.g. 410 Gone) on every open watch, then ends it. */
  errorWatches(error: ApiError): void {
    for (const w of this.watchers) {
      w.push({ type: 'ERROR', error });
      w.push('end');
    }
  }

  get openWatches(): number {
    return this.watchers.size;
  }

  async createSubjectAccessReview(spec: ProxySubjectAccessReviewSpec): Promise<ApiResult<{ allowed: boolean }>> {
    this.calls.push(`sar ${spec.resourceAttributes.subresource}`);
    this.reviews.push(spec);
    const f = this.fail('sar');
    if (f !== undefined) return { ok: false, error: f };
    return { ok: true, value: { allowed: this.allow(spec) } };
  }

  async createAccessRequest(body: AccessRequest): Promise<ApiResult<AccessRequest>> {
    this.calls.push(`create ${body.metadata.name ?? ''}`);
    const f = this.fail('create');
    if (f !== undefined) return { ok: false, error: f };
    if (this.objects.has(this.key(body.metadata.namespace ?? '', body.metadata.name ?? ''))) {
      return { ok: false, error: { code: 409, message: `accessrequests.connectors.alauda.io "${body.metadata.name ?? ''}" already exists` } };
    }
    return { ok: true, value: structuredClone(this.put(body)) };
  }

  async getAccessRequest(ns: string, name: string): Promise<ApiResult<AccessRequest>> {
    this.calls.push(`get ${name}`);
    const f = this.fail('get');
    if (f !== undefined) return { ok: false, error: f };
    const obj = this.objects.get(this.key(ns, name));
    if (obj === undefined) return { ok: false, error: { code: 404, message: `accessrequests.connectors.alauda.io "${name}" not found` } };
    return { ok: true, value: structuredClone(obj) };
  }

  async watchAccessRequest(_ns: string, name: string, resourceVersion: string, signal: AbortSignal): Promise<ApiResult<AsyncIterable<AccessRequestWatchEvent>>> {
    this.calls.push(`watch ${name}@${resourceVersion}`);
    const f = this.fail('watch');
    if (f !== undefined) return { ok: false, error: f };
    const queue: (AccessRequestWatchEvent | 'end')[] = [];
    let wake = (): void => undefined;
    const watcher: Watcher = {
      name,
      push: (ev) => {
        queue.push(ev);
        wake();
      },
    };
    this.watchers.add(watcher);
    signal.addEventListener('abort', () => watcher.push('end'), { once: true });
    const watchers = this.watchers;
    async function* events(): AsyncGenerator<AccessRequestWatchEvent> {
      try {
        for (;;) {
          const next = queue.shift();
          if (next === 'end') return;
          if (next !== undefined) {
            yield next;
            continue;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      } finally {
        watchers.delete(watcher);
      }
    }
    return { ok: true, value: events() };
  }
}

export const cond = (type: string, status: Condition['status'], reason: string, message = ''): Condition => ({ type, status, reason, message });

/** Resolves once check() holds (polling every 2 ms), or rejects after ms. */
export async function until(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
