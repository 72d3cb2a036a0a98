import { expect } from 'chai';
import { runCommand } from '../cluster/control-plane.js';
import { eventually, kubectl, serverSkipped, uniqueName, useControlPlane } from './setup.js';

function parse(stdout: string): unknown {
  return JSON.parse(stdout) as unknown;
}

async function getJson(args: readonly string[]): Promise<Record<string, unknown>> {
  const r = await kubectl([...args, '-o', 'json']);
  expect(r.code, r.stderr).to.equal(0);
  const v = parse(r.stdout);
  if (typeof v !== 'object' || v === null) throw new Error(`not an object: ${r.stdout}`);
  return v as Record<string, unknown>;
}

async function allowedFor(
  user: string,
  attrs: { namespace: string; verb: string; group: string; resource: string },
): Promise<boolean> {
  const review = {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: { user, groups: ['system:authenticated'], resourceAttributes: attrs },
  };
  const r = await kubectl(['create', '-f', '-', '-o', 'json'], { input: JSON.stringify(review) });
  expect(r.code, r.stderr).to.equal(0);
  const status = (parse(r.stdout) as { status?: { allowed?: boolean } }).status;
  return status?.allowed === true;
}

describe('local control plane', () => {
  const cp = useControlPlane();

  it('serves kubectl get ns through kube-apiserver', async () => {
    const r = await kubectl(['get', 'ns', '-o', 'name']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.split('\n')).to.include.members(['namespace/default', 'namespace/kube-system']);
  });

  it('publishes the requestheader settings in the auth ConfigMap', async () => {
    const cm = await getJson(['get', 'configmap', '-n', 'kube-system', 'extension-apiserver-authentication']);
    const data = cm['data'] as Record<string, string>;
    expect(data).to.have.keys(
      'client-ca-file',
      'requestheader-allowed-names',
      'requestheader-client-ca-file',
      'requestheader-extra-headers-prefix',
      'requestheader-group-headers',
      'requestheader-uid-headers',
      'requestheader-username-headers',
    );
    expect(parse(data['requestheader-allowed-names'] ?? '')).to.deep.equal(['front-proxy-client']);
  });

  it('applies the manifests: namespace, ServiceAccount, bindings, roles', async () => {
    const r = await kubectl([
      'get',
      '-o',
      'name',
      'namespace/connectors-system',
      'serviceaccount/connectors-access-apiserver',
      '-n',
      'connectors-system',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const cluster = await kubectl([
      'get',
      '-o',
      'name',
      'clusterrolebinding/connectors-access-apiserver:system:auth-delegator',
      'clusterrole/connectors-access-apiserver',
      'clusterrole/connectors-access-view',
      'clusterrole/connectors-access-edit',
      'clusterrole/connectors-access-admin',
      'clusterrole/connectors-access-csi-driver',
    ]);
    expect(cluster.code, cluster.stderr).to.equal(0);
    const reader = await kubectl(['get', '-n', 'kube-system', 'rolebinding/connectors-access-apiserver-auth-reader']);
    expect(reader.code, reader.stderr).to.equal(0);
  });

  it('gives the server identity its rights and alice none', async () => {
    const sa = 'system:serviceaccount:connectors-system:connectors-access-apiserver';
    const cases = [
      { as: sa, args: ['create', 'subjectaccessreviews'], want: 'yes' },
      { as: sa, args: ['get', 'configmaps/extension-apiserver-authentication', '-n', 'kube-system'], want: 'yes' },
      { as: sa, args: ['escalate', 'roles.rbac.authorization.k8s.io', '-n', 'default'], want: 'yes' },
      { as: sa, args: ['update', 'leases.coordination.k8s.io', '-n', 'connectors-system'], want: 'yes' },
      { as: sa, args: ['delete', 'pods', '-n', 'default'], want: 'no' },
      { as: 'alice', args: ['get', 'pods', '-n', 'default'], want: 'no' },
    ];
    for (const tc of cases) {
      const r = await kubectl(['auth', 'can-i', ...tc.args], { as: tc.as });
      expect(r.stdout.trim(), `${tc.as} can-i ${tc.args.join(' ')}: ${r.stderr}`).to.equal(tc.want);
    }
  });

  it('writes ext.kubeconfig with a ServiceAccount token that reads the auth ConfigMap', async () => {
    expect(cp().extIdentity).to.equal('serviceaccount-token');
    const r = await runCommand(cp().kubectl, [
      `--kubeconfig=${cp().kubeconfigs.ext}`,
      `--cache-dir=${cp().runDir}/kube-cache`,
      'get', 'configmap', '-n', 'kube-system', 'extension-apiserver-authentication', '-o', 'name',
    ]);
    expect(r.code, r.stderr).to.equal(0);
  });

  it('runs kube-controller-manager: default ServiceAccount in a new namespace', async () => {
    const ns = uniqueName('e2e-smoke');
    const created = await kubectl(['create', 'namespace', ns]);
    expect(created.code, created.stderr).to.equal(0);
    await eventually(`serviceaccount default in ${ns}`, async () => {
      const r = await kubectl(['get', 'serviceaccount', 'default', '-n', ns, '-o', 'name']);
      return r.code === 0 ? r.stdout : undefined;
    });
    // The namespace controller finishes the deletion (namespaces stay Terminating without it).
    const deleted = await kubectl(['delete', 'namespace', ns, '--wait=true', '--timeout=60s']);
    expect(deleted.code, deleted.stderr).to.equal(0);
  });

  it('aggregates our rules into view: alice may read accessrequests once bound to view', async () => {
    const ns = uniqueName('e2e-view');
    expect((await kubectl(['create', 'namespace', ns])).code).to.equal(0);
    const bind = await kubectl(['create', 'rolebinding', 'alice-view', '-n', ns, '--clusterrole=view', '--user=alice']);
    expect(bind.code, bind.stderr).to.equal(0);
    // kubectl auth can-i cannot name a group nobody serves yet: ask with a SubjectAccessReview.
    for (const [verb, want] of [['list', true], ['create', false]] as const) {
      const allowed = await eventually(`alice ${verb} accessrequests = ${String(want)}`, async () => {
        const got = await allowedFor('alice', { namespace: ns, verb, group: 'connectors.alauda.io', resource: 'accessrequests' });
        return got === want ? got : undefined;
      }, { timeoutMs: 10_000 });
      expect(allowed).to.equal(want);
    }
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  // needs delegated auth: our server behind the aggregator
  describe('through the aggregator', function () {
    before(function () {
      if (serverSkipped()) this.skip();
    });

    it('serves discovery for connectors.alauda.io/v1alpha1', async () => {
      const r = await kubectl(['get', '--raw', '/apis/connectors.alauda.io/v1alpha1']);
      expect(r.code, r.stderr).to.equal(0);
      const list = parse(r.stdout) as { resources?: { name: string }[] };
      expect((list.resources ?? []).map((x) => x.name)).to.include.members(['accessrequests', 'accesspolicies']);
    });

    it('lists accessrequests across namespaces as admin', async () => {
      const r = await kubectl(['get', 'accessrequests', '-A']);
      expect(r.code, r.stderr).to.equal(0);
    });

    it('forbids alice to list accessrequests without a binding', async () => {
      const r = await kubectl(['get', 'accessrequests', '-n', 'default'], { as: 'alice' });
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.match(/forbidden/i);
    });
  });
});
