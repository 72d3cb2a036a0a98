import { expect } from 'chai';
import type { FieldError } from '../../../../../../apiserver/api/field.js';
import { validateAccessPolicy } from '../../../../../../apiserver/apis/connectors/validation/accesspolicy.js';
import type {
  AccessPolicy,
  AccessPolicySpec,
} from '../../../../../../apiserver/apis/connectors/v1alpha1/types.js';

const show = (errs: readonly FieldError[]): string[] =>
  errs.map((e) => `${e.type} ${e.field}: ${e.message}`);

const subdomainMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const labelMsg =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const keyNameMsg =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const valueMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const operators = 'supported values: "In", "NotIn", "Exists", "DoesNotExist"';
const exclusive = 'Invalid value: "object": names and label selectors are mutually exclusive';

/** A policy around `spec` as a client may send it: typed loosely on purpose, so parts may be missing. */
const policy = (spec: unknown): AccessPolicy => ({
  apiVersion: 'connectors.alauda.io/v1alpha1',
  kind: 'AccessPolicy',
  metadata: { name: 'prod-harbor-approval', namespace: 'devops' },
  spec: spec as AccessPolicySpec,
});

const role = { ref: { configMap: { name: 'connectors-proxy-role' } } };
const inlineCheck = {
  name: 'manual-approval',
  spec: {
    selector: {
      objectRef: { apiVersion: 'openshift-pipelines.org/v1alpha1', kind: 'ApprovalTask' },
      matchLabels: {
        'tekton.dev/pipelineRun': '{.object.metadata.labels["tekton\\.dev/pipelineRun"]}',
      },
    },
    state: { rego: '' },
  },
};
const refCheck = { name: 'security-scan', ref: { configMap: { name: 'security-scan-check' } } };

/** A complete policy using every field (§4.1). */
const full = (): unknown => ({
  connector: { names: ['prod-harbor', 'dev-harbor'] },
  defaultPermission: {
    roleTemplate: role,
    bindingTemplate: {
      serviceAccounts: [
        { names: ['builder', 'deployer'] },
        { names: ['builder'], namespaceSelector: { names: ['cicd', 'devops'] } },
        { namespaceSelector: { matchLabels: { team: 'platform-a' } } },
        { namespaceSelector: {} },
      ],
    },
  },
  checkGrantedPermission: { spec: { checks: [inlineCheck, refCheck], roleTemplate: role } },
});

const connector = (c: unknown): AccessPolicy => policy({ connector: c });
const serviceAccounts = (...sas: unknown[]): AccessPolicy =>
  policy({ defaultPermission: { roleTemplate: role, bindingTemplate: { serviceAccounts: sas } } });
const checks = (...cs: unknown[]): AccessPolicy =>
  policy({ checkGrantedPermission: { spec: { checks: cs, roleTemplate: role } } });
/** One inline check whose selector is `selector`. */
const selector = (sel: unknown): AccessPolicy => checks({ name: 'c', spec: { selector: sel } });
const objectRef = { apiVersion: 'v1alpha1', kind: 'ApprovalTask' };

const dp = 'spec.defaultPermission';
const sa = `${dp}.bindingTemplate.serviceAccounts`;
const cgp = 'spec.checkGrantedPermission.spec';
const sel = `${cgp}.checks[0].spec.selector`;

