import { expect } from 'chai';
import { grantStartMs, reconcileAccessRequest, readyCondition } from '../../../../apiserver/controller/reconcile.js';
import { allFlagsOn } from '../../../../apiserver/controller/config.js';
import type { Role, RoleBinding } from '../../../../apiserver/controller/objects.js';
import {
  M,
  approvalTask,
  at,
  condition,
  conditionsOf,
  grant,
  inputs,
  podUid,
  policy,
  requestName,
  requestUid,
  runPass,
  some,
  taskUid,
  ttl24h,
  world,
} from './fixtures.js';
import type { World } from './fixtures.js';

const t0 = '2026-03-30T10:00:06Z';
const t1 = '2026-03-30T10:12:41Z';

/** A world whose request has been granted at 10:12:41 (§10.1). */
function granted(): World {
  const w = world();
  runPass(w, at('10:00:06'));
  w.checkObjects = [approvalTask('approved')];
  runPass(w, at('10:12:41'));
  return w;
}

const expectedRole = (): Role => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'Role',
  metadata: {
    name: grant,
    namespace: 'devops',
    labels: { 'connectors.alauda.io/accessRequest': requestName, 'connectors.alauda.io/accessPolicy': 'prod-harbor-approval' },
    ownerReferences: [
      { apiVersion: 'connectors.alauda.io/v1alpha1', kind: 'AccessRequest', name: requestName, uid: requestUid, controller: true, blockOwnerDeletion: true },
    ],
  },
  rules: [
    {
      apiGroups: ['connectors.alauda.io'],
      resources: ['connectors/proxy/v1/pod/cicd/promote-run-abc12-push-image-pod'],
      verbs: ['*'],
      resourceNames: ['prod-harbor'],
    },
  ],
});

describe('reconcileAccessRequest: §10.1 approved → synced → Pod completes → cleaned up', () => {
  it('writes all six conditions and the policy snapshot on the first pass', () => {
    const w = world();
    const r = runPass(w, at('10:00:06'));
    expect(r.kind).to.equal('apply');
    expect(w.request.status).to.deep.equal({
      observedGeneration: 1,
      policies: [
        {
          name: 'prod-harbor-approval',
          policySpec: policy().spec,
          matchedChecks: [
            {
              name: 'manual-approval',
              ref: {
                apiVersion: 'openshift-pipelines.org/v1alpha1',
                kind: 'ApprovalTask',
                namespace: 'cicd',
                name: 'promote-run-abc12-wait-for-approval',
                uid: taskUid,
              },
              condition: {
                type: 'Ready',
                status: 'Unknown',
                reason: 'Pending',
                message: 'waiting for ApprovalTask cicd/promote-run-abc12-wait-for-approval to be approved',
                lastTransitionTime: t0,
              },
            },
          ],
          permissionSync: {
            type: 'PermissionSynced',
            status: 'Unknown',
            reason: 'Pending',
            message: 'waiting for checks to pass',
            lastTransitionTime: t0,
            observedGeneration: 1,
          },
        },
      ],
      conditions: [
        { type: 'AccessCheckReady', status: 'Unknown', reason: 'Pending', message: M, lastTransitionTime: t0 },
        { type: 'AccessPermissionSync', status: 'Unknown', reason: 'Pending', message: 'waiting for checks to pass', lastTransitionTime: t0 },
        { type: 'AccessPolicyMatched', status: 'True', reason: 'Matched', lastTransitionTime: t0 },
        { type: 'ConnectorResolved', status: 'True', reason: 'Resolved', lastTransitionTime: t0 },
        { type: 'ContextObjectValid', status: 'True', reason: 'Active', lastTransitionTime: t0 },
        { type: 'Ready', status: 'Unknown', reason: 'Pending', message: M, lastTransitionTime: t0 },
      ],
    });
    expect(w.roles).to.deep.equal([]);
    expect(w.events).to.deep.equal([]);
    expect(w.searches).to.deep.include({
      apiVersion: 'openshift-pipelines.org/v1alpha1',
      kind: 'ApprovalTask',
      namespace: 'cicd',
      selector: [{ key: 'tekton.dev/pipelineRun', operator: 'Equals', values: ['promote-run-abc12'] }],
    });
  });

  it('writes nothing on a pass that changes nothing', () => {
    const w = world();
    runPass(w, at('10:00:06'));
    const r = runPass(w, at('10:05:00'));
    expect(r.kind === 'apply' && r.status).to.equal(undefined);
    expect(w.statusWrites).to.equal(1);
  });

  it('creates the Role and RoleBinding in the pass that sees the approval', () => {
    const w = granted();
    expect(conditionsOf(w.request)).to.deep.equal({
      AccessCheckReady: ['True', 'Passed', ''],
      AccessPermissionSync: ['True', 'Synced', ''],
      AccessPolicyMatched: ['True', 'Matched', ''],
      ConnectorResolved: ['True', 'Resolved', ''],
      ContextObjectValid: ['True', 'Active', ''],
      Ready: ['True', 'Synced', ''],
    });
    expect(condition(w.request, 'Ready')?.lastTransitionTime).to.equal(t1);
    expect(condition(w.request, 'ContextObjectValid')?.lastTransitionTime).to.equal(t0);
    const snap = w.request.status?.policies?.[0];
    expect(snap?.permissionSync).to.deep.equal({
      type: 'PermissionSynced',
      status: 'True',
      reason: 'Synced',
      message: '',
      lastTransitionTime: t1,
      observedGeneration: 1,
    });
    expect(snap?.matchedChecks?.[0]?.condition).to.deep.equal({ type: 'Ready', status: 'True', reason: 'Passed', lastTransitionTime: t1 });
    expect(w.roles.map((r) => ({ ...r, metadata: { ...r.metadata, uid: undefined, resourceVersion: undefined } }))).to.deep.equal([
      { ...expectedRole(), metadata: { ...expectedRole().metadata, uid: undefined, resourceVersion: undefined } },
    ]);
    const rb = w.roleBindings[0];
    expect(rb?.metadata.name).to.equal(grant);
    expect(rb?.metadata.labels).to.deep.equal(expectedRole().metadata.labels);
    expect(rb?.metadata.ownerReferences).to.deep.equal(expectedRole().metadata.ownerReferences);
    expect(rb?.subjects).to.deep.equal([{ kind: 'ServiceAccount', name: 'builder', namespace: 'cicd' }]);
    expect(rb?.roleRef).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: grant });
    expect(w.events.map((e) => [e.type, e.reason])).to.deep.equal([['Normal', 'PermissionGranted']]);
  });

  it('keeps a granted request as it is on later passes', () => {
    const w = granted();
    const writes = w.statusWrites;
    const r = runPass(w, at('10:13:00'));
    expect(r.kind === 'apply' && r.rbac.kind === 'sync' && r.rbac.ops).to.deep.equal([]);
    expect(w.statusWrites).to.equal(writes);
    expect(w.events).to.have.length(1);
  });

  it('cleans up when the Pod succeeds and turns the request terminal', () => {
    const w = granted();
    w.pod = { ...some(w.pod), status: { phase: 'Succeeded' } };
    const r = runPass(w, at('10:15:03'));
    expect(conditionsOf(w.request)).to.deep.equal({
      AccessCheckReady: ['True', 'Passed', ''],
      AccessPermissionSync: ['True', 'PermissionCleanUp', ''],
      AccessPolicyMatched: ['True', 'Matched', ''],
      ConnectorResolved: ['True', 'Resolved', ''],
      ContextObjectValid: ['False', 'Completed', 'Pod cicd/promote-run-abc12-push-image-pod has phase Succeeded'],
      Ready: ['False', 'Completed', 'Pod cicd/promote-run-abc12-push-image-pod has phase Succeeded'],
    });
    // Synced → PermissionCleanUp keeps status True, so the time stays.
    expect(condition(w.request, 'AccessPermissionSync')?.lastTransitionTime).to.equal(t1);
    expect(w.request.status?.policies?.[0]?.permissionSync?.reason).to.equal('PermissionCleanUp');
    expect(w.request.status?.policies?.[0]?.permissionSync?.lastTransitionTime).to.equal(t1);
    expect(w.roles).to.deep.equal([]);
    expect(w.roleBindings).to.deep.equal([]);
    expect(w.events.map((e) => e.reason)).to.deep.equal(['PermissionGranted', 'PermissionRevoked']);
    expect(r.kind === 'apply' && r.requeueAfterMs).to.equal(ttl24h);
  });

  it('never evaluates a terminal request again and deletes it after the TTL', () => {
    const w = granted();
    w.pod = { ...some(w.pod), status: { phase: 'Succeeded' } };
    runPass(w, at('10:15:03'));
    const before = structuredClone(w.request.status);
    w.pod = undefined;
    w.flags = { connectorProxyPermissions: false, connectorsApproval: false };
    const r = runPass(w, at('11:15:03'));
    expect(r).to.deep.equal({ kind: 'apply', rbac: { kind: 'none' }, events: [], searches: [], requeueAfterMs: 23 * 3600 * 1000 });
    expect(w.request.status).to.deep.equal(before);
    const del = reconcileAccessRequest(inputs(w, new Date('2026-03-31T10:15:03Z')));
    expect(del).to.deep.equal({ kind: 'delete', uid: requestUid });
  });

  it('keeps a terminal request forever with a TTL of 0', () => {
    const w = world();
    w.pod = undefined;
    w.ttlMs = 0;
    runPass(w, at('10:00:06'));
    const r = reconcileAccessRequest(inputs(w, new Date('2027-01-01T00:00:00Z')));
    expect(r).to.deep.equal({ kind: 'apply', rbac: { kind: 'none' }, events: [], searches: [] });
  });
});

