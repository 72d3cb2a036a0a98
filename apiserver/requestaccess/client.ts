/**
 * The helper's client for the main API server over @kubernetes/client-node: SubjectAccessReviews,
 * AccessRequests (create, get, watch one by name) and, for the CLI, the Pod's uid and ServiceAccount.
 * The identity needs `create subjectaccessreviews`, `create/get/watch accessrequests` and (CLI only)
 * `get pods`.
 */
import { AuthorizationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, Watch } from '@kubernetes/client-node';
import type { AccessRequest } from '../apis/connectors/v1alpha1/types.js';
import { group, version } from '../apis/connectors/v1alpha1/types.js';
import { clientNodeCall } from '../kube/client-node-call.js';
import type { ApiError } from './decide.js';
import type { AccessRequestWatchEvent, ApiResult, RequestAccessClient } from './helper.js';

const plural = 'accessrequests';

const isAccessRequest = (v: unknown): v is AccessRequest =>
  typeof v === 'object' && v !== null && typeof (v as { metadata?: unknown }).metadata === 'object' && (v as { metadata?: unknown }).metadata !== null;

const unexpected = (what: string): ApiResult<never> => ({ ok: false, error: { code: undefined, message: `unexpected ${what} in the response` } });

function asAccessRequest(r: ApiResult<unknown>): ApiResult<AccessRequest> {
  if (!r.ok) return r;
  return isAccessRequest(r.value) ? { ok: true, value: r.value } : unexpected('AccessRequest');
}

/** A Watch `done` error, or a thrown one, as an ApiError (client-node puts the HTTP status in statusCode). */
function watchError(e: unknown): ApiError {
  const code = typeof e === 'object' && e !== null ? (e as { statusCode?: unknown }).statusCode : undefined;
  return { code: typeof code === 'number' ? code : undefined, message: e instanceof Error ? e.message : String(e) };
}

/** One AccessRequest watched through client-node's callback Watch, as an async iterable that ends with the stream. */
async function watchOne(kc: KubeConfig, namespace: string, name: string, resourceVersion: string, signal: AbortSignal): Promise<ApiResult<AsyncIterable<AccessRequestWatchEvent>>> {
  const queue: AccessRequestWatchEvent[] = [];
  let ended = false;
  let opened = false;
  let openError: ApiError | undefined;
  let wake = (): void => undefined;
  const push = (ev: AccessRequestWatchEvent | 'end'): void => {
    if (ev === 'end') ended = true;
    else queue.push(ev);
    wake();
  };
  let controller: AbortController | undefined;
  const onAbort = (): void => {
    controller?.abort();
    push('end');
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    controller = await new Watch(kc).watch(
      `/apis/${group}/${version}/namespaces/${encodeURIComponent(namespace)}/${plural}`,
      { fieldSelector: `metadata.name=${name}`, allowWatchBookmarks: true, ...(resourceVersion === '' ? {} : { resourceVersion }) },
      (phase: string, obj: unknown) => {
        if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') {
          if (isAccessRequest(obj)) push({ type: phase, object: obj });
        } else if (phase === 'BOOKMARK') push({ type: 'BOOKMARK' });
        else if (phase === 'ERROR') {
          const o = typeof obj === 'object' && obj !== null ? (obj as { code?: unknown; message?: unknown }) : {};
          push({ type: 'ERROR', error: { code: typeof o.code === 'number' ? o.code : undefined, message: typeof o.message === 'string' ? o.message : 'watch error' } });
        }
      },
      (err: unknown) => {
        // Called inside watch() when the server refused the request; later when the stream ends.
        if (!opened && err !== null && err !== undefined) openError = watchError(err);
        push('end');
      },
    );
  } catch (e) {
    signal.removeEventListener('abort', onAbort);
    return { ok: false, error: watchError(e) };
  }
  opened = true;
  if (signal.aborted) controller.abort();
  if (openError !== undefined) {
    signal.removeEventListener('abort', onAbort);
    return { ok: false, error: openError };
  }
  const ctl = controller;
  async function* events(): AsyncGenerator<AccessRequestWatchEvent> {
    try {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (ended) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = () => undefined;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      ctl.abort();
    }
  }
  return { ok: true, value: events() };
}

export function accessRequestClient(kc: KubeConfig): RequestAccessClient {
  const authz = kc.makeApiClient(AuthorizationV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  return {
    createSubjectAccessReview: async (spec, signal) => {
      const r = await clientNodeCall(signal, (options) =>
        authz.createSubjectAccessReview(
          {
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind: 'SubjectAccessReview',
              spec: { user: spec.user, groups: [...spec.groups], resourceAttributes: { ...spec.resourceAttributes } },
            },
          },
          options,
        ),
      );
      if (!r.ok) return r;
      const status = (r.value as { status?: { allowed?: unknown } } | null)?.status;
      return { ok: true, value: { allowed: status?.allowed === true } };
    },
    createAccessRequest: async (body, signal) =>
      asAccessRequest(
        await clientNodeCall(signal, (options) =>
          custom.createNamespacedCustomObject({ group, version, namespace: body.metadata.namespace ?? '', plural, body }, options),
        ),
      ),
    getAccessRequest: async (namespace, name, signal) =>
      asAccessRequest(await clientNodeCall(signal, (options) => custom.getNamespacedCustomObject({ group, version, namespace, plural, name }, options))),
    watchAccessRequest: (namespace, name, resourceVersion, signal) => watchOne(kc, namespace, name, resourceVersion, signal),
  };
}

export interface PodIdentity {
  readonly uid: string;
  /** As in the Pod spec; "" means `default`. */
  readonly serviceAccountName: string;
}

/** GET the Pod for its uid and ServiceAccount (the CLI, when `--pod-uid` or `--service-account` is absent). */
export function podReader(kc: KubeConfig): (namespace: string, name: string, signal: AbortSignal) => Promise<ApiResult<PodIdentity>> {
  const core = kc.makeApiClient(CoreV1Api);
  return async (namespace, name, signal) => {
    const r = await clientNodeCall(signal, (options) => core.readNamespacedPod({ namespace, name }, options));
    if (!r.ok) return r;
    const pod = r.value as { metadata?: { uid?: unknown }; spec?: { serviceAccountName?: unknown } } | null;
    const uid = pod?.metadata?.uid;
    const sa = pod?.spec?.serviceAccountName;
    return { ok: true, value: { uid: typeof uid === 'string' ? uid : '', serviceAccountName: typeof sa === 'string' ? sa : '' } };
  };
}
