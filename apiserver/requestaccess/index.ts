/**
 * The request-access helper (domain spec §7) as the spec writes its signature: a KubeConfig for the
 * main API server in, a result out (never throws for the outcomes of §7).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { accessRequestClient } from './client.js';
import type { RequestAccessInput, RequestAccessResult } from './decide.js';
import { requestAccessWith } from './helper.js';

export type { RequestAccessInput, RequestAccessOutcome, RequestAccessResult } from './decide.js';
export type { AccessRequestWatchEvent, ApiResult, HelperDeps, RequestAccessClient } from './helper.js';
export { requestAccessWith } from './helper.js';
export { accessRequestClient, podReader } from './client.js';

export function requestAccess(kc: KubeConfig, input: RequestAccessInput): Promise<RequestAccessResult> {
  return requestAccessWith(accessRequestClient(kc), input);
}
