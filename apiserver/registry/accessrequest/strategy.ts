/**
 * AccessRequest strategy (domain spec §3.2): status is the server's (dropped on create, kept on
 * writes to the main resource), spec is immutable after creation (AR-S4), defaults before validation.
 */
import { isDeepStrictEqual } from 'node:util';
import { invalid } from '../../api/field.js';
import type { AccessRequest } from '../../apis/connectors/v1alpha1/types.js';
import { defaultAccessRequest, validateAccessRequest } from '../../apis/connectors/validation/accessrequest.js';
import type { Strategy } from '../rest.js';

const withoutStatus = (obj: AccessRequest): AccessRequest => {
  const { status: _dropped, ...rest } = obj;
  return rest;
};

export const accessRequestStrategy = {
  // A client must never be able to create a request that already looks approved (AR-S1).
  prepareForCreate: (_ctx, obj) => defaultAccessRequest(withoutStatus(obj)),
  validate: (_ctx, obj) => validateAccessRequest(obj),
  warningsOnCreate: () => [],
  canonicalize: (obj) => obj,
  allowCreateOnUpdate: () => false,
  allowUnconditionalUpdate: () => false,
  // Status is computed in-process; writes to the main resource keep the stored one (AR-S2).
  prepareForUpdate: (_ctx, obj, old) => {
    const next = defaultAccessRequest(withoutStatus(obj));
    return old.status === undefined ? next : { ...next, status: old.status };
  },
  validateUpdate: (_ctx, obj, old) => [
    ...validateAccessRequest(obj),
    ...(isDeepStrictEqual(obj.spec, old.spec) ? [] : [invalid('spec', {}, 'field is immutable')]),
  ],
  warningsOnUpdate: () => [],
} satisfies Strategy<AccessRequest>;
