import { expect } from 'chai';
import type { AccessPolicy, AccessReview, AccessReviewSpec } from '../../../../../apiserver/apis/connectors/v1alpha1/types.js';
import type { CheckObject, Pod } from '../../../../../apiserver/controller/objects.js';
import { allFlagsOn } from '../../../../../apiserver/controller/config.js';
import { listFromObjects } from '../../../../../apiserver/controller/checks.js';
import type { RegoOutcome } from '../../../../../apiserver/controller/checks.js';
import {
  computeReview,
  reviewContext,
  reviewPod,
  reviewSearches,
  searchKey,
  subjectReviews,
  type ReviewInputs,
  type ReviewListing,
} from '../../../../../apiserver/registry/accessreview/compute.js';
import { defaultAccessReview } from '../../../../../apiserver/apis/connectors/validation/accessreview.js';
import { M, approvalTask, builtinTemplates, connector, pod, podUid, policy, systemNamespace, taskUid } from '../../controller/fixtures.js';

const podName = 'promote-run-abc12-push-image-pod';
const template = { namespace: 'cicd', name: podName, labels: { 'tekton.dev/pipelineRun': 'promote-run-abc12' }, serviceAccountName: 'builder' };

/** The review of §11.3's example, or with another context. */
const review = (context: AccessReviewSpec['context'] = { podTemplate: template }, subject: AccessReviewSpec['subject'] = { kind: 'ServiceAccount', name: 'builder', namespace: 'cicd' }): AccessReview =>
  defaultAccessReview({
    apiVersion: 'connectors.alauda.io/v1alpha1',
    kind: 'AccessReview',
    metadata: { namespace: 'devops' },
    spec: { connectorRef: { name: 'prod-harbor' }, subject, context },
  });

interface Setup {
  review?: AccessReview;
  livePod?: Pod | undefined;
  policies?: AccessPolicy[] | undefined;
  objects?: CheckObject[];
  hideChecks?: boolean;
  access?: { allowed: boolean; reason: string };
  roleBindingsHidden?: boolean;
  regoResults?: Map<string, RegoOutcome>;
  connectorGone?: boolean;
}

/** Gathers as the backend does: searches first, then one listing per search. */
function inputs(s: Setup = {}): ReviewInputs {
  const base = {
    review: s.review ?? review(),
    livePod: 'livePod' in s ? s.livePod : pod(),
    connector: s.connectorGone === true ? undefined : connector(),
    policies: 'policies' in s ? s.policies : [policy()],
    configMaps: builtinTemplates(),
    systemNamespace,
  };
  const list = listFromObjects(s.objects ?? [approvalTask()]);
  const listings = new Map<string, ReviewListing>(
    reviewSearches(base).map((search) => [searchKey(search), s.hideChecks === true ? { hidden: 'approvaltasks.openshift-pipelines.org in cicd' } : list(search)]),
  );
  return {
    ...base,
    flags: allFlagsOn,
    listings,
    access: s.access ?? { allowed: false, reason: '' },
    roleBindingsHidden: s.roleBindingsHidden ?? false,
    now: '2026-03-30T10:00:00Z',
    ...(s.regoResults === undefined ? {} : { regoResults: s.regoResults }),
  };
}

function answer(s: Setup = {}): NonNullable<AccessReview['status']> {
  const r = computeReview(inputs(s));
  if (r.kind !== 'answered') throw new Error(`expected an answer, got ${r.kind}`);
  return r.status;
}

const taskRef = { apiVersion: 'openshift-pipelines.org/v1alpha1', kind: 'ApprovalTask', namespace: 'cicd', name: 'promote-run-abc12-wait-for-approval', uid: taskUid };
const waiting = 'waiting for ApprovalTask cicd/promote-run-abc12-wait-for-approval to be approved';
const search = { apiVersion: 'openshift-pipelines.org/v1alpha1', kind: 'ApprovalTask', namespace: 'cicd', labelSelector: 'tekton.dev/pipelineRun=promote-run-abc12' };
const rules = [{ apiGroups: ['connectors.alauda.io'], resources: [`connectors/proxy/v1/pod/cicd/${podName}`], resourceNames: ['prod-harbor'], verbs: ['*'] }];

