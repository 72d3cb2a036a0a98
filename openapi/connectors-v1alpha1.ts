/**
 * Schemas of the connectors.alauda.io/v1alpha1 kinds: AccessRequest and AccessPolicy (domain spec
 * §3.1, §4.1), Connector and ConnectorClass (§2.3, following the public Connectors CRDs).
 */
import { bool, int64, list, obj, str, stringMap, type Schema } from './builders.js';
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
      'Approver constraints of the check, keyed by name: "approvers" and "numberOfApprovalsRequired". Only answers in the check object\'s status.approversResponse count (never its spec.approvers); an answer from anyone not listed fails the check with ApproverMismatch.',
      obj(
        'A named parameter of the check.',
        {
          name: str('"approvers" or "numberOfApprovalsRequired"; each at most once.'),
          value: {
            description:
              'For "approvers": a non-empty list of user names, groups written "group:<name>", without repeats. For "numberOfApprovalsRequired" (needs "approvers"): a string holding a whole number of at least 1, default "1": how many distinct listed identities must approve.',
            'x-kubernetes-preserve-unknown-fields': true,
          },
        },
        { required: ['name'] },
      ),
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
      maxDuration: str(
        'Optional time limit of a grant, a positive duration in the syntax of metav1.Duration (Go time.ParseDuration: 90s, 30m, 1h30m). The grant ends at approval time + maxDuration (status.grantExpiresAt of the AccessRequest), or earlier when the Pod ends or the Connector goes away; the smallest value among the matched policies applies.',
      ),
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

const connectorRef = (where: string): Schema =>
  obj(`The Connector, in the namespace of the ${where}.`, { name: str('Name of the Connector.') }, { required: ['name'], atomic: true });

const subject = obj(
  'Who uses the Connector: a ServiceAccount (with namespace), a User or a Group.',
  {
    kind: str('ServiceAccount, User or Group.'),
    name: str('Name of the subject.'),
    namespace: str('Namespace of a ServiceAccount subject; empty for User and Group.'),
    apiGroup: str('"" for ServiceAccount; rbac.authorization.k8s.io for User and Group (defaulted).'),
  },
  { required: ['kind', 'name'], atomic: true },
);

const accessRequestSpec = obj(
  'AccessRequestSpec binds one subject, one Connector and one Pod. Immutable.',
  {
    connectorRef: connectorRef('request'),
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
    subject,
  },
  { required: ['connectorRef', 'context', 'subject'] },
);

const matchedCheck = obj('One check object found by a check rule, with its verdict.', {
  name: str('The check rule that found the object.'),
  ref: objectReference('The check object (no resourceVersion).'),
  condition: { ...condition, description: 'The verdict of the check object (type Ready).' },
  approvedBy: list('The distinct listed approvers (user names) whose answer is approved, sorted; set only for rules with approver constraints.', str(''), 'atomic'),
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
  grantExpiresAt: str(
    'When the grant ends (RFC 3339): the time checks first passed plus the smallest maxDuration of the matched policies. Written once and never moved, so restarts cannot extend a grant.',
    { format: 'date-time' },
  ),
});

export const accessRequestSchema = kindSchema(
  "AccessRequest is one subject's attempt to use one Connector from one Pod; its status holds the verdict.",
  accessRequestSpec,
  accessRequestStatus,
  true,
);

// ---------- AccessReview (§11.3): create-only, never stored ----------

const verdict = (description: string): Schema =>
  obj(description, {
    type: str('Ready for a check object; absent elsewhere.'),
    status: str('True, False or Unknown.'),
    reason: str('Passed, Rejected, ApproverMismatch, Failed or Pending.'),
    message: str('Why; empty when True.'),
  });

const reviewObjectRef = objectReference('A check object found (no resourceVersion).');

