/**
 * Issue 5's e2e suite: every request goes through the real kube-apiserver, which proxies our group to
 * our server through the APIService; our server authenticates the front proxy and asks
 * kube-apiserver for every decision (SubjectAccessReview). Driven by the kubectl built with the
 * control plane, plus client-node for the informer and raw HTTPS for the forged-header check.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { KubeConfig, KubernetesObjectApi, makeInformer, type KubernetesObject } from '@kubernetes/client-node';
import { expect } from 'chai';
import { parse } from 'yaml';
import { eventually, kubectl, serverSkipped, uniqueName, useControlPlane, type CommandResult } from './setup.js';

const gv = 'connectors.alauda.io/v1alpha1';

const accessRequest = (ns: string, name: string, extra = ''): string => `apiVersion: ${gv}
kind: AccessRequest
metadata:
  name: ${name}
  namespace: ${ns}${extra}
spec:
  connectorRef: {name: prod-harbor}
  context: {objectRef: {kind: Pod, namespace: ${ns}, name: p1}}
  subject: {kind: ServiceAccount, name: builder, namespace: ${ns}}
`;

const accessPolicy = (ns: string, name: string, labels = ''): string => `apiVersion: ${gv}
kind: AccessPolicy
metadata:
  name: ${name}
  namespace: ${ns}${labels}
spec: {}
`;

/** A GET over HTTPS with only the given headers (no client certificate). */
function rawGet(port: number, caFile: string, path: string, headers: Record<string, string>): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca: readFileSync(caFile), checkServerIdentity: () => undefined, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function ok(args: readonly string[], opts: Parameters<typeof kubectl>[1] = {}): Promise<string> {
  const r = await kubectl(args, opts);
  expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).to.equal(0);
  return r.stdout;
}

