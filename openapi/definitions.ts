/**
 * The apimachinery meta definitions every published document carries, under kube-apiserver's
 * definition names, so that kind schemas can reference ObjectMeta, ListMeta, Status and the rest
 * and `kubectl explain` can follow those references inside one document.
 *
 * Schemas here are version-neutral: `$ref` holds a bare definition name, and documents.ts renders it
 * as `#/components/schemas/<name>` (v3, wrapped in `allOf` when it has siblings) or
 * `#/definitions/<name>` (v2).
 */
import type { ListType } from './builders.js';

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** A schema as published: structural fields, value validations, the Kubernetes extensions, refs. */
export interface PublishedSchema {
  /** A definition name (`io.k8s.apimachinery.pkg.apis.meta.v1.Time`), not a JSON pointer. */
  $ref?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  properties?: Record<string, PublishedSchema>;
  additionalProperties?: PublishedSchema;
  items?: PublishedSchema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  uniqueItems?: boolean;
  nullable?: boolean;
  'x-kubernetes-list-type'?: ListType;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-group-version-kind'?: GroupVersionKind[];
}

const metaV1 = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/** Definition names as kube-apiserver publishes them. */
export const metaNames = {
  objectMeta: `${metaV1}.ObjectMeta`,
  listMeta: `${metaV1}.ListMeta`,
  managedFieldsEntry: `${metaV1}.ManagedFieldsEntry`,
  ownerReference: `${metaV1}.OwnerReference`,
  time: `${metaV1}.Time`,
  fieldsV1: `${metaV1}.FieldsV1`,
  status: `${metaV1}.Status`,
  statusDetails: `${metaV1}.StatusDetails`,
  statusCause: `${metaV1}.StatusCause`,
  deleteOptions: `${metaV1}.DeleteOptions`,
  preconditions: `${metaV1}.Preconditions`,
  watchEvent: `${metaV1}.WatchEvent`,
  patch: `${metaV1}.Patch`,
  apiResourceList: `${metaV1}.APIResourceList`,
  apiResource: `${metaV1}.APIResource`,
  rawExtension: 'io.k8s.apimachinery.pkg.runtime.RawExtension',
} as const;

const conventions = 'https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md';
const namesDoc = 'https://kubernetes.io/docs/concepts/overview/working-with-objects/names';

/** The TypeMeta fields as kube-apiserver documents them; every kind and list carries both. */
export const typeMetaProperties: Record<'apiVersion' | 'kind', PublishedSchema> = {
  apiVersion: {
    type: 'string',
    description: `APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: ${conventions}#resources`,
  },
  kind: {
    type: 'string',
    description: `Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: ${conventions}#types-kinds`,
  },
};

/** Descriptions kube-apiserver gives the metadata field of kinds and of lists. */
export const objectMetadataDescription = `Standard object's metadata. More info: ${conventions}#metadata`;
export const listMetadataDescription = `Standard list metadata. More info: ${conventions}#types-kinds`;

const str = (description: string): PublishedSchema => ({ type: 'string', description });
const bool = (description: string): PublishedSchema => ({ type: 'boolean', description });
const int = (format: 'int32' | 'int64', description: string): PublishedSchema => ({ type: 'integer', format, description });
const ref = (name: string, description: string): PublishedSchema => ({ $ref: name, description });
const stringList = (description: string, listType: ListType = 'atomic'): PublishedSchema => ({
  type: 'array',
  description,
  items: { type: 'string' },
  'x-kubernetes-list-type': listType,
});
const stringMap = (description: string): PublishedSchema => ({ type: 'object', description, additionalProperties: { type: 'string' } });
const object = (description: string, properties: Record<string, PublishedSchema>, extra: Partial<PublishedSchema> = {}): PublishedSchema => ({
  type: 'object',
  description,
  properties,
  ...extra,
});

const ownerReference = object(
  'OwnerReference contains enough information to let you identify an owning object. An owning object must be in the same namespace as the dependent, or be cluster-scoped, so there is no namespace field.',
  {
    apiVersion: str('API version of the referent.'),
    kind: str(`Kind of the referent. More info: ${conventions}#types-kinds`),
    name: str(`Name of the referent. More info: ${namesDoc}#names`),
    uid: str(`UID of the referent. More info: ${namesDoc}#uids`),
    controller: bool('If true, this reference points to the managing controller.'),
    blockOwnerDeletion: bool(
      'If true, and the owner has the "foregroundDeletion" finalizer, the owner cannot be deleted from the key-value store until this reference is removed. Defaults to false. Setting it requires "delete" permission on the owner, otherwise 422 (Unprocessable Entity) is returned.',
    ),
  },
  { required: ['apiVersion', 'kind', 'name', 'uid'], 'x-kubernetes-map-type': 'atomic' },
);