const accessReviewSpec = obj(
  'AccessReviewSpec asks what would happen if the subject used the Connector from the Pod.',
  {
    connectorRef: connectorRef('review'),
    subject,
    context: obj('The Pod: exactly one of objectRef (an existing Pod) and podTemplate (a Pod not yet started).', {
      objectRef: {
        ...objectReference('An existing Pod (apiVersion v1, kind Pod); any namespace. A set uid must match the live Pod.'),
        'x-kubernetes-map-type': 'atomic',
      },
      podTemplate: obj(
        'A Pod not yet started, as far as templates and check selectors need it.',
        {
          namespace: str('Namespace the Pod will run in.'),
          name: str('Name the Pod will have, if known; the per-Pod grant and its SubjectAccessReview need it.'),
          labels: stringMap('Labels the Pod will carry (check selectors render against them).'),
          serviceAccountName: str('ServiceAccount the Pod will run as; empty means default.'),
        },
        { required: ['namespace'] },
      ),
    }),
  },
  { required: ['connectorRef', 'context', 'subject'] },
);

const accessReviewStatus = obj('AccessReviewStatus is computed at request time; nothing is created or changed. Empty fields are left out.', {
  approvalEnabled: bool('Whether enable-connector-proxy-permissions and enable-connectors-approval are both "true".'),
  context: obj(
    'What ContextObjectValid would be: Active, or SubjectMismatch (both forms), NotFound, Completed, Terminating (an existing Pod).',
    { valid: bool('Whether the Pod is a valid context.'), reason: str('The ContextObjectValid reason.'), message: str('Why it is not valid.') },
  ),
  connectorResolved: bool('Whether the Connector exists and is not being deleted.'),
  allowed: bool('Whether the subject may already use the Connector from this Pod (connectors/proxy, or the per-Pod subresource when the Pod name is known).'),
  allowedBy: str('The SubjectAccessReview reason that allowed it, naming the RoleBinding and Role; left out when the caller may not list RoleBindings and ClusterRoleBindings.'),
  policies: list(
    'The AccessPolicies that would match now, sorted by name; empty when the Connector is not resolved.',
    obj(
      'One AccessPolicy that would match.',
      {
        name: str('Name of the AccessPolicy.'),
        maxDuration: str('Its time limit on grants, if any.'),
        checks: list(
          'One entry per check rule.',
          obj(
            'A check rule, its search and what the objects found say now.',
            {
              name: str('The rule name.'),
              search: obj('The list call the rule makes, selectors rendered against the Pod.', {
                apiVersion: str('API version of the check kind.'),
                kind: str('The check kind.'),
                namespace: str('Namespace searched.'),
                labelSelector: str('The rendered label selector, in label-selector syntax.'),
                name: str('Exact name, if the rule names one.'),
              }),
              approvers: list("Who may approve, from the rule's approvers param.", str(''), 'atomic'),
              numberOfApprovalsRequired: { type: 'integer', format: 'int32', description: 'Distinct listed approvers that must approve.' },
              objects: list(
                'The check objects found; left out when the caller may not list the check kind there.',
                obj('A check object found.', {
                  ref: reviewObjectRef,
                  approvers: list("The object's own spec.approvers, for rules without approvers param: shown, never trusted.", str(''), 'atomic'),
                  condition: verdict('What the object says now.'),
                  approvedBy: list('Listed approvers whose answer is approved.', str(''), 'atomic'),
                }),
                'atomic',
              ),
              condition: verdict("The rule's verdict."),
            },
            { required: ['name'] },
          ),
          'atomic',
        ),
        rules: list(
          'The Role rules that would be granted: rendered, scope-guarded, with resourceNames [<connector>].',
          obj('A PolicyRule.', {
            apiGroups: list('API groups.', str(''), 'atomic'),
            resources: list('Resources.', str(''), 'atomic'),
            resourceNames: list('Resource names.', str(''), 'atomic'),
            verbs: list('Verbs.', str(''), 'atomic'),
          }),
          'atomic',
        ),
        error: str('Why the rules cannot be rendered (role template missing or invalid, scope guard).'),
      },
      { required: ['name'] },
    ),
    'atomic',
  ),
  checkReady: verdict('What AccessCheckReady would be now.'),
  hidden: list('What was left out because the caller may not read it: accesspolicies, rolebindings, <plural>.<group> in <namespace>; sorted.', str(''), 'atomic'),
});