describe('our API through the aggregator (kubectl e2e)', function () {
  const cp = useControlPlane();
  let ns = '';
  before(async function () {
    if (serverSkipped()) this.skip();
    ns = uniqueName('e2e');
    await ok(['create', 'namespace', ns]);
  });

  it('lists both kinds with their verbs in api-resources', async () => {
    const out = await ok(['api-resources', '--api-group=connectors.alauda.io', '-o', 'wide']);
    expect(out).to.match(/accesspolicies\s+connectors\.alauda\.io\/v1alpha1\s+true\s+AccessPolicy\s+create,delete,deletecollection,get,list,patch,update,watch\s+alauda/);
    expect(out).to.match(/accessrequests\s+connectors\.alauda\.io\/v1alpha1\s+true\s+AccessRequest\s+create,delete,deletecollection,get,list,patch,update,watch\s+alauda/);
  });

  it('explains fields from our OpenAPI document', async () => {
    // kube-apiserver's OpenAPI aggregation controller fetches our document in the background.
    const out = await eventually('our OpenAPI document aggregated', async () => {
      const r = await kubectl(['explain', 'accessrequest.spec.context.objectRef']);
      return r.code === 0 ? r.stdout : undefined;
    }, { timeoutMs: 60_000, intervalMs: 1000 });
    expect(out).to.include('KIND:       AccessRequest');
    expect(out).to.match(/FIELD:\s+objectRef/);
  });

  it('applies client-side and shows the printer columns in get -A', async () => {
    expect((await ok(['apply', '-f', '-'], { input: accessRequest(ns, 'ar1') })).trim()).to.equal('accessrequest.connectors.alauda.io/ar1 created');
    expect((await ok(['apply', '-f', '-'], { input: accessRequest(ns, 'ar1', '\n  labels: {team: a}') })).trim()).to.equal(
      'accessrequest.connectors.alauda.io/ar1 configured',
    );
    const out = await ok(['get', 'accessrequests', '-A']);
    const lines = out.trim().split('\n');
    expect(lines[0]).to.match(/^NAMESPACE\s+NAME\s+CONNECTOR\s+SUBJECT\s+CONTEXTVALID\s+PERMISSION\s+AGE$/);
    expect(lines.some((l) => new RegExp(`^${ns}\\s+ar1\\s+prod-harbor\\s+builder\\s`).test(l)), out).to.equal(true);
  });

  it('applies server-side, reports a conflict between managers and resolves it with --force-conflicts', async () => {
    await ok(['apply', '--server-side', '--field-manager=team-a', '-f', '-'], { input: accessPolicy(ns, 'ssa', '\n  labels: {owner: a}') });
    const conflict = await kubectl(['apply', '--server-side', '--field-manager=team-b', '-f', '-'], { input: accessPolicy(ns, 'ssa', '\n  labels: {owner: b}') });
    expect(conflict.code).to.not.equal(0);
    expect(conflict.stderr).to.match(/conflict/i);
    expect(conflict.stderr).to.include('team-a');
    await ok(['apply', '--server-side', '--field-manager=team-b', '--force-conflicts', '-f', '-'], { input: accessPolicy(ns, 'ssa', '\n  labels: {owner: b}') });
    expect(await ok(['get', 'accesspolicy', 'ssa', '-n', ns, '-o', 'jsonpath={.metadata.labels.owner}'])).to.equal('b');
  });

  it('replaces an object read with get -o yaml (edit-style) and refuses a stale one with 409', async () => {
    await ok(['create', '-f', '-'], { input: accessPolicy(ns, 'rep') });
    const live = parse(await ok(['get', 'accesspolicy', 'rep', '-n', ns, '-o', 'yaml'])) as { metadata: Record<string, unknown> };
    live.metadata['labels'] = { edited: 'yes' };
    await ok(['replace', '-f', '-'], { input: JSON.stringify(live) });
    expect(await ok(['get', 'accesspolicy', 'rep', '-n', ns, '-o', 'jsonpath={.metadata.labels.edited}'])).to.equal('yes');
    // The same resourceVersion again: someone else (we) changed it in between.
    const stale = await kubectl(['replace', '-f', '-'], { input: JSON.stringify(live) });
    expect(stale.code).to.not.equal(0);
    expect(stale.stderr).to.include('Operation cannot be fulfilled on accesspolicies.connectors.alauda.io "rep"');
  });

  it('patches with merge and json patch; a strategic merge patch answers 415 with the alternatives', async () => {
    await ok(['patch', 'accesspolicy', 'rep', '-n', ns, '--type=merge', '-p', '{"metadata":{"labels":{"m":"1"}}}']);
    await ok(['patch', 'accesspolicy', 'rep', '-n', ns, '--type=json', '-p', '[{"op":"add","path":"/metadata/labels/j","value":"2"}]']);
    expect(await ok(['get', 'accesspolicy', 'rep', '-n', ns, '-o', 'jsonpath={.metadata.labels.m}{.metadata.labels.j}'])).to.equal('12');
    const strategic = await kubectl(['patch', 'accesspolicy', 'rep', '-n', ns, '-p', '{"metadata":{"labels":{"s":"3"}}}']);
    expect(strategic.code).to.not.equal(0);
    // kubectl turns the 415 into its own sentence around our message.
    expect(strategic.stderr).to.include('application/strategic-merge-patch+json is not supported by connectors.alauda.io/v1alpha1, Kind=AccessPolicy');
    expect(strategic.stderr).to.include('kubectl patch --type=merge');
    expect(strategic.stderr).to.include('kubectl patch --type=json');
  });

  it('reports the 422 causes of an immutable AccessRequest spec', async () => {
    const r = await kubectl(['patch', 'accessrequest', 'ar1', '-n', ns, '--type=merge', '-p', '{"spec":{"subject":{"name":"x"}}}']);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.include('"ar1" is invalid: spec: Invalid value');
    expect(r.stderr).to.include('field is immutable');
  });

  it('streams changes with get -w', async () => {
    const c = cp();
    const child = spawn(c.kubectl, [`--kubeconfig=${c.kubeconfig}`, `--cache-dir=${c.runDir}/kube-cache`, 'get', 'accesspolicies', '-n', ns, '-w', '-o', 'name'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let seen = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (seen += s));
    try {
      await eventually('the initial list', () => Promise.resolve(seen.includes('accesspolicy.connectors.alauda.io/rep') ? true : undefined), { timeoutMs: 20_000 });
      await ok(['create', '-f', '-'], { input: accessPolicy(ns, 'watched') });
      await eventually('the watch event', () => Promise.resolve(seen.includes('accesspolicy.connectors.alauda.io/watched') ? true : undefined), { timeoutMs: 20_000 });
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('waits for a jsonpath condition with kubectl wait', async () => {
    const waiting = kubectl(['wait', 'accesspolicy/watched', '-n', ns, '--for=jsonpath={.metadata.labels.phase}=done', '--timeout=30s']);
    await new Promise((r) => setTimeout(r, 1000));
    await ok(['label', 'accesspolicy', 'watched', '-n', ns, 'phase=done']);
    const r: CommandResult = await waiting;
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('condition met');
  });

  it('answers auth can-i from RBAC, and 403 on every verb for a user without rights', async () => {
    expect((await kubectl(['auth', 'can-i', 'list', 'accessrequests.connectors.alauda.io', '-n', ns], { as: 'alice' })).stdout.trim()).to.equal('no');
    const verbs: [string, string[]][] = [
      ['get', ['get', 'accessrequest', 'ar1', '-n', ns]],
      ['list', ['get', 'accessrequests', '-n', ns]],
      ['list', ['get', 'accessrequests', '-A']],
      ['create', ['create', '-f', '-']],
      ['patch', ['label', 'accessrequest', 'ar1', '-n', ns, 'x=y']],
      ['delete', ['delete', 'accessrequest', 'ar1', '-n', ns]],
      ['deletecollection', ['delete', 'accessrequests', '--all', '-n', ns]],
    ];
    for (const [verb, args] of verbs) {
      const r = await kubectl(args, { as: 'alice', ...(verb === 'create' ? { input: accessRequest(ns, 'alices') } : {}) });
      expect(r.code, `${verb}: ${r.stdout}`).to.not.equal(0);
      expect(r.stderr, verb).to.match(/Error from server \(Forbidden\)/);
      expect(r.stderr, verb).to.include('User "alice" cannot');
    }
    // bob is bound to the CSI driver's role in the namespace: he may file requests, nothing more.
    await ok(['create', 'rolebinding', 'bob-csi', '--clusterrole=connectors-access-csi-driver', '--user=bob', '-n', ns]);
    await eventually('bob allowed', async () => ((await kubectl(['auth', 'can-i', 'create', 'accessrequests.connectors.alauda.io', '-n', ns], { as: 'bob' })).stdout.trim() === 'yes' ? true : undefined));
    await eventually('bob creates', async () => ((await kubectl(['create', '-f', '-'], { as: 'bob', input: accessRequest(ns, 'bobs') })).code === 0 ? true : undefined), { timeoutMs: 20_000 });
    expect((await kubectl(['auth', 'can-i', 'delete', 'accessrequests.connectors.alauda.io', '-n', ns], { as: 'bob' })).stdout.trim()).to.equal('no');
    const bobDelete = await kubectl(['delete', 'accessrequest', 'bobs', '-n', ns], { as: 'bob' });
    expect(bobDelete.stderr).to.include('User "bob" cannot delete resource "accessrequests"');
    // A watch is its own verb.
    expect((await kubectl(['get', 'accessrequests', '-n', ns, '--watch-only', '--request-timeout=2s'], { as: 'alice' })).stderr).to.match(/Forbidden/);
  }).timeout(180_000);

  it('acts as an impersonated user, with that user\'s rights and name', async () => {
    const denied = await kubectl(['get', 'accessrequests', '-n', ns], { as: 'carol' });
    expect(denied.stderr).to.include('User "carol" cannot list resource "accessrequests"');
    await ok(['create', 'rolebinding', 'carol-admin', '--clusterrole=admin', '--user=carol', '-n', ns]);
    await eventually('carol allowed', async () => ((await kubectl(['get', 'accessrequests', '-n', ns], { as: 'carol' })).code === 0 ? true : undefined), { timeoutMs: 20_000 });
    // admin may edit policies but not AccessRequests (only the request-access helper files them).
    await ok(['label', 'accesspolicy', 'rep', '-n', ns, 'by=carol'], { as: 'carol' });
    const r = await kubectl(['label', 'accessrequest', 'ar1', '-n', ns, 'by=carol'], { as: 'carol' });
    expect(r.stderr).to.include('User "carol" cannot patch resource "accessrequests"');
  }).timeout(120_000);

  it('keeps a ConfigMap owned by an AccessRequest until the AccessRequest goes, then the garbage collector removes it', async () => {
    await ok(['create', '-f', '-'], { input: accessRequest(ns, 'owner') });
    const uid = await ok(['get', 'accessrequest', 'owner', '-n', ns, '-o', 'jsonpath={.metadata.uid}']);
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'owned', namespace: ns, ownerReferences: [{ apiVersion: gv, kind: 'AccessRequest', name: 'owner', uid }] },
      data: { a: 'b' },
    };
    await ok(['create', '-f', '-'], { input: JSON.stringify(cm) });
    // The collector sees a live owner: the ConfigMap stays.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await kubectl(['get', 'configmap', 'owned', '-n', ns])).code).to.equal(0);
    await ok(['delete', 'accessrequest', 'owner', '-n', ns]);
    await eventually(
      'the ConfigMap to be collected',
      async () => ((await kubectl(['get', 'configmap', 'owned', '-n', ns])).stderr.includes('NotFound') ? true : undefined),
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
  });

  it('feeds a client-node informer through the aggregated path', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(cp().kubeconfig);
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const path = `/apis/${gv}/namespaces/${ns}/accesspolicies`;
    const informer = makeInformer<KubernetesObject>(kc, path, () => objects.list(gv, 'AccessPolicy', ns) as never);
    const added: string[] = [];
    informer.on('add', (o) => added.push(o.metadata?.name ?? ''));
    await informer.start();
    try {
      await eventually('the initial list', () => Promise.resolve(added.includes('rep') ? true : undefined), { timeoutMs: 20_000 });
      await ok(['create', '-f', '-'], { input: accessPolicy(ns, 'informed') });
      await eventually('the watch event', () => Promise.resolve(added.includes('informed') ? true : undefined), { timeoutMs: 20_000 });
    } finally {
      await informer.stop();
    }
  });

  it('does not authenticate forged X-Remote-User headers without the front-proxy certificate', async () => {
    const c = cp();
    const forged = { 'X-Remote-User': 'system:admin', 'X-Remote-Group': 'system:masters' };
    // Straight to our server: no client certificate, an asserted administrator → 401.
    const direct = await rawGet(c.ports.ext, c.pki.extCa.crt, `/apis/${gv}/accessrequests`, forged);
    expect(direct.code, direct.body).to.equal(401);
    expect(JSON.parse(direct.body)).to.include({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    // Through kube-apiserver as alice with the same headers: they are replaced by alice's identity.
    const proxied = await rawGet(c.ports.apiserver, c.pki.ca.crt, `/apis/${gv}/accessrequests`, { ...forged, Authorization: `Bearer ${c.users.alice.token}` });
    expect(proxied.code, proxied.body).to.equal(403);
    expect(proxied.body).to.include('User \\"alice\\" cannot list resource \\"accessrequests\\"');
  });

  it('refuses to create in a namespace that does not exist (NamespaceLifecycle)', async () => {
    const r = await kubectl(['create', '-f', '-'], { input: accessPolicy(uniqueName('nowhere'), 'x') });
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/Error from server \(NotFound\).*namespaces "nowhere-[0-9a-f]+" not found/);
  });

  it('removes our objects when their namespace is deleted, and the deletion completes', async () => {
    const doomed = uniqueName('doomed');
    await ok(['create', 'namespace', doomed]);
    await ok(['create', '-f', '-'], { input: accessRequest(doomed, 'a') + '---\n' + accessPolicy(doomed, 'b') });
    await ok(['delete', 'namespace', doomed, '--timeout=120s'], { timeoutMs: 130_000 });
    expect((await ok(['get', 'accessrequests,accesspolicies', '-n', doomed, '-o', 'name'])).trim()).to.equal('');
    expect((await kubectl(['get', 'namespace', doomed])).stderr).to.include('NotFound');
  });

  after(async function () {
    if (ns !== '') await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });
});
