/**
 * The HTTP side of AccessReview (domain spec §11.3), served like SubjectAccessReview: POST to
 * `/apis/connectors.alauda.io/v1alpha1/namespaces/<ns>/accessreviews` decodes, defaults and validates
 * the review exactly as a create would (400 for bad bodies and options, 422 for invalid fields), then
 * answers `201 Created` with the review and its computed `status`. Nothing is stored and no watch
 * event is sent; `dryRun=All` is answered alike. Every other method on an accessreviews path is
 * `405 MethodNotAllowed` (after authorization, as for any request).
 *
 * Without a main API server (standalone mode) there are no Pods, templates, check objects or
 * SubjectAccessReviews to answer from: a valid review gets `503 ServiceUnavailable` saying so.
 */
import type { KubeObject } from '../../api/meta.js';
import * as status from '../../api/status.js';
import { validateObjectMeta } from '../../api/validation/objectmeta.js';
import type { Authorizer } from '../../auth/types.js';
import type { AccessReview } from '../../apis/connectors/v1alpha1/types.js';
import { readObjectWrite } from '../../endpoints/body.js';
import { negotiate, parseIncludeObject } from '../../endpoints/negotiate.js';
import { writeObject } from '../../endpoints/represent.js';
import { badName } from '../../endpoints/resource.js';
import { writeStatus } from '../../endpoints/responses.js';
import type { VirtualResource } from '../../endpoints/virtual.js';
import { apiVersionOf, type ResourceDefinition } from '../rest.js';
import { clone } from '../store/context.js';
import { decodeBody } from '../store/decode.js';
import type { AccessReviewBackend } from './backend.js';
import { accessReviewResource } from './resource.js';

export interface AccessReviewEndpointOptions {
  /** The server's authorizer: asks, on the caller's behalf, what the caller may read. */
  readonly authorizer: Authorizer;
  /** The main API server side; absent in standalone mode (valid reviews answer 503). */
  readonly backend?: AccessReviewBackend;
}

export const standaloneMessage =
  'AccessReview needs the main API server (Pods, role and check templates, check objects, SubjectAccessReviews); this server runs in standalone mode without one';

const notAllowed = (): status.Status => status.methodNotAllowed('the server does not allow this method on the requested resource');

export function accessReviewEndpoint(opts: AccessReviewEndpointOptions): VirtualResource {
  const r = accessReviewResource;
  const resource = r as unknown as ResourceDefinition<KubeObject>;
  const apiVersion = apiVersionOf(r);
  return {
    resource,
    serve: async (req, res, info, ctx, query) => {
      const fail = (s: status.Status): void => writeStatus(res, s);
      // Create-only: one collection POST per namespace; no object paths, no subresources, no reads.
      if (info.verb !== 'create' || info.name !== undefined || info.subresource !== undefined || info.namespace === undefined) return fail(notAllowed());
      if (badName(info.namespace)) return fail(status.badRequest(`invalid namespace "${info.namespace}"`));
      const accept = negotiate(req.headers.accept, 'object');
      if (!accept.ok) return fail(accept.error);
      const include = parseIncludeObject(query);
      if (!include.ok) return fail(include.error);
      // dryRun is accepted and changes nothing: a review never writes anything anyway.
      const write = await readObjectWrite(req, query, 'CreateOptions');
      if (!write.ok) return fail(write.error);
      const decoded = decodeBody<AccessReview>({ resource: r, apiVersion }, clone(write.value.body), write.value.options.fieldValidation);
      if (!decoded.ok) return fail(decoded.error);

      // AR-S5: the body's namespace is empty (the URL's is taken) or the URL's.
      const meta = decoded.value.object.metadata;
      if ((meta.namespace ?? '') === '') meta.namespace = info.namespace;
      else if (meta.namespace !== info.namespace) return fail(status.badRequest('the namespace of the provided object does not match the namespace sent on the request'));
      const review = r.strategy.prepareForCreate(ctx, decoded.value.object);
      // name and generateName are optional: a review is never stored under either.
      const metaErrs = validateObjectMeta(review.metadata, { namespaced: true, nameValidator: r.validateName }).filter(
        (e) => !(e.field === 'metadata.name' && e.type === 'FieldValueRequired'),
      );
      const errs = [...r.strategy.validate(ctx, review), ...metaErrs];
      if (errs.length > 0) return fail(status.invalid(r.group, r.kind, review.metadata.name ?? '', errs));

      if (opts.backend === undefined) return fail(status.serviceUnavailable(standaloneMessage));
      const answered = await opts.backend.answer(review, ctx.user, opts.authorizer);
      if (!answered.ok) return fail(answered.error);
      // The request's metadata is echoed: no uid, resourceVersion or creationTimestamp is added.
      const out: AccessReview = { ...review, apiVersion, kind: r.kind, status: answered.value };
      writeObject(res, 201, { resource, representation: accept.value, include: include.value, now: ctx.now() }, out, [...write.value.warnings, ...decoded.value.warnings]);
    },
  };
}