describe('validateAccessPolicy', () => {
  const cases: { name: string; obj: AccessPolicy; want: string[] }[] = [
    { name: 'accepts a policy using every field', obj: policy(full()), want: [] },
    { name: 'AP-V13 accepts an empty spec', obj: policy({}), want: [] },
    { name: 'AP-V13 accepts an absent spec', obj: policy(undefined), want: [] },
    {
      name: 'AP-V13 accepts a connector selection without permissions',
      obj: connector({ matchLabels: { env: 'prod' } }),
      want: [],
    },

    // spec.connector
    {
      name: 'AP-V1 rejects a connector name that is no DNS-1123 subdomain',
      obj: connector({ names: ['prod-harbor', 'Dev_Harbor'] }),
      want: [
        `FieldValueInvalid spec.connector.names[1]: Invalid value: "Dev_Harbor": ${subdomainMsg}`,
      ],
    },
    {
      name: 'AP-V1 rejects an empty connector name',
      obj: connector({ names: [''] }),
      want: [`FieldValueInvalid spec.connector.names[0]: Invalid value: "": ${subdomainMsg}`],
    },
    {
      name: 'AP-V1 rejects a duplicate connector name at its second position',
      obj: connector({ names: ['a', 'b', 'a'] }),
      want: ['FieldValueDuplicate spec.connector.names[2]: Duplicate value: "a"'],
    },
    {
      name: 'AP-V2 rejects names with matchLabels',
      obj: connector({ names: ['a'], matchLabels: { env: 'prod' } }),
      want: [`FieldValueInvalid spec.connector: ${exclusive}`],
    },
    {
      name: 'AP-V2 rejects names with matchExpressions',
      obj: connector({ names: ['a'], matchExpressions: [{ key: 'env', operator: 'Exists' }] }),
      want: [`FieldValueInvalid spec.connector: ${exclusive}`],
    },
    {
      name: 'AP-V2 treats empty lists and maps as absent',
      obj: connector({ names: ['a'], matchLabels: {}, matchExpressions: [] }),
      want: [],
    },
    {
      name: 'AP-V3 rejects an invalid connector matchLabels key',
      obj: connector({ matchLabels: { 'bad key': 'x' } }),
      want: [
        `FieldValueInvalid spec.connector.matchLabels: Invalid value: "bad key": ${keyNameMsg}`,
      ],
    },
    {
      name: 'AP-V3 rejects an invalid connector matchLabels value',
      obj: connector({ matchLabels: { env: 'a/b' } }),
      want: [`FieldValueInvalid spec.connector.matchLabels: Invalid value: "a/b": ${valueMsg}`],
    },
    {
      name: 'AP-V4 rejects an unknown connector operator',
      obj: connector({ matchExpressions: [{ key: 'env', operator: 'Equals', values: ['a'] }] }),
      want: [
        `FieldValueNotSupported spec.connector.matchExpressions[0].operator: Unsupported value: "Equals": ${operators}`,
      ],
    },
    {
      name: 'AP-V4 requires values for In',
      obj: connector({ matchExpressions: [{ key: 'env', operator: 'In' }] }),
      want: [
        "FieldValueRequired spec.connector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
      ],
    },
    {
      name: 'AP-V4 forbids values for Exists',
      obj: connector({ matchExpressions: [{ key: 'env', operator: 'Exists', values: ['a'] }] }),
      want: [
        "FieldValueForbidden spec.connector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
      ],
    },
    {
      name: 'AP-V4 rejects an invalid expression key',
      obj: connector({ matchExpressions: [{ key: '-x', operator: 'Exists' }] }),
      want: [
        `FieldValueInvalid spec.connector.matchExpressions[0].key: Invalid value: "-x": ${keyNameMsg}`,
      ],
    },

    // spec.defaultPermission
    {
      name: 'AP-V5 requires roleTemplate and bindingTemplate',
      obj: policy({ defaultPermission: {} }),
      want: [
        `FieldValueRequired ${dp}.roleTemplate: Required value`,
        `FieldValueRequired ${dp}.bindingTemplate: Required value`,
      ],
    },
    {
      name: 'AP-V5 requires the role template ConfigMap name',
      obj: policy({ defaultPermission: { roleTemplate: {}, bindingTemplate: {} } }),
      want: [`FieldValueRequired ${dp}.roleTemplate.ref.configMap.name: Required value`],
    },
    {
      name: 'AP-V5 rejects an empty role template ConfigMap name',
      obj: policy({
        defaultPermission: {
          roleTemplate: { ref: { configMap: { name: '' } } },
          bindingTemplate: {},
        },
      }),
      want: [`FieldValueRequired ${dp}.roleTemplate.ref.configMap.name: Required value`],
    },
    {
      name: 'AP-V5 rejects a role template ConfigMap name that is no DNS-1123 subdomain',
      obj: policy({
        defaultPermission: {
          roleTemplate: { ref: { configMap: { name: 'Role' } } },
          bindingTemplate: {},
        },
      }),
      want: [
        `FieldValueInvalid ${dp}.roleTemplate.ref.configMap.name: Invalid value: "Role": ${subdomainMsg}`,
      ],
    },
    {
      name: 'AP-V6 rejects a ServiceAccount name that is no DNS-1123 subdomain',
      obj: serviceAccounts({ names: ['builder', 'Deployer'] }),
      want: [`FieldValueInvalid ${sa}[0].names[1]: Invalid value: "Deployer": ${subdomainMsg}`],
    },
    {
      name: 'AP-V6 rejects a duplicate ServiceAccount name',
      obj: serviceAccounts({ names: ['builder'] }, { names: ['builder', 'builder'] }),
      want: [`FieldValueDuplicate ${sa}[1].names[1]: Duplicate value: "builder"`],
    },
    {
      name: 'AP-V7 rejects a namespace name that is no DNS-1123 label',
      obj: serviceAccounts({ namespaceSelector: { names: ['cicd', 'ci.cd'] } }),
      want: [
        `FieldValueInvalid ${sa}[0].namespaceSelector.names[1]: Invalid value: "ci.cd": must not contain dots`,
      ],
    },
    {
      name: 'AP-V7 rejects namespace names with matchLabels',
      obj: serviceAccounts({
        names: ['builder'],
        namespaceSelector: { names: ['cicd'], matchLabels: { team: 'a' } },
      }),
      want: [`FieldValueInvalid ${sa}[0].namespaceSelector: ${exclusive}`],
    },
    {
      name: 'AP-V7 rejects namespace names with matchExpressions',
      obj: serviceAccounts(
        {},
        {
          namespaceSelector: {
            names: ['cicd'],
            matchExpressions: [{ key: 'team', operator: 'Exists' }],
          },
        },
      ),
      want: [`FieldValueInvalid ${sa}[1].namespaceSelector: ${exclusive}`],
    },
    {
      name: 'AP-V3 rejects an invalid namespaceSelector matchLabels value',
      obj: serviceAccounts({ namespaceSelector: { matchLabels: { team: '-a' } } }),
      want: [
        `FieldValueInvalid ${sa}[0].namespaceSelector.matchLabels: Invalid value: "-a": ${valueMsg}`,
      ],
    },
    {
      name: 'AP-V4 rejects an unknown namespaceSelector operator',
      obj: serviceAccounts({
        namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'in', values: ['a'] }] },
      }),
      want: [
        `FieldValueNotSupported ${sa}[0].namespaceSelector.matchExpressions[0].operator: Unsupported value: "in": ${operators}`,
      ],
    },

    // spec.checkGrantedPermission
    {
      name: 'AP-V8 requires spec',
      obj: policy({ checkGrantedPermission: {} }),
      want: [`FieldValueRequired ${cgp}: Required value`],
    },
    {
      name: 'AP-V8 requires at least one check',
      obj: policy({ checkGrantedPermission: { spec: { checks: [], roleTemplate: role } } }),
      want: [`FieldValueRequired ${cgp}.checks: Required value: must have at least one check`],
    },
    {
      name: 'AP-V8 requires checks when absent',
      obj: policy({ checkGrantedPermission: { spec: { roleTemplate: role } } }),
      want: [`FieldValueRequired ${cgp}.checks: Required value: must have at least one check`],
    },
    {
      name: 'AP-V9 requires a check name',
      obj: checks({ ...refCheck, name: '' }),
      want: [`FieldValueRequired ${cgp}.checks[0].name: Required value`],
    },
    {
      name: 'AP-V9 rejects a check name that is no DNS-1123 label',
      obj: checks({ ...refCheck, name: 'manual.approval' }),
      want: [
        `FieldValueInvalid ${cgp}.checks[0].name: Invalid value: "manual.approval": must not contain dots`,
      ],
    },
    {
      name: 'AP-V9 rejects an upper-case check name',
      obj: checks({ ...refCheck, name: 'Manual' }),
      want: [`FieldValueInvalid ${cgp}.checks[0].name: Invalid value: "Manual": ${labelMsg}`],
    },
    {
      name: 'AP-V9 rejects a duplicate check name',
      obj: checks(refCheck, inlineCheck, { ...inlineCheck, name: 'security-scan' }),
      want: [`FieldValueDuplicate ${cgp}.checks[2].name: Duplicate value: "security-scan"`],
    },
    {
      name: 'AP-V10 requires ref or spec',
      obj: checks({ name: 'c' }),
      want: [
        `FieldValueRequired ${cgp}.checks[0]: Required value: must specify one of ref or spec`,
      ],
    },
    {
      name: 'AP-V10 forbids both ref and spec',
      obj: checks({ ...inlineCheck, ref: refCheck.ref }),
      want: [`FieldValueForbidden ${cgp}.checks[0]: Forbidden: may not specify both ref and spec`],
    },
    {
      name: 'AP-V10 requires the check ConfigMap name',
      obj: checks({ name: 'c', ref: {} }),
      want: [`FieldValueRequired ${cgp}.checks[0].ref.configMap.name: Required value`],
    },
    {
      name: 'AP-V10 rejects a check ConfigMap name that is no DNS-1123 subdomain',
      obj: checks({ name: 'c', ref: { configMap: { name: 'Scan_Check' } } }),
      want: [
        `FieldValueInvalid ${cgp}.checks[0].ref.configMap.name: Invalid value: "Scan_Check": ${subdomainMsg}`,
      ],
    },
    {
      name: 'AP-V11 requires a selector',
      obj: checks({ name: 'c', spec: { state: { rego: 'x' } } }),
      want: [`FieldValueRequired ${sel}: Required value`],
    },
    {
      name: 'AP-V11 requires objectRef apiVersion and kind',
      obj: selector({ objectRef: { apiVersion: '', kind: '' } }),
      want: [
        `FieldValueRequired ${sel}.objectRef.apiVersion: Required value`,
        `FieldValueRequired ${sel}.objectRef.kind: Required value`,
      ],
    },
    {
      name: 'AP-V11 requires objectRef apiVersion and kind when objectRef is absent',
      obj: selector({}),
      want: [
        `FieldValueRequired ${sel}.objectRef.apiVersion: Required value`,
        `FieldValueRequired ${sel}.objectRef.kind: Required value`,
      ],
    },
    {
      name: 'AP-V11 accepts an objectRef namespace and name',
      obj: selector({ objectRef: { ...objectRef, namespace: 'cicd', name: 'approve.me' } }),
      want: [],
    },
    {
      name: 'AP-V11 rejects an objectRef namespace that is no DNS-1123 label',
      obj: selector({ objectRef: { ...objectRef, namespace: 'ci.cd' } }),
      want: [
        `FieldValueInvalid ${sel}.objectRef.namespace: Invalid value: "ci.cd": must not contain dots`,
      ],
    },
    {
      name: 'AP-V11 rejects an objectRef name that is no DNS-1123 subdomain',
      obj: selector({ objectRef: { ...objectRef, name: 'Approve' } }),
      want: [`FieldValueInvalid ${sel}.objectRef.name: Invalid value: "Approve": ${subdomainMsg}`],
    },
    {
      name: 'AP-V11 rejects a matchLabels key that is no qualified name',
      obj: selector({ objectRef, matchLabels: { 'bad key': 'x' } }),
      want: [`FieldValueInvalid ${sel}.matchLabels: Invalid value: "bad key": ${keyNameMsg}`],
    },
    {
      name: 'AP-V11 accepts matchLabels values that are templates, not label values',
      obj: selector({
        objectRef,
        matchLabels: {
          a: 'x/{.object.metadata.name}/{$.object.spec.containers[*].name}',
          b: 'a b',
        },
      }),
      want: [],
    },
    {
      name: 'AP-V11 rejects a matchLabels value that does not parse, at matchLabels[<key>]',
      obj: selector({
        objectRef,
        matchLabels: { 'tekton.dev/pipelineRun': '{.object.metadata.labels[' },
      }),
      want: [
        `FieldValueInvalid ${sel}.matchLabels[tekton.dev/pipelineRun]: Invalid value: "{.object.metadata.labels[": unclosed "{" at offset 0`,
      ],
    },
    {
      name: 'AP-V11 rejects range/end in a matchLabels value',
      obj: selector({
        objectRef,
        matchLabels: { run: '{range .object.spec.containers[*]}{.name}{end}' },
      }),
      want: [
        `FieldValueInvalid ${sel}.matchLabels[run]: Invalid value: "{range .object.spec.containers[*]}{.name}{end}": unexpected "r" at offset 1: a step starts with "." or "["`,
      ],
    },
    {
      name: 'AP-V11 validates matchExpressions as AP-V4',
      obj: selector({
        objectRef,
        matchExpressions: [{ key: 'state', operator: 'Is', values: ['pending'] }],
      }),
      want: [
        `FieldValueNotSupported ${sel}.matchExpressions[0].operator: Unsupported value: "Is": ${operators}`,
      ],
    },
    {
      name: 'AP-V12 requires roleTemplate',
      obj: policy({ checkGrantedPermission: { spec: { checks: [refCheck] } } }),
      want: [`FieldValueRequired ${cgp}.roleTemplate: Required value`],
    },
    {
      name: 'AP-V12 requires the role template ConfigMap name',
      obj: policy({
        checkGrantedPermission: {
          spec: { checks: [refCheck], roleTemplate: { ref: { configMap: {} } } },
        },
      }),
      want: [`FieldValueRequired ${cgp}.roleTemplate.ref.configMap.name: Required value`],
    },
    {
      name: 'AP-V12 rejects a role template ConfigMap name that is no DNS-1123 subdomain',
      obj: policy({
        checkGrantedPermission: {
          spec: { checks: [refCheck], roleTemplate: { ref: { configMap: { name: '-role' } } } },
        },
      }),
      want: [
        `FieldValueInvalid ${cgp}.roleTemplate.ref.configMap.name: Invalid value: "-role": ${subdomainMsg}`,
      ],
    },

    // §11.1 approver constraints (AP-V14)
    {
      name: 'AP-V14 accepts approvers with a threshold, users and groups',
      obj: checks({ ...refCheck, params: [{ name: 'approvers', value: ['alice', 'group:release-managers'] }, { name: 'numberOfApprovalsRequired', value: '2' }] }),
      want: [],
    },
    {
      name: 'AP-V14 accepts approvers alone (threshold defaults to 1)',
      obj: checks({ ...refCheck, params: [{ name: 'approvers', value: ['alice'] }] }),
      want: [],
    },
    {
      name: 'AP-V14 rejects an unknown param name',
      obj: checks({ ...refCheck, params: [{ name: 'approver', value: ['alice'] }] }),
      want: [`FieldValueNotSupported ${cgp}.checks[0].params[0].name: Unsupported value: "approver": supported values: "approvers", "numberOfApprovalsRequired"`],
    },
    {
      name: 'AP-V14 requires a param name',
      obj: checks({ ...refCheck, params: [{ value: ['alice'] }] }),
      want: [`FieldValueRequired ${cgp}.checks[0].params[0].name: Required value`],
    },
    {
      name: 'AP-V14 rejects a repeated param',
      obj: checks({ ...refCheck, params: [{ name: 'approvers', value: ['alice'] }, { name: 'approvers', value: ['bob'] }] }),
      want: [`FieldValueDuplicate ${cgp}.checks[0].params[1].name: Duplicate value: "approvers"`],
    },
    {
      name: 'AP-V14 rejects approvers that are not a non-empty list',
      obj: checks({ ...refCheck, params: [{ name: 'approvers', value: [] }] }, { ...inlineCheck, params: [{ name: 'approvers', value: 'alice' }] }),
      want: [
        `FieldValueInvalid ${cgp}.checks[0].params[0].value: Invalid value: "array": must be a non-empty list of user names and group:<name> entries`,
        `FieldValueInvalid ${cgp}.checks[1].params[0].value: Invalid value: "alice": must be a non-empty list of user names and group:<name> entries`,
      ],
    },
    {
      name: 'AP-V14 rejects empty, non-string, bare group and repeated approvers',
      obj: checks({ ...refCheck, params: [{ name: 'approvers', value: ['alice', '', 7, 'group:', 'alice'] }] }),
      want: [
        `FieldValueInvalid ${cgp}.checks[0].params[0].value[1]: Invalid value: "": must be a non-empty string`,
        `FieldValueInvalid ${cgp}.checks[0].params[0].value[2]: Invalid value: 7: must be a non-empty string`,
        `FieldValueInvalid ${cgp}.checks[0].params[0].value[3]: Invalid value: "group:": a group must be written group:<name>`,
        `FieldValueDuplicate ${cgp}.checks[0].params[0].value[4]: Duplicate value: "alice"`,
      ],
    },
    ...['0', '-1', '1.5', 'two', '01'].map((v) => ({
      name: `AP-V14 rejects numberOfApprovalsRequired ${JSON.stringify(v)}`,
      obj: checks({ ...refCheck, params: [{ name: 'approvers', value: ['alice'] }, { name: 'numberOfApprovalsRequired', value: v }] }),
      want: [`FieldValueInvalid ${cgp}.checks[0].params[1].value: Invalid value: ${JSON.stringify(v)}: must be a string holding a whole number of at least 1, such as "2"`],
    })),
    {
      name: 'AP-V14 rejects numberOfApprovalsRequired given as a number',
      obj: checks({ ...refCheck, params: [{ name: 'approvers', value: ['alice'] }, { name: 'numberOfApprovalsRequired', value: 2 }] }),
      want: [`FieldValueInvalid ${cgp}.checks[0].params[1].value: Invalid value: 2: must be a string holding a whole number of at least 1, such as "2"`],
    },
    {
      name: 'AP-V14 forbids numberOfApprovalsRequired without approvers',
      obj: checks({ ...refCheck, params: [{ name: 'numberOfApprovalsRequired', value: '2' }] }),
      want: [`FieldValueForbidden ${cgp}.checks[0].params[0]: Forbidden: numberOfApprovalsRequired needs approvers`],
    },

    // §11.2 maxDuration (AP-V15)
    ...['5s', '30m', '1h30m', '1.5h', '90s'].map((d) => ({
      name: `AP-V15 accepts maxDuration ${d}`,
      obj: policy({ checkGrantedPermission: { spec: { checks: [refCheck], roleTemplate: role, maxDuration: d } } }),
      want: [],
    })),
    ...['0', '0s', '-5m', '', '5', '1d', 'soon', '1h 30m'].map((d) => ({
      name: `AP-V15 rejects maxDuration ${JSON.stringify(d)}`,
      obj: policy({ checkGrantedPermission: { spec: { checks: [refCheck], roleTemplate: role, maxDuration: d } } }),
      want: [`FieldValueInvalid ${cgp}.maxDuration: Invalid value: ${JSON.stringify(d)}: must be a positive duration such as 30m or 1h30m`],
    })),
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(show(validateAccessPolicy(tc.obj))).to.deep.equal(tc.want);
    });
  }

  it('reports causes from every part together, in field order', () => {
    const obj = policy({
      connector: { names: ['A'] },
      defaultPermission: { bindingTemplate: {} },
      checkGrantedPermission: { spec: { checks: [{ name: 'c' }] } },
    });
    expect(validateAccessPolicy(obj).map((e) => e.field)).to.deep.equal([
      'spec.connector.names[0]',
      'spec.defaultPermission.roleTemplate',
      'spec.checkGrantedPermission.spec.checks[0]',
      'spec.checkGrantedPermission.spec.roleTemplate',
    ]);
  });
});
