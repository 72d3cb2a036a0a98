import { expect } from 'chai';
import { useKubectl } from '../../support/kubectl.js';
import { useRestServer } from '../../support/rest.js';

/** An AccessPolicy manifest; spec.connector is an atomic map, so one field decides conflicts. */
const policy = (name: string, connector: string, labels: Record<string, string> = {}): string => `apiVersion: connectors.alauda.io/v1alpha1
kind: AccessPolicy
metadata:
  name: ${name}
  namespace: kapply
  labels: ${JSON.stringify(labels)}
spec:
  connector:
    names: [${connector}]
`;

interface Entry {
  manager: string;
  operation: string;
  fieldsV1: Record<string, unknown>;
}

describe('kubectl apply against the standalone API', function () {
  const { kIn: k, okIn: ok } = useKubectl(useRestServer());
  const managedFields = async (name: string): Promise<Entry[]> => {
    const out = await ok(undefined, 'get', 'accesspolicy', name, '-n', 'kapply', '-o', 'json', '--show-managed-fields');
    return (JSON.parse(out) as { metadata: { managedFields?: Entry[] } }).metadata.managedFields ?? [];
  };
  const managers = async (name: string): Promise<string[]> => (await managedFields(name)).map((e) => `${e.manager}/${e.operation}`).sort();

  it('creates and updates with apply --server-side as kubectl', async () => {
    expect((await ok(policy('ssa1', 'c1', { app: 'a' }), 'apply', '--server-side', '-f', '-')).trim()).to.equal(
      'accesspolicy.connectors.alauda.io/ssa1 serverside-applied',
    );
    expect((await ok(policy('ssa1', 'c1', { app: 'b' }), 'apply', '--server-side', '-f', '-')).trim()).to.equal(
      'accesspolicy.connectors.alauda.io/ssa1 serverside-applied',
    );
    expect(await ok(undefined, 'get', 'accesspolicy', 'ssa1', '-n', 'kapply', '-o', 'jsonpath={.metadata.labels.app}')).to.equal('b');
    expect(await managers('ssa1')).to.deep.equal(['kubectl/Apply']);
  });

  it('reports a conflict when another field manager changes a field kubectl owns', async () => {
    const r = await k(policy('ssa1', 'c2', { app: 'b' }), 'apply', '--server-side', '--field-manager=b', '-f', '-');
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.include('Apply failed with 1 conflict: conflict with "kubectl": .spec.connector');
    expect(r.stderr).to.include('--force-conflicts');
    expect(await ok(undefined, 'get', 'accesspolicy', 'ssa1', '-n', 'kapply', '-o', 'jsonpath={.spec.connector.names[0]}')).to.equal('c1');
  });

  it('takes the field over with --force-conflicts, sharing the unchanged label', async () => {
    await ok(policy('ssa1', 'c2', { app: 'b' }), 'apply', '--server-side', '--field-manager=b', '--force-conflicts', '-f', '-');
    expect(await ok(undefined, 'get', 'accesspolicy', 'ssa1', '-n', 'kapply', '-o', 'jsonpath={.spec.connector.names[0]}')).to.equal('c2');
    const entries = await managedFields('ssa1');
    const byManager = Object.fromEntries(entries.map((e) => [e.manager, e]));
    expect(Object.keys(byManager).sort()).to.deep.equal(['b', 'kubectl']);
    expect(byManager['b']?.fieldsV1).to.deep.equal({ 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:connector': {} } });
    // kubectl lost the connector to b and keeps the label both applied with the same value.
    expect(byManager['kubectl']?.fieldsV1).to.deep.equal({ 'f:metadata': { 'f:labels': { 'f:app': {} } } });
  });

  it('converges with client-side apply: created, configured, unchanged', async () => {
    expect((await ok(policy('csa1', 'c1'), 'apply', '-f', '-')).trim()).to.equal('accesspolicy.connectors.alauda.io/csa1 created');
    expect((await ok(policy('csa1', 'c2'), 'apply', '-f', '-')).trim()).to.equal('accesspolicy.connectors.alauda.io/csa1 configured');
    expect((await ok(policy('csa1', 'c2'), 'apply', '-f', '-')).trim()).to.equal('accesspolicy.connectors.alauda.io/csa1 unchanged');
    expect(await ok(undefined, 'get', 'accesspolicy', 'csa1', '-n', 'kapply', '-o', 'jsonpath={.spec.connector.names[0]}')).to.equal('c2');
    expect(await managers('csa1')).to.deep.equal(['kubectl-client-side-apply/Update']);
  });

  it('moves a client-side applied object to server-side apply', async () => {
    await ok(policy('csa1', 'c3'), 'apply', '--server-side', '-f', '-');
    expect(await ok(undefined, 'get', 'accesspolicy', 'csa1', '-n', 'kapply', '-o', 'jsonpath={.spec.connector.names[0]}')).to.equal('c3');
    // Conflicts with the client-side owner over what its annotation configured are forced; kubectl
    // then hands the annotation to kubectl-last-applied and migrates the client-side owner into its
    // own Apply entry (a JSON patch of managedFields).
    expect(await managers('csa1')).to.deep.equal(['kubectl-last-applied/Apply', 'kubectl/Apply']);
    // The server keeps the annotation in step with kubectl's configuration, for a later client-side apply.
    const annotation = await ok(undefined, 'get', 'accesspolicy', 'csa1', '-n', 'kapply', '-o', String.raw`jsonpath={.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration}`);
    expect(JSON.parse(annotation)).to.deep.include({ spec: { connector: { names: ['c3'] } } });
    // Client-side apply still works on it ("configured": kubectl's annotation also records an empty annotations map).
    await ok(policy('csa1', 'c4'), 'apply', '-f', '-');
    expect(await ok(undefined, 'get', 'accesspolicy', 'csa1', '-n', 'kapply', '-o', 'jsonpath={.spec.connector.names[0]}')).to.equal('c4');
  });

  it('does not excuse conflicts with client-side apply for another field manager', async () => {
    await ok(policy('csa2', 'c1'), 'apply', '-f', '-');
    const r = await k(policy('csa2', 'c2'), 'apply', '--server-side', '--field-manager=other', '-f', '-');
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.include('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using connectors.alauda.io/v1alpha1: .spec.connector');
  });
});
