/** Go-style API types of connectors.alauda.io/v1alpha1 (domain spec §3.1, §4.1). */
import type { KubeObject, ObjectMeta } from '../../../api/meta.js';

export const group = 'connectors.alauda.io';
export const version = 'v1alpha1';
export const groupVersion = `${group}/${version}`;

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  severity?: string;
  observedGeneration?: number;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export type SubjectKind = 'ServiceAccount' | 'User' | 'Group';

export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface AccessRequestSpec {
  connectorRef: { name: string };
  context: { objectRef: ObjectReference };
  subject: Subject;
}

export interface MatchedCheck {
  name: string;
  ref: ObjectReference;
  condition: Condition;
  approvedBy?: string[];
}

export interface PolicySnapshot {
  name: string;
  policySpec: AccessPolicySpec;
  matchedChecks?: MatchedCheck[];
  permissionSync?: Condition;
}

export interface AccessRequestStatus {
  observedGeneration?: number;
  annotations?: Record<string, string>;
  conditions?: Condition[];
  policies?: PolicySnapshot[];
  grantExpiresAt?: string;
}

export interface AccessRequest extends KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: AccessRequestSpec;
  status?: AccessRequestStatus;
}

export interface ConfigMapRef {
  configMap: { name: string };
}

export interface NamespaceSelector extends LabelSelector {
  names?: string[];
}

export interface ServiceAccountSelector {
  names?: string[];
  namespaceSelector?: NamespaceSelector;
}

export interface CheckRuleSpec {
  selector: { objectRef: ObjectReference; matchLabels?: Record<string, string>; matchExpressions?: LabelSelectorRequirement[] };
  state?: { rego?: string };
}

export interface CheckRule {
  name: string;
  ref?: ConfigMapRef;
  spec?: CheckRuleSpec;
  params?: { name: string; value?: unknown }[];
}

export interface AccessPolicySpec {
  connector?: LabelSelector & { names?: string[] };
  defaultPermission?: {
    roleTemplate?: { ref?: ConfigMapRef };
    bindingTemplate?: { serviceAccounts?: ServiceAccountSelector[] };
  };
  checkGrantedPermission?: {
    spec?: {
      checks?: CheckRule[];
      roleTemplate?: { ref?: ConfigMapRef };
      maxDuration?: string;
    };
  };
}

export interface AccessPolicyStatus {
  observedGeneration?: number;
  matchedConnectors?: { name: string }[];
  conditions?: Condition[];
}

export interface AccessPolicy extends KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: AccessPolicySpec;
  status?: AccessPolicyStatus;
}
