/**
 * The AccessPolicy controller on the local control plane (connectors-approval.md §5.8, §6.3, §10.3):
 * matchedConnectors and conditions, the default Role + RoleBinding with subjects expanded from
 * namespaces and filtered by SubjectAccessReview, kube-apiserver's own authorizer honouring the grant
 * (`kubectl auth can-i`), re-selection on label changes, the feature flag and deletion.
 */
import { expect } from 'chai';
import { eventually, kubectl, serverSkipped, uniqueName, useControlPlane } from './setup.js';

const gv = 'connectors.alauda.io/v1alpha1';
const flag = 'enable-connector-proxy-permissions';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

interface PolicyObject {
  metadata: { uid: string; generation: number };
  status?: { observedGeneration?: number; matchedConnectors?: { name: string }[]; conditions?: Condition[] };
}

interface RBACObject {
  metadata: { name: string; labels?: Record<string, string>; ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[] };
  rules?: { apiGroups?: string[]; resources?: string[]; resourceNames?: string[]; verbs: string[] }[];
  subjects?: { kind: string; name: string; namespace?: string; apiGroup?: string }[];
  roleRef?: { apiGroup: string; kind: string; name: string };
}

async function ok(args: readonly string[], input?: string): Promise<string> {
  const r = await kubectl(args, input === undefined ? {} : { input });
  expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).to.equal(0);
  return r.stdout;
}

