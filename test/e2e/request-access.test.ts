/**
 * Issue 6, the last two e2e items: the request-access helper's CLI (`connectors-access request`) as a
 * CSI driver runs it — its three outcomes, pending, rejected and granted — and check verdicts decided
 * by a Rego policy evaluated by the real OPA inside our server.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { runCommand } from '../cluster/control-plane.js';
import { eventually, kubectl, serverSkipped, uniqueName, useControlPlane } from './setup.js';

const gv = 'connectors.alauda.io/v1alpha1';
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const flagsOn = '{"data":{"enable-connector-proxy-permissions":"true","enable-connectors-approval":"true"}}';

async function ok(args: readonly string[], input?: string): Promise<string> {
  const r = await kubectl(args, input === undefined ? {} : { input });
  expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).to.equal(0);
  return r.stdout;
}

interface CliResult {
  readonly code: number;
  readonly out: { result: string; reason: string; message: string; accessRequest: { namespace: string; name: string } | null };
}

describe('request-access CLI and Rego checks (e2e)', function () {
  const cp = useControlPlane();
  const devops = uniqueName('devops');
  const cicd = uniqueName('cicd');
  let savedFlags = '';

  const cli = async (pod: string, timeout: string): Promise<CliResult> => {
    const r = await runCommand(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'apiserver/cli/main.ts'), 'request', `--connector=${devops}/prod-harbor`, `--pod=${cicd}/${pod}`, `--timeout=${timeout}`, `--kubeconfig=${cp().kubeconfig}`],
      { timeoutMs: 120_000 },
    );
    const line = r.stdout.trim().split('\n').pop() ?? '';
    expect(line, r.stderr).to.match(/^\{/);
    return { code: r.code, out: JSON.parse(line) as CliResult['out'] };
  };

  const pod = (name: string, run: string, state: string, extraStatus = ''): string => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${cicd}, labels: {tekton.dev/pipelineRun: ${run}}}
spec:
  serviceAccountName: builder
  containers: [{name: step, image: registry.example.com/push:1}]
---
apiVersion: openshift-pipelines.org/v1alpha1
kind: ApprovalTask
metadata: {name: ${run}-wait-for-approval, namespace: ${cicd}, labels: {tekton.dev/pipelineRun: ${run}}}
status: {state: ${state}${extraStatus}}
`;

  before(async function () {
    if (serverSkipped()) this.skip();
    this.timeout(120_000);
    savedFlags = (await ok(['get', 'configmap', 'connectors-config', '-n', 'connectors-system', '-o', 'json'])).trim();
    await ok(['apply', '-f', '-'], readFileSync(fileURLToPath(new URL('./fixtures/approvaltask-crd.yaml', import.meta.url)), 'utf8'));
    await ok(['wait', '--for=condition=Established', 'crd/approvaltasks.openshift-pipelines.org', '--timeout=60s']);
    await ok(['create', 'namespace', devops]);
    await ok(['create', 'namespace', cicd]);
    await ok(['create', 'serviceaccount', 'builder', '-n', cicd]);
    await ok(['patch', 'configmap', 'connectors-config', '-n', 'connectors-system', '--type=merge', '-p', flagsOn]);
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

  after(async function () {
    this.timeout(60_000);
    await kubectl(['delete', 'namespace', devops, cicd, '--wait=false']);
    if (savedFlags !== '') {
      const data = (JSON.parse(savedFlags) as { data?: Record<string, string> }).data ?? {};
      await kubectl(['patch', 'configmap', 'connectors-config', '-n', 'connectors-system', '--type=merge', '-p', JSON.stringify({ data })]);
    }
  });

  it('answers pending while the approval waits, granted once approved (exit 2, then 0)', async function () {
    this.timeout(180_000);
    await ok(['apply', '-f', '-'], pod('run-a-push-image-pod', 'run-a', 'pending'));
    const pending = await cli('run-a-push-image-pod', '8s');
    expect(pending.code).to.equal(2);
    expect(pending.out.result).to.equal('pending');
    expect(pending.out.accessRequest?.namespace).to.equal(devops);
    expect(pending.out.message).to.match(/^timed out after 8s waiting for AccessRequest /);
    const name = pending.out.accessRequest?.name ?? '';
    expect(name).to.match(/^prod-harbor-run-a-push-image-pod-[0-9a-f]{8}$/);

    await ok(['patch', 'approvaltask', 'run-a-wait-for-approval', '-n', cicd, '--type=merge', '-p', '{"status":{"state":"approved"}}']);
    const granted = await cli('run-a-push-image-pod', '60s');
    expect(granted.code, JSON.stringify(granted.out)).to.equal(0);
    expect(granted.out.result).to.equal('granted');
    // Either the grant was seen being made (Approved) or it was already effective (AlreadyPermitted).
    expect(['Approved', 'AlreadyPermitted']).to.include(granted.out.reason);
    // The request was reused, not duplicated.
    expect((await ok(['get', 'accessrequests', '-n', devops, '-o', 'name'])).trim().split('\n')).to.deep.equal([`accessrequest.connectors.alauda.io/${name}`]);
  });

  it('answers rejected when the approver rejects (exit 3)', async function () {
    this.timeout(120_000);
    await ok(['apply', '-f', '-'], pod('run-b-push-image-pod', 'run-b', 'rejected'));
    const r = await cli('run-b-push-image-pod', '60s');
    expect(r.code, JSON.stringify(r.out)).to.equal(3);
    expect(r.out).to.include({ result: 'rejected', reason: 'Rejected' });
    expect(r.out.message).to.include(`ApprovalTask ${cicd}/run-b-wait-for-approval was rejected`);
  });

  it('decides a check with the Rego policy of spec 5.3 (two approvals), evaluated by OPA', async function () {
    this.timeout(180_000);
    const rego = `package approval

default status := {"state": "pending"}

status := {"state": "rejected"} if input.status.state == "rejected"

status := {"state": "approved"} if {
\tinput.status.state == "approved"
\tinput.status.approvalsReceived >= 2
}

status := {"state": "rejected"} if {
\tinput.status.state == "approved"
\tinput.status.approvalsReceived < 2
}
`;
    const policy = {
      apiVersion: gv,
      kind: 'AccessPolicy',
      metadata: { name: 'two-approvals', namespace: devops },
      spec: {
        connector: { names: ['rego-harbor'] },
        checkGrantedPermission: {
          spec: {
            checks: [
              {
                name: 'two-approvals',
                spec: {
                  selector: {
                    objectRef: { apiVersion: 'openshift-pipelines.org/v1alpha1', kind: 'ApprovalTask' },
                    matchLabels: { 'tekton.dev/pipelineRun': '{.object.metadata.labels["tekton\\.dev/pipelineRun"]}' },
                  },
                  state: { rego },
                },
              },
            ],
            roleTemplate: { ref: { configMap: { name: 'connectors-use-connectors-proxy-in-pod' } } },
          },
        },
      },
    };
    await ok(['apply', '-f', '-'], `apiVersion: ${gv}
kind: Connector
metadata: {name: rego-harbor, namespace: ${devops}}
spec: {connectorClassName: harbor, address: "https://rego.example.com"}
`);
    await ok(['apply', '-f', '-'], JSON.stringify(policy));
    const request = (podName: string): string => `apiVersion: ${gv}
kind: AccessRequest
metadata: {name: rego-${podName}, namespace: ${devops}}
spec:
  connectorRef: {name: rego-harbor}
  context: {objectRef: {apiVersion: v1, kind: Pod, namespace: ${cicd}, name: ${podName}}}
  subject: {kind: ServiceAccount, name: builder, namespace: ${cicd}}
`;
    const checkReady = async (name: string): Promise<{ status: string; reason: string; message: string } | undefined> => {
      const r = await kubectl(['get', 'accessrequest', name, '-n', devops, '-o', 'jsonpath={.status.conditions[?(@.type=="AccessCheckReady")]}']);
      return r.code === 0 && r.stdout.trim() !== '' ? (JSON.parse(r.stdout) as { status: string; reason: string; message: string }) : undefined;
    };
    // Approved with two approvals: the Rego policy passes it.
    await ok(['apply', '-f', '-'], pod('run-c-push-image-pod', 'run-c', 'approved', ', approvalsReceived: 2'));
    await ok(['apply', '-f', '-'], request('run-c-push-image-pod'));
    const passed = await eventually('Rego Passed', async () => {
      const c = await checkReady('rego-run-c-push-image-pod');
      return c?.reason === 'Passed' ? c : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(passed.status).to.equal('True');
    // "Approved" by the task with one approval only: the Rego policy rejects it.
    await ok(['apply', '-f', '-'], pod('run-d-push-image-pod', 'run-d', 'approved', ', approvalsReceived: 1'));
    await ok(['apply', '-f', '-'], request('run-d-push-image-pod'));
    const rejected = await eventually('Rego Rejected', async () => {
      const c = await checkReady('rego-run-d-push-image-pod');
      return c?.reason === 'Rejected' ? c : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(rejected.message).to.include(`ApprovalTask ${cicd}/run-d-wait-for-approval was rejected`);
  });
});