describe('reconcileAccessRequest: §10.2 rejected', () => {
  const rejection =
    'manual-approval (policy prod-harbor-approval): ApprovalTask cicd/promote-run-abc12-wait-for-approval was rejected';

  function rejected(): World {
    const w = world();
    runPass(w, at('10:00:06'));
    w.checkObjects = [approvalTask('rejected')];
    runPass(w, at('10:03:00'));
    return w;
  }

  it('reports Rejected, grants nothing and raises AccessRejected', () => {
    const w = rejected();
    const c = conditionsOf(w.request);
    expect(c['AccessCheckReady']).to.deep.equal(['False', 'Rejected', rejection]);
    expect(c['AccessPermissionSync']).to.deep.equal(['Unknown', 'Pending', 'waiting for checks to pass']);
    expect(c['Ready']).to.deep.equal(['False', 'Rejected', rejection]);
    expect(w.roles).to.deep.equal([]);
    expect(w.events.map((e) => [e.type, e.reason, e.message])).to.deep.equal([['Warning', 'AccessRejected', rejection]]);
  });

  it('changes nothing when the task is approved later', () => {
    const w = rejected();
    const before = structuredClone(w.request.status);
    w.checkObjects = [approvalTask('approved')];
    runPass(w, at('10:04:00'));
    expect(w.request.status).to.deep.equal(before);
    expect(w.roles).to.deep.equal([]);
    expect(w.events).to.have.length(1);
  });

  it('turns terminal when the Pod fails, leaving AccessPermissionSync Pending', () => {
    const w = rejected();
    w.pod = { ...some(w.pod), status: { phase: 'Failed' } };
    runPass(w, at('10:05:00'));
    const c = conditionsOf(w.request);
    expect(c['ContextObjectValid']).to.deep.equal(['False', 'Completed', 'Pod cicd/promote-run-abc12-push-image-pod has phase Failed']);
    expect(c['Ready']).to.deep.equal(['False', 'Completed', 'Pod cicd/promote-run-abc12-push-image-pod has phase Failed']);
    expect(c['AccessPermissionSync']).to.deep.equal(['Unknown', 'Pending', 'waiting for checks to pass']);
    expect(w.events.map((e) => e.reason)).to.deep.equal(['AccessRejected']);
  });
});

