/**
 * "Beyond the peers" (connectors-approval.md §11) on the local control plane: approver constraints
 * in the policy (a mismatch, a threshold of two), a time limit on grants (maxDuration), and the
 * pre-flight AccessReview through `kubectl create -f review.yaml -o yaml`, for a Pod not started yet,
 * for one already allowed, and for callers who may read only part of the answer.
 *
 * The world is that of approval.test.ts: per scenario a `devops-…` namespace (Connector, AccessPolicy,
 * AccessRequest) and a `cicd-…` namespace (Pod, ServiceAccount, Tekton-style ApprovalTask), with the
 * feature flags of `connectors-config` switched on in `before` and restored in `after` (scenes.ts).
 *
 * With BEYOND_REVIEW_OUT=<file> the pending review's YAML is written there (for the README).
 */
import { writeFileSync } from 'node:fs';
import { expect } from 'chai';
import { parse as parseYAML } from 'yaml';
import { eventually, kubectl, useControlPlane } from './setup.js';
import {
  approvalTaskYaml,
  authCanI,
  conditions,
  createRequest,
  eventReasons,
  getRequest,
  grantObjects,
  gv,
  ok,
  podName,
  podUid,
  podYaml,
  sleep,
  taskName,
  useScenes,
  waitFor as waitForCondition,
  type Condition,
  type PolicyOptions,
  type Run,
  type Scene,
} from './scenes.js';

interface ReviewObject {
  metadata: Record<string, unknown>;
  status: {
    approvalEnabled: boolean;
    context: { valid: boolean; reason: string; message?: string };
    connectorResolved: boolean;
    allowed: boolean;
    allowedBy?: string;
    checkReady?: { status: string; reason: string; message?: string };
    hidden?: string[];
    policies?: {
      name: string;
      maxDuration?: string;
      checks?: { name: string; search?: Record<string, string>; approvers?: string[]; numberOfApprovalsRequired?: number; objects?: { ref: { name: string }; approvers?: string[]; condition: Condition; approvedBy?: string[] }[]; condition?: Condition }[];
      rules?: { resources: string[]; resourceNames: string[] }[];
    }[];
  };
}

/** Polls every 250 ms. */
function waitFor(ns: string, name: string, type: string, status: string, reason: string, timeoutMs = 60_000): Promise<Record<string, Condition>> {
  return waitForCondition(ns, name, type, status, reason, { timeoutMs, intervalMs: 250 });
}

/** The ApprovalTask of PipelineRun `run` in `status` (Tekton writes it when the run reaches the gate). */
async function approvalTask(s: Scene, run: string, status: Record<string, unknown>): Promise<string> {
  const spec = `spec:
  approvers: [{name: alice, type: User}, {name: mallory, type: User}]
  numberOfApprovalsRequired: 1
`;
  await ok(['apply', '-f', '-'], approvalTaskYaml(s.cicd, run, JSON.stringify(status), spec));
  return taskName(run);
}

const setTaskStatus = (s: Scene, task: string, status: Record<string, unknown>): Promise<string> =>
  ok(['patch', 'approvaltask', task, '-n', s.cicd, '--type=merge', '-p', JSON.stringify({ status })]);

/** The task Pod of `run` running as `builder`, and the AccessRequest the helper would file for it (without its labels). */
async function startPod(s: Scene, run: string): Promise<Run> {
  const pod = podName(run);
  await ok(['apply', '-f', '-'], podYaml(s.cicd, run));
  const uid = await podUid(s, pod);
  const request = await createRequest(s, pod, uid, { labels: false });
  return { pod, uid, request, task: taskName(run), grant: `${request}-prod-harbor-approval` };
}

/** kubectl auth can-i as the Pod's ServiceAccount, for its per-Pod subresource. */
async function canI(s: Scene, pod: string): Promise<string> {
  return (await authCanI(s, pod)).stdout.trim();
}

const reviewYaml = (s: Scene, context: string): string => `apiVersion: ${gv}
kind: AccessReview
metadata: {namespace: ${s.devops}}
spec:
  connectorRef: {name: prod-harbor}
  subject: {kind: ServiceAccount, name: builder, namespace: ${s.cicd}}
  context: ${context}
`;

const templateContext = (s: Scene, run: string): string =>
  `{podTemplate: {namespace: ${s.cicd}, name: ${run}-push-image-pod, labels: {tekton.dev/pipelineRun: ${run}}, serviceAccountName: builder}}`;

