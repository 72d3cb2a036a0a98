/**
 * The alternate representations of TABLE-1 and POM-1: a Table with the resource's printer columns,
 * and PartialObjectMetadata(List), for get, list and watch events alike.
 */
import type { KubeObject, ListMeta, ObjectMeta } from '../api/meta.js';
import type { ResourceDefinition } from '../registry/rest.js';
import { humanDuration } from './human-duration.js';
import type { IncludeObject } from './negotiate.js';

export interface PartialObjectMetadata {
  readonly kind: 'PartialObjectMetadata';
  readonly apiVersion: string;
  readonly metadata: ObjectMeta;
}

export const partialObjectMetadata = (obj: KubeObject, version: string): PartialObjectMetadata => ({
  kind: 'PartialObjectMetadata',
  apiVersion: `meta.k8s.io/${version}`,
  metadata: obj.metadata,
});

export const partialObjectMetadataList = (items: readonly KubeObject[], listMeta: ListMeta, version: string): unknown => ({
  kind: 'PartialObjectMetadataList',
  apiVersion: `meta.k8s.io/${version}`,
  metadata: listMeta,
  items: items.map((i) => partialObjectMetadata(i, version)),
});

/** All a table needs to know of the resource. */
export type Columns = Pick<ResourceDefinition, 'printerColumns'>;

const nameColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description:
    'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  priority: 0,
};

export function columnDefinitions(r: Columns): unknown[] {
  return [nameColumn, ...r.printerColumns.map((c) => ({ name: c.name, type: c.type, format: '', description: c.description, priority: c.priority }))];
}

function row(r: Columns, obj: KubeObject, include: IncludeObject, now: Date, version: string): unknown {
  const cells = [
    obj.metadata.name ?? '',
    ...r.printerColumns.map((c) => {
      const v = c.cell(obj);
      // A date column shows the age, as kube-apiserver does for CRD date columns.
      return c.type === 'date' && typeof v === 'string' ? humanDuration(now.getTime() - Date.parse(v)) : v;
    }),
  ];
  const object = include === 'Object' ? obj : include === 'Metadata' ? partialObjectMetadata(obj, version) : undefined;
  return { cells, ...(object === undefined ? {} : { object }) };
}

export interface TableOptions {
  readonly include: IncludeObject;
  readonly version: 'v1' | 'v1beta1';
  readonly now: Date;
  /** Watch events after the first carry no column definitions. */
  readonly withColumns: boolean;
}

export function table(r: Columns, items: readonly KubeObject[], listMeta: ListMeta, o: TableOptions): unknown {
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${o.version}`,
    metadata: listMeta,
    columnDefinitions: o.withColumns ? columnDefinitions(r) : [],
    rows: items.map((i) => row(r, i, o.include, o.now, o.version)),
  };
}
