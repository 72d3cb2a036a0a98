/** Structural schemas of the apimachinery meta types our kinds embed. */
import { bool, int64, list, obj, str, stringMap, type Schema } from './builders.js';

export const objectMetaRef = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

const ownerReference = obj(
  'OwnerReference contains enough information to let you identify an owning object.',
  {
    apiVersion: str('API version of the referent.'),
    kind: str('Kind of the referent.'),
    name: str('Name of the referent.'),
    uid: str('UID of the referent.'),
    controller: bool('If true, this reference points to the managing controller.'),
    blockOwnerDeletion: bool('If true, the owner cannot be deleted from storage until this reference is removed.'),
  },
  { required: ['apiVersion', 'kind', 'name', 'uid'], atomic: true },
);

const managedFieldsEntry = obj('ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource that the fieldset applies to.', {
  manager: str('Manager is an identifier of the workflow managing these fields.'),
  operation: str('Operation is the type of operation which lead to this ManagedFieldsEntry being created: Apply or Update.'),
  apiVersion: str('APIVersion defines the version of this resource that this field set applies to.'),
  time: str('Time is the timestamp of when the ManagedFields entry was added.', { format: 'date-time' }),
  fieldsType: str('FieldsType is the discriminator for the different fields format and version: FieldsV1.'),
  fieldsV1: { type: 'object', description: 'FieldsV1 holds the first JSON version format.', 'x-kubernetes-preserve-unknown-fields': true },
  subresource: str('Subresource is the name of the subresource used to update that object, or empty for the main resource.'),
});

export const objectMeta: Schema = {
  ...obj('Standard object metadata.', {
    name: str('Name must be unique within a namespace.'),
    generateName: str('Optional prefix used by the server to generate a unique name if name is not provided.'),
    namespace: str('Namespace defines the space within which each name must be unique.'),
    selfLink: str('Deprecated: selfLink is a legacy read-only field that is no longer populated by the system.'),
    uid: str('UID is the unique in time and space value for this object, set by the server.'),
    resourceVersion: str('An opaque value that represents the internal version of this object, used for optimistic concurrency.'),
    generation: int64('A sequence number representing a specific generation of the desired state, set by the server.'),
    creationTimestamp: str('Time at which this object was created, set by the server (RFC 3339).', { format: 'date-time' }),
    deletionTimestamp: str('Time at which this object will be deleted, set by the server when a graceful deletion is requested.', { format: 'date-time' }),
    deletionGracePeriodSeconds: int64('Number of seconds allowed for this object to gracefully terminate before it will be removed from the system.'),
    labels: stringMap('Map of string keys and values that can be used to organize and categorize objects.'),
    annotations: stringMap('Annotations is an unstructured key value map stored with a resource.'),
    ownerReferences: list('List of objects depended by this object.', ownerReference, 'map', ['uid']),
    finalizers: list('Must be empty before the object is deleted from the registry.', str(''), 'set'),
    managedFields: list('ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow.', managedFieldsEntry),
  }),
  'x-connectors-ref': objectMetaRef,
};

/** A metav1.Condition-like entry as the domain spec defines it (§3.1). */
export const condition = obj(
  'Condition describes one aspect of the current state of the object.',
  {
    type: str('Type of the condition.'),
    status: str('Status of the condition: True, False or Unknown.'),
    reason: str("A one-word CamelCase reason for the condition's last transition."),
    message: str('A human-readable message with details about the transition; empty when the status is True.'),
    lastTransitionTime: str('Last time the condition changed status (RFC 3339).', { format: 'date-time' }),
    severity: str('Severity of a False condition; left empty by this server.'),
    observedGeneration: int64('The generation the condition was computed for.'),
  },
  { required: ['type', 'status'] },
);

export const conditions = list('Conditions of the object, sorted by type.', condition, 'map', ['type']);

export const labelSelectorRequirement = obj(
  'A selector requirement: a key, an operator and values.',
  {
    key: str('The label key that the selector applies to.'),
    operator: str("Represents a key's relationship to a set of values: In, NotIn, Exists or DoesNotExist."),
    values: list('Values for In and NotIn; empty for Exists and DoesNotExist.', str('')),
  },
  { required: ['key', 'operator'] },
);

export const matchLabels = (what: string): Schema => stringMap(`Labels that ${what} must carry, all of them (ANDed).`);
export const matchExpressions = (what: string): Schema =>
  list(`Label selector requirements that ${what} must meet, all of them (ANDed).`, labelSelectorRequirement);

export const objectReference = (description: string): Schema =>
  obj(description, {
    apiVersion: str('API version of the referent.'),
    kind: str('Kind of the referent.'),
    namespace: str('Namespace of the referent.'),
    name: str('Name of the referent.'),
    uid: str('UID of the referent.'),
    resourceVersion: str('Specific resourceVersion to which this reference is made, if any.'),
    fieldPath: str('If referring to a piece of an object instead of an entire object, the field path.'),
  });
