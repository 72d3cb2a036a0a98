/**
 * The approval flow of connectors-approval.md §10 on the local control plane: the built-in
 * controller of our server reads the Pod, the Connector, the AccessPolicy and Tekton-style
 * ApprovalTasks, writes the AccessRequest status, and creates and removes the temporary Role and
 * RoleBinding through kube-apiserver. Pods never run (no kubelet, no scheduler): their phase is set
 * through the status subresource, as a kubelet would, and a delete removes them at once.
 *
 * Every scenario gets its own pair of namespaces (`devops` for the Connector, the AccessPolicy and
 * the AccessRequest; `cicd` for the Pod, its ServiceAccount and the ApprovalTask). The feature flags
 * of `connectors-config` are switched on in `before` and put back as they were in `after`. The scenes,
 * their manifests and those hooks come from scenes.ts.
 */
import { expect } from 'chai';
import { eventually, kubectl, uniqueName, useControlPlane } from './setup.js';
import {
  approvalFlag,
  authCanI,
  bothOn,
  conditions,
  connectorYaml,
  createRequest,
  eventReasons,
  getRequest,
  grantObjects,
  ok,
  podName,
  podUid,
  podYaml,
  policyYaml,
  proxyFlag,
  roleTemplateYaml,
  runYaml,
  setFlags,
  sleep,
  systemNamespace,
  taskName,
  useScenes,
  waitFor,
  type Condition,
  type Run,
  type Scene,
} from './scenes.js';

/** Leaves the controller time for passes it might (wrongly) make, then returns the conditions. */
async function settled(ns: string, name: string): Promise<Record<string, Condition>> {
  await sleep(3000);
  return conditions(ns, name);
}

const pending = (message: string): Partial<Condition> => ({ status: 'Unknown', reason: 'Pending', message });

/**
 * A task Pod of PipelineRun `run` (running as `podServiceAccount`, default `builder`), its
 * ApprovalTask in `state`, and the AccessRequest the helper would create for ServiceAccount
 * `<cicd>/builder` on Connector `prod-harbor`.
 */
async function startRun(s: Scene, run: string, state: string, opts: { podServiceAccount?: string } = {}): Promise<Run> {
  const pod = podName(run);
  await ok(['apply', '-f', '-'], runYaml(s.cicd, run, state, { serviceAccount: opts.podServiceAccount }));
  const uid = await podUid(s, pod);
  const request = await createRequest(s, pod, uid);
  return { pod, uid, request, task: taskName(run), grant: `${request}-prod-harbor-approval` };
}

const setTaskState = (s: Scene, run: Run, state: string): Promise<string> =>
  ok(['patch', 'approvaltask', run.task, '-n', s.cicd, '--type=merge', '-p', JSON.stringify({ status: { state } })]);

