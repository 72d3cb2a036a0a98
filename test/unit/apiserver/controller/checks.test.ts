import { expect } from 'chai';
import type { CheckRuleSpec } from '../../../../apiserver/apis/connectors/v1alpha1/types.js';
import {
  aggregateChecks,
  constrainedVerdict,
  nothingFoundMessage,
  renderSearch,
  resolveCheckSpec,
  stateVerdict,
} from '../../../../apiserver/controller/checks.js';
import type { ConfigMap } from '../../../../apiserver/controller/objects.js';
import { approvalTask, builtinTemplates, pod, systemNamespace } from './fixtures.js';

describe('stateVerdict (§5.3 step 4)', () => {
  const who = 'ApprovalTask cicd/promote-run-abc12-wait-for-approval';
  const cases: { state: unknown; want: [string, string, string] }[] = [
    { state: 'approved', want: ['True', 'Passed', ''] },
    { state: 'passed', want: ['True', 'Passed', ''] },
    { state: 'rejected', want: ['False', 'Rejected', `${who} was rejected`] },
    { state: 'pending', want: ['Unknown', 'Pending', `waiting for ${who} to be approved`] },
    { state: undefined, want: ['Unknown', 'Pending', `waiting for ${who} to be approved`] },
    { state: null, want: ['Unknown', 'Pending', `waiting for ${who} to be approved`] },
    { state: '', want: ['Unknown', 'Pending', `waiting for ${who} to be approved`] },
    { state: 'Rejected', want: ['False', 'Failed', `${who} has unsupported state "Rejected"`] },
    { state: 3, want: ['False', 'Failed', `${who} has unsupported state "3"`] },
  ];
  for (const tc of cases) {
    it(`maps ${JSON.stringify(tc.state) ?? 'a missing state'}`, () => {
      const v = stateVerdict('ApprovalTask', approvalTask(), tc.state);
      expect([v.status, v.reason, v.message]).to.deep.equal(tc.want);
    });
  }
});

describe('renderSearch (§5.3 steps 2–3)', () => {
  const spec = (matchLabels: Record<string, string>, objectRef: CheckRuleSpec['selector']['objectRef'] = {}): CheckRuleSpec => ({
    selector: { objectRef: { apiVersion: 'openshift-pipelines.org/v1alpha1', kind: 'ApprovalTask', ...objectRef }, matchLabels },
  });

  it('renders label templates against the Pod and defaults to its namespace', () => {
    const r = renderSearch(spec({ 'tekton.dev/pipelineRun': '{.object.metadata.labels["tekton\\.dev/pipelineRun"]}' }), pod());
    expect(r).to.deep.equal({
      ok: true,
      search: {
        apiVersion: 'openshift-pipelines.org/v1alpha1',
        kind: 'ApprovalTask',
        namespace: 'cicd',
        selector: [{ key: 'tekton.dev/pipelineRun', operator: 'Equals', values: ['promote-run-abc12'] }],
      },
    });
  });

  it('uses objectRef namespace and name when set', () => {
    const r = renderSearch(spec({}, { namespace: 'gates', name: 'g1' }), pod());
    expect(r.ok && [r.search.namespace, r.search.name, nothingFoundMessage(r.search)]).to.deep.equal([
      'gates',
      'g1',
      'waiting for ApprovalTask g1 in namespace gates',
    ]);
  });

  it('matches nothing (Pending) when a value renders empty', () => {
    expect(renderSearch(spec({ run: '{.object.metadata.labels.missing}' }), pod())).to.deep.equal({
      ok: false,
      reason: 'Pending',
      message: 'selector label run rendered empty from {.object.metadata.labels.missing}',
    });
  });

  it('fails on a value that is no label value', () => {
    const r = renderSearch(spec({ run: '{.object.metadata.labels}' }), pod());
    expect(r.ok === false && [r.reason, r.message.startsWith('selector label run: invalid value "{\\"tekton.dev/pipelineRun\\"')]).to.deep.equal([
      'Failed',
      true,
    ]);
  });

  it('fails on a template parse error', () => {
    const r = renderSearch(spec({ run: '{.object.metadata.labels[' }), pod());
    expect(r.ok === false && r.reason).to.equal('Failed');
  });
});

