/**
 * Connector and ConnectorClass validation (domain spec §2.3): exactly what the public Connectors CRDs
 * declare — required fields, enums, unique list-map keys — and no further rules. The generic layer
 * has already checked types and pruned unknown fields; it validates ObjectMeta itself.
 */
import { fieldPath, type FieldError } from '../../../api/field.js';
import type { KubeObject } from '../../../api/meta.js';
import type { Schema } from '../../../../openapi/builders.js';
import { connectorClassSchema, connectorSchema } from '../../../../openapi/connectors-v1alpha1.js';
import { validateSchemaValues } from '../../../../openapi/validation.js';
import type { Connector, ConnectorClass } from '../v1alpha1/types.js';

/** Causes for every top-level field but apiVersion, kind and metadata, in schema order. */
function validateAgainst(schema: Schema, obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  for (const [field, sub] of Object.entries(schema.properties ?? {})) {
    if (field === 'apiVersion' || field === 'kind' || field === 'metadata') continue;
    const v = obj[field];
    if (v === undefined) continue;
    errs.push(...validateSchemaValues(v, sub, fieldPath(field)));
  }
  return errs;
}

export const validateConnector = (obj: Connector): FieldError[] => validateAgainst(connectorSchema, obj);

export const validateConnectorClass = (obj: ConnectorClass): FieldError[] => validateAgainst(connectorClassSchema, obj);
