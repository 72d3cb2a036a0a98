/** Schemas of the connectors.alauda.io/v1alpha1 kinds (domain spec §3.1, §4.1). */
import { int64, list, obj, str, stringMap, type Schema } from './builders.js';
import { conditions, condition, matchExpressions, matchLabels, objectMeta, objectReference } from './meta.js';

const kindSchema = (description: string, spec: Schema, status: Schema, specRequired: boolean): Schema =>
  obj(
    description,
    {
      apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
      kind: str('Kind is a string value representing the REST resource this object represents.'),
      metadata: objectMeta,
      spec,
      status,
    },
    specRequired ? { required: ['spec'] } : {},
  );

const configMapRef = (what: string): Schema =>
  obj(`Reference to ${what}.`, {
    configMap: obj('A ConfigMap in the system namespace.', { name: str('Name of the ConfigMap.') }, { required: ['name'] }),
  });

// ---------- AccessPolicy ----------

const connectorSelector = obj(
  "Which Connectors of the policy's namespace the policy covers: names, or a label selector (mutually exclusive). Omitted or empty selects every Connector of the namespace.",
  {
    names: list('Names of Connectors in the policy namespace; unknown names are ignored.', str(''), 'atomic'),
    matchLabels: matchLabels('a Connector'),
    matchExpressions: matchExpressions('a Connector'),
  },
  { atomic: true },
);

const namespaceSelector = obj(
  'Namespaces whose ServiceAccounts are meant: names, or a label selector on Namespaces (mutually exclusive). Omitted = the policy namespace; {} = all namespaces.',
  {
    names: list('Namespace names.', str(''), 'atomic'),
    matchLabels: matchLabels('a Namespace'),
    matchExpressions: matchExpressions('a Namespace'),
  },
  { atomic: true },
);

const roleTemplate = (what: string): Schema =>
  obj(`The role template for ${what}: a ConfigMap of the system namespace whose key "rules" holds a YAML list of PolicyRules.`, {
    ref: configMapRef('the role template ConfigMap'),
  });

export const checkRuleSpec = obj('How to find and read the check objects.', {
  selector: obj(
    'Finds the check objects.',
    {
      objectRef: objectReference(
        'apiVersion and kind of the check kind; optional namespace (default: the Pod namespace) and exact name.',
      ),
      matchLabels: stringMap(
        'Labels the check objects must carry; each value is a Kubernetes JSONPath template rendered against {"object": <Pod>}.',
      ),
      matchExpressions: matchExpressions('a check object'),
    },
    { required: ['objectRef'] },
  ),
  state: obj('How to read the verdict of a check object.', {
    rego: str('Optional Rego (v1) module whose data.approval.status.state gives the verdict; empty reads status.state.'),
  }),
});

const checkRule = obj(
  'One check that must pass; exactly one of ref and spec.',
  {
    name: str('Unique name of the check; echoed in status.policies[].matchedChecks[].name.'),
    ref: configMapRef('a check template (key "spec", a YAML CheckRuleSpec)'),
    spec: checkRuleSpec,
    params: list(
      'Parameters of the check (approver constraints).',
      obj('A named parameter.', { name: str('Parameter name.'), value: { description: 'Parameter value.', 'x-kubernetes-preserve-unknown-fields': true } }, { required: ['name'] }),
      'map',
      ['name'],
    ),
  },
  { required: ['name'] },
);