export const accessReviewSchema = kindSchema(
  'AccessReview is a pre-flight question, answered like SubjectAccessReview: may this subject use this Connector from this Pod, and if not, what would grant it? Create-only; never stored.',
  accessReviewSpec,
  accessReviewStatus,
  true,
);

// ---------- Connector and ConnectorClass ----------
// Field names, types, required fields, enums and list types exactly as the public Connectors CRDs
// declare them (domain spec §2.3); lists the CRDs leave untyped stay untyped (atomic).

/** A list without x-kubernetes-list-type, as the CRDs declare some: atomic for apply. */
const untypedList = (description: string, items: Schema): Schema => ({ type: 'array', description, items });

const connectorCondition = obj(
  'One observation of the current state of the object (Knative style condition).',
  {
    type: str('Type of the condition, e.g. Ready.'),
    status: str('Status of the condition: True, False or Unknown.'),
    reason: str("A one-word CamelCase reason for the condition's last transition."),
    message: str('A human-readable message with details about the transition.'),
    lastTransitionTime: str('Last time the condition changed status.'),
    severity: str('How to treat a failure of this condition; empty means Error.'),
  },
  { required: ['status', 'type'] },
);

const connectorConditions = untypedList('The latest observations of the current state of the object.', connectorCondition);

const statusAnnotations = stringMap('Additional status fields the controllers record, like annotations on the status.');

const addressable = (description: string): Schema =>
  obj(description, {
    name: str('Name of the address.'),
    url: str('URL of the address.'),
    CACerts: str('CA certificates (PEM) for this address.'),
    audience: str('OIDC audience of this address.'),
  });

const connectorSpec = obj('ConnectorSpec describes the tool a Connector integrates: its address, class and credentials.', {
  address: str('Address of the tool, such as https://github.com.'),
  connectorClassName: str('Name of the ConnectorClass (cluster-scoped) this Connector is of.'),
  auth: obj('Authentication data of the Connector.', {
    name: str('Name of the authentication type, one of the ConnectorClass spec.auth.types[].name.'),
    params: { description: 'Parameters the authentication needs; kept as sent.', 'x-kubernetes-preserve-unknown-fields': true },
    secretRef: {
      ...objectReference('The Secret holding the credentials.'),
      'x-kubernetes-map-type': 'atomic',
    },
  }),
});

const connectorStatus = obj('ConnectorStatus is written by the Connectors controllers through the status subresource.', {
  observedGeneration: int64('The generation last processed by the controller.'),
  annotations: statusAnnotations,
  conditions: connectorConditions,
  proxy: obj('Status of the proxy of this Connector.', {
    httpAddress: addressable('The HTTP endpoint of the Connector proxy.'),
  }),
});

export const connectorSchema = kindSchema(
  'Connector integrates one instance of a tool (its address and credentials) for use in one namespace.',
  connectorSpec,
  connectorStatus,
  false,
);

const paramValue = obj(
  'A parameter value: a string, an array of strings or an object of strings, with its type.',
  {
    type: str('Which of the values is meant: string, array or object.'),
    stringVal: str('The value as a string.'),
    arrayVal: list('The value as an array of strings.', str(''), 'atomic'),
    objectVal: stringMap('The value as an object of strings.'),
  },
  { required: ['arrayVal', 'objectVal', 'stringVal', 'type'] },
);

const paramSpec = (description: string): Schema =>
  obj(
    description,
    {
      name: str('Name by which the parameter is referenced.'),
      type: str('Type of the parameter: string (the default), array or object.'),
      description: str('A user-facing description of the parameter.'),
      properties: {
        type: 'object',
        description: 'The keys of an object parameter and their types.',
        additionalProperties: obj('The type of one key of an object parameter.', { type: str('Type of the key.') }),
      },
      default: { ...paramValue, description: 'The value when none is given.' },
      enum: untypedList('The allowed values; when unset, any value is allowed.', str('')),
    },
    { required: ['name'] },
  );

