/**
 * Connector (domain spec §2.3): namespaced, schema-validated, status written by the Connectors
 * controllers through the status subresource. Served here because this server owns the
 * group-version (an APIService hides any CRD of it).
 */
import { isDNS1123Subdomain } from '../../api/validation/names.js';
import { group, version, type Connector } from '../../apis/connectors/v1alpha1/types.js';
import { validateConnector } from '../../apis/connectors/validation/connector.js';
import { connectorSchema } from '../../../openapi/connectors-v1alpha1.js';
import { ageColumn, readyConditionColumns, type ResourceDefinition } from '../rest.js';
import { schemaStrategies } from '../schemastrategy.js';

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export const connectorStrategies = schemaStrategies<Connector>(validateConnector);

export const connectorResource: ResourceDefinition<Connector> = {
  group,
  version,
  kind: 'Connector',
  listKind: 'ConnectorList',
  plural: 'connectors',
  singular: 'connector',
  namespaced: true,
  // As the Connector CRD: category alauda, no short names.
  shortNames: [],
  categories: ['alauda'],
  schema: connectorSchema,
  // The CRD's additionalPrinterColumns.
  printerColumns: [
    { name: 'Class', type: 'string', description: 'The ConnectorClass of the Connector.', priority: 0, jsonPath: '.spec.connectorClassName', cell: (o) => str((o as Connector).spec?.connectorClassName) },
    { name: 'Address', type: 'string', description: 'The address of the tool.', priority: 0, jsonPath: '.spec.address', cell: (o) => str((o as Connector).spec?.address) },
    ...readyConditionColumns,
    ageColumn,
  ],
  strategy: connectorStrategies.strategy,
  status: { mode: 'writable', strategy: connectorStrategies.statusStrategy },
  validateName: (name) => isDNS1123Subdomain(name),
};