const sar = (s: Scene, pod: string): string =>
  JSON.stringify({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: `system:serviceaccount:${s.cicd}:builder`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${s.cicd}`, 'system:authenticated'],
      resourceAttributes: { group: 'connectors.alauda.io', resource: 'connectors', subresource: `proxy/v1/pod/${s.cicd}/${pod}`, name: 'prod-harbor', namespace: s.devops, verb: '*' },
    },
  });

/** kube-apiserver's own answer to the helper's SubjectAccessReview for the Pod's identity. */
async function allowed(s: Scene, pod: string): Promise<boolean> {
  const out = await ok(['create', '-o', 'jsonpath={.status.allowed}', '-f', '-'], sar(s, pod));
  return out.trim() === 'true';
}

/** `kubectl auth can-i` as the Pod's ServiceAccount: `yes` or `no`. */
async function canI(s: Scene, pod: string): Promise<string> {
  const r = await authCanI(s, pod);
  const answer = r.stdout.trim();
  expect(answer, `kubectl auth can-i: ${r.stderr}`).to.be.oneOf(['yes', 'no']);
  expect(r.code).to.equal(answer === 'yes' ? 0 : 1);
  return answer;
}

/** Both views of the grant agree and reach `want` (RBAC changes take a moment to propagate). */
async function expectAccess(s: Scene, pod: string, want: boolean): Promise<void> {
  await eventually(
    `access ${want ? 'allowed' : 'denied'}`,
    async () => ((await allowed(s, pod)) === want && (await canI(s, pod)) === (want ? 'yes' : 'no') ? true : undefined),
    { timeoutMs: 20_000 },
  );
}

async function expectGranted(s: Scene, run: Run): Promise<Record<string, Condition>> {
  const c = await waitFor(s.devops, run.request, 'Ready', 'True', 'Synced');
  expect(c['AccessCheckReady']).to.include({ status: 'True', reason: 'Passed' });
  expect(c['AccessPermissionSync']).to.include({ status: 'True', reason: 'Synced' });
  expect(await grantObjects(s, run)).to.have.members([`role.rbac.authorization.k8s.io/${run.grant}`, `rolebinding.rbac.authorization.k8s.io/${run.grant}`]);
  await expectAccess(s, run.pod, true);
  return c;
}

describe('approval flow (controller e2e, spec §10)', function () {
  useControlPlane();
  const scenes = useScenes();
  const { createdConfigMaps } = scenes;
  /** A scene with ServiceAccounts `builder` and `deployer`, the policy (unless false) with `roleTemplate`. */
  const newScene = (opts: { policy?: boolean; roleTemplate?: string } = {}): Promise<Scene> =>
    scenes.newScene({
      serviceAccounts: ['builder', 'deployer'],
      policy: opts.policy === false ? false : opts.roleTemplate === undefined ? {} : { roleTemplate: opts.roleTemplate },
    });

  it('pending → approved → synced → Pod completes → cleaned up (§10.1)', async function () {
    this.timeout(240_000);
    const s = await newScene();
    const run = await startRun(s, 'promote-run-abc12', 'pending');
    const { pod, request, grant } = run;
    const first = await waitFor(s.devops, request, 'Ready', 'Unknown', 'Pending');
    expect(first['ContextObjectValid']).to.include({ status: 'True', reason: 'Active' });
    expect(first['ConnectorResolved']).to.include({ status: 'True', reason: 'Resolved' });
    expect(first['AccessPolicyMatched']).to.include({ status: 'True', reason: 'Matched' });
    expect(first['AccessCheckReady']).to.include({ status: 'Unknown', reason: 'Pending' });
    expect(first['AccessPermissionSync']).to.include(pending('waiting for checks to pass'));
    const row = (await ok(['get', 'accessrequest', request, '-n', s.devops, '--no-headers'])).trim();
    expect(row).to.match(new RegExp(`^${request}\\s+prod-harbor\\s+builder\\s+True\\s+Pending\\s+\\d+s$`));
    expect(await allowed(s, pod)).to.equal(false);
    expect(await canI(s, pod)).to.equal('no');

    await setTaskState(s, run, 'approved');
    const granted = await waitFor(s.devops, request, 'Ready', 'True', 'Synced');
    expect(granted['AccessCheckReady']).to.include({ status: 'True', reason: 'Passed' });
    expect(granted['AccessPermissionSync']).to.include({ status: 'True', reason: 'Synced' });
    const role = JSON.parse(await ok(['get', 'role', grant, '-n', s.devops, '-o', 'json'])) as {
      metadata: { labels: Record<string, string>; ownerReferences: { kind: string; name: string; controller: boolean }[] };
      rules: { resources: string[]; resourceNames: string[]; verbs: string[] }[];
    };
    expect(role.metadata.labels).to.include({ 'connectors.alauda.io/accessRequest': request, 'connectors.alauda.io/accessPolicy': 'prod-harbor-approval' });
    expect(role.metadata.ownerReferences[0]).to.include({ kind: 'AccessRequest', name: request, controller: true });
    expect(role.rules).to.deep.equal([{ apiGroups: ['connectors.alauda.io'], resources: [`connectors/proxy/v1/pod/${s.cicd}/${pod}`], resourceNames: ['prod-harbor'], verbs: ['*'] }]);
    const binding = JSON.parse(await ok(['get', 'rolebinding', grant, '-n', s.devops, '-o', 'json'])) as { subjects: unknown[]; roleRef: unknown };
    expect(binding.subjects).to.deep.equal([{ kind: 'ServiceAccount', name: 'builder', namespace: s.cicd }]);
    expect(binding.roleRef).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: grant });
    // kube-apiserver's own authorizer now lets the Pod's identity through the proxy: both the
    // helper's SubjectAccessReview and `kubectl auth can-i` as the ServiceAccount say yes.
    await expectAccess(s, pod, true);
    expect(await eventReasons(s, request)).to.include('PermissionGranted');

    await ok(['patch', 'pod', pod, '-n', s.cicd, '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Succeeded"}}']);
    const done = await waitFor(s.devops, request, 'Ready', 'False', 'Completed');
    expect(done['ContextObjectValid']).to.include({ status: 'False', reason: 'Completed', message: `Pod ${s.cicd}/${pod} has phase Succeeded` });
    expect(done['AccessPermissionSync']).to.include({ status: 'True', reason: 'PermissionCleanUp' });
    // The cleanup keeps the time of the grant (§10.1: "time stays").
    expect(done['AccessPermissionSync']?.lastTransitionTime).to.equal(granted['AccessPermissionSync']?.lastTransitionTime);
    expect((await kubectl(['get', 'role', grant, '-n', s.devops])).stderr).to.include('NotFound');
    expect((await kubectl(['get', 'rolebinding', grant, '-n', s.devops])).stderr).to.include('NotFound');
    await expectAccess(s, pod, false);
    expect(await eventReasons(s, request)).to.include('PermissionRevoked');
  });

  it('rejected: no RBAC, AccessRejected, later approvals change nothing (§10.2)', async function () {
    this.timeout(120_000);
    const s = await newScene();
    const run = await startRun(s, 'promote-run-def34', 'rejected');
    const c = await waitFor(s.devops, run.request, 'Ready', 'False', 'Rejected');
    expect(c['AccessCheckReady']).to.include({
      status: 'False',
      reason: 'Rejected',
      message: `manual-approval (policy prod-harbor-approval): ApprovalTask ${s.cicd}/${run.task} was rejected`,
    });
    expect(c['AccessPermissionSync']).to.include({ status: 'Unknown', reason: 'Pending' });
    await setTaskState(s, run, 'approved');
    expect((await settled(s.devops, run.request))['Ready']).to.include({ status: 'False', reason: 'Rejected' });
    expect(await grantObjects(s)).to.deep.equal([]);
    expect(await eventReasons(s, run.request)).to.include('AccessRejected');
  });

  it('waits for a matching policy (NoMatch) and matches once one appears', async function () {
    this.timeout(120_000);
    const s = await newScene({ policy: false });
    const run = await startRun(s, 'promote-run-nomatch', 'pending');
    const c = await waitFor(s.devops, run.request, 'AccessPolicyMatched', 'False', 'NoMatch');
    expect(c['AccessPolicyMatched']).to.include({ message: `no AccessPolicy with checkGrantedPermission in namespace ${s.devops} selects Connector prod-harbor` });
    expect(c['AccessCheckReady']).to.include(pending('waiting for a matching AccessPolicy'));
    expect(c['Ready']).to.include({ status: 'False', reason: 'NoMatch' });
    await ok(['apply', '-f', '-'], policyYaml(s.devops));
    await waitFor(s.devops, run.request, 'AccessPolicyMatched', 'True', 'Matched');
    await waitFor(s.devops, run.request, 'Ready', 'Unknown', 'Pending');
  });

  it('Connector deleted mid-flight: RBAC revoked, NotFound; recreated: granted again', async function () {
    this.timeout(180_000);
    const s = await newScene();
    const run = await startRun(s, 'promote-run-conn1', 'approved');
    const granted = await expectGranted(s, run);

    // A finalizer keeps the Connector in deletion for a while: being deleted counts as missing.
    await ok(['patch', 'connector', 'prod-harbor', '-n', s.devops, '--type=merge', '-p', '{"metadata":{"finalizers":["e2e.example.com/hold"]}}']);
    await ok(['delete', 'connector', 'prod-harbor', '-n', s.devops, '--wait=false']);
    const deleting = await waitFor(s.devops, run.request, 'ConnectorResolved', 'False', 'NotFound');
    expect(deleting['ConnectorResolved']).to.include({ message: `Connector ${s.devops}/prod-harbor is being deleted` });
    expect(deleting['AccessPermissionSync']).to.include({ status: 'True', reason: 'PermissionCleanUp' });
    expect(await grantObjects(s)).to.deep.equal([]);
    await ok(['patch', 'connector', 'prod-harbor', '-n', s.devops, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    const message = `Connector ${s.devops}/prod-harbor not found`;
    const gone = await eventually('ConnectorResolved: not found', async () => {
      const c = await conditions(s.devops, run.request);
      return c['ConnectorResolved']?.message === message ? c : undefined;
    });
    expect(gone['ConnectorResolved']).to.include({ status: 'False', reason: 'NotFound' });
    expect(gone['Ready']).to.include({ status: 'False', reason: 'NotFound', message });
    expect(gone['ContextObjectValid']).to.include({ status: 'True', reason: 'Active' });
    expect(gone['AccessPolicyMatched']).to.include({ status: 'True', reason: 'Matched' });
    expect(gone['AccessCheckReady']).to.include({ status: 'True', reason: 'Passed' });
    expect(gone['AccessPermissionSync']).to.include({ status: 'True', reason: 'PermissionCleanUp' });
    expect(gone['AccessPermissionSync']?.lastTransitionTime).to.equal(granted['AccessPermissionSync']?.lastTransitionTime);
    const snapshot = (await getRequest(s.devops, run.request))?.status?.policies ?? [];
    expect(snapshot.map((p) => [p.name, p.permissionSync?.reason])).to.deep.equal([['prod-harbor-approval', 'PermissionCleanUp']]);
    expect(await grantObjects(s)).to.deep.equal([]);
    await expectAccess(s, run.pod, false);
    expect(await eventReasons(s, run.request)).to.include('PermissionRevoked');

    // Not terminal: the Connector returns, the request is evaluated again and granted again.
    await ok(['apply', '-f', '-'], connectorYaml(s.devops));
    const again = await expectGranted(s, run);
    expect(again['ConnectorResolved']).to.include({ status: 'True', reason: 'Resolved' });
    const after = (await getRequest(s.devops, run.request))?.status?.policies ?? [];
    expect(after.map((p) => p.name)).to.deep.equal(['prod-harbor-approval']);
    expect(after[0]?.policySpec).to.deep.equal(snapshot[0]?.policySpec);
  });

  it('AccessPolicy edited or deleted mid-flight: the snapshot in status.policies decides', async function () {
    this.timeout(180_000);
    const s = await newScene();
    const run = await startRun(s, 'promote-run-edit1', 'pending');
    await waitFor(s.devops, run.request, 'Ready', 'Unknown', 'Pending');
    const original = (JSON.parse(await ok(['get', 'accesspolicy', 'prod-harbor-approval', '-n', s.devops, '-o', 'json'])) as { spec: unknown }).spec;
    const before = (await getRequest(s.devops, run.request))?.status?.policies ?? [];
    expect(before.map((p) => p.name)).to.deep.equal(['prod-harbor-approval']);
    expect(before[0]?.policySpec).to.deep.equal(original);

    // Edit: a check nobody can pass and the any-Pod role template. Neither may reach the request.
    await ok(['patch', 'accesspolicy', 'prod-harbor-approval', '-n', s.devops, '--type=merge', '-p', JSON.stringify({
      spec: {
        checkGrantedPermission: {
          spec: {
            checks: [{ name: 'security-review', ref: { configMap: { name: 'connectors-e2e-no-such-check' } } }],
            roleTemplate: { ref: { configMap: { name: 'connectors-use-connectors-proxy' } } },
          },
        },
      },
    })]);
    expect((await ok(['get', 'accesspolicy', 'prod-harbor-approval', '-n', s.devops, '-o', 'jsonpath={.metadata.generation}'])).trim()).to.equal('2');
    await setTaskState(s, run, 'approved');
    await expectGranted(s, run);
    const role = JSON.parse(await ok(['get', 'role', run.grant, '-n', s.devops, '-o', 'json'])) as { rules: { resources: string[] }[] };
    expect(role.rules.map((r) => r.resources)).to.deep.equal([[`connectors/proxy/v1/pod/${s.cicd}/${run.pod}`]]);
    const after = (await getRequest(s.devops, run.request))?.status?.policies ?? [];
    expect(after.map((p) => p.name)).to.deep.equal(['prod-harbor-approval']);
    expect(after[0]?.policySpec).to.deep.equal(original);
    expect(after[0]?.matchedChecks?.map((m) => [m.name, m.ref.name, m.condition.reason])).to.deep.equal([['manual-approval', run.task, 'Passed']]);

    // Deleted: the snapshot still drives the checks. Back to pending revokes, approved grants again.
    await ok(['delete', 'accesspolicy', 'prod-harbor-approval', '-n', s.devops]);
    await setTaskState(s, run, 'pending');
    const waiting = await waitFor(s.devops, run.request, 'Ready', 'Unknown', 'Pending');
    expect(waiting['AccessPolicyMatched']).to.include({ status: 'True', reason: 'Matched' });
    expect(waiting['AccessPermissionSync']).to.include({ status: 'Unknown', reason: 'Pending' });
    expect(await grantObjects(s)).to.deep.equal([]);
    await setTaskState(s, run, 'approved');
    await expectGranted(s, run);
    expect((await getRequest(s.devops, run.request))?.status?.policies?.[0]?.policySpec).to.deep.equal(original);
  });

  it('subject / Pod ServiceAccount mismatch: terminal SubjectMismatch, nothing granted', async function () {
    this.timeout(120_000);
    const s = await newScene();
    // The Pod runs as `deployer`; the request asks for `builder`.
    const run = await startRun(s, 'promote-run-sa1', 'pending', { podServiceAccount: 'deployer' });
    const c = await waitFor(s.devops, run.request, 'ContextObjectValid', 'False', 'SubjectMismatch');
    const message = `Pod ${s.cicd}/${run.pod} runs as ServiceAccount ${s.cicd}/deployer, not ${s.cicd}/builder`;
    expect(c['ContextObjectValid']).to.include({ message });
    expect(c['Ready']).to.include({ status: 'False', reason: 'SubjectMismatch', message });
    for (const t of ['ConnectorResolved', 'AccessPolicyMatched', 'AccessCheckReady', 'AccessPermissionSync'])
      expect(c[t], t).to.include(pending('waiting for a valid context object'));
    expect((await getRequest(s.devops, run.request))?.status?.policies ?? []).to.deep.equal([]);

    // Terminal: an approval changes nothing.
    await setTaskState(s, run, 'approved');
    const later = await settled(s.devops, run.request);
    expect(later['Ready']).to.include({ status: 'False', reason: 'SubjectMismatch' });
    expect(later['AccessCheckReady']).to.include({ status: 'Unknown', reason: 'Pending' });
    expect(await grantObjects(s)).to.deep.equal([]);
    expect(await canI(s, run.pod)).to.equal('no');
  });

  it('a role template that grants something else: scope guard, SyncFailed, nothing created', async function () {
    this.timeout(180_000);
    const template = uniqueName('connectors-e2e-grabby');
    createdConfigMaps.push(template);
    // The first rule is fine; the second reaches for Secrets. Neither may be created.
    await ok(['apply', '-f', '-'], roleTemplateYaml(template, `    - apiGroups: [""]
      resources: [secrets]
      verbs: [get, list]
`));
    const s = await newScene({ roleTemplate: template });
    const run = await startRun(s, 'promote-run-guard1', 'approved');
    const c = await waitFor(s.devops, run.request, 'AccessPermissionSync', 'False', 'SyncFailed');
    const message = `prod-harbor-approval: role template ConfigMap ${systemNamespace}/${template}: scope guard: rules[1]: apiGroups must be exactly ["connectors.alauda.io"], not [""]`;
    expect(c['AccessPermissionSync']).to.include({ message });
    expect(c['AccessCheckReady']).to.include({ status: 'True', reason: 'Passed' });
    expect(c['Ready']).to.include({ status: 'False', reason: 'SyncFailed', message });
    const snapshot = (await getRequest(s.devops, run.request))?.status?.policies ?? [];
    expect(snapshot[0]?.permissionSync).to.include({ status: 'False', reason: 'SyncFailed' });
    expect(await grantObjects(s)).to.deep.equal([]);
    expect(await canI(s, run.pod)).to.equal('no');
    expect(await eventReasons(s, run.request)).not.to.include('PermissionGranted');

    // Templates are read at use: once the admin fixes it, the next pass grants.
    await ok(['apply', '-f', '-'], roleTemplateYaml(template));
    await expectGranted(s, run);
  });

  it('flags off: FeatureDisabled, RBAC removed; flags back on: evaluated anew', async function () {
    this.timeout(240_000);
    const s = await newScene();
    const run = await startRun(s, 'promote-run-flags1', 'approved');
    const granted = await expectGranted(s, run);
    try {
      await setFlags({ [approvalFlag]: 'false' });
      const off = await waitFor(s.devops, run.request, 'Ready', 'Unknown', 'FeatureDisabled');
      expect(off['Ready']).to.include({ message: 'feature flags not enabled: enable-connectors-approval' });
      expect(off['AccessPermissionSync']).to.include({ status: 'True', reason: 'PermissionCleanUp' });
      // The other conditions are left as they were.
      for (const t of ['ContextObjectValid', 'ConnectorResolved', 'AccessPolicyMatched', 'AccessCheckReady'])
        expect(off[t], t).to.deep.equal(granted[t]);
      expect(await grantObjects(s)).to.deep.equal([]);
      await expectAccess(s, run.pod, false);
      expect(await eventReasons(s, run.request)).to.include('PermissionRevoked');

      // A request created while the flags are off gets Ready only; nothing else is evaluated.
      const late = await startRun(s, 'promote-run-flags2', 'approved');
      const lateOff = await waitFor(s.devops, late.request, 'Ready', 'Unknown', 'FeatureDisabled');
      expect(Object.keys(lateOff)).to.deep.equal(['Ready']);

      // Both off: both named, approval first. "True" is not "true".
      await setFlags({ [proxyFlag]: 'false' });
      await eventually('both flags named', async () => {
        const m = (await conditions(s.devops, run.request))['Ready']?.message;
        return m === 'feature flags not enabled: enable-connectors-approval, enable-connector-proxy-permissions' ? m : undefined;
      });
      await setFlags({ [proxyFlag]: 'true', [approvalFlag]: 'True' });
      await eventually('only the approval flag named', async () => {
        const m = (await conditions(s.devops, run.request))['Ready']?.message;
        return m === 'feature flags not enabled: enable-connectors-approval' ? m : undefined;
      });
      expect(await grantObjects(s)).to.deep.equal([]);

      await setFlags(bothOn);
      await expectGranted(s, run);
      const lateOn = await waitFor(s.devops, late.request, 'Ready', 'True', 'Synced');
      expect(Object.keys(lateOn).sort()).to.deep.equal(['AccessCheckReady', 'AccessPermissionSync', 'AccessPolicyMatched', 'ConnectorResolved', 'ContextObjectValid', 'Ready']);
    } finally {
      await setFlags(bothOn);
    }
  });

  it('hand-edited or deleted grant objects are restored while Synced', async function () {
    this.timeout(120_000);
    const s = await newScene();
    const run = await startRun(s, 'promote-run-heal1', 'approved');
    await expectGranted(s, run);
    await ok(['delete', 'rolebinding', run.grant, '-n', s.devops]);
    await eventually('the RoleBinding back', async () => ((await kubectl(['get', 'rolebinding', run.grant, '-n', s.devops])).code === 0 ? true : undefined));
    await ok(['patch', 'role', run.grant, '-n', s.devops, '--type=json', '-p', '[{"op":"replace","path":"/rules/0/verbs","value":["get"]}]']);
    await eventually('the Role rules restored', async () => {
      const verbs = await ok(['get', 'role', run.grant, '-n', s.devops, '-o', 'jsonpath={.rules[0].verbs}']);
      return verbs.trim() === '["*"]' ? true : undefined;
    });
    await expectAccess(s, run.pod, true);
  });

  it('deleting a granted request revokes at once, before the request is gone', async function () {
    this.timeout(120_000);
    const s = await newScene();
    const run = await startRun(s, 'promote-run-del1', 'approved');
    await expectGranted(s, run);
    // A finalizer holds the request in deletion: the garbage collector cannot act yet, the
    // controller must (§5.6: deleting any request makes the controller delete its RBAC at once).
    await ok(['patch', 'accessrequest', run.request, '-n', s.devops, '--type=merge', '-p', '{"metadata":{"finalizers":["e2e.example.com/hold"]}}']);
    await ok(['delete', 'accessrequest', run.request, '-n', s.devops, '--wait=false']);
    await eventually('the grant removed', async () => ((await grantObjects(s, run)).length === 0 ? true : undefined), { timeoutMs: 20_000 });
    await expectAccess(s, run.pod, false);
    expect((await getRequest(s.devops, run.request)) !== undefined, 'the request is still there').to.equal(true);
    expect(await eventReasons(s, run.request)).to.include('PermissionRevoked');
    await ok(['patch', 'accessrequest', run.request, '-n', s.devops, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await eventually('the request gone', async () => ((await getRequest(s.devops, run.request)) === undefined ? true : undefined));

    // Deleted outright, then created again under the same name (the helper's next mount attempt):
    // the new request is granted afresh.
    const again = await startRun(s, 'promote-run-del2', 'approved');
    await expectGranted(s, again);
    await ok(['delete', 'accessrequest', again.request, '-n', s.devops]);
    await eventually('the grant removed', async () => ((await grantObjects(s, again)).length === 0 ? true : undefined), { timeoutMs: 20_000 });
    await expectAccess(s, again.pod, false);
    await createRequest(s, again.pod, again.uid);
    await expectGranted(s, again);
  });

  it('Pod deleted while waiting: terminal NotFound, nothing granted', async function () {
    this.timeout(120_000);
    const s = await newScene();
    const run = await startRun(s, 'promote-run-gone1', 'pending');
    await waitFor(s.devops, run.request, 'Ready', 'Unknown', 'Pending');
    await ok(['delete', 'pod', run.pod, '-n', s.cicd]);
    const c = await waitFor(s.devops, run.request, 'ContextObjectValid', 'False', 'NotFound');
    const message = `Pod ${s.cicd}/${run.pod} not found`;
    expect(c['ContextObjectValid']).to.include({ message });
    expect(c['Ready']).to.include({ status: 'False', reason: 'NotFound', message });
    expect(c['ConnectorResolved']).to.include({ status: 'True', reason: 'Resolved' });
    expect(c['AccessPolicyMatched']).to.include({ status: 'True', reason: 'Matched' });
    expect(c['AccessCheckReady']).to.include({ status: 'Unknown', reason: 'Pending' });
    expect(c['AccessPermissionSync']).to.include({ status: 'Unknown', reason: 'Pending' });

    // Terminal: neither an approval nor a new Pod of the same name (another uid) revives it.
    await setTaskState(s, run, 'approved');
    await ok(['apply', '-f', '-'], podYaml(s.cicd, 'promote-run-gone1'));
    const later = await settled(s.devops, run.request);
    expect(later['ContextObjectValid']).to.deep.equal(c['ContextObjectValid']);
    expect(later['Ready']).to.deep.equal(c['Ready']);
    expect(later['AccessCheckReady']).to.include({ status: 'Unknown', reason: 'Pending' });
    expect(await grantObjects(s)).to.deep.equal([]);
  });
});