/** `kubectl create -f review.yaml -o yaml`, as `as` (default: admin); returns the raw YAML and the object. */
async function review(s: Scene, context: string, as?: string): Promise<{ yaml: string; obj: ReviewObject }> {
  const yaml = await ok(['create', '-f', '-', '-o', 'yaml'], reviewYaml(s, context), as);
  return { yaml, obj: parseYAML(yaml) as ReviewObject };
}

describe('beyond the peers: approver constraints, maxDuration, AccessReview (spec §11)', function () {
  useControlPlane();
  const scenes = useScenes();
  /** A scene with ServiceAccount `builder` and the §10 policy with `params` on its check and an optional maxDuration. */
  const newScene = (policy: Pick<PolicyOptions, 'params' | 'maxDuration'> = {}): Promise<Scene> => scenes.newScene({ policy });

  it('approver mismatch: an answer from someone not listed fails the check for good (§11.1)', async function () {
    this.timeout(120_000);
    const s = await newScene({ params: '[{name: approvers, value: [alice, "group:release-managers"]}]' });
    // The pipeline author listed mallory in the task's spec; only the policy's list counts.
    const task = await approvalTask(s, 'promote-run-mis1', { state: 'approved', approversResponse: [{ name: 'mallory', type: 'User', response: 'approved' }] });
    const run = await startPod(s, 'promote-run-mis1');
    const c = await waitFor(s.devops, run.request, 'AccessCheckReady', 'False', 'ApproverMismatch');
    const message = `manual-approval (policy prod-harbor-approval): ApprovalTask ${s.cicd}/${task} was answered by mallory, who is not a listed approver`;
    expect(c['AccessCheckReady']).to.include({ message });
    expect(c['Ready']).to.include({ status: 'False', reason: 'ApproverMismatch', message });
    expect(c['AccessPermissionSync']).to.include({ status: 'Unknown', reason: 'Pending' });
    expect(await grantObjects(s, run)).to.deep.equal([]);
    await eventually('AccessRejected', async () => ((await eventReasons(s, run.request)).includes('AccessRejected') ? true : undefined), { timeoutMs: 20_000 });

    // Final: the listed approver answering afterwards changes nothing.
    await setTaskStatus(s, task, { state: 'approved', approversResponse: [{ name: 'alice', type: 'User', response: 'approved' }] });
    await sleep(3000);
    const later = await conditions(s.devops, run.request);
    expect(later['AccessCheckReady']).to.include({ status: 'False', reason: 'ApproverMismatch', message });
    expect(await grantObjects(s, run)).to.deep.equal([]);
    expect(await canI(s, run.pod)).to.equal('no');
  });

  it('threshold of two: one listed approval stays Pending, the second (a group member) grants (§11.1)', async function () {
    this.timeout(120_000);
    const s = await newScene({ params: '[{name: approvers, value: [alice, "group:release-managers"]}, {name: numberOfApprovalsRequired, value: "2"}]' });
    // Tekton keeps the task pending until its own threshold is met.
    const task = await approvalTask(s, 'promote-run-two1', { state: 'pending', approversResponse: [{ name: 'alice', type: 'User', response: 'approved' }] });
    const run = await startPod(s, 'promote-run-two1');
    const c = await waitFor(s.devops, run.request, 'Ready', 'Unknown', 'Pending');
    expect(c['AccessCheckReady']).to.include({ status: 'Unknown', reason: 'Pending' });
    const entry = async (): Promise<{ condition: Condition; approvedBy?: string[] } | undefined> => (await getRequest(s.devops, run.request))?.status?.policies?.[0]?.matchedChecks?.[0];
    expect((await entry())?.approvedBy).to.deep.equal(['alice']);
    expect(await grantObjects(s, run)).to.deep.equal([]);

    await setTaskStatus(s, task, {
      state: 'approved',
      approversResponse: [
        { name: 'alice', type: 'User', response: 'approved' },
        { name: 'release-managers', type: 'Group', groupMembers: [{ name: 'bob', response: 'approved' }] },
      ],
    });
    const granted = await waitFor(s.devops, run.request, 'Ready', 'True', 'Synced');
    expect(granted['AccessCheckReady']).to.include({ status: 'True', reason: 'Passed' });
    const passed = await entry();
    expect(passed?.condition).to.include({ status: 'True', reason: 'Passed' });
    expect(passed?.approvedBy).to.deep.equal(['alice', 'bob']);
    expect(await grantObjects(s, run)).to.have.members([`role.rbac.authorization.k8s.io/${run.grant}`, `rolebinding.rbac.authorization.k8s.io/${run.grant}`]);
    await eventually('access allowed', async () => ((await canI(s, run.pod)) === 'yes' ? true : undefined), { timeoutMs: 20_000 });
  });

  it('maxDuration 5s: the grant is removed when it expires, Ready False/Expired (§11.2)', async function () {
    this.timeout(120_000);
    const s = await newScene({ maxDuration: '5s' });
    await approvalTask(s, 'promote-run-exp1', { state: 'approved' });
    const run = await startPod(s, 'promote-run-exp1');
    const granted = await waitFor(s.devops, run.request, 'Ready', 'True', 'Synced');
    const expiresAt = (await getRequest(s.devops, run.request))?.status?.grantExpiresAt;
    expect(expiresAt, 'grantExpiresAt').to.be.a('string');
    const passedAt = Date.parse(granted['AccessCheckReady']?.lastTransitionTime ?? '');
    expect(Date.parse(expiresAt ?? '') - passedAt).to.equal(5000);
    expect(await grantObjects(s, run)).to.have.length(2);

    const expired = await waitFor(s.devops, run.request, 'Ready', 'False', 'Expired', 30_000);
    const message = `grant expired at ${expiresAt ?? ''} (maxDuration 5s of AccessPolicy prod-harbor-approval)`;
    expect(expired['Ready']).to.include({ message });
    expect(expired['AccessPermissionSync']).to.include({ status: 'True', reason: 'PermissionCleanUp' });
    expect(expired['AccessCheckReady']).to.include({ status: 'True', reason: 'Passed' });
    expect(expired['ContextObjectValid']).to.include({ status: 'True', reason: 'Active' });
    // Revoked within a few seconds of the deadline, not at some later resync.
    expect(Date.parse(expired['Ready']?.lastTransitionTime ?? '') - Date.parse(expiresAt ?? '')).to.be.lessThan(5000);
    expect(await grantObjects(s, run)).to.deep.equal([]);
    expect((await getRequest(s.devops, run.request))?.status?.policies?.[0]?.permissionSync).to.include({ status: 'True', reason: 'PermissionCleanUp' });
    expect(await eventReasons(s, run.request)).to.include.members(['PermissionGranted', 'PermissionRevoked']);
    await eventually('access denied', async () => ((await canI(s, run.pod)) === 'no' ? true : undefined), { timeoutMs: 20_000 });
    // Final: nothing grants it again.
    await sleep(3000);
    expect((await conditions(s.devops, run.request))['Ready']).to.include({ status: 'False', reason: 'Expired' });
    expect(await grantObjects(s, run)).to.deep.equal([]);
  });

  it('AccessReview: kubectl create -f review.yaml -o yaml, before the Pod starts and once it is allowed (§11.3)', async function () {
    this.timeout(120_000);
    const s = await newScene({ maxDuration: '30m' });
    const task = await approvalTask(s, 'promote-run-abc12', { state: 'pending' });

    // Before the Pod exists: what would happen, and who may approve.
    const before = await review(s, templateContext(s, 'promote-run-abc12'));
    if (process.env['BEYOND_REVIEW_OUT'] !== undefined) writeFileSync(process.env['BEYOND_REVIEW_OUT'], before.yaml);
    const pod = 'promote-run-abc12-push-image-pod';
    const waiting = `waiting for ApprovalTask ${s.cicd}/${task} to be approved`;
    expect(before.obj.metadata).to.deep.equal({ namespace: s.devops });
    expect(before.obj.status).to.deep.equal({
      approvalEnabled: true,
      context: { valid: true, reason: 'Active' },
      connectorResolved: true,
      allowed: false,
      checkReady: { status: 'Unknown', reason: 'Pending', message: `manual-approval (policy prod-harbor-approval): ${waiting}` },
      policies: [
        {
          name: 'prod-harbor-approval',
          maxDuration: '30m',
          checks: [
            {
              name: 'manual-approval',
              search: { apiVersion: 'openshift-pipelines.org/v1alpha1', kind: 'ApprovalTask', namespace: s.cicd, labelSelector: 'tekton.dev/pipelineRun=promote-run-abc12' },
              objects: [
                {
                  ref: (before.obj.status.policies?.[0]?.checks?.[0]?.objects?.[0]?.ref ?? { name: '' }),
                  approvers: ['alice', 'mallory'],
                  condition: { type: 'Ready', status: 'Unknown', reason: 'Pending', message: waiting },
                },
              ],
              condition: { status: 'Unknown', reason: 'Pending', message: waiting },
            },
          ],
          rules: [{ apiGroups: ['connectors.alauda.io'], resources: [`connectors/proxy/v1/pod/${s.cicd}/${pod}`], resourceNames: ['prod-harbor'], verbs: ['*'] }],
        },
      ],
    });
    expect(before.obj.status.policies?.[0]?.checks?.[0]?.objects?.[0]?.ref).to.include({ kind: 'ApprovalTask', namespace: s.cicd, name: task });
    // Never stored: nothing to get, list or watch.
    const get = await kubectl(['get', 'accessreviews', '-n', s.devops]);
    expect(get.code).to.not.equal(0);
    expect(get.stderr).to.match(/MethodNotAllowed|not allowed|the server does not allow this method/);

    // Approved, Pod started and granted: the review for that Pod says it is allowed, and by what.
    await setTaskStatus(s, task, { state: 'approved' });
    const run = await startPod(s, 'promote-run-abc12');
    await waitFor(s.devops, run.request, 'Ready', 'True', 'Synced');
    const after = await eventually(
      'the review allowed',
      async () => {
        const r = await review(s, `{objectRef: {kind: Pod, namespace: ${s.cicd}, name: ${pod}}}`);
        return r.obj.status.allowed ? r : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(after.obj.status.context).to.deep.equal({ valid: true, reason: 'Active' });
    expect(after.obj.status.allowedBy).to.equal(`RBAC: allowed by RoleBinding "${run.grant}/${s.devops}" of Role "${run.grant}" to ServiceAccount "builder/${s.cicd}"`);
    expect(after.obj.status.checkReady).to.deep.equal({ status: 'True', reason: 'Passed' });
  });

  it('AccessReview shows callers only what they may read: hidden[] (§11.3)', async function () {
    this.timeout(120_000);
    const s = await newScene();
    await approvalTask(s, 'promote-run-hid1', { state: 'pending' });
    const context = templateContext(s, 'promote-run-hid1');

    // bob may create reviews and read the Connector, nothing else.
    await ok(['apply', '-f', '-'], `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reviewer, namespace: ${s.devops}}
rules:
- {apiGroups: [connectors.alauda.io], resources: [accessreviews], verbs: [create]}
- {apiGroups: [connectors.alauda.io], resources: [connectors], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reviewer-bob, namespace: ${s.devops}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reviewer}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}]
---
# alice gets the built-in view role in the Connector's namespace (our aggregate-to-view rules included).
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: view-alice, namespace: ${s.devops}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
`);
    // --validate=false: for a create-only kind kubectl's schema check lists CRDs, which these users may
    // not do — exactly as for kube-apiserver's own SelfSubjectAccessReview (kubectl 1.36).
    const create = ['create', '--validate=false', '-f', '-', '-o', 'yaml'];
    let last = '';
    const bob = await eventually('bob may review', async () => {
      const r = await kubectl(create, { as: 'bob', input: reviewYaml(s, context) });
      last = r.stderr;
      return r.code === 0 ? (parseYAML(r.stdout) as ReviewObject) : undefined;
    }).catch((e: unknown) => {
      throw new Error(`${String(e)}: ${last}`);
    });
    expect(bob.status).to.deep.equal({
      approvalEnabled: true,
      context: { valid: true, reason: 'Active' },
      connectorResolved: true,
      allowed: false,
      hidden: ['accesspolicies', 'rolebindings'],
    });

    // view lists policies but not ApprovalTasks in cicd: the search is shown, not what it found.
    const alice = await eventually('alice may review', async () => {
      const r = await kubectl(create, { as: 'alice', input: reviewYaml(s, context) });
      return r.code === 0 ? (parseYAML(r.stdout) as ReviewObject) : undefined;
    });
    expect(alice.status.hidden).to.deep.equal([`approvaltasks.openshift-pipelines.org in ${s.cicd}`, 'rolebindings']);
    expect(alice.status.policies?.map((p) => p.name)).to.deep.equal(['prod-harbor-approval']);
    expect(alice.status.policies?.[0]?.checks?.[0]).to.have.keys('name', 'search');
    expect(alice.status).to.not.have.property('checkReady');

    // An existing Pod the caller may not read: 403 for the whole review.
    await startPod(s, 'promote-run-hid1');
    const pod = await kubectl(create, { as: 'bob', input: reviewYaml(s, `{objectRef: {kind: Pod, namespace: ${s.cicd}, name: promote-run-hid1-push-image-pod}}`) });
    expect(pod.code).to.not.equal(0);
    expect(pod.stderr).to.include(`pods "promote-run-hid1-push-image-pod" is forbidden: User "bob" cannot get resource "pods" in API group "" in the namespace "${s.cicd}"`);
    // Without create accessreviews at all: 403 from authorization.
    const nobody = await kubectl(create, { as: 'system:serviceaccount:default:nobody', input: reviewYaml(s, context) });
    expect(nobody.code).to.not.equal(0);
    expect(nobody.stderr).to.include('cannot create resource "accessreviews" in API group "connectors.alauda.io"');
  });
});
