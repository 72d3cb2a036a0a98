/**
 * ConnectorClass (domain spec §2.3): cluster-scoped, schema-validated, status written by the
 * Connectors controllers through the status subresource.
 */
import { isDNS1123Subdomain } from '../../api/validation/names.js';
import { group, version, type ConnectorClass } from '../../apis/connectors/v1alpha1/types.js';
import { validateConnectorClass } from '../../apis/connectors/validation/connector.js';
import { connectorClassSchema } from '../../../openapi/connectors-v1alpha1.js';
import { ageColumn, readyConditionColumns, type ResourceDefinition } from '../rest.js';
import { schemaStrategies } from '../schemastrategy.js';

export const connectorClassStrategies = schemaStrategies<ConnectorClass>(validateConnectorClass);

export const connectorClassResource: ResourceDefinition<ConnectorClass> = {
  group,
  version,
  kind: 'ConnectorClass',
  listKind: 'ConnectorClassList',
  plural: 'connectorclasses',
  singular: 'connectorclass',
  namespaced: false,
  // As the ConnectorClass CRD: category alauda, no short names.
  shortNames: [],
  categories: ['alauda'],
  schema: connectorClassSchema,
  printerColumns: [
    ...readyConditionColumns,
    ageColumn,
  ],
  strategy: connectorClassStrategies.strategy,
  status: { mode: 'writable', strategy: connectorClassStrategies.statusStrategy },
  validateName: (name) => isDNS1123Subdomain(name),
};
