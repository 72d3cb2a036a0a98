/**
 * The JSON shapes of the main API server's objects the controller reads and writes. Plain data, as
 * they arrive on the wire (timestamps are RFC 3339 strings): the I/O driver converts client-node's
 * model classes into these before calling the pure decision code, and back when writing.
 */
import type { ObjectMeta } from '../api/meta.js';

/** Core `v1` Pod: only the fields the controller reads are typed; templates see the whole object. */
export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: { serviceAccountName?: string; [field: string]: unknown };
  status?: { phase?: string; [field: string]: unknown };
  [field: string]: unknown;
}

/** A Connector is used only for its existence, labels and `deletionTimestamp` (§2.3). */
export interface Connector {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ConfigMap {
  metadata: ObjectMeta;
  data?: Record<string, string>;
}

/** Any object of a check kind (e.g. Tekton's ApprovalTask). */
export interface CheckObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** rbac.authorization.k8s.io/v1 Subject. */
export interface RbacSubject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface RoleRef {
  apiGroup: string;
  kind: string;
  name: string;
}

export interface Role {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'Role';
  metadata: ObjectMeta;
  rules?: PolicyRule[];
}

export interface RoleBinding {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'RoleBinding';
  metadata: ObjectMeta;
  subjects?: RbacSubject[];
  roleRef: RoleRef;
}

export const rbacGroup = 'rbac.authorization.k8s.io';
export const rbacApiVersion = 'rbac.authorization.k8s.io/v1';

/** `<ns>/<name>` as the messages of §5.1 write an object. */
export const nsName = (meta: { readonly namespace?: string | undefined; readonly name?: string | undefined }): string =>
  `${meta.namespace ?? ''}/${meta.name ?? ''}`;