describe('AccessReview computation (§11.3)', () => {
  it('answers the example of §11.3: a Pod not started yet, its ApprovalTask pending', () => {
    expect(answer()).to.deep.equal({
      approvalEnabled: true,
      context: { valid: true, reason: 'Active' },
      connectorResolved: true,
      allowed: false,
      checkReady: { status: 'Unknown', reason: 'Pending', message: M },
      policies: [
        {
          name: 'prod-harbor-approval',
          checks: [
            {
              name: 'manual-approval',
              search,
              objects: [{ ref: taskRef, approvers: ['alice'], condition: { type: 'Ready', status: 'Unknown', reason: 'Pending', message: waiting } }],
              condition: { status: 'Unknown', reason: 'Pending', message: waiting },
            },
          ],
          rules,
        },
      ],
    });
  });

  it('asks for exactly the searches the checks make', () => {
    const s = reviewSearches({ review: review(), livePod: undefined, connector: connector(), policies: [policy()], configMaps: builtinTemplates(), systemNamespace });
    expect(s).to.deep.equal([
      { apiVersion: 'openshift-pipelines.org/v1alpha1', kind: 'ApprovalTask', namespace: 'cicd', selector: [{ key: 'tekton.dev/pipelineRun', operator: 'Equals', values: ['promote-run-abc12'] }] },
    ]);
    expect(reviewSearches({ review: review(), livePod: undefined, connector: connector(), policies: undefined, configMaps: builtinTemplates(), systemNamespace })).to.deep.equal([]);
  });

  it('an approved task: the checks pass; the Pod form shows what the controller would grant', () => {
    const s = answer({ review: review({ objectRef: { kind: 'Pod', namespace: 'cicd', name: podName, uid: podUid } }), objects: [approvalTask('approved')] });
    expect(s.checkReady).to.deep.equal({ status: 'True', reason: 'Passed' });
    expect(s.policies?.[0]?.checks?.[0]?.condition).to.deep.equal({ status: 'True', reason: 'Passed' });
    expect(s.policies?.[0]?.rules).to.deep.equal(rules);
  });

  it('already allowed: allowedBy names the binding, unless the caller may not list RoleBindings', () => {
    const reason = 'RBAC: allowed by RoleBinding "connectors-policy-p/devops" of Role "connectors-policy-p" to ServiceAccount "builder/cicd"';
    const s = answer({ access: { allowed: true, reason } });
    expect([s.allowed, s.allowedBy, s.hidden]).to.deep.equal([true, reason, undefined]);
    const h = answer({ access: { allowed: true, reason }, roleBindingsHidden: true });
    expect([h.allowed, h.allowedBy, h.hidden]).to.deep.equal([true, undefined, ['rolebindings']]);
  });

  it('a caller who may not list AccessPolicies learns nothing about them', () => {
    const s = answer({ policies: undefined, roleBindingsHidden: true });
    expect(s).to.deep.equal({
      approvalEnabled: true,
      context: { valid: true, reason: 'Active' },
      connectorResolved: true,
      allowed: false,
      hidden: ['accesspolicies', 'rolebindings'],
    });
  });

  it('a caller who may not list the check kind sees the search, not the objects nor any verdict', () => {
    const s = answer({ hideChecks: true });
    expect(s.hidden).to.deep.equal(['approvaltasks.openshift-pipelines.org in cicd']);
    expect(s.policies?.[0]?.checks).to.deep.equal([{ name: 'manual-approval', search }]);
    expect(s.policies?.[0]?.rules).to.deep.equal(rules);
    expect(s.checkReady).to.equal(undefined);
  });

  it('approver constraints: who may approve, who did, and the mismatch (§11.1)', () => {
    const p = policy();
    const rule = p.spec.checkGrantedPermission?.spec?.checks?.[0];
    if (rule === undefined) throw new Error('fixture');
    rule.params = [
      { name: 'approvers', value: ['alice', 'group:release'] },
      { name: 'numberOfApprovalsRequired', value: '2' },
    ];
    const task = approvalTask('approved');
    task['status'] = { state: 'approved', approversResponse: [{ name: 'alice', type: 'User', response: 'approved' }] };
    const check = answer({ policies: [p], objects: [task] }).policies?.[0]?.checks?.[0];
    expect(check).to.deep.equal({
      name: 'manual-approval',
      search,
      approvers: ['alice', 'group:release'],
      numberOfApprovalsRequired: 2,
      objects: [
        {
          ref: taskRef,
          condition: { type: 'Ready', status: 'False', reason: 'ApproverMismatch', message: '1 of 2 required approvals from listed approvers' },
          approvedBy: ['alice'],
        },
      ],
      condition: { status: 'False', reason: 'ApproverMismatch', message: '1 of 2 required approvals from listed approvers' },
    });
    task['status'] = {
      state: 'approved',
      approversResponse: [
        { name: 'alice', type: 'User', response: 'approved' },
        { name: 'release', type: 'Group', groupMembers: [{ name: 'bob', response: 'approved' }] },
      ],
    };
    const both = answer({ policies: [p], objects: [task] });
    expect(both.checkReady).to.deep.equal({ status: 'True', reason: 'Passed' });
    expect(both.policies?.[0]?.checks?.[0]?.objects?.[0]?.approvedBy).to.deep.equal(['alice', 'bob']);
  });

  it('shows maxDuration, and a role template error instead of rules', () => {
    const p = policy();
    const spec = p.spec.checkGrantedPermission?.spec;
    if (spec === undefined) throw new Error('fixture');
    spec.maxDuration = '30m';
    spec.roleTemplate = { ref: { configMap: { name: 'no-such-template' } } };
    const entry = answer({ policies: [p] }).policies?.[0];
    expect(entry?.maxDuration).to.equal('30m');
    expect(entry?.rules).to.equal(undefined);
    expect(entry?.error).to.equal(`role template ConfigMap ${systemNamespace}/no-such-template not found`);
  });

  it('a missing check template fails the rule, as it would the request', () => {
    const p = policy();
    const rule = p.spec.checkGrantedPermission?.spec?.checks?.[0];
    if (rule === undefined) throw new Error('fixture');
    rule.ref = { configMap: { name: 'gone' } };
    const s = answer({ policies: [p] });
    const msg = `ConfigMap ${systemNamespace}/gone not found`;
    expect(s.policies?.[0]?.checks?.[0]).to.deep.equal({ name: 'manual-approval', condition: { status: 'False', reason: 'Failed', message: msg } });
    expect(s.checkReady).to.deep.equal({ status: 'False', reason: 'Failed', message: `manual-approval (policy prod-harbor-approval): ${msg}` });
  });

  it('stops where the controller would: no Connector, no matching policy', () => {
    const gone = answer({ connectorGone: true });
    expect([gone.connectorResolved, gone.policies, gone.checkReady]).to.deep.equal([false, undefined, { status: 'Unknown', reason: 'Pending', message: 'waiting for the Connector' }]);
    const none = answer({ policies: [] });
    expect([none.policies, none.checkReady]).to.deep.equal([undefined, { status: 'Unknown', reason: 'Pending', message: 'waiting for a matching AccessPolicy' }]);
  });

  it('a Pod that is gone: NotFound; policies listed, nothing rendered', () => {
    const s = answer({ review: review({ objectRef: { kind: 'Pod', apiVersion: 'v1', namespace: 'cicd', name: podName } }), livePod: undefined });
    expect(s.context).to.deep.equal({ valid: false, reason: 'NotFound', message: `Pod cicd/${podName} not found` });
    expect(s.policies).to.deep.equal([{ name: 'prod-harbor-approval', checks: [{ name: 'manual-approval' }] }]);
    expect(s.checkReady).to.deep.equal({ status: 'Unknown', reason: 'Pending', message: 'waiting for a valid context object' });
  });

  it('a finished Pod: Completed, the rest still computed', () => {
    const done = pod();
    done.status = { phase: 'Succeeded' };
    const s = answer({ review: review({ objectRef: { kind: 'Pod', apiVersion: 'v1', namespace: 'cicd', name: podName } }), livePod: done });
    expect(s.context).to.deep.equal({ valid: false, reason: 'Completed', message: `Pod cicd/${podName} has phase Succeeded` });
    expect(s.policies?.[0]?.rules).to.deep.equal(rules);
    expect(s.checkReady?.message).to.equal('waiting for a valid context object');
  });

  it('SubjectMismatch for a template, with or without a Pod name', () => {
    expect(reviewContext(review({ podTemplate: { ...template, serviceAccountName: 'deployer' } }), undefined)).to.deep.equal({
      valid: false,
      reason: 'SubjectMismatch',
      message: `Pod cicd/${podName} runs as ServiceAccount cicd/deployer, not cicd/builder`,
    });
    expect(reviewContext(review({ podTemplate: { namespace: 'cicd' } }), undefined)).to.deep.equal({
      valid: false,
      reason: 'SubjectMismatch',
      message: 'a Pod of namespace cicd runs as ServiceAccount cicd/default, not cicd/builder',
    });
    expect(reviewContext(review({ podTemplate: { namespace: 'other' } }, { kind: 'User', name: 'alice' }), undefined)).to.deep.equal({ valid: true, reason: 'Active' });
  });

  it('builds the template Pod from namespace, name, labels and ServiceAccount', () => {
    expect(reviewPod(review({ podTemplate: { namespace: 'cicd' } }), undefined)).to.deep.equal({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'cicd' }, spec: { serviceAccountName: 'default' } });
  });

  it('Rego checks: asks for the jobs, then uses their results', () => {
    const cms = builtinTemplates();
    const tmpl = cms.get('connectors-approvals-in-pipeline');
    if (tmpl?.data?.['spec'] === undefined) throw new Error('fixture');
    tmpl.data['spec'] = tmpl.data['spec'].replace('rego: ""', 'rego: "package approval\\nstatus := {\\"state\\": \\"approved\\"}"');
    const inp = { ...inputs(), configMaps: cms };
    const listings = new Map(reviewSearches(inp).map((s) => [searchKey(s), listFromObjects([approvalTask()])(s)] as [string, ReviewListing]));
    const first = computeReview({ ...inp, listings });
    if (first.kind !== 'needsRego') throw new Error(`expected needsRego, got ${first.kind}`);
    expect(first.jobs).to.have.length(1);
    const job = first.jobs[0];
    if (job === undefined) throw new Error('no job');
    const second = computeReview({ ...inp, listings, regoResults: new Map([[job.key, { ok: true, state: 'approved' }]]) });
    expect(second.kind === 'answered' && second.status.checkReady).to.deep.equal({ status: 'True', reason: 'Passed' });
  });
});