const managedFieldsEntry = object(
  'ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource that the fieldset applies to.',
  {
    manager: str('Manager is an identifier of the workflow managing these fields.'),
    operation: str("Operation is the type of operation which lead to this ManagedFieldsEntry being created. The only valid values are 'Apply' and 'Update'."),
    apiVersion: str(
      'APIVersion defines the version of this resource that this field set applies to, in the "group/version" form of the top-level apiVersion field. A field set cannot be converted automatically, so its version is tracked.',
    ),
    time: ref(metaNames.time, 'Time is the timestamp of when the ManagedFields entry was added. It is also updated when a field is added, when the manager changes the value of an owned field, or when it removes a field.'),
    fieldsType: str('FieldsType is the discriminator for the different fields format and version. The only value is "FieldsV1".'),
    fieldsV1: ref(metaNames.fieldsV1, 'FieldsV1 holds the first JSON version format as described in the "FieldsV1" type.'),
    subresource: str(
      'Subresource is the name of the subresource used to update that object, or empty if the object was updated through the main resource. Managers with the same name on different subresources are distinct.',
    ),
  },
);

const objectMeta = object('ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.', {
  name: str(
    `Name must be unique within a namespace. Required when creating resources unless generateName is used. Primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: ${namesDoc}#names`,
  ),
  generateName: str(
    `GenerateName is an optional prefix, used by the server to generate a unique name ONLY IF the name field has not been provided. The returned name differs from the one passed: a unique suffix is added, and the prefix may be truncated to make room for it. If the generated name exists, the server returns a 409. More info: ${conventions}#idempotency`,
  ),
  namespace: str(
    'Namespace defines the space within which each name must be unique. Objects that are not namespace-scoped leave it empty. Must be a DNS_LABEL. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces',
  ),
  selfLink: str('Deprecated: selfLink is a legacy read-only field that is no longer populated by the system.'),
  uid: str(
    `UID is the unique in time and space value for this object. It is generated by the server on successful creation and cannot change on PUT operations. Populated by the system. Read-only. More info: ${namesDoc}#uids`,
  ),
  resourceVersion: str(
    `An opaque value that represents the internal version of this object, used for optimistic concurrency, change detection and watches. Clients must treat it as opaque and pass it back unmodified. Populated by the system. Read-only. More info: ${conventions}#concurrency-control-and-consistency`,
  ),
  generation: int('int64', 'A sequence number representing a specific generation of the desired state. Populated by the system. Read-only.'),
  creationTimestamp: ref(
    metaNames.time,
    `CreationTimestamp is a timestamp representing the server time when this object was created, in RFC3339 form and UTC. Clients may not set this value. Populated by the system. Read-only. Null for lists. More info: ${conventions}#metadata`,
  ),
  deletionTimestamp: ref(
    metaNames.time,
    `DeletionTimestamp is the RFC 3339 date and time at which this resource will be deleted. The server sets it when a graceful deletion is requested; clients cannot set it. The object stays visible while finalizers remain; once set, it can only be shortened. Populated by the system. Read-only. More info: ${conventions}#metadata`,
  ),
  deletionGracePeriodSeconds: int(
    'int64',
    'Number of seconds allowed for this object to gracefully terminate before it will be removed from the system. Only set when deletionTimestamp is also set. May only be shortened. Read-only.',
  ),
  labels: stringMap(
    'Map of string keys and values that can be used to organize and categorize (scope and select) objects. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels',
  ),
  annotations: stringMap(
    'Annotations is an unstructured key value map stored with a resource that may be set by external tools to store and retrieve arbitrary metadata. They are not queryable. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/annotations',
  ),
  ownerReferences: {
    type: 'array',
    description:
      'List of objects depended by this object. If ALL objects in the list have been deleted, this object will be garbage collected. If this object is managed by a controller, one entry points to it with the controller field set to true; there cannot be more than one managing controller.',
    items: { $ref: metaNames.ownerReference },
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['uid'],
    'x-kubernetes-patch-strategy': 'merge',
    'x-kubernetes-patch-merge-key': 'uid',
  },
  finalizers: {
    ...stringList(
      'Must be empty before the object is deleted from the registry. Each entry is an identifier for the component responsible for removing it. Once deletionTimestamp is set, entries can only be removed. Finalizers may be processed and removed in any order.',
      'set',
    ),
    'x-kubernetes-patch-strategy': 'merge',
  },
  managedFields: {
    type: 'array',
    description:
      'ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow. This is mostly for internal housekeeping; users typically need not set or understand it.',
    items: { $ref: metaNames.managedFieldsEntry },
    'x-kubernetes-list-type': 'atomic',
  },
});

