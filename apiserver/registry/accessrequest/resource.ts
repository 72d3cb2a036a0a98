import { isDNS1123Subdomain } from '../../api/validation/names.js';
import { group, version, type AccessRequest } from '../../apis/connectors/v1alpha1/types.js';
import { accessRequestSchema } from '../../../openapi/connectors-v1alpha1.js';
import { ageColumn, conditionCell, type ResourceDefinition } from '../rest.js';
import { accessRequestStrategy } from './strategy.js';

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

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
  // Spec 2.2: the columns of the former CRD.
  printerColumns: [
    { name: 'Connector', type: 'string', description: 'The Connector the request is for.', priority: 0, jsonPath: '.spec.connectorRef.name', cell: (o) => str((o as AccessRequest).spec.connectorRef?.name) },
    { name: 'Subject', type: 'string', description: 'Who uses the Connector.', priority: 0, jsonPath: '.spec.subject.name', cell: (o) => str((o as AccessRequest).spec.subject?.name) },
    {
      name: 'ContextValid',
      type: 'string',
      description: 'Whether the context Pod is valid.',
      priority: 0,
      jsonPath: '.status.conditions[?(@.type=="ContextObjectValid")].status',
      cell: (o) => conditionCell(o, 'ContextObjectValid', 'status'),
    },
    {
      name: 'Permission',
      type: 'string',
      description: 'The state of the temporary permission.',
      priority: 0,
      jsonPath: '.status.conditions[?(@.type=="AccessPermissionSync")].reason',
      cell: (o) => conditionCell(o, 'AccessPermissionSync', 'reason'),
    },
    ageColumn,
  ],
  strategy: accessRequestStrategy,
  status: { mode: 'computed' },
  validateName: (name) => isDNS1123Subdomain(name),
};