describe('reconcileAccessRequest: policy matching', () => {
  const noMatch = 'no AccessPolicy with checkGrantedPermission in namespace devops selects Connector prod-harbor';

  it('reports NoMatch and re-evaluates once a policy appears', () => {
    const w = world();
    w.policies = [];
    runPass(w, at('10:00:06'));
    expect(conditionsOf(w.request)).to.deep.equal({
      AccessCheckReady: ['Unknown', 'Pending', 'waiting for a matching AccessPolicy'],
      AccessPermissionSync: ['Unknown', 'Pending', 'waiting for a matching AccessPolicy'],
      AccessPolicyMatched: ['False', 'NoMatch', noMatch],
      ConnectorResolved: ['True', 'Resolved', ''],
      ContextObjectValid: ['True', 'Active', ''],
      Ready: ['False', 'NoMatch', noMatch],
    });
    expect(w.request.status?.policies).to.equal(undefined);
    w.policies = [policy()];
    runPass(w, at('10:01:00'));
    expect(conditionsOf(w.request)['AccessPolicyMatched']).to.deep.equal(['True', 'Matched', '']);
    expect(conditionsOf(w.request)['Ready']).to.deep.equal(['Unknown', 'Pending', M]);
    expect(w.request.status?.policies?.map((p) => p.name)).to.deep.equal(['prod-harbor-approval']);
  });

  it('ignores policies without checkGrantedPermission, being deleted, or selecting other Connectors', () => {
    const w = world();
    const noChecks = policy();
    noChecks.metadata.name = 'a-default-only';
    delete noChecks.spec.checkGrantedPermission;
    const deleting = policy();
    deleting.metadata.name = 'b-deleting';
    deleting.metadata.deletionTimestamp = '2026-03-30T09:00:00Z';
    const other = policy();
    other.metadata.name = 'c-other';
    other.spec.connector = { names: ['dev-harbor'] };
    w.policies = [noChecks, deleting, other];
    runPass(w, at('10:00:06'));
    expect(conditionsOf(w.request)['AccessPolicyMatched']?.[1]).to.equal('NoMatch');
  });

  it('snapshots all matching policies, sorted by name', () => {
    const w = world();
    const byLabel = policy();
    byLabel.metadata.name = 'oci-approval';
    byLabel.spec.connector = { matchLabels: { 'connectors.alauda.io/connectorclass': 'oci' } };
    w.policies = [byLabel, policy()];
    runPass(w, at('10:00:06'));
    expect(w.request.status?.policies?.map((p) => p.name)).to.deep.equal(['oci-approval', 'prod-harbor-approval']);
  });

  it('never changes a snapshot when the policy is edited or deleted', () => {
    const w = world();
    runPass(w, at('10:00:06'));
    const frozen = structuredClone(w.request.status?.policies?.[0]?.policySpec);
    const edited = policy();
    edited.spec.checkGrantedPermission = {
      spec: {
        checks: [{ name: 'other', ref: { configMap: { name: 'missing' } } }],
        roleTemplate: { ref: { configMap: { name: 'missing' } } },
      },
    };
    const second = policy();
    second.metadata.name = 'another-approval';
    w.policies = [edited, second];
    runPass(w, at('10:01:00'));
    expect(w.request.status?.policies?.map((p) => p.name)).to.deep.equal(['prod-harbor-approval']);
    expect(w.request.status?.policies?.[0]?.policySpec).to.deep.equal(frozen);
    w.policies = [];
    w.checkObjects = [approvalTask('approved')];
    runPass(w, at('10:02:00'));
    expect(conditionsOf(w.request)['Ready']).to.deep.equal(['True', 'Synced', '']);
    expect(w.request.status?.policies?.[0]?.policySpec).to.deep.equal(frozen);
  });

  it('does not share objects with the policy it copied', () => {
    const w = world();
    const p = policy();
    w.policies = [p];
    runPass(w, at('10:00:06'));
    p.spec.checkGrantedPermission?.spec?.checks?.push({ name: 'late', spec: { selector: { objectRef: { apiVersion: 'v1', kind: 'X' } } } });
    expect(w.request.status?.policies?.[0]?.policySpec.checkGrantedPermission?.spec?.checks).to.have.length(1);
  });
});

