/**
 * AccessReview (domain spec §11.3): a create-only, never-stored kind, served like
 * SubjectAccessReview. The definition drives discovery (verbs ["create"]) and the OpenAPI documents
 * (the kind and its post operation); `./handler.ts` answers its requests instead of a store. The
 * strategy's create half defaults and validates the review; the update half is never used.
 */
import { isDNS1123Subdomain } from '../../api/validation/names.js';
import { group, version, type AccessReview } from '../../apis/connectors/v1alpha1/types.js';
import { defaultAccessReview, validateAccessReview } from '../../apis/connectors/validation/accessreview.js';
import { accessReviewSchema } from '../../../openapi/connectors-v1alpha1.js';
import type { ResourceDefinition, Strategy } from '../rest.js';

const strategy = {
  // A review's status is the server's answer: whatever the client sent is dropped.
  prepareForCreate: (_ctx, obj) => {
    const { status: _dropped, ...rest } = obj;
    return defaultAccessReview(rest);
  },
  validate: (_ctx, obj) => validateAccessReview(obj),
  warningsOnCreate: () => [],
  canonicalize: (obj) => obj,
  allowCreateOnUpdate: () => false,
  allowUnconditionalUpdate: () => false,
  prepareForUpdate: (_ctx, obj) => obj,
  validateUpdate: () => [],
  warningsOnUpdate: () => [],
} satisfies Strategy<AccessReview>;

export const accessReviewResource: ResourceDefinition<AccessReview> = {
  group,
  version,
  kind: 'AccessReview',
  // No list kind: nothing can be listed.
  listKind: '',
  plural: 'accessreviews',
  singular: 'accessreview',
  namespaced: true,
  shortNames: [],
  categories: [],
  schema: accessReviewSchema,
  printerColumns: [],
  strategy,
  status: { mode: 'computed' },
  validateName: (name) => isDNS1123Subdomain(name),
  createOnly: true,
};
