/**
 * AccessPolicy strategy (domain spec §4.1): status is the server's; spec is mutable and an omitted
 * spec is stored as {} (AP-S1, AP-S2).
 */
import type { AccessPolicy } from '../../apis/connectors/v1alpha1/types.js';
import { validateAccessPolicy } from '../../apis/connectors/validation/accesspolicy.js';
import type { Strategy } from '../rest.js';

const normalised = (obj: AccessPolicy): AccessPolicy => {
  const { status: _dropped, ...rest } = obj;
  return { ...rest, spec: rest.spec ?? {} };
};

export const accessPolicyStrategy = {
  prepareForCreate: (_ctx, obj) => normalised(obj),
  validate: (_ctx, obj) => validateAccessPolicy(obj),
  warningsOnCreate: () => [],
  canonicalize: (obj) => obj,
  allowCreateOnUpdate: () => false,
  allowUnconditionalUpdate: () => false,
  prepareForUpdate: (_ctx, obj, old) => {
    const next = normalised(obj);
    return old.status === undefined ? next : { ...next, status: old.status };
  },
  validateUpdate: (_ctx, obj) => validateAccessPolicy(obj),
  warningsOnUpdate: () => [],
} satisfies Strategy<AccessPolicy>;
