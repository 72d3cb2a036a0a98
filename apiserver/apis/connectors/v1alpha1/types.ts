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

// ---------- AccessReview (domain spec §11.3): create-only, never stored ----------

/** A Pod that has not started yet: what the review renders templates and selectors against. */
export interface AccessReviewPodTemplate {
  namespace: string;
  name?: string;
  labels?: Record<string, string>;
  /** Empty = `default`. */
  serviceAccountName?: string;
}

export interface AccessReviewSpec {
  connectorRef: { name: string };
  subject: Subject;
  /** Exactly one of `objectRef` (an existing Pod) and `podTemplate` (RV-V1). */
  context: { objectRef?: ObjectReference; podTemplate?: AccessReviewPodTemplate };
}

/** A condition without its bookkeeping: what a check would say now. */
export interface ReviewVerdict {
  type?: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message?: string;
}

export interface AccessReviewCheckObject {
  ref: ObjectReference;
  /** The object's own `spec.approvers[].name`, for rules without approver constraints: shown, never trusted. */
  approvers?: string[];
  condition: ReviewVerdict;
  approvedBy?: string[];
}

export interface AccessReviewCheck {
  name: string;
  search?: { apiVersion: string; kind: string; namespace: string; labelSelector?: string; name?: string };
  approvers?: string[];
  numberOfApprovalsRequired?: number;
  objects?: AccessReviewCheckObject[];
  condition?: ReviewVerdict;
}

export interface AccessReviewPolicy {
  name: string;
  maxDuration?: string;
  checks?: AccessReviewCheck[];
  rules?: { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[]; nonResourceURLs?: string[] }[];
  error?: string;
}

export interface AccessReviewStatus {
  approvalEnabled: boolean;
  context: { valid: boolean; reason: string; message?: string };
  connectorResolved: boolean;
  allowed: boolean;
  allowedBy?: string;
  policies?: AccessReviewPolicy[];
  checkReady?: ReviewVerdict;
  hidden?: string[];
}

export interface AccessReview extends KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: AccessReviewSpec;
  status?: AccessReviewStatus;
}

// ---------- Connector and ConnectorClass (domain spec §2.3: the public Connectors CRDs' schemas) ----------

/** A condition as the Connectors CRDs declare it (Knative style: no observedGeneration). */
export interface ConnectorCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  severity?: string;
}

/** An addressable endpoint in a status: name, URL, CA certificates, OIDC audience. */
export interface Addressable {
  name?: string;
  url?: string;
  CACerts?: string;
  audience?: string;
}

export interface ConnectorSpec {
  address?: string;
  connectorClassName?: string;
  auth?: {
    name?: string;
    /** Kept as sent (x-kubernetes-preserve-unknown-fields). */
    params?: unknown;
    secretRef?: ObjectReference;
  };
}

export interface ConnectorStatus {
  observedGeneration?: number;
  annotations?: Record<string, string>;
  conditions?: ConnectorCondition[];
  proxy?: { httpAddress?: Addressable };
}

export interface Connector extends KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: ConnectorSpec;
  status?: ConnectorStatus;
}

export interface ParamValue {
  type: string;
  stringVal: string;
  arrayVal: string[];
  objectVal: Record<string, string>;
}

export interface ParamSpec {
  name: string;
  type?: string;
  description?: string;
  properties?: Record<string, { type?: string }>;
  default?: ParamValue;
  enum?: string[];
}

export interface Destination {
  ref?: { kind: string; name: string; namespace?: string; apiVersion?: string; group?: string; address?: string };
  uri?: string;
  CACerts?: string;
  audience?: string;
}

export interface HTTPProbe {
  path: string;
  host?: string;
  scheme?: 'http' | 'https';
  method?: 'GET' | 'POST';
  disableRedirect?: boolean;
  httpHeaders?: { name: string; value: string }[];
}

export interface ConnectorClassSpec {
  address?: ParamSpec;
  api?: Destination;
  proxy?: Destination;
  auth?: {
    types?: {
      name: string;
      description?: string;
      displayName?: string;
      secretType?: string;
      optional?: boolean;
      params?: ParamSpec[];
      generator?: { rego?: string };
    }[];
  };
  authProbes?: { authName: string; params?: ParamSpec[]; probe?: { http?: HTTPProbe } }[];
  configurations?: { name?: string; annotations?: Record<string, string>; data?: Record<string, string> }[];
  livenessProbe?: { http?: HTTPProbe };
}

export interface ConnectorClassStatus {
  observedGeneration?: number;
  annotations?: Record<string, string>;
  conditions?: ConnectorCondition[];
  api?: { address?: Addressable };
  proxy?: { httpAddress?: Addressable };
}

export interface ConnectorClass extends KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: ConnectorClassSpec;
  status?: ConnectorClassStatus;
}