const destination = (description: string): Schema =>
  obj(description, {
    ref: obj(
      'The addressable object the destination points to.',
      {
        apiVersion: str('API version of the referent.'),
        group: str('API group of the referent, an alternative to apiVersion.'),
        kind: str('Kind of the referent.'),
        name: str('Name of the referent.'),
        namespace: str('Namespace of the referent; defaults to the namespace of the object holding the reference.'),
        address: str('Name of one specific address of the referent.'),
      },
      { required: ['kind', 'name'] },
    ),
    uri: str('An absolute URL, or a URI relative to the address of ref.'),
    CACerts: str('CA certificates (PEM) to trust in addition to those of the target.'),
    audience: str('OIDC audience of the target.'),
  });

const httpProbe = obj(
  'An HTTP request that checks the tool.',
  {
    path: str('Path requested by the probe.'),
    host: str('Host to probe; empty means the address of the Connector.'),
    scheme: str("Scheme of the request; empty means the scheme of the Connector's address (or http for another host).", {
      enum: ['http', 'https'],
    }),
    method: str('HTTP method of the probe; GET when empty.', { enum: ['GET', 'POST'] }),
    disableRedirect: bool('Whether the probe does not follow redirects.'),
    httpHeaders: list(
      'Headers to set on the request; a header may repeat.',
      obj('One request header.', { name: str('Header name.'), value: str('Header value.') }, { required: ['name', 'value'] }),
      'atomic',
    ),
  },
  { required: ['path'] },
);

const probe = (description: string): Schema => obj(description, { http: httpProbe });

const authType = obj(
  'One authentication type Connectors of the class may use.',
  {
    name: str('Name of the authentication type, unique within the ConnectorClass.'),
    displayName: str('Human-readable name of the authentication type.'),
    description: str('Description of the authentication type.'),
    secretType: str('Type of the Secret holding the credentials, e.g. kubernetes.io/basic-auth.'),
    optional: bool('Whether credentials are optional for this type (default false).'),
    params: list('The data fields of this authentication type; conventional ones when unset.', paramSpec('One data field of the authentication type.'), 'atomic'),
    generator: obj('Generates authentication data dynamically.', {
      rego: str("A Rego module (package proxy) whose 'auth' object gives the authentication data to inject."),
    }),
  },
  { required: ['name'] },
);

const connectorClassSpec = obj('ConnectorClassSpec describes one kind of tool: its address, authentication, probes, API and proxy.', {
  address: paramSpec('Constraints on the address of Connectors of this class (a string parameter).'),
  api: destination('Where the API of this class is served: a Service reference and/or a URI.'),
  auth: obj('The authentication Connectors of this class support.', {
    types: list('Supported authentication types; a Connector uses one of them.', authType, 'map', ['name']),
  }),
  authProbes: list(
    'How to check the credentials of each authentication type.',
    obj(
      'The credential check of one authentication type.',
      {
        authName: str('The authentication type checked, one of spec.auth.types[].name.'),
        params: list('Parameters used by the check.', paramSpec('One parameter of the check.'), 'atomic'),
        probe: probe('The check itself.'),
      },
      { required: ['authName'] },
    ),
    'map',
    ['authName'],
  ),
  configurations: untypedList(
    'Configuration data of the class.',
    obj('One named configuration.', {
      name: str('Name of the configuration.'),
      annotations: stringMap('Annotations of the configuration.'),
      data: stringMap('The configuration data; keys of alphanumerics, "-", "_" or ".".'),
    }),
  ),
  livenessProbe: probe('How to check that a tool of this class is reachable.'),
  proxy: destination('Where the proxy for Connectors of this class runs.'),
});

const connectorClassStatus = obj('ConnectorClassStatus is written by the Connectors controllers through the status subresource.', {
  observedGeneration: int64('The generation last processed by the controller.'),
  annotations: statusAnnotations,
  conditions: connectorConditions,
  api: obj('The resolved API of the class; absent when spec.api is empty or invalid.', {
    address: addressable('The address of the API.'),
  }),
  proxy: obj('The resolved proxy of the class; absent when spec.proxy is empty or invalid.', {
    httpAddress: addressable('The HTTP address of the proxy.'),
  }),
});

export const connectorClassSchema = kindSchema(
  'ConnectorClass (cluster-scoped) defines one kind of tool Connectors integrate: address rules, authentication types, probes, API and proxy.',
  connectorClassSpec,
  connectorClassStatus,
  false,
);