async function getJSON<T>(args: readonly string[]): Promise<T | undefined> {
  const r = await kubectl([...args, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as T) : undefined;
}

const conditionsOf = (p: PolicyObject | undefined): Record<string, Condition> => Object.fromEntries((p?.status?.conditions ?? []).map((c) => [c.type, c]));

async function setFlag(value: string): Promise<void> {
  await ok(['patch', 'configmap', 'connectors-config', '-n', 'connectors-system', '--type=merge', '-p', JSON.stringify({ data: { [flag]: value } })]);
}

/** `kubectl auth can-i get connectors/<name> --subresource=proxy` as a ServiceAccount (impersonation adds its groups). */
async function canUseProxy(ns: string, connector: string, saNamespace: string, sa: string): Promise<boolean> {
  const r = await kubectl(['auth', 'can-i', 'get', `connectors.connectors.alauda.io/${connector}`, '--subresource=proxy', '-n', ns, `--as=system:serviceaccount:${saNamespace}:${sa}`]);
  if (r.code !== 0 && r.code !== 1) throw new Error(`kubectl auth can-i: exit ${String(r.code)}: ${r.stderr}`);
  return r.stdout.trim() === 'yes';
}

/** Waits until `can-i` answers `want` (RBAC reaches kube-apiserver's authorizer through a watch). */
const eventuallyCan = (ns: string, connector: string, saNamespace: string, sa: string, want: boolean): Promise<boolean> =>
  eventually(`${saNamespace}/${sa} ${want ? 'can' : 'cannot'} use ${ns}/${connector}`, async () => ((await canUseProxy(ns, connector, saNamespace, sa)) === want ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 500,
  });

describe('AccessPolicy controller (e2e, spec §5.8, §10.3)', function () {
  useControlPlane();
  const devops = uniqueName('devops');
  const cicd = uniqueName('cicd');
  const platformA = uniqueName('platform-a');
  const platformB = uniqueName('platform-b');
  const team = uniqueName('platform');
  const policy = 'oci-default-access';
  const pair = `connectors-policy-${policy}`;
  let previousFlag: string | undefined;

  const policyObject = (): Promise<PolicyObject | undefined> => getJSON<PolicyObject>(['get', 'accesspolicy', policy, '-n', devops]);
  const role = (): Promise<RBACObject | undefined> => getJSON<RBACObject>(['get', 'role', pair, '-n', devops]);
  const binding = (): Promise<RBACObject | undefined> => getJSON<RBACObject>(['get', 'rolebinding', pair, '-n', devops]);
  const waitPolicy = (what: string, f: (p: PolicyObject) => boolean, timeoutMs = 60_000): Promise<PolicyObject> =>
    eventually(what, async () => {
      const p = await policyObject();
      return p !== undefined && f(p) ? p : undefined;
    }, { timeoutMs, intervalMs: 500 });
  const waitGone = (what: string, get: () => Promise<RBACObject | undefined>): Promise<boolean> =>
    eventually(`${what} to be deleted`, async () => ((await get()) === undefined ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });

  before(async function () {
    if (serverSkipped()) this.skip();
    this.timeout(120_000);
    previousFlag = (await ok(['get', 'configmap', 'connectors-config', '-n', 'connectors-system', '-o', `jsonpath={.data.${flag}}`])).trim();
    await setFlag('true');
    for (const ns of [devops, cicd, platformA, platformB]) await ok(['create', 'namespace', ns]);
    await ok(['label', 'namespace', platformA, `team=${team}`]);
    await ok(['label', 'namespace', platformB, 'team=data']);
    // Who may read Connectors in devops: every expanded subject of §10.3 except cicd/deployer.
    await ok(['apply', '-f', '-'], `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: connector-readers, namespace: ${devops}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: connectors-access-view}
subjects:
- {kind: ServiceAccount, name: builder, namespace: ${cicd}}
- {kind: Group, name: "system:serviceaccounts:${devops}", apiGroup: rbac.authorization.k8s.io}
- {kind: Group, name: "system:serviceaccounts:${platformA}", apiGroup: rbac.authorization.k8s.io}
`);
    await eventually('the readers binding to reach the authorizer', async () => {
      const r = await kubectl(['auth', 'can-i', 'get', 'connectors.connectors.alauda.io', '-n', devops, `--as=system:serviceaccount:${platformA}:default`]);
      return r.stdout.trim() === 'yes' ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500 });
    await ok(['apply', '-f', '-'], `apiVersion: ${gv}
kind: Connector
metadata: {name: harbor-dev, namespace: ${devops}, labels: {connectors.alauda.io/connectorclass: oci}}
spec: {connectorClassName: harbor, address: "https://harbor-dev.example.com"}
---
apiVersion: ${gv}
kind: Connector
metadata: {name: harbor-stage, namespace: ${devops}, labels: {connectors.alauda.io/connectorclass: oci}}
spec: {connectorClassName: harbor, address: "https://harbor-stage.example.com"}
---
apiVersion: ${gv}
kind: Connector
metadata: {name: prod-harbor, namespace: ${devops}, labels: {connectors.alauda.io/connectorclass: harbor}}
spec: {connectorClassName: harbor, address: "https://harbor.example.com"}
---
apiVersion: ${gv}
kind: AccessPolicy
metadata: {name: ${policy}, namespace: ${devops}}
spec:
  connector: {matchLabels: {connectors.alauda.io/connectorclass: oci}}
  defaultPermission:
    roleTemplate: {ref: {configMap: {name: connectors-use-connectors-proxy}}}
    bindingTemplate:
      serviceAccounts:
      - {names: [builder, deployer], namespaceSelector: {names: [${devops}, ${cicd}]}}
      - {namespaceSelector: {matchLabels: {team: ${team}}}}
`);
  });

  after(async function () {
    this.timeout(60_000);
    await kubectl(['delete', 'namespace', devops, cicd, platformA, platformB, '--wait=false']);
    if (previousFlag !== undefined) await setFlag(previousFlag === '' ? 'false' : previousFlag);
  });

  it('creates the default Role and RoleBinding of §10.3 and reports the policy status', async function () {
    this.timeout(120_000);
    const p = await waitPolicy('Ready=True/Synced', (x) => conditionsOf(x)['Ready']?.reason === 'Synced');
    const c = conditionsOf(p);
    expect(p.status?.observedGeneration).to.equal(p.metadata.generation);
    expect(p.status?.matchedConnectors).to.deep.equal([{ name: 'harbor-dev' }, { name: 'harbor-stage' }]);
    expect(c['ConnectorsMatched']).to.include({ status: 'True', reason: 'Matched', message: '2 Connector(s) matched' });
    expect(c['PermissionSynced']).to.include({ status: 'True', reason: 'Synced' });
    expect(c['Ready']).to.include({ status: 'True', reason: 'Synced' });

    const owner = { apiVersion: gv, kind: 'AccessPolicy', name: policy, uid: p.metadata.uid, controller: true, blockOwnerDeletion: true };
    const r = await role();
    expect(r?.metadata.labels).to.deep.equal({ 'connectors.alauda.io/accessPolicy': policy });
    expect(r?.metadata.ownerReferences).to.deep.equal([owner]);
    expect(r?.rules).to.deep.equal([{ apiGroups: ['connectors.alauda.io'], resources: ['connectors/proxy'], resourceNames: ['harbor-dev', 'harbor-stage'], verbs: ['*'] }]);
    const b = await binding();
    expect(b?.metadata.labels).to.deep.equal({ 'connectors.alauda.io/accessPolicy': policy });
    expect(b?.metadata.ownerReferences).to.deep.equal([owner]);
    expect(b?.roleRef).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: pair });
    expect(b?.subjects).to.deep.equal([
      { kind: 'Group', name: `system:serviceaccounts:${platformA}`, apiGroup: 'rbac.authorization.k8s.io' },
      { kind: 'ServiceAccount', name: 'builder', namespace: cicd },
      { kind: 'ServiceAccount', name: 'builder', namespace: devops },
      { kind: 'ServiceAccount', name: 'deployer', namespace: devops },
    ]);
  });

  it('drops the ServiceAccount that fails the SubjectAccessReview filter, with a Warning SubjectDropped Event', async function () {
    this.timeout(60_000);
    const events = await eventually('a SubjectDropped Event', async () => {
      const out = await ok(['get', 'events', '-n', devops, '--field-selector', `involvedObject.kind=AccessPolicy,involvedObject.name=${policy},reason=SubjectDropped`, '-o', 'json']);
      const items = (JSON.parse(out) as { items: { type: string; message: string; source?: { component?: string } }[] }).items;
      return items.length > 0 ? items : undefined;
    });
    expect(events.map((e) => [e.type, e.message])).to.deep.equal([['Warning', `ServiceAccount ${cicd}/deployer cannot get connectors in namespace ${devops}`]]);
    expect(events[0]?.source?.component).to.equal('connectors-access-apiserver');
    const granted = await ok(['get', 'events', '-n', devops, '--field-selector', `involvedObject.name=${policy},reason=PermissionGranted`, '-o', 'jsonpath={.items[*].type}']);
    expect(granted.trim()).to.match(/^Normal/);
  });

  it('kubectl auth can-i: every expanded subject may use both Connectors; the dropped one and others may not', async function () {
    this.timeout(120_000);
    for (const c of ['harbor-dev', 'harbor-stage']) {
      await eventuallyCan(devops, c, cicd, 'builder', true);
      await eventuallyCan(devops, c, devops, 'builder', true);
      await eventuallyCan(devops, c, devops, 'deployer', true);
      // Group system:serviceaccounts:<platform-a>: any ServiceAccount of that namespace.
      await eventuallyCan(devops, c, platformA, 'default', true);
      await eventuallyCan(devops, c, platformA, 'some-tool', true);
      expect(await canUseProxy(devops, c, cicd, 'deployer')).to.equal(false);
      expect(await canUseProxy(devops, c, platformB, 'default')).to.equal(false);
      expect(await canUseProxy(devops, c, devops, 'someone-else')).to.equal(false);
    }
    // A Connector the policy does not select.
    expect(await canUseProxy(devops, 'prod-harbor', cicd, 'builder')).to.equal(false);
  });

  it('a label change drops one Connector from resourceNames', async function () {
    this.timeout(120_000);
    await ok(['label', 'connector', 'harbor-stage', '-n', devops, 'connectors.alauda.io/connectorclass=other', '--overwrite']);
    const r = await eventually('the Role to lose harbor-stage', async () => {
      const x = await role();
      return x?.rules?.[0]?.resourceNames?.join(',') === 'harbor-dev' ? x : undefined;
    });
    expect(r.rules?.[0]?.resourceNames).to.deep.equal(['harbor-dev']);
    const p = await waitPolicy('matchedConnectors = [harbor-dev]', (x) => x.status?.matchedConnectors?.length === 1);
    expect(p.status?.matchedConnectors).to.deep.equal([{ name: 'harbor-dev' }]);
    expect(conditionsOf(p)['ConnectorsMatched']).to.include({ status: 'True', reason: 'Matched', message: '1 Connector(s) matched' });
    await eventuallyCan(devops, 'harbor-stage', cicd, 'builder', false);
    expect(await canUseProxy(devops, 'harbor-dev', cicd, 'builder')).to.equal(true);
  });

  it('namespaces are re-expanded: a new labelled namespace is filtered and added; one that loses the label is removed', async function () {
    this.timeout(180_000);
    const platformC = uniqueName('platform-c');
    const platformD = uniqueName('platform-d');
    const group = (ns: string): string => `system:serviceaccounts:${ns}`;
    const hasGroup = async (ns: string): Promise<boolean> => (await binding())?.subjects?.some((s) => s.name === group(ns)) === true;
    await ok(['create', 'namespace', platformC]);
    await ok(['create', 'namespace', platformD]);
    try {
      // platform-c's ServiceAccounts may read Connectors in devops; platform-d's may not.
      await ok(['create', 'rolebinding', 'connector-readers-c', '-n', devops, '--clusterrole=connectors-access-view', `--group=${group(platformC)}`]);
      await eventually('the readers binding of platform-c to reach the authorizer', async () => {
        const r = await kubectl(['auth', 'can-i', 'get', 'connectors.connectors.alauda.io', '-n', devops, `--as=system:serviceaccount:${platformC}:default`]);
        return r.stdout.trim() === 'yes' ? true : undefined;
      }, { timeoutMs: 30_000, intervalMs: 500 });
      await ok(['label', 'namespace', platformC, platformD, `team=${team}`]);
      await eventually('the binding to gain the platform-c group', async () => ((await hasGroup(platformC)) ? true : undefined));
      await eventually('a SubjectDropped Event for the platform-d group', async () => {
        const out = await ok(['get', 'events', '-n', devops, '--field-selector', `involvedObject.name=${policy},reason=SubjectDropped`, '-o', 'jsonpath={.items[*].message}']);
        return out.includes(`Group ${group(platformD)} cannot get connectors in namespace ${devops}`) ? true : undefined;
      });
      expect(await hasGroup(platformD)).to.equal(false);
      await eventuallyCan(devops, 'harbor-dev', platformC, 'default', true);
      expect(await canUseProxy(devops, 'harbor-dev', platformD, 'default')).to.equal(false);
      await ok(['label', 'namespace', platformC, 'team-']);
      await eventually('the binding to lose the platform-c group', async () => ((await hasGroup(platformC)) ? undefined : true));
      await eventuallyCan(devops, 'harbor-dev', platformC, 'default', false);
    } finally {
      await kubectl(['delete', 'rolebinding', 'connector-readers-c', '-n', devops]);
      await kubectl(['delete', 'namespace', platformC, platformD, '--wait=false']);
    }
  });

  it(`${flag} off removes the default pair (FeatureDisabled); on again restores it`, async function () {
    this.timeout(120_000);
    await setFlag('false');
    try {
      await waitGone('Role', role);
      await waitGone('RoleBinding', binding);
      const p = await waitPolicy('PermissionSynced=Unknown/FeatureDisabled', (x) => conditionsOf(x)['PermissionSynced']?.reason === 'FeatureDisabled');
      const c = conditionsOf(p);
      const m = `feature flags not enabled: ${flag}`;
      expect(c['PermissionSynced']).to.include({ status: 'Unknown', reason: 'FeatureDisabled', message: m });
      expect(c['Ready']).to.include({ status: 'Unknown', reason: 'FeatureDisabled', message: m });
      expect(c['ConnectorsMatched']).to.include({ status: 'True', reason: 'Matched' });
      await eventuallyCan(devops, 'harbor-dev', cicd, 'builder', false);
      const revoked = await ok(['get', 'events', '-n', devops, '--field-selector', `involvedObject.name=${policy},reason=PermissionRevoked`, '-o', 'jsonpath={.items[*].message}']);
      expect(revoked).to.include(m);
    } finally {
      await setFlag('true');
    }
    await waitPolicy('Ready=True/Synced again', (x) => conditionsOf(x)['Ready']?.reason === 'Synced');
    await eventually('the Role to come back', async () => ((await role()) === undefined ? undefined : true));
    await eventuallyCan(devops, 'harbor-dev', cicd, 'builder', true);
  });

  it('no Connector left: the pair is deleted, NoMatch / NoPermissionRequired / Ready False/NoMatch', async function () {
    this.timeout(120_000);
    await ok(['label', 'connector', 'harbor-dev', '-n', devops, 'connectors.alauda.io/connectorclass=other', '--overwrite']);
    await waitGone('Role', role);
    await waitGone('RoleBinding', binding);
    const p = await waitPolicy('Ready=False/NoMatch', (x) => conditionsOf(x)['Ready']?.reason === 'NoMatch');
    const c = conditionsOf(p);
    const m = `no Connector in namespace ${devops} matches spec.connector`;
    expect(c['ConnectorsMatched']).to.include({ status: 'False', reason: 'NoMatch', message: m });
    expect(c['PermissionSynced']).to.include({ status: 'True', reason: 'NoPermissionRequired' });
    expect(c['Ready']).to.include({ status: 'False', reason: 'NoMatch', message: m });
    expect(p.status?.matchedConnectors ?? []).to.deep.equal([]);
    // Both Connectors back for the last test.
    await ok(['label', 'connector', 'harbor-dev', 'harbor-stage', '-n', devops, 'connectors.alauda.io/connectorclass=oci', '--overwrite']);
    await eventually('the Role to come back with both Connectors', async () => ((await role())?.rules?.[0]?.resourceNames?.length === 2 ? true : undefined));
  });

  it('deleting the policy removes the pair (ownerReference, garbage collector)', async function () {
    this.timeout(120_000);
    // A probe owned the same way: only the garbage collector removes it, so the ownerReference to an
    // AccessPolicy served through the aggregator is proven to be followed.
    const uid = (await policyObject())?.metadata.uid ?? '';
    await ok(['apply', '-f', '-'], `apiVersion: v1
kind: ConfigMap
metadata:
  name: gc-probe
  namespace: ${devops}
  ownerReferences: [{apiVersion: ${gv}, kind: AccessPolicy, name: ${policy}, uid: ${uid}}]
`);
    await ok(['delete', 'accesspolicy', policy, '-n', devops]);
    await waitGone('Role', role);
    await waitGone('RoleBinding', binding);
    await eventuallyCan(devops, 'harbor-dev', cicd, 'builder', false);
    await waitGone('the garbage collector probe', () => getJSON<RBACObject>(['get', 'configmap', 'gc-probe', '-n', devops]));
  });
});