const listMeta = object(
  'ListMeta describes metadata that synthetic resources must have, including lists and various status objects. A resource may have only one of {ObjectMeta, ListMeta}.',
  {
    selfLink: str('Deprecated: selfLink is a legacy read-only field that is no longer populated by the system.'),
    resourceVersion: str(
      `String that identifies the server's internal version of this object that can be used by clients to determine when objects have changed. Opaque to clients. Populated by the system. Read-only. More info: ${conventions}#concurrency-control-and-consistency`,
    ),
    continue: str(
      'continue may be set if the user set a limit on the number of items returned, and indicates that the server has more data available. The opaque value may be used in another request to the same endpoint to retrieve the next set of objects; it expires after a few minutes.',
    ),
    remainingItemCount: int(
      'int64',
      'remainingItemCount is the number of subsequent items in the list which are not included in this list response, when known. Intended for estimating the size of a collection; clients should not rely on it being set or exact.',
    ),
  },
);

const statusCause = object('StatusCause provides more information about an api.Status failure, including cases when multiple errors are encountered.', {
  reason: str('A machine-readable description of the cause of the error. If this value is empty there is no information available.'),
  message: str('A human-readable description of the cause of the error. This field may be presented as-is to a reader.'),
  field: str(
    'The field of the resource that has caused this error, as named by its JSON serialization, with dot and postfix notation for nested attributes (e.g. "items[0].name"). Arrays are zero-indexed. Optional.',
  ),
});

const statusDetails = object(
  'StatusDetails is a set of additional properties that MAY be set by the server to provide additional information about a response. The Reason field of a Status object defines what attributes will be set.',
  {
    name: str('The name attribute of the resource associated with the status StatusReason (when there is a single name which can be described).'),
    group: str('The group attribute of the resource associated with the status StatusReason.'),
    kind: str(`The kind attribute of the resource associated with the status StatusReason. On some operations may differ from the requested resource Kind. More info: ${conventions}#types-kinds`),
    uid: str(`UID of the resource (when there is a single resource which can be described). More info: ${namesDoc}#uids`),
    causes: {
      type: 'array',
      description: 'The Causes array includes more details associated with the StatusReason failure. Not all StatusReasons may provide detailed causes.',
      items: { $ref: metaNames.statusCause },
      'x-kubernetes-list-type': 'atomic',
    },
    retryAfterSeconds: int('int32', 'If specified, the time in seconds before the operation should be retried.'),
  },
);

const preconditions = object('Preconditions must be fulfilled before an operation (update, delete, etc.) is carried out.', {
  uid: str('Specifies the target UID.'),
  resourceVersion: str('Specifies the target ResourceVersion'),
});

const propagationPolicyDescription =
  "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, but not both. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground.";
const orphanDependentsDescription =
  'Deprecated: please use the PropagationPolicy. Should the dependent objects be orphaned. If true/false, the "orphan" finalizer will be added to/removed from the object\'s finalizers list. Either this field or PropagationPolicy may be set, but not both.';
const gracePeriodDescription =
  'The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. Defaults to a per object value if not specified.';
const dryRunDescription =
  'When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed';

/** Query parameter texts shared with the DeleteOptions definition. */
export const deleteOptionDescriptions = {
  dryRun: dryRunDescription,
  gracePeriodSeconds: gracePeriodDescription,
  orphanDependents: orphanDependentsDescription,
  propagationPolicy: propagationPolicyDescription,
} as const;

/** Where kube-apiserver lists one entry per served group-version, we list ours and the core `v1`. */
const gvkEntries = (kind: string, groupVersions: readonly { group: string; version: string }[]): GroupVersionKind[] =>
  [{ group: '', version: 'v1' }, ...groupVersions]
    .filter((gv, i, all) => all.findIndex((o) => o.group === gv.group && o.version === gv.version) === i)
    .sort((a, b) => (a.group === b.group ? cmp(a.version, b.version) : cmp(a.group, b.group)))
    .map((gv) => ({ group: gv.group, kind, version: gv.version }));

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * All meta definitions by name. `groupVersions` are the served group-versions: like a generic
 * apiserver's scheme, each registers WatchEvent and DeleteOptions, so their GVK lists name them.
 */