describe('subjectReviews (§7 step 1 for a review)', () => {
  const attrs = (subresource: string): Record<string, string> => ({ group: 'connectors.alauda.io', resource: 'connectors', verb: '*', name: 'prod-harbor', namespace: 'devops', subresource });
  const sa = { user: 'system:serviceaccount:cicd:builder', groups: ['system:serviceaccounts', 'system:serviceaccounts:cicd', 'system:authenticated'] };

  it('asks proxy, then the per-Pod subresource when the name is known', () => {
    expect(subjectReviews(review())).to.deep.equal([
      { ...sa, resourceAttributes: attrs('proxy') },
      { ...sa, resourceAttributes: attrs(`proxy/v1/pod/cicd/${podName}`) },
    ]);
    expect(subjectReviews(review({ podTemplate: { namespace: 'cicd' } }))).to.deep.equal([{ ...sa, resourceAttributes: attrs('proxy') }]);
  });

  it('asks for Users and Groups as authenticated identities', () => {
    const ctx = { podTemplate: { namespace: 'cicd' } };
    expect(subjectReviews(review(ctx, { kind: 'User', name: 'alice' }))[0]).to.deep.include({ user: 'alice', groups: ['system:authenticated'] });
    const g = subjectReviews(review(ctx, { kind: 'Group', name: 'release' }))[0];
    expect(g).to.deep.include({ groups: ['release', 'system:authenticated'] });
    expect(g).to.not.have.property('user');
  });
});
