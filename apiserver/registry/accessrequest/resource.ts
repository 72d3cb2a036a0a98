import { isDNS1123Subdomain } from '../../api/validation/names.js';
import { group, version, type AccessRequest } from '../../apis/connectors/v1alpha1/types.js';
import { accessRequestSchema } from '../../../openapi/connectors-v1alpha1.js';
import type { ResourceDefinition } from '../rest.js';
import { accessRequestStrategy } from './strategy.js';

export const accessRequestResource: ResourceDefinition<AccessRequest> = {
  group,
  version,
  kind: 'AccessRequest',
  listKind: 'AccessRequestList',
  plural: 'accessrequests',
  singular: 'accessrequest',
  namespaced: true,
  shortNames: [],
  categories: ['alauda'],
  schema: accessRequestSchema,
  strategy: accessRequestStrategy,
  status: { mode: 'computed' },
  validateName: (name) => isDNS1123Subdomain(name),
};