describe('reconcileAccessRequest: ContextObjectValid', () => {
  const waiting = 'waiting for a valid context object';
  const cases: { name: string; edit: (w: World) => void; want: [string, string] }[] = [
    { name: 'NotFound when the GET answers 404', edit: (w) => (w.pod = undefined), want: ['NotFound', 'Pod cicd/promote-run-abc12-push-image-pod not found'] },
    {
      name: 'NotFound when the uid differs',
      edit: (w) => (w.pod = { ...some(w.pod), metadata: { ...some(w.pod).metadata, uid: 'new-uid' } }),
      want: ['NotFound', `Pod cicd/promote-run-abc12-push-image-pod has uid new-uid, not ${podUid}`],
    },
    {
      name: 'Completed when the Pod failed',
      edit: (w) => (w.pod = { ...some(w.pod), status: { phase: 'Failed' } }),
      want: ['Completed', 'Pod cicd/promote-run-abc12-push-image-pod has phase Failed'],
    },
    {
      name: 'Terminating when the Pod is being deleted',
      edit: (w) => (w.pod = { ...some(w.pod), metadata: { ...some(w.pod).metadata, deletionTimestamp: '2026-03-30T10:00:00Z' } }),
      want: ['Terminating', 'Pod cicd/promote-run-abc12-push-image-pod is being deleted'],
    },
    {
      name: 'SubjectMismatch when the Pod runs as another ServiceAccount',
      edit: (w) => (w.pod = { ...some(w.pod), spec: { serviceAccountName: 'deployer' } }),
      want: ['SubjectMismatch', 'Pod cicd/promote-run-abc12-push-image-pod runs as ServiceAccount cicd/deployer, not cicd/builder'],
    },
    {
      name: 'SubjectMismatch with an empty serviceAccountName meaning default',
      edit: (w) => (w.pod = { ...some(w.pod), spec: {} }),
      want: ['SubjectMismatch', 'Pod cicd/promote-run-abc12-push-image-pod runs as ServiceAccount cicd/default, not cicd/builder'],
    },
  ];
  for (const tc of cases) {
    it(`is False/${tc.name}, with the other conditions Pending`, () => {
      const w = world();
      tc.edit(w);
      runPass(w, at('10:00:06'));
      expect(conditionsOf(w.request)).to.deep.equal({
        AccessCheckReady: ['Unknown', 'Pending', waiting],
        AccessPermissionSync: ['Unknown', 'Pending', waiting],
        AccessPolicyMatched: ['Unknown', 'Pending', waiting],
        ConnectorResolved: ['Unknown', 'Pending', waiting],
        ContextObjectValid: ['False', ...tc.want],
        Ready: ['False', ...tc.want],
      });
    });
  }

  it('does not check the Pod ServiceAccount for a User subject', () => {
    const w = world();
    w.request.spec.subject = { kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' };
    runPass(w, at('10:00:06'));
    expect(conditionsOf(w.request)['ContextObjectValid']).to.deep.equal(['True', 'Active', '']);
  });

  it('counts a Pending Pod as Active', () => {
    const w = world();
    w.pod = { ...some(w.pod), status: { phase: 'Pending' } };
    runPass(w, at('10:00:06'));
    expect(conditionsOf(w.request)['ContextObjectValid']).to.deep.equal(['True', 'Active', '']);
  });

  it('keeps earlier conditions when the Pod goes away while waiting', () => {
    const w = world();
    runPass(w, at('10:00:06'));
    w.pod = undefined;
    runPass(w, at('10:01:00'));
    const c = conditionsOf(w.request);
    expect(c['ConnectorResolved']).to.deep.equal(['True', 'Resolved', '']);
    expect(c['AccessPolicyMatched']).to.deep.equal(['True', 'Matched', '']);
    expect(c['AccessCheckReady']).to.deep.equal(['Unknown', 'Pending', M]);
    expect(c['AccessPermissionSync']).to.deep.equal(['Unknown', 'Pending', 'waiting for checks to pass']);
    expect(c['Ready']).to.deep.equal(['False', 'NotFound', 'Pod cicd/promote-run-abc12-push-image-pod not found']);
  });
});

describe('reconcileAccessRequest: ConnectorResolved', () => {
  it('is False/NotFound on the first pass without a Connector', () => {
    const w = world();
    w.connector = undefined;
    runPass(w, at('10:00:06'));
    const msg = 'Connector devops/prod-harbor not found';
    expect(conditionsOf(w.request)).to.deep.equal({
      AccessCheckReady: ['Unknown', 'Pending', 'waiting for the Connector'],
      AccessPermissionSync: ['Unknown', 'Pending', 'waiting for the Connector'],
      AccessPolicyMatched: ['Unknown', 'Pending', 'waiting for the Connector'],
      ConnectorResolved: ['False', 'NotFound', msg],
      ContextObjectValid: ['True', 'Active', ''],
      Ready: ['False', 'NotFound', msg],
    });
  });

  it('revokes a grant when the Connector is being deleted, and grants again when it is back', () => {
    const w = granted();
    const c = some(w.connector);
    w.connector = { ...c, metadata: { ...c.metadata, deletionTimestamp: '2026-03-30T10:20:00Z' } };
    runPass(w, at('10:20:00'));
    const msg = 'Connector devops/prod-harbor is being deleted';
    expect(conditionsOf(w.request)['ConnectorResolved']).to.deep.equal(['False', 'NotFound', msg]);
    expect(conditionsOf(w.request)['AccessPermissionSync']).to.deep.equal(['True', 'PermissionCleanUp', '']);
    expect(conditionsOf(w.request)['AccessCheckReady']).to.deep.equal(['True', 'Passed', '']);
    expect(conditionsOf(w.request)['Ready']).to.deep.equal(['False', 'NotFound', msg]);
    expect(w.roles).to.deep.equal([]);
    expect(w.events.map((e) => e.reason)).to.deep.equal(['PermissionGranted', 'PermissionRevoked']);
    w.connector = c;
    runPass(w, at('10:21:00'));
    expect(conditionsOf(w.request)['Ready']).to.deep.equal(['True', 'Synced', '']);
    expect(w.roles).to.have.length(1);
    expect(w.events.map((e) => e.reason)).to.deep.equal(['PermissionGranted', 'PermissionRevoked', 'PermissionGranted']);
  });
});

describe('reconcileAccessRequest: feature flags', () => {
  const cases = [
    { flags: { connectorProxyPermissions: true, connectorsApproval: false }, names: 'enable-connectors-approval' },
    { flags: { connectorProxyPermissions: false, connectorsApproval: true }, names: 'enable-connector-proxy-permissions' },
    {
      flags: { connectorProxyPermissions: false, connectorsApproval: false },
      names: 'enable-connectors-approval, enable-connector-proxy-permissions',
    },
  ];
  for (const tc of cases) {
    it(`writes only Ready=Unknown/FeatureDisabled naming ${tc.names}`, () => {
      const w = world();
      w.flags = tc.flags;
      runPass(w, at('10:00:06'));
      expect(conditionsOf(w.request)).to.deep.equal({ Ready: ['Unknown', 'FeatureDisabled', `feature flags not enabled: ${tc.names}`] });
    });
  }

  it('removes a grant while off and restores it when the flags return', () => {
    const w = granted();
    w.flags = { connectorProxyPermissions: true, connectorsApproval: false };
    runPass(w, at('10:30:00'));
    const c = conditionsOf(w.request);
    expect(c['AccessPermissionSync']).to.deep.equal(['True', 'PermissionCleanUp', '']);
    expect(c['AccessCheckReady']).to.deep.equal(['True', 'Passed', '']);
    expect(c['Ready']).to.deep.equal(['Unknown', 'FeatureDisabled', 'feature flags not enabled: enable-connectors-approval']);
    expect(w.roles).to.deep.equal([]);
    expect(w.roleBindings).to.deep.equal([]);
    expect(w.events.map((e) => e.reason)).to.deep.equal(['PermissionGranted', 'PermissionRevoked']);
    w.flags = allFlagsOn;
    runPass(w, at('10:31:00'));
    expect(conditionsOf(w.request)['Ready']).to.deep.equal(['True', 'Synced', '']);
    expect(w.roles).to.have.length(1);
  });
});

describe('reconcileAccessRequest: AccessCheckReady', () => {
  it('is Failed when the check template ConfigMap is missing, and retried on change', () => {
    const w = world();
    w.configMaps.delete('connectors-approvals-in-pipeline');
    runPass(w, at('10:00:06'));
    const msg = 'manual-approval (policy prod-harbor-approval): ConfigMap connectors-system/connectors-approvals-in-pipeline not found';
    expect(conditionsOf(w.request)['AccessCheckReady']).to.deep.equal(['False', 'Failed', msg]);
    expect(conditionsOf(w.request)['AccessPermissionSync']).to.deep.equal(['Unknown', 'Pending', 'waiting for checks to pass']);
    expect(conditionsOf(w.request)['Ready']).to.deep.equal(['False', 'Failed', msg]);
    w.configMaps = world().configMaps;
    runPass(w, at('10:01:00'));
    expect(conditionsOf(w.request)['AccessCheckReady']).to.deep.equal(['Unknown', 'Pending', M]);
  });

  it('is Failed for an unsupported state', () => {
    const w = world();
    w.checkObjects = [approvalTask('Approved')];
    runPass(w, at('10:00:06'));
    expect(conditionsOf(w.request)['AccessCheckReady']).to.deep.equal([
      'False',
      'Failed',
      'manual-approval (policy prod-harbor-approval): ApprovalTask cicd/promote-run-abc12-wait-for-approval has unsupported state "Approved"',
    ]);
  });

  it('is Failed for a kind that cannot be listed', () => {
    const w = world();
    const message = 'approvaltasks.openshift-pipelines.org is forbidden';
    w.listFailures.set('openshift-pipelines.org/v1alpha1/ApprovalTask', { ok: false, retry: false, message });
    runPass(w, at('10:00:06'));
    expect(conditionsOf(w.request)['AccessCheckReady']).to.deep.equal(['False', 'Failed', `manual-approval (policy prod-harbor-approval): ${message}`]);
  });

  it('gives no verdict on a transient listing error', () => {
    const w = world();
    w.listFailures.set('openshift-pipelines.org/v1alpha1/ApprovalTask', { ok: false, retry: true, message: 'cache not synced' });
    expect(runPass(w, at('10:00:06'))).to.deep.equal({ kind: 'retry', message: 'cache not synced' });
    expect(w.request.status).to.equal(undefined);
  });

  it('is Pending naming kind, selector and namespace when nothing is found', () => {
    const w = world();
    w.checkObjects = [];
    runPass(w, at('10:00:06'));
    expect(conditionsOf(w.request)['AccessCheckReady']).to.deep.equal([
      'Unknown',
      'Pending',
      'manual-approval (policy prod-harbor-approval): waiting for ApprovalTask matching tekton.dev/pipelineRun=promote-run-abc12 in namespace cicd',
    ]);
    expect(w.request.status?.policies?.[0]?.matchedChecks).to.equal(undefined);
  });

  it('requires every object found to pass', () => {
    const w = world();
    w.checkObjects = [approvalTask('approved'), approvalTask('pending', 'promote-run-abc12-second-approval', 'uid-2')];
    runPass(w, at('10:00:06'));
    expect(conditionsOf(w.request)['AccessCheckReady']).to.deep.equal([
      'Unknown',
      'Pending',
      'manual-approval (policy prod-harbor-approval): waiting for ApprovalTask cicd/promote-run-abc12-second-approval to be approved',
    ]);
    expect(w.request.status?.policies?.[0]?.matchedChecks?.map((e) => e.ref.name)).to.deep.equal([
      'promote-run-abc12-second-approval',
      'promote-run-abc12-wait-for-approval',
    ]);
  });

  it('adds no entries after the checks first passed, and revokes when an entry flips back', () => {
    const w = granted();
    w.checkObjects = [approvalTask('approved'), approvalTask('pending', 'promote-run-abc12-late-approval', 'uid-late')];
    runPass(w, at('10:20:00'));
    expect(w.request.status?.policies?.[0]?.matchedChecks).to.have.length(1);
    expect(conditionsOf(w.request)['Ready']).to.deep.equal(['True', 'Synced', '']);
    // The one entry goes back to pending: revoke, Pending (a later pass may grant again).
    w.checkObjects = [approvalTask('pending')];
    runPass(w, at('10:21:00'));
    expect(conditionsOf(w.request)['AccessCheckReady']).to.deep.equal(['Unknown', 'Pending', M]);
    expect(conditionsOf(w.request)['AccessPermissionSync']).to.deep.equal(['Unknown', 'Pending', 'waiting for checks to pass']);
    expect(w.request.status?.policies?.[0]?.permissionSync?.message).to.equal('waiting for checks to pass again');
    expect(w.roles).to.deep.equal([]);
    expect(w.events.map((e) => e.reason)).to.deep.equal(['PermissionGranted', 'PermissionRevoked']);
    // Still no new entries, though AccessCheckReady is no longer True.
    w.checkObjects = [approvalTask('approved'), approvalTask('pending', 'promote-run-abc12-late-approval', 'uid-late')];
    runPass(w, at('10:22:00'));
    expect(w.request.status?.policies?.[0]?.matchedChecks).to.have.length(1);
    expect(conditionsOf(w.request)['Ready']).to.deep.equal(['True', 'Synced', '']);
  });

  it('keeps the verdict of an entry whose object was deleted', () => {
    const w = granted();
    w.checkObjects = [];
    runPass(w, at('10:20:00'));
    expect(w.request.status?.policies?.[0]?.matchedChecks?.[0]?.condition.reason).to.equal('Passed');
    expect(conditionsOf(w.request)['Ready']).to.deep.equal(['True', 'Synced', '']);
  });

  it('turns PermissionCleanUp when checks fail after a grant (‡)', () => {
    const w = granted();
    w.checkObjects = [approvalTask('bogus')];
    runPass(w, at('10:20:00'));
    expect(conditionsOf(w.request)['AccessCheckReady']?.[1]).to.equal('Failed');
    expect(conditionsOf(w.request)['AccessPermissionSync']).to.deep.equal(['True', 'PermissionCleanUp', '']);
    expect(conditionsOf(w.request)['Ready']?.[1]).to.equal('Failed');
    expect(w.roles).to.deep.equal([]);
  });

  it('asks for Rego results, then uses them', () => {
    const w = world();
    const cm = w.configMaps.get('connectors-approvals-in-pipeline');
    const spec = cm?.data?.['spec']?.replace('rego: ""', 'rego: "package approval"');
    w.configMaps.set('connectors-approvals-in-pipeline', { metadata: { name: 'connectors-approvals-in-pipeline' }, data: { spec: spec ?? '' } });
    const first = reconcileAccessRequest(inputs(w, at('10:00:06')));
    expect(first.kind).to.equal('needsRego');
    if (first.kind !== 'needsRego') return;
    expect(first.jobs.map((j) => [j.rego, j.input.metadata.name])).to.deep.equal([['package approval', 'promote-run-abc12-wait-for-approval']]);
    w.rego = () => ({ ok: true, state: 'approved' });
    runPass(w, at('10:00:06'));
    expect(conditionsOf(w.request)['Ready']).to.deep.equal(['True', 'Synced', '']);
  });

  it('is Failed when Rego fails', () => {
    const w = world();
    const spec = w.configMaps.get('connectors-approvals-in-pipeline')?.data?.['spec']?.replace('rego: ""', 'rego: "package approval"');
    w.configMaps.set('connectors-approvals-in-pipeline', { metadata: { name: 'connectors-approvals-in-pipeline' }, data: { spec: spec ?? '' } });
    w.rego = () => ({ ok: false, error: 'timeout' });
    runPass(w, at('10:00:06'));
    expect(conditionsOf(w.request)['AccessCheckReady']).to.deep.equal([
      'False',
      'Failed',
      'manual-approval (policy prod-harbor-approval): state.rego for ApprovalTask cicd/promote-run-abc12-wait-for-approval: timeout',
    ]);
  });
});

describe('reconcileAccessRequest: approver constraints (§11.1)', () => {
  function withApprovers(approvers: string[], required?: string): World {
    const w = world();
    const p = policy();
    const check = p.spec.checkGrantedPermission?.spec?.checks?.[0];
    if (check !== undefined) {
      check.params = [{ name: 'approvers', value: approvers }];
      if (required !== undefined) check.params.push({ name: 'numberOfApprovalsRequired', value: required });
    }
    w.policies = [p];
    return w;
  }
  const task = (state: string, responses: unknown[]) => {
    const t = approvalTask(state);
    t['status'] = { state, approversResponse: responses };
    return t;
  };

  it('is ApproverMismatch (final) when someone unlisted answered', () => {
    const w = withApprovers(['alice']);
    w.checkObjects = [task('approved', [{ name: 'mallory', type: 'User', response: 'approved' }])];
    runPass(w, at('10:00:06'));
    const msg =
      'manual-approval (policy prod-harbor-approval): ApprovalTask cicd/promote-run-abc12-wait-for-approval was answered by mallory, who is not a listed approver';
    expect(conditionsOf(w.request)['AccessCheckReady']).to.deep.equal(['False', 'ApproverMismatch', msg]);
    expect(conditionsOf(w.request)['Ready']).to.deep.equal(['False', 'ApproverMismatch', msg]);
    expect(w.events.map((e) => e.reason)).to.deep.equal(['AccessRejected']);
    w.checkObjects = [task('approved', [{ name: 'alice', type: 'User', response: 'approved' }])];
    runPass(w, at('10:01:00'));
    expect(conditionsOf(w.request)['AccessCheckReady']?.[1]).to.equal('ApproverMismatch');
  });

  it('passes with enough listed approvals, counting group members, and records approvedBy', () => {
    const w = withApprovers(['alice', 'group:release'], '2');
    w.checkObjects = [
      task('approved', [
        { name: 'alice', type: 'User', response: 'approved' },
        { name: 'release', type: 'Group', groupMembers: [{ name: 'bob', response: 'approved' }] },
      ]),
    ];
    runPass(w, at('10:00:06'));
    expect(conditionsOf(w.request)['Ready']).to.deep.equal(['True', 'Synced', '']);
    expect(w.request.status?.policies?.[0]?.matchedChecks?.[0]?.approvedBy).to.deep.equal(['alice', 'bob']);
  });

  it('is ApproverMismatch with fewer listed approvals than required', () => {
    const w = withApprovers(['alice', 'bob'], '2');
    w.checkObjects = [task('approved', [{ name: 'alice', response: 'approved' }])];
    runPass(w, at('10:00:06'));
    expect(conditionsOf(w.request)['AccessCheckReady']).to.deep.equal([
      'False',
      'ApproverMismatch',
      'manual-approval (policy prod-harbor-approval): 1 of 2 required approvals from listed approvers',
    ]);
  });
});

describe('reconcileAccessRequest: AccessPermissionSync', () => {
  it('refuses a role template that fails the scope guard and creates nothing', () => {
    const w = world();
    w.checkObjects = [approvalTask('approved')];
    w.configMaps.set('connectors-use-connectors-proxy-in-pod', {
      metadata: { name: 'connectors-use-connectors-proxy-in-pod' },
      data: { rules: '- apiGroups: ["*"]\n  resources: ["*"]\n  verbs: ["*"]\n' },
    });
    const r = runPass(w, at('10:00:06'));
    const msg =
      'prod-harbor-approval: role template ConfigMap connectors-system/connectors-use-connectors-proxy-in-pod: scope guard: rules[0]: apiGroups must be exactly ["connectors.alauda.io"], not ["*"]';
    expect(conditionsOf(w.request)['AccessPermissionSync']).to.deep.equal(['False', 'SyncFailed', msg]);
    expect(conditionsOf(w.request)['Ready']).to.deep.equal(['False', 'SyncFailed', msg]);
    expect(r.kind === 'apply' && r.rbac.kind === 'sync' && r.rbac.ops).to.deep.equal([]);
    expect(w.roles).to.deep.equal([]);
    expect(w.events).to.deep.equal([]);
  });

  it('never adopts a Role it does not own', () => {
    const w = world();
    w.checkObjects = [approvalTask('approved')];
    w.roles = [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: grant, namespace: 'devops', uid: 'foreign' }, rules: [] }];
    runPass(w, at('10:00:06'));
    expect(conditionsOf(w.request)['AccessPermissionSync']).to.deep.equal([
      'False',
      'SyncFailed',
      `prod-harbor-approval: Role ${grant} exists and is not owned by this AccessRequest`,
    ]);
    expect(w.roles).to.have.length(1);
    expect(w.roles[0]?.metadata.uid).to.equal('foreign');
    expect(w.roleBindings).to.deep.equal([]);
  });

  it('reports a failed RBAC write as SyncFailed, then syncs once writes work', () => {
    const w = world();
    w.checkObjects = [approvalTask('approved')];
    w.failWrites.set('prod-harbor-approval', 'roles.rbac.authorization.k8s.io is forbidden');
    runPass(w, at('10:00:06'));
    expect(conditionsOf(w.request)['AccessPermissionSync']).to.deep.equal([
      'False',
      'SyncFailed',
      'prod-harbor-approval: roles.rbac.authorization.k8s.io is forbidden',
    ]);
    expect(conditionsOf(w.request)['Ready']?.[1]).to.equal('SyncFailed');
    w.failWrites.clear();
    runPass(w, at('10:01:00'));
    expect(conditionsOf(w.request)['Ready']).to.deep.equal(['True', 'Synced', '']);
  });

  it('is NoPermissionRequired for a template without rules', () => {
    const w = world();
    w.checkObjects = [approvalTask('approved')];
    w.configMaps.set('connectors-use-connectors-proxy-in-pod', { metadata: { name: 'connectors-use-connectors-proxy-in-pod' }, data: { rules: '[]' } });
    runPass(w, at('10:00:06'));
    expect(conditionsOf(w.request)['AccessPermissionSync']).to.deep.equal(['True', 'NoPermissionRequired', '']);
    expect(conditionsOf(w.request)['Ready']).to.deep.equal(['True', 'NoPermissionRequired', '']);
    expect(w.roles).to.deep.equal([]);
  });

  it('restores an edited Role and re-creates a RoleBinding with another roleRef', () => {
    const w = granted();
    const role = some(w.roles[0]);
    w.roles = [{ ...role, rules: [{ apiGroups: ['connectors.alauda.io'], resources: ['connectors/proxy'], verbs: ['*'] }] }];
    const rb = some(w.roleBindings[0]);
    w.roleBindings = [{ ...rb, roleRef: { ...rb.roleRef, name: 'other' } }];
    const r = runPass(w, at('10:20:00'));
    const ops = r.kind === 'apply' && r.rbac.kind === 'sync' ? r.rbac.ops.map((o) => o.op) : [];
    expect(ops).to.deep.equal(['update', 'recreate']);
    expect(w.roles[0]?.rules).to.deep.equal(expectedRole().rules);
    expect(w.roles[0]?.metadata.uid).to.equal(role.metadata.uid);
    expect(w.roleBindings[0]?.roleRef.name).to.equal(grant);
    expect(w.statusWrites).to.equal(2);
  });

  it('restores a deleted RoleBinding while Synced', () => {
    const w = granted();
    w.roleBindings = [];
    runPass(w, at('10:20:00'));
    expect(w.roleBindings).to.have.length(1);
    expect(w.events.map((e) => e.reason)).to.deep.equal(['PermissionGranted']);
  });

  it('grants a User subject with the RBAC apiGroup', () => {
    const w = world();
    w.request.spec.subject = { kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' };
    w.checkObjects = [approvalTask('approved')];
    runPass(w, at('10:00:06'));
    expect(w.roleBindings[0]?.subjects).to.deep.equal([{ kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' }]);
  });

  const stale = (): RoleBinding => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: {
      name: 'old-name',
      namespace: 'devops',
      uid: 'stale',
      labels: { 'connectors.alauda.io/accessRequest': requestName },
      ownerReferences: [{ apiVersion: 'connectors.alauda.io/v1alpha1', kind: 'AccessRequest', name: requestName, uid: requestUid }],
    },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'old-name' },
  });

  it('deletes owned objects no policy wants', () => {
    const w = world();
    w.checkObjects = [approvalTask('approved')];
    w.roleBindings = [stale()];
    runPass(w, at('10:00:06'));
    expect(w.roleBindings.map((b) => b.metadata.name)).to.deep.equal([grant]);
  });
});

