/**
 * The approval flow of connectors-approval.md §10.1 and §10.2 on the local control plane: the
 * built-in controller of our server reads the Pod, the Connector, the AccessPolicy and Tekton-style
 * ApprovalTasks, writes the AccessRequest status, and creates and removes the temporary Role and
 * RoleBinding through kube-apiserver. Pods never run (no kubelet): their phase is set through the
 * status subresource, as a kubelet would.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { eventually, kubectl, serverSkipped, uniqueName, useControlPlane } from './setup.js';

const gv = 'connectors.alauda.io/v1alpha1';
const fixture = (f: string): string => readFileSync(fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url)), 'utf8');

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

async function ok(args: readonly string[], input?: string): Promise<string> {
  const r = await kubectl(args, input === undefined ? {} : { input });
  expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).to.equal(0);
  return r.stdout;
}

async function conditions(ns: string, name: string): Promise<Record<string, Condition>> {
  const r = await kubectl(['get', 'accessrequest', name, '-n', ns, '-o', 'json']);
  if (r.code !== 0) return {};
  const obj = JSON.parse(r.stdout) as { status?: { conditions?: Condition[] } };
  return Object.fromEntries((obj.status?.conditions ?? []).map((c) => [c.type, c]));
}

/** Waits until the condition has the status and reason; returns all conditions then. */
function waitFor(ns: string, name: string, type: string, status: string, reason: string): Promise<Record<string, Condition>> {
  return eventually(
    `${name} ${type}=${status}/${reason}`,
    async () => {
      const c = await conditions(ns, name);
      return c[type]?.status === status && c[type].reason === reason ? c : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

const sar = (ns: string, sa: string, pod: string, podNs: string): string =>
  JSON.stringify({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: `system:serviceaccount:${podNs}:${sa}`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${podNs}`, 'system:authenticated'],
      resourceAttributes: { group: 'connectors.alauda.io', resource: 'connectors', subresource: `proxy/v1/pod/${podNs}/${pod}`, name: 'prod-harbor', namespace: ns, verb: 'get' },
    },
  });

async function allowed(ns: string, pod: string, podNs: string): Promise<boolean> {
  const out = await ok(['create', '-o', 'jsonpath={.status.allowed}', '-f', '-'], sar(ns, 'builder', pod, podNs));
  return out.trim() === 'true';
}

describe('approval flow (controller e2e, spec §10)', function () {
  useControlPlane();
  const devops = uniqueName('devops');
  const cicd = uniqueName('cicd');

  before(async function () {
    if (serverSkipped()) this.skip();
    this.timeout(120_000);
    await ok(['apply', '-f', '-'], fixture('approvaltask-crd.yaml'));
    await ok(['wait', '--for=condition=Established', 'crd/approvaltasks.openshift-pipelines.org', '--timeout=60s']);
    await ok(['create', 'namespace', devops]);
    await ok(['create', 'namespace', cicd]);
    await ok(['create', 'serviceaccount', 'builder', '-n', cicd]);
    await ok(
      ['patch', 'configmap', 'connectors-config', '-n', 'connectors-system', '--type=merge', '-p', '{"data":{"enable-connector-proxy-permissions":"true","enable-connectors-approval":"true"}}'],
    );
    await ok(['apply', '-f', '-'], `apiVersion: ${gv}
kind: Connector
metadata: {name: prod-harbor, namespace: ${devops}}
spec: {connectorClassName: harbor, address: "https://harbor.example.com"}
---
apiVersion: ${gv}
kind: AccessPolicy
metadata: {name: prod-harbor-approval, namespace: ${devops}}
spec:
  connector: {names: [prod-harbor]}
  checkGrantedPermission:
    spec:
      checks: [{name: manual-approval, ref: {configMap: {name: connectors-approvals-in-pipeline}}}]
      roleTemplate: {ref: {configMap: {name: connectors-use-connectors-proxy-in-pod}}}
`);
  });

  const startRun = async (run: string, state: string): Promise<{ pod: string; uid: string; request: string }> => {
    const pod = `${run}-push-image-pod`;
    await ok(['apply', '-f', '-'], `apiVersion: v1
kind: Pod
metadata: {name: ${pod}, namespace: ${cicd}, labels: {tekton.dev/pipelineRun: ${run}}}
spec:
  serviceAccountName: builder
  containers: [{name: step, image: registry.example.com/push:1}]
---
apiVersion: openshift-pipelines.org/v1alpha1
kind: ApprovalTask
metadata: {name: ${run}-wait-for-approval, namespace: ${cicd}, labels: {tekton.dev/pipelineRun: ${run}}}
status: {state: ${state}}
`);
    const uid = (await ok(['get', 'pod', pod, '-n', cicd, '-o', 'jsonpath={.metadata.uid}'])).trim();
    const request = `prod-harbor-${pod}`;
    await ok(['create', '-f', '-'], `apiVersion: ${gv}
kind: AccessRequest
metadata:
  name: ${request}
  namespace: ${devops}
  labels: {connectors.cpaas.io/contextObjectKind: Pod, connectors.cpaas.io/contextObjectName: ${pod}, connectors.cpaas.io/contextObjectNamespace: ${cicd}, connectors.cpaas.io/connector: prod-harbor}
spec:
  connectorRef: {name: prod-harbor}
  context: {objectRef: {apiVersion: v1, kind: Pod, namespace: ${cicd}, name: ${pod}, uid: ${uid}}}
  subject: {kind: ServiceAccount, name: builder, namespace: ${cicd}, apiGroup: ""}
`);
    return { pod, uid, request };
  };

  it('pending → approved → synced → Pod completes → cleaned up (§10.1)', async function () {
    this.timeout(240_000);
    const { pod, request } = await startRun('promote-run-abc12', 'pending');
    const first = await waitFor(devops, request, 'Ready', 'Unknown', 'Pending');
    expect(first['ContextObjectValid']).to.include({ status: 'True', reason: 'Active' });
    expect(first['ConnectorResolved']).to.include({ status: 'True', reason: 'Resolved' });
    expect(first['AccessPolicyMatched']).to.include({ status: 'True', reason: 'Matched' });
    expect(first['AccessCheckReady']).to.include({ status: 'Unknown', reason: 'Pending' });
    expect(first['AccessPermissionSync']).to.include({ status: 'Unknown', reason: 'Pending', message: 'waiting for checks to pass' });
    const row = (await ok(['get', 'accessrequest', request, '-n', devops, '--no-headers'])).trim();
    expect(row).to.match(new RegExp(`^${request}\\s+prod-harbor\\s+builder\\s+True\\s+Pending\\s+\\d+s$`));
    expect(await allowed(devops, pod, cicd)).to.equal(false);

    await ok(['patch', 'approvaltask', 'promote-run-abc12-wait-for-approval', '-n', cicd, '--type=merge', '-p', '{"status":{"state":"approved"}}']);
    const granted = await waitFor(devops, request, 'Ready', 'True', 'Synced');
    expect(granted['AccessCheckReady']).to.include({ status: 'True', reason: 'Passed' });
    expect(granted['AccessPermissionSync']).to.include({ status: 'True', reason: 'Synced' });
    const grant = `${request}-prod-harbor-approval`;
    const role = JSON.parse(await ok(['get', 'role', grant, '-n', devops, '-o', 'json'])) as {
      metadata: { labels: Record<string, string>; ownerReferences: { kind: string; name: string; controller: boolean }[] };
      rules: { resources: string[]; resourceNames: string[]; verbs: string[] }[];
    };
    expect(role.metadata.labels).to.include({ 'connectors.alauda.io/accessRequest': request, 'connectors.alauda.io/accessPolicy': 'prod-harbor-approval' });
    expect(role.metadata.ownerReferences[0]).to.include({ kind: 'AccessRequest', name: request, controller: true });
    expect(role.rules).to.deep.equal([{ apiGroups: ['connectors.alauda.io'], resources: [`connectors/proxy/v1/pod/${cicd}/${pod}`], resourceNames: ['prod-harbor'], verbs: ['*'] }]);
    const binding = JSON.parse(await ok(['get', 'rolebinding', grant, '-n', devops, '-o', 'json'])) as { subjects: unknown[]; roleRef: unknown };
    expect(binding.subjects).to.deep.equal([{ kind: 'ServiceAccount', name: 'builder', namespace: cicd }]);
    expect(binding.roleRef).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: grant });
    // kube-apiserver's own authorizer now lets the Pod's identity through the proxy.
    expect(await eventually('the SAR to allow', async () => ((await allowed(devops, pod, cicd)) ? true : undefined), { timeoutMs: 20_000 })).to.equal(true);
    const events = await ok(['get', 'events', '-n', devops, '--field-selector', `involvedObject.name=${request}`, '-o', 'jsonpath={.items[*].reason}']);
    expect(events).to.include('PermissionGranted');

    await ok(['patch', 'pod', pod, '-n', cicd, '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Succeeded"}}']);
    const done = await waitFor(devops, request, 'Ready', 'False', 'Completed');
    expect(done['ContextObjectValid']).to.include({ status: 'False', reason: 'Completed', message: `Pod ${cicd}/${pod} has phase Succeeded` });
    expect(done['AccessPermissionSync']).to.include({ status: 'True', reason: 'PermissionCleanUp' });
    expect((await kubectl(['get', 'role', grant, '-n', devops])).stderr).to.include('NotFound');
    expect((await kubectl(['get', 'rolebinding', grant, '-n', devops])).stderr).to.include('NotFound');
    expect(await allowed(devops, pod, cicd)).to.equal(false);
  });

  it('rejected: no RBAC, AccessRejected, later approvals change nothing (§10.2)', async function () {
    this.timeout(120_000);
    const { request } = await startRun('promote-run-def34', 'rejected');
    const c = await waitFor(devops, request, 'Ready', 'False', 'Rejected');
    expect(c['AccessCheckReady']).to.include({
      status: 'False',
      reason: 'Rejected',
      message: `manual-approval (policy prod-harbor-approval): ApprovalTask ${cicd}/promote-run-def34-wait-for-approval was rejected`,
    });
    expect(c['AccessPermissionSync']).to.include({ status: 'Unknown', reason: 'Pending' });
    await ok(['patch', 'approvaltask', 'promote-run-def34-wait-for-approval', '-n', cicd, '--type=merge', '-p', '{"status":{"state":"approved"}}']);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await conditions(devops, request))['Ready']).to.include({ status: 'False', reason: 'Rejected' });
    expect((await kubectl(['get', 'role', `${request}-prod-harbor-approval`, '-n', devops])).stderr).to.include('NotFound');
    const events = await ok(['get', 'events', '-n', devops, '--field-selector', `involvedObject.name=${request}`, '-o', 'jsonpath={.items[*].reason}']);
    expect(events).to.include('AccessRejected');
  });

  it('waits for a matching policy (NoMatch) and matches once one appears', async function () {
    this.timeout(120_000);
    await ok(['apply', '-f', '-'], `apiVersion: ${gv}
kind: Connector
metadata: {name: other, namespace: ${devops}}
spec: {connectorClassName: harbor, address: "https://other.example.com"}
`);
    const { request } = await startRun('promote-run-nomatch', 'pending');
    void request;
    const name = 'other-promote-run-nomatch-push-image-pod';
    await ok(['create', '-f', '-'], `apiVersion: ${gv}
kind: AccessRequest
metadata: {name: ${name}, namespace: ${devops}}
spec:
  connectorRef: {name: other}
  context: {objectRef: {apiVersion: v1, kind: Pod, namespace: ${cicd}, name: promote-run-nomatch-push-image-pod}}
  subject: {kind: ServiceAccount, name: builder, namespace: ${cicd}}
`);
    await waitFor(devops, name, 'AccessPolicyMatched', 'False', 'NoMatch');
    await ok(['apply', '-f', '-'], `apiVersion: ${gv}
kind: AccessPolicy
metadata: {name: other-approval, namespace: ${devops}}
spec:
  connector: {names: [other]}
  checkGrantedPermission:
    spec:
      checks: [{name: manual-approval, ref: {configMap: {name: connectors-approvals-in-pipeline}}}]
      roleTemplate: {ref: {configMap: {name: connectors-use-connectors-proxy-in-pod}}}
`);
    await waitFor(devops, name, 'AccessPolicyMatched', 'True', 'Matched');
  });

  after(async function () {
    this.timeout(60_000);
    await kubectl(['delete', 'namespace', devops, cicd, '--wait=false']);
    await kubectl(['patch', 'configmap', 'connectors-config', '-n', 'connectors-system', '--type=merge', '-p', '{"data":{"enable-connector-proxy-permissions":"false","enable-connectors-approval":"false"}}']);
  });
});