export const accessPolicySpec = obj('AccessPolicySpec is the reusable rule: which Connectors, which checks, which permission.', {
  connector: connectorSelector,
  defaultPermission: obj('Immediate proxy use for chosen ServiceAccounts, without checks.', {
    roleTemplate: roleTemplate('the default grant'),
    bindingTemplate: obj('Who receives the default grant.', {
      serviceAccounts: list(
        'ServiceAccount selections, expanded into RoleBinding subjects.',
        obj('A selection of ServiceAccounts.', {
          names: list('ServiceAccount names; empty = every ServiceAccount of the selected namespaces.', str(''), 'atomic'),
          namespaceSelector,
        }),
      ),
    }),
  }),
  checkGrantedPermission: obj('Access granted per Pod after every check has passed.', {
    spec: obj('The checks and the permission they grant.', {
      checks: list('Checks that must all pass.', checkRule, 'map', ['name']),
      roleTemplate: roleTemplate('the approval grant (rendered against the Pod)'),
      maxDuration: str('Optional upper bound on how long a grant lasts after approval, as a duration such as 1h30m.'),
    }),
  }),
});

const accessPolicyStatus = obj('AccessPolicyStatus is computed by the server.', {
  observedGeneration: int64('The generation last evaluated.'),
  matchedConnectors: list(
    'Connectors the policy currently covers, sorted by name.',
    obj('A matched Connector.', { name: str('Connector name.') }, { required: ['name'] }),
    'map',
    ['name'],
  ),
  conditions,
});

export const accessPolicySchema = kindSchema(
  'AccessPolicy is a reusable rule in one namespace: which of its Connectors, immediate access and/or access after checks, for whom.',
  accessPolicySpec,
  accessPolicyStatus,
  false,
);

// ---------- AccessRequest ----------

const accessRequestSpec = obj(
  'AccessRequestSpec binds one subject, one Connector and one Pod. Immutable.',
  {
    connectorRef: obj('The Connector, in the namespace of the request.', { name: str('Name of the Connector.') }, { required: ['name'], atomic: true }),
    context: obj(
      'The context the access is requested for.',
      {
        objectRef: {
          ...objectReference('The Pod the request is bound to (apiVersion v1, kind Pod); any namespace. A set uid must match the live Pod.'),
          'x-kubernetes-map-type': 'atomic',
        },
      },
      { required: ['objectRef'] },
    ),
    subject: obj(
      'Who uses the Connector: a ServiceAccount (with namespace), a User or a Group.',
      {
        kind: str('ServiceAccount, User or Group.'),
        name: str('Name of the subject.'),
        namespace: str('Namespace of a ServiceAccount subject; empty for User and Group.'),
        apiGroup: str('"" for ServiceAccount; rbac.authorization.k8s.io for User and Group (defaulted).'),
      },
      { required: ['kind', 'name'], atomic: true },
    ),
  },
  { required: ['connectorRef', 'context', 'subject'] },
);

const matchedCheck = obj('One check object found by a check rule, with its verdict.', {
  name: str('The check rule that found the object.'),
  ref: objectReference('The check object (no resourceVersion).'),
  condition: { ...condition, description: 'The verdict of the check object (type Ready).' },
  approvedBy: list('Identities whose approvals counted.', str(''), 'atomic'),
});

const policySnapshot = obj(
  'A matched AccessPolicy, frozen at match time.',
  {
    name: str('Name of the AccessPolicy.'),
    policySpec: { ...accessPolicySpec, description: 'Deep copy of the policy spec at match time.' },
    matchedChecks: list('Check objects found, in policy check order, then namespace/name.', matchedCheck, 'atomic'),
    permissionSync: { ...condition, description: 'The state of the grant made for this policy (type PermissionSynced).' },
  },
  { required: ['name'] },
);

const accessRequestStatus = obj('AccessRequestStatus is computed by the server.', {
  observedGeneration: int64('The generation last evaluated.'),
  annotations: stringMap('Free-form annotations; never written by the server.'),
  conditions,
  policies: list('One entry per matched AccessPolicy, sorted by name.', policySnapshot, 'map', ['name']),
  grantExpiresAt: str('When the grant ends (RFC 3339), if the policy sets maxDuration.', { format: 'date-time' }),
});

export const accessRequestSchema = kindSchema(
  "AccessRequest is one subject's attempt to use one Connector from one Pod; its status holds the verdict.",
  accessRequestSpec,
  accessRequestStatus,
  true,
);