describe('resolveCheckSpec', () => {
  const withSpec = (spec: string): Map<string, ConfigMap> => new Map([['t', { metadata: { name: 't' }, data: { spec } }]]);
  const cases: { name: string; cms: Map<string, ConfigMap>; want: string }[] = [
    { name: 'a missing ConfigMap', cms: new Map(), want: 'ConfigMap connectors-system/t not found' },
    { name: 'a missing key', cms: new Map([['t', { metadata: { name: 't' }, data: {} }]]), want: 'ConfigMap connectors-system/t has no key "spec"' },
    { name: 'bad YAML', cms: withSpec('selector: [\n'), want: 'ConfigMap connectors-system/t key spec: ' },
    { name: 'a wrong shape', cms: withSpec('selector: {matchLabels: {a: 1}}'), want: 'ConfigMap connectors-system/t key spec: selector.matchLabels: must be a map of strings' },
    {
      name: 'a spec failing AP-V11',
      cms: withSpec('selector: {objectRef: {kind: ApprovalTask}}'),
      want: 'ConfigMap connectors-system/t key spec: selector.objectRef.apiVersion: Required value',
    },
  ];
  for (const tc of cases) {
    it(`fails for ${tc.name}`, () => {
      const r = resolveCheckSpec({ name: 'c', ref: { configMap: { name: 't' } } }, tc.cms, systemNamespace);
      expect(r.ok === false && r.error.startsWith(tc.want)).to.equal(true, JSON.stringify(r));
    });
  }

  it('reads the built-in template', () => {
    const r = resolveCheckSpec({ name: 'c', ref: { configMap: { name: 'connectors-approvals-in-pipeline' } } }, builtinTemplates(), systemNamespace);
    expect(r.ok && r.value.selector.matchLabels).to.deep.equal({ 'tekton.dev/pipelineRun': '{.object.metadata.labels["tekton\\.dev/pipelineRun"]}' });
  });
});

describe('aggregateChecks (§5.3 step 6)', () => {
  const item = (reason: 'Passed' | 'Pending' | 'Failed' | 'Rejected' | 'ApproverMismatch', check = 'c') => ({
    policy: 'p',
    check,
    reason,
    message: `${reason} msg`,
  });
  const cases: { name: string; items: ReturnType<typeof item>[]; want: [string, string, string] }[] = [
    { name: 'passes with everything passed', items: [item('Passed'), item('Passed')], want: ['True', 'Passed', ''] },
    { name: 'waits on any Pending', items: [item('Passed'), item('Pending', 'b')], want: ['Unknown', 'Pending', 'b (policy p): Pending msg'] },
    { name: 'prefers Failed over Pending', items: [item('Pending'), item('Failed')], want: ['False', 'Failed', 'c (policy p): Failed msg'] },
    { name: 'prefers ApproverMismatch over Failed', items: [item('Failed'), item('ApproverMismatch')], want: ['False', 'ApproverMismatch', 'c (policy p): ApproverMismatch msg'] },
    { name: 'prefers Rejected over everything', items: [item('ApproverMismatch'), item('Rejected', 'r')], want: ['False', 'Rejected', 'r (policy p): Rejected msg'] },
    { name: 'takes the first item with the deciding reason', items: [item('Pending', 'a'), item('Pending', 'b')], want: ['Unknown', 'Pending', 'a (policy p): Pending msg'] },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const c = aggregateChecks(tc.items);
      expect([c.status, c.reason, c.message]).to.deep.equal(tc.want);
    });
  }
});

describe('constrainedVerdict (§11.1)', () => {
  const task = (state: string, responses: unknown[]) => {
    const t = approvalTask(state);
    t['status'] = { state, approversResponse: responses };
    return t;
  };
  it('ignores spec.approvers and answers other than approved/rejected', () => {
    const v = constrainedVerdict('ApprovalTask', task('pending', [{ name: 'eve', response: 'pending' }]), 'pending', { approvers: ['alice'], required: 1 });
    expect(v.condition.reason).to.equal('Pending');
    expect(v.approvedBy).to.deep.equal([]);
  });
  it('keeps Rejected from the state when only listed approvers answered', () => {
    const v = constrainedVerdict('ApprovalTask', task('rejected', [{ name: 'alice', response: 'rejected' }]), 'rejected', { approvers: ['alice'], required: 1 });
    expect(v.condition.reason).to.equal('Rejected');
  });
  it('lists a group member only through its group', () => {
    const v = constrainedVerdict(
      'ApprovalTask',
      task('approved', [{ name: 'ops', type: 'Group', groupMembers: [{ name: 'carol', response: 'approved' }] }]),
      'approved',
      { approvers: ['group:release'], required: 1 },
    );
    expect([v.condition.reason, v.condition.message]).to.deep.equal([
      'ApproverMismatch',
      'ApprovalTask cicd/promote-run-abc12-wait-for-approval was answered by carol, who is not a listed approver',
    ]);
  });
});
