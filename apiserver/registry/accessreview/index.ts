/**
 * AccessReview wiring for the server's entry point: the endpoint, and — with a main API server — its
 * backend with a client of its own and, when `--opa-path` is set, an OPA evaluator of its own.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../../api/meta.js';
import type { Authorizer } from '../../auth/types.js';
import { createKubeClient } from '../../controller/kube-client.js';
import { createRegoEvaluator } from '../../controller/rego.js';
import type { VirtualResource } from '../../endpoints/virtual.js';
import type { Store } from '../store/index.js';
import { createAccessReviewBackend } from './backend.js';
import { accessReviewEndpoint } from './handler.js';

export { accessReviewResource } from './resource.js';
export { accessReviewEndpoint, standaloneMessage } from './handler.js';
export { createAccessReviewBackend, type AccessReviewBackend } from './backend.js';

export interface AccessReviewsOptions {
  /** Undefined in standalone mode: reviews are validated, then answered 503. */
  readonly kubeConfig: KubeConfig | undefined;
  readonly stores: readonly Store<KubeObject>[];
  readonly authorizer: Authorizer;
  readonly flags: { readonly systemNamespace: string; readonly configMapName: string; readonly opaPath: string | undefined };
}

export function accessReviews(opts: AccessReviewsOptions): { readonly endpoint: VirtualResource; close(): Promise<void> } {
  if (opts.kubeConfig === undefined) return { endpoint: accessReviewEndpoint({ authorizer: opts.authorizer }), close: () => Promise.resolve() };
  const rego = opts.flags.opaPath === undefined ? undefined : createRegoEvaluator({ opaPath: opts.flags.opaPath });
  const backend = createAccessReviewBackend({
    client: createKubeClient(opts.kubeConfig),
    stores: opts.stores,
    systemNamespace: opts.flags.systemNamespace,
    configMapName: opts.flags.configMapName,
    ...(rego === undefined ? {} : { evaluateRego: (jobs) => rego.evaluate(jobs) }),
  });
  return { endpoint: accessReviewEndpoint({ authorizer: opts.authorizer, backend }), close: async () => rego?.close() };
}
