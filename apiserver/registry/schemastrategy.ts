/**
 * The strategies of a kind that is only schema-validated and has a writable status subresource, as
 * kube-apiserver serves a CustomResourceDefinition with `subresources.status` (used for Connector and
 * ConnectorClass, domain spec §2.3):
 *
 * - create drops `status`; writes to the main resource keep the stored `status` (changes ignored);
 * - writes to `/status` take only the incoming `status` (and managedFields): every other field,
 *   metadata included, stays as stored, so `generation` never moves on `/status`;
 * - `generation` +1 on spec changes is the generic store's (rest.BeforeUpdate).
 */
import type { FieldError } from '../api/field.js';
import type { KubeObject } from '../api/meta.js';
import type { Strategy, UpdateStrategy } from './rest.js';

const withoutStatus = <T extends KubeObject>(obj: T): T => {
  const { status: _dropped, ...rest } = obj;
  return rest as T;
};

export interface SchemaStrategies<T extends KubeObject> {
  readonly strategy: Strategy<T>;
  readonly statusStrategy: UpdateStrategy<T>;
}

export function schemaStrategies<T extends KubeObject>(validate: (obj: Readonly<T>) => FieldError[]): SchemaStrategies<T> {
  const strategy: Strategy<T> = {
    prepareForCreate: (_ctx, obj) => withoutStatus(obj),
    validate: (_ctx, obj) => validate(obj),
    warningsOnCreate: () => [],
    canonicalize: (obj) => obj,
    allowCreateOnUpdate: () => false,
    allowUnconditionalUpdate: () => false,
    prepareForUpdate: (_ctx, obj, old) => {
      const next = withoutStatus(obj);
      return old['status'] === undefined ? next : ({ ...next, status: structuredClone(old['status']) } as T);
    },
    validateUpdate: (_ctx, obj) => validate(obj),
    warningsOnUpdate: () => [],
  };
  const statusStrategy: UpdateStrategy<T> = {
    allowCreateOnUpdate: () => false,
    allowUnconditionalUpdate: () => false,
    // customresource statusStrategy.PrepareForUpdate: the stored object with the new status; the
    // managedFields of the request are kept, since they record this status write.
    prepareForUpdate: (_ctx, obj, old) => {
      const next = withoutStatus(structuredClone(old) as T);
      const managedFields = obj.metadata.managedFields;
      if (managedFields !== undefined) next.metadata.managedFields = managedFields;
      return obj['status'] === undefined ? next : ({ ...next, status: obj['status'] } as T);
    },
    validateUpdate: (_ctx, obj) => validate(obj),
    warningsOnUpdate: () => [],
    canonicalize: (obj) => obj,
  };
  return { strategy, statusStrategy };
}