describe('reconcileAccessRequest: time limit (§11.2)', () => {
  it('stamps grantExpiresAt, re-queues for it, and revokes for good when it passes', () => {
    const w = world();
    const p = policy();
    const spec = p.spec.checkGrantedPermission?.spec;
    if (spec !== undefined) spec.maxDuration = '30m';
    w.policies = [p];
    w.checkObjects = [approvalTask('approved')];
    const r = runPass(w, at('10:00:06'));
    expect(w.request.status?.grantExpiresAt).to.equal('2026-03-30T10:30:06Z');
    expect(r.kind === 'apply' && r.requeueAfterMs).to.equal(30 * 60 * 1000);
    runPass(w, at('10:30:06'));
    const msg = 'grant expired at 2026-03-30T10:30:06Z (maxDuration 30m of AccessPolicy prod-harbor-approval)';
    expect(conditionsOf(w.request)['Ready']).to.deep.equal(['False', 'Expired', msg]);
    expect(conditionsOf(w.request)['AccessPermissionSync']).to.deep.equal(['True', 'PermissionCleanUp', '']);
    expect(w.request.status?.policies?.[0]?.permissionSync?.reason).to.equal('PermissionCleanUp');
    expect(w.roles).to.deep.equal([]);
    expect(w.events.map((e) => e.reason)).to.deep.equal(['PermissionGranted', 'PermissionRevoked']);
    // Final: flags off and on again grant nothing.
    w.flags = { connectorProxyPermissions: false, connectorsApproval: false };
    runPass(w, at('10:31:00'));
    w.flags = allFlagsOn;
    runPass(w, at('10:32:00'));
    expect(conditionsOf(w.request)['Ready']?.[1]).to.equal('Expired');
    expect(w.roles).to.deep.equal([]);
    expect(w.request.status?.grantExpiresAt).to.equal('2026-03-30T10:30:06Z');
  });

  const limited = (d: string): World => {
    const w = world();
    const p = policy();
    const spec = p.spec.checkGrantedPermission?.spec;
    if (spec !== undefined) spec.maxDuration = d;
    w.policies = [p];
    w.checkObjects = [approvalTask('approved')];
    return w;
  };

  it('a restart between the grant and its status write does not extend the limit', () => {
    const w = limited('30m');
    // The pass at 10:00:06 creates the Role and RoleBinding, then the process dies before the write.
    const first = reconcileAccessRequest(inputs(w, at('10:00:06')));
    expect(first.kind).to.equal('apply');
    if (first.kind !== 'apply' || first.rbac.kind !== 'sync') throw new Error('expected a grant');
    expect(first.status?.grantExpiresAt).to.equal('2026-03-30T10:30:06Z');
    for (const op of first.rbac.ops) {
      if (op.op !== 'create') throw new Error(`unexpected ${op.op}`);
      const o = { ...structuredClone(op.object), metadata: { ...op.object.metadata, uid: `rbac-${op.object.kind}`, creationTimestamp: '2026-03-30T10:00:06Z' } };
      if (o.kind === 'Role') w.roles.push(o);
      else w.roleBindings.push(o);
    }
    expect(w.request.status).to.equal(undefined);
    // Twenty minutes later the new process's first pass stamps the limit from the objects' creation.
    const r = runPass(w, at('10:20:00'));
    expect(w.request.status?.grantExpiresAt).to.equal('2026-03-30T10:30:06Z');
    expect(r.kind === 'apply' && r.requeueAfterMs).to.equal(10 * 60 * 1000 + 6000);
    expect(conditionsOf(w.request)['Ready']).to.deep.equal(['True', 'Synced', '']);
  });

  it('a stored limit is never moved; the first pass after downtime applies an expiry already due', () => {
    const w = limited('5s');
    runPass(w, at('10:00:06'));
    expect(w.request.status?.grantExpiresAt).to.equal('2026-03-30T10:00:11Z');
    expect(w.roles.map((r) => r.metadata.name)).to.deep.equal([grant]);
    // Down from 10:00:07 to 11:00:00: the re-queue timer was lost with the process.
    runPass(w, at('11:00:00'));
    expect(conditionsOf(w.request)['Ready']).to.deep.equal(['False', 'Expired', 'grant expired at 2026-03-30T10:00:11Z (maxDuration 5s of AccessPolicy prod-harbor-approval)']);
    expect(conditionsOf(w.request)['AccessPermissionSync']).to.deep.equal(['True', 'PermissionCleanUp', '']);
    expect(w.roles).to.deep.equal([]);
    expect(w.roleBindings).to.deep.equal([]);
    expect(w.request.status?.grantExpiresAt).to.equal('2026-03-30T10:00:11Z');
  });

  it('the smallest maxDuration of the matched policies wins, first by name on a tie', () => {
    const w = limited('1h');
    const second = policy();
    second.metadata.name = 'a-second-policy';
    const spec = second.spec.checkGrantedPermission?.spec;
    if (spec !== undefined) spec.maxDuration = '90s';
    w.policies.push(second);
    runPass(w, at('10:00:00'));
    expect(w.request.status?.grantExpiresAt).to.equal('2026-03-30T10:01:30Z');
    runPass(w, at('10:01:30'));
    expect(conditionsOf(w.request)['Ready']?.[2]).to.equal('grant expired at 2026-03-30T10:01:30Z (maxDuration 90s of AccessPolicy a-second-policy)');
  });
});