export function metaDefinitions(groupVersions: readonly { group: string; version: string }[]): Record<string, PublishedSchema> {
  return {
    [metaNames.objectMeta]: objectMeta,
    [metaNames.listMeta]: listMeta,
    [metaNames.managedFieldsEntry]: managedFieldsEntry,
    [metaNames.ownerReference]: ownerReference,
    [metaNames.time]: {
      type: 'string',
      format: 'date-time',
      description: 'Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON (RFC 3339).',
    },
    [metaNames.fieldsV1]: {
      type: 'object',
      description:
        "FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format. Each key is '.' (the field itself, mapping to an empty set) or one of 'f:<name>' (a struct field or map key), 'v:<value>' (a list item by its JSON value), 'i:<index>' (a list item by position) or 'k:<keys>' (a list item by its key fields). The exact format is defined in sigs.k8s.io/structured-merge-diff",
    },
    [metaNames.status]: {
      ...object('Status is a return value for calls that don\'t return other objects.', {
        ...typeMetaProperties,
        metadata: ref(metaNames.listMeta, listMetadataDescription),
        status: str(`Status of the operation. One of: "Success" or "Failure". More info: ${conventions}#spec-and-status`),
        message: str('A human-readable description of the status of this operation.'),
        reason: str(
          'A machine-readable description of why this operation is in the "Failure" status. If this value is empty there is no information available. A Reason clarifies an HTTP status code but does not override it.',
        ),
        details: ref(
          metaNames.statusDetails,
          'Extended data associated with the reason. Each reason may define its own extended details. This field is optional and the data returned is not guaranteed to conform to any schema except that defined by the reason type.',
        ),
        code: int('int32', 'Suggested HTTP return code for this status, 0 if not set.'),
      }),
      'x-kubernetes-group-version-kind': [{ group: '', kind: 'Status', version: 'v1' }],
    },
    [metaNames.statusDetails]: statusDetails,
    [metaNames.statusCause]: statusCause,
    [metaNames.deleteOptions]: {
      ...object('DeleteOptions may be provided when deleting an API object.', {
        ...typeMetaProperties,
        gracePeriodSeconds: int('int64', gracePeriodDescription),
        preconditions: ref(metaNames.preconditions, 'Must be fulfilled before a deletion is carried out. If not possible, a 409 Conflict status will be returned.'),
        orphanDependents: bool(orphanDependentsDescription),
        propagationPolicy: str(propagationPolicyDescription),
        dryRun: stringList(dryRunDescription),
      }),
      'x-kubernetes-group-version-kind': gvkEntries('DeleteOptions', groupVersions),
    },
    [metaNames.preconditions]: preconditions,
    [metaNames.watchEvent]: {
      ...object(
        'Event represents a single event to a watched resource.',
        {
          type: { type: 'string', description: 'Type of the event: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.' },
          object: ref(
            metaNames.rawExtension,
            'Object is: * If Type is Added or Modified: the new state of the object. * If Type is Deleted: the state of the object immediately before deletion. * If Type is Error: *Status is recommended; other types may make sense depending on context.',
          ),
        },
        { required: ['type', 'object'] },
      ),
      'x-kubernetes-group-version-kind': gvkEntries('WatchEvent', groupVersions),
    },
    [metaNames.rawExtension]: {
      type: 'object',
      description: 'RawExtension is used to hold extensions in external versions: an embedded object of any kind, kept as raw JSON.',
    },
    [metaNames.patch]: {
      type: 'object',
      description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.',
    },
    [metaNames.apiResource]: object(
      'APIResource specifies the name of a resource and whether it is namespaced.',
      {
        name: str('name is the plural name of the resource.'),
        singularName: str('singularName is the singular name of the resource. It lets clients handle plural and singular opaquely.'),
        namespaced: bool('namespaced indicates if a resource is namespaced or not.'),
        group: str('group is the preferred group of the resource. Empty implies the group of the containing resource list.'),
        version: str('version is the preferred version of the resource. Empty implies the version of the containing resource list.'),
        kind: str("kind is the kind for the resource (e.g. 'Foo' is the kind for a resource 'foo')"),
        verbs: {
          type: 'array',
          description: 'verbs is a list of supported kube verbs (this includes get, list, watch, create, update, patch, delete, deletecollection, and proxy)',
          items: { type: 'string' },
        },
        shortNames: stringList('shortNames is a list of suggested short names of the resource.'),
        categories: stringList("categories is a list of the grouped resources this resource belongs to (e.g. 'all')"),
        storageVersionHash: str('The hash value of the storage version, the version this resource is converted to when written to the data store. Opaque to clients.'),
      },
      { required: ['name', 'singularName', 'namespaced', 'kind', 'verbs'] },
    ),
    [metaNames.apiResourceList]: {
      ...object(
        'APIResourceList is a list of APIResource, it is used to expose the name of the resources supported in a specific group and version, and if the resource is namespaced.',
        {
          ...typeMetaProperties,
          groupVersion: str('groupVersion is the group and version this APIResourceList is for.'),
          resources: {
            type: 'array',
            description: 'resources contains the name of the resources and if they are namespaced.',
            items: { $ref: metaNames.apiResource },
            'x-kubernetes-list-type': 'atomic',
          },
        },
        { required: ['groupVersion', 'resources'] },
      ),
      'x-kubernetes-group-version-kind': [{ group: '', kind: 'APIResourceList', version: 'v1' }],
    },
  };
}
