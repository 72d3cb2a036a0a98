/**
 * A resource without a store (AccessReview, domain spec §11.3): its definition joins discovery and
 * the OpenAPI documents like any other, and `serve` answers every request on its paths after
 * authentication and authorization.
 */
import type { Request, Response } from 'express';
import type { RequestContext, ResourceDefinition } from '../registry/rest.js';
import type { RequestInfo } from './request-info.js';

export interface VirtualResource {
  readonly resource: ResourceDefinition;
  serve(req: Request, res: Response, info: Extract<RequestInfo, { kind: 'resource' }>, ctx: RequestContext, query: URLSearchParams): Promise<void>;
}