describe('grantStartMs', () => {
  it('is now without grant objects, else the earliest creationTimestamp before now', () => {
    const now = Date.parse('2026-03-30T10:00:00Z');
    const role = (ts: string | undefined): Role => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: ts === undefined ? {} : { creationTimestamp: ts } });
    expect(grantStartMs([], now)).to.equal(now);
    expect(grantStartMs([role(undefined), role('2026-03-30T10:05:00Z')], now)).to.equal(now);
    expect(grantStartMs([role('2026-03-30T09:59:00Z'), role('2026-03-30T09:58:00Z')], now)).to.equal(Date.parse('2026-03-30T09:58:00Z'));
  });
});

describe('readyCondition', () => {
  const all = (perm: string): Record<string, { status: 'True'; reason: string }> => ({
    ContextObjectValid: { status: 'True', reason: 'Active' },
    ConnectorResolved: { status: 'True', reason: 'Resolved' },
    AccessPolicyMatched: { status: 'True', reason: 'Matched' },
    AccessCheckReady: { status: 'True', reason: 'Passed' },
    AccessPermissionSync: { status: 'True', reason: perm },
  });
  it('waits for permissions to be granted again after a cleanup', () => {
    const c = all('PermissionCleanUp');
    expect(readyCondition((t) => c[t], allFlagsOn, undefined)).to.deep.equal({
      type: 'Ready',
      status: 'Unknown',
      reason: 'Pending',
      message: 'waiting for permissions to be granted again',
    });
  });
  it('reports an absent dependent as Pending', () => {
    const c: Record<string, { status: 'True'; reason: string }> = all('Synced');
    delete c['AccessCheckReady'];
    expect(readyCondition((t) => c[t], allFlagsOn, undefined)).to.deep.equal({
      type: 'Ready',
      status: 'Unknown',
      reason: 'Pending',
      message: 'waiting for AccessCheckReady',
    });
  });
});

describe('reconcileAccessRequest: searches for the driver', () => {
  it('reports the re-reads of existing entries once checks are frozen', () => {
    const w = granted();
    const r = reconcileAccessRequest(inputs(w, at('10:20:00')));
    expect(r.kind === 'apply' && r.searches).to.deep.equal([
      {
        apiVersion: 'openshift-pipelines.org/v1alpha1',
        kind: 'ApprovalTask',
        namespace: 'cicd',
        selector: [],
        name: 'promote-run-abc12-wait-for-approval',
      },
    ]);
  });
});
