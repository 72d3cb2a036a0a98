/**
 * Issue 6, the last two e2e items: the request-access helper's CLI (`connectors-access request`) as a
 * CSI driver runs it — its three outcomes, pending, rejected and granted — and check verdicts decided
 * by a Rego policy evaluated by the real OPA inside our server.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { runCommand } from '../cluster/control-plane.js';
import {
  bothOn,
  connectorYaml,
  createNamespaces,
  gv,
  installApprovalTaskCrd,
  ok,
  policyYaml,
  runYaml,
  setFlags,
  systemNamespace,
  type Scene,
} from './scenes.js';
import { eventually, kubectl, serverSkipped, uniqueName, useControlPlane } from './setup.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

interface CliResult {
  readonly code: number;
  readonly out: { result: string; reason: string; message: string; accessRequest: { namespace: string; name: string } | null };
}

describe('request-access CLI and Rego checks (e2e)', function () {
  const cp = useControlPlane();
  const s: Scene = { devops: uniqueName('devops'), cicd: uniqueName('cicd') };
  const { devops, cicd } = s;
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

  before(async function () {
    if (serverSkipped()) this.skip();
    this.timeout(120_000);
    savedFlags = (await ok(['get', 'configmap', 'connectors-config', '-n', systemNamespace, '-o', 'json'])).trim();
    await installApprovalTaskCrd();
    await createNamespaces(s);
    await setFlags(bothOn);
    await ok(['apply', '-f', '-'], `${connectorYaml(devops, 'prod-harbor', 'https://harbor.example.com')}---\n${policyYaml(devops)}`);
  });

  after(async function () {
    this.timeout(60_000);
    await kubectl(['delete', 'namespace', devops, cicd, '--wait=false']);
    if (savedFlags !== '') {
      const data = (JSON.parse(savedFlags) as { data?: Record<string, string> }).data ?? {};
      await kubectl(['patch', 'configmap', 'connectors-config', '-n', systemNamespace, '--type=merge', '-p', JSON.stringify({ data })]);
    }
  });

  it('answers pending while the approval waits, granted once approved (exit 2, then 0)', async function () {
    this.timeout(180_000);
    await ok(['apply', '-f', '-'], runYaml(cicd, 'run-a', 'pending'));
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
    await ok(['apply', '-f', '-'], runYaml(cicd, 'run-b', 'rejected'));
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
    await ok(['apply', '-f', '-'], connectorYaml(devops, 'rego-harbor', 'https://rego.example.com'));
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
    await ok(['apply', '-f', '-'], runYaml(cicd, 'run-c', 'approved', { extraStatus: ', approvalsReceived: 2' }));
    await ok(['apply', '-f', '-'], request('run-c-push-image-pod'));
    const passed = await eventually('Rego Passed', async () => {
      const c = await checkReady('rego-run-c-push-image-pod');
      return c?.reason === 'Passed' ? c : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(passed.status).to.equal('True');
    // "Approved" by the task with one approval only: the Rego policy rejects it.
    await ok(['apply', '-f', '-'], runYaml(cicd, 'run-d', 'approved', { extraStatus: ', approvalsReceived: 1' }));
    await ok(['apply', '-f', '-'], request('run-d-push-image-pod'));
    const rejected = await eventually('Rego Rejected', async () => {
      const c = await checkReady('rego-run-d-push-image-pod');
      return c?.reason === 'Rejected' ? c : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(rejected.message).to.include(`ApprovalTask ${cicd}/run-d-wait-for-approval was rejected`);
  });
});
