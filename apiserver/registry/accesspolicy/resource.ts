import { isDNS1123Subdomain } from '../../api/validation/names.js';
import { group, version, type AccessPolicy } from '../../apis/connectors/v1alpha1/types.js';
import { accessPolicySchema } from '../../../openapi/connectors-v1alpha1.js';
import { ageColumn, type ResourceDefinition } from '../rest.js';
import { accessPolicyStrategy } from './strategy.js';

export const accessPolicyResource: ResourceDefinition<AccessPolicy> = {
  group,
  version,
  kind: 'AccessPolicy',
  listKind: 'AccessPolicyList',
  plural: 'accesspolicies',
  singular: 'accesspolicy',
  namespaced: true,
  shortNames: [],
  categories: ['alauda'],
  schema: accessPolicySchema,
  printerColumns: [ageColumn],
  strategy: accessPolicyStrategy,
  status: { mode: 'computed' },
  validateName: (name) => isDNS1123Subdomain(name),
};
