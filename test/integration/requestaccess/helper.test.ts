/**
 * The request-access helper (domain spec §7) against the standalone server (real etcd, in-process
 * app) through its real client-node client. The standalone server has no SubjectAccessReview API,
 * so the SAR part is faked at the client interface (`createSubjectAccessReview` only); create, GET,
 * watch and their reuse/wait rules go over HTTP. The test plays the controller by writing `status`
 * straight into storage, as the in-process controller does. The end-to-end run with the real
 * controller and kube-apiserver is in the e2e suite.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import type { AccessRequest, Condition } from '../../../apiserver/apis/connectors/v1alpha1/types.js';
import { group } from '../../../apiserver/apis/connectors/v1alpha1/types.js';
import { runRequestAccess } from '../../../apiserver/cli/request-access.js';
import { accessRequestClient } from '../../../apiserver/requestaccess/client.js';
import { accessRequestBody, type ProxySubjectAccessReviewSpec, type RequestAccessInput } from '../../../apiserver/requestaccess/decide.js';
import { type AccessRequestWatchEvent, type RequestAccessClient, requestAccessWith } from '../../../apiserver/requestaccess/helper.js';
import { resourceKeys } from '../../../storage/keys.js';
import { gvPath, useRestServer } from '../../support/rest.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const deps = { retryDelaysMs: [10, 20, 40], propagationPollMs: 20 };

const cond = (type: string, status: Condition['status'], reason: string, message = ''): Condition => ({ type, status, reason, message, lastTransitionTime: '2026-01-01T00:00:00Z' });

/** Resolves once check() holds (polling every 10 ms), or rejects after ms. */
async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('request-access helper against the standalone server (SAR faked at the client interface; create/reuse/watch real)', () => {
  const api = useRestServer();
  let kc: KubeConfig;
  let real: RequestAccessClient;
  /** The faked SAR decision, per test. */
  let allow: (spec: ProxySubjectAccessReviewSpec) => boolean;
  let reviews: ProxySubjectAccessReviewSpec[];
  let watchesOpened: number;
  /** The real client, with createSubjectAccessReview replaced and watch openings counted. */
  let client: RequestAccessClient;

  before(() => {
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'local', server: api.url(), skipTLSVerify: true }],
      users: [{ name: 'helper' }],
      contexts: [{ name: 'local', cluster: 'local', user: 'helper' }],
      currentContext: 'local',
    });
    real = accessRequestClient(kc);
  });
  beforeEach(() => {
    allow = () => false;
    reviews = [];
    watchesOpened = 0;
    client = {
      createSubjectAccessReview: async (spec) => {
        reviews.push(spec);
        return { ok: true, value: { allowed: allow(spec) } };
      },
      createAccessRequest: (body, signal) => real.createAccessRequest(body, signal),
      getAccessRequest: (ns, name, signal) => real.getAccessRequest(ns, name, signal),
      watchAccessRequest: async (ns, name, rv, signal) => {
        const r = await real.watchAccessRequest(ns, name, rv, signal);
        if (r.ok) watchesOpened++;
        return r;
      },
    };
  });

  /** One test namespace per case keeps the requests apart. */
  let n = 0;
  const inputFor = (over: Partial<RequestAccessInput> = {}): RequestAccessInput & { connector: { namespace: string } } => {
    n++;
    return {
      connector: { namespace: `devops-${String(n)}`, name: 'prod-harbor' },
      pod: { namespace: 'cicd', name: 'promote-run-abc12-push-image-pod', uid: '2f0d4c7e-8b1a-4f5e-9c3d-6a7b8c9d0e1f', serviceAccountName: 'builder' },
      timeoutMs: 5000,
      propagationTimeoutMs: 1000,
      ...over,
    };
  };
  const name = 'prod-harbor-promote-run-abc12-push-image-pod-6342dabe';
  const path = (ns: string, nm = name): string => `${gvPath}/namespaces/${ns}/accessrequests/${nm}`;

  /** The controller's status write: straight into storage, one MODIFIED event. */
  async function writeStatus(ns: string, conditions: Condition[]): Promise<void> {
    const key = resourceKeys(api.etcdPrefix(), group, 'accessrequests', true).objectKey(ns, name);
    const r = await api.storage().guaranteedUpdate<AccessRequest & { metadata: { resourceVersion?: string } }, never>(key, (cur) => ({
      kind: 'write',
      object: { ...cur, status: { observedGeneration: 1, conditions } },
    }));
    if (!r.ok) throw new Error(`status write failed: ${JSON.stringify(r.error)}`);
  }

  const exists = async (ns: string): Promise<boolean> => (await api.request('GET', path(ns))).status === 200;

  it('SAR (faked) allowed → granted/AlreadyPermitted, nothing created', async () => {
    const input = inputFor();
    allow = (s) => s.resourceAttributes.subresource === 'proxy';
    expect(await requestAccessWith(client, input, deps)).to.deep.equal({ result: 'granted', reason: 'AlreadyPermitted', message: '', accessRequest: null });
    expect(await exists(input.connector.namespace)).to.equal(false);
  });

  it('SAR (faked) denied twice → creates the §10.1 AccessRequest on the server and answers pending after the timeout', async () => {
    const input = inputFor({ timeoutMs: 400 });
    const r = await requestAccessWith(client, input, deps);
    const ns = input.connector.namespace;
    expect([r.result, r.reason, r.message]).to.deep.equal(['pending', 'Pending', `timed out after 0.4s waiting for AccessRequest ${ns}/${name}: not evaluated yet`]);
    expect(reviews.map((s) => s.resourceAttributes.subresource)).to.deep.equal(['proxy', 'proxy/v1/pod/cicd/promote-run-abc12-push-image-pod']);
    const got = await api.request('GET', path(ns));
    expect(got.status).to.equal(200);
    expect(got.body.metadata.labels).to.deep.equal({
      'connectors.cpaas.io/contextObjectKind': 'Pod',
      'connectors.cpaas.io/contextObjectName': 'promote-run-abc12-push-image-pod',
      'connectors.cpaas.io/contextObjectNamespace': 'cicd',
      'connectors.cpaas.io/connector': 'prod-harbor',
    });
    expect(got.body.spec).to.deep.equal(accessRequestBody(input).spec);
    expect(r.accessRequest?.metadata.uid).to.equal(got.body.metadata.uid);
  });

  it('SAR (faked) denied; a second call reuses the stored request (409 → GET) and answers from its status', async () => {
    const input = inputFor({ timeoutMs: 200 });
    const ns = input.connector.namespace;
    const first = await requestAccessWith(client, input, deps);
    expect(first.result).to.equal('pending');
    await writeStatus(ns, [
      cond('AccessCheckReady', 'False', 'Rejected', 'manual-approval (policy prod-harbor-approval): ApprovalTask cicd/t was rejected'),
      cond('Ready', 'False', 'Rejected', 'manual-approval (policy prod-harbor-approval): ApprovalTask cicd/t was rejected'),
    ]);
    const second = await requestAccessWith(client, input, deps);
    expect([second.result, second.reason, second.message]).to.deep.equal(['rejected', 'Rejected', 'manual-approval (policy prod-harbor-approval): ApprovalTask cicd/t was rejected']);
    expect(second.accessRequest?.metadata.uid).to.equal(first.accessRequest?.metadata.uid);
  });

  it('SAR (faked) denied; waits on a real watch: Pending, then Ready=True, then the (faked) SAR allows → granted/Approved', async () => {
    const input = inputFor();
    const ns = input.connector.namespace;
    const p = requestAccessWith(client, input, deps);
    await until(() => watchesOpened === 1, 'the watch');
    // Another request in the namespace: the field selector keeps it out of the helper's watch.
    expect((await api.request('POST', `${gvPath}/namespaces/${ns}/accessrequests`, { body: { ...accessRequestBody(inputFor()), metadata: { name: 'other' } } })).status).to.equal(201);
    await writeStatus(ns, [cond('Ready', 'Unknown', 'Pending', 'M')]);
    await writeStatus(ns, [cond('AccessCheckReady', 'True', 'Passed'), cond('Ready', 'True', 'Synced')]);
    setTimeout(() => (allow = (s) => s.resourceAttributes.subresource !== 'proxy'), 100);
    const r = await p;
    expect([r.result, r.reason, r.message]).to.deep.equal(['granted', 'Approved', '']);
    expect(r.accessRequest?.metadata.name).to.equal(name);
  });

  it('SAR (faked) never allows after Ready=True → failed/PermissionNotEffective', async () => {
    const input = inputFor({ propagationTimeoutMs: 200 });
    const p = requestAccessWith(client, input, deps);
    await until(() => watchesOpened === 1, 'the watch');
    await writeStatus(input.connector.namespace, [cond('Ready', 'True', 'Synced')]);
    const r = await p;
    expect([r.result, r.reason]).to.deep.equal(['failed', 'PermissionNotEffective']);
  });

  it('SAR (faked) denied; ContextObjectValid=False seen on the watch → failed/<reason>', async () => {
    const input = inputFor();
    const p = requestAccessWith(client, input, deps);
    await until(() => watchesOpened === 1, 'the watch');
    const msg = 'Pod cicd/promote-run-abc12-push-image-pod runs as ServiceAccount cicd/default, not cicd/builder';
    await writeStatus(input.connector.namespace, [cond('ContextObjectValid', 'False', 'SubjectMismatch', msg), cond('Ready', 'False', 'SubjectMismatch', msg)]);
    const r = await p;
    expect([r.result, r.reason, r.message]).to.deep.equal(['failed', 'SubjectMismatch', msg]);
  });

  it('SAR (faked) denied; the request deleted through the API while waiting → failed/AccessRequestDeleted', async () => {
    const input = inputFor();
    const ns = input.connector.namespace;
    const p = requestAccessWith(client, input, deps);
    await until(() => watchesOpened === 1, 'the watch');
    expect((await api.request('DELETE', path(ns))).status).to.equal(200);
    const r = await p;
    expect([r.result, r.reason, r.message]).to.deep.equal(['failed', 'AccessRequestDeleted', `AccessRequest ${ns}/${name} was deleted`]);
  });

  it('SAR (faked) denied; a stored request of the same name for another Pod uid → failed/AccessRequestConflict', async () => {
    const input = inputFor();
    const ns = input.connector.namespace;
    const other = accessRequestBody(input);
    other.spec.context.objectRef.uid = 'another-uid';
    expect((await api.request('POST', `${gvPath}/namespaces/${ns}/accessrequests`, { body: other })).status).to.equal(201);
    const r = await requestAccessWith(client, input, deps);
    expect([r.result, r.reason]).to.deep.equal(['failed', 'AccessRequestConflict']);
    expect(r.message).to.contain('uid another-uid');
  });

  it('the client maps a watch from a compacted resourceVersion to 410 (the helper then GETs and re-watches)', async () => {
    const input = inputFor();
    const ns = input.connector.namespace;
    const created = await real.createAccessRequest(accessRequestBody(input), AbortSignal.timeout(5000));
    if (!created.ok) throw new Error(created.error.message);
    const old = created.value.metadata.resourceVersion ?? '';
    await writeStatus(ns, [cond('Ready', 'Unknown', 'Pending', 'M')]);
    await writeStatus(ns, [cond('Ready', 'Unknown', 'Pending', 'M2')]);
    const rev = await api.storage().currentRevision();
    if (!rev.ok) throw new Error('no revision');
    await api.storage().compact(rev.value);
    const ac = new AbortController();
    const w = await real.watchAccessRequest(ns, name, old, ac.signal);
    let code: number | undefined;
    if (!w.ok) code = w.error.code;
    else {
      for await (const ev of w.value as AsyncIterable<AccessRequestWatchEvent>) {
        if (ev.type === 'ERROR') code = ev.error.code;
        break;
      }
    }
    ac.abort();
    expect(code).to.equal(410);
  });

  it('the CLI in-process (SAR faked through its connect seam) prints one line and exits 3 on rejected', async () => {
    const input = inputFor();
    const ns = input.connector.namespace;
    let stdout = '';
    const p = runRequestAccess(['--connector', `${ns}/prod-harbor`, '--pod', 'cicd/promote-run-abc12-push-image-pod', '--pod-uid', input.pod.uid, '--service-account', 'builder'], {
      connect: () => ({ client, readPod: async () => ({ ok: false, error: { code: 500, message: 'not used' } }) }),
      stdout: (s) => (stdout += s),
      stderr: () => undefined,
      helperDeps: deps,
    });
    await until(() => watchesOpened === 1, 'the watch');
    await writeStatus(ns, [cond('AccessCheckReady', 'False', 'Rejected', 'no')]);
    expect(await p).to.equal(3);
    expect(stdout).to.equal(`{"result":"rejected","reason":"Rejected","message":"no","accessRequest":{"namespace":"${ns}","name":"${name}"}}\n`);
  });

  it('the CLI as a process with a real kubeconfig: the standalone server has no SAR API → failed/APIError, exit 1', async function () {
    this.timeout(60_000);
    const dir = mkdtempSync(join(tmpdir(), 'request-access-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(
        kubeconfig,
        `apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "${api.url()}", insecure-skip-tls-verify: true}}]
users: [{name: helper, user: {}}]
contexts: [{name: local, context: {cluster: local, user: helper}}]
current-context: local
`,
      );
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(repoRoot, 'apiserver/cli/main.ts'), 'request', '--connector', 'devops-cli/prod-harbor', '--pod', 'cicd/p', '--pod-uid', 'u', '--service-account', 'sa', '--kubeconfig', kubeconfig],
        { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).to.equal(1);
      const lines = out.split('\n').filter((l) => l !== '');
      expect(lines).to.have.length(1);
      const line = JSON.parse(lines[0] ?? '') as { result: string; reason: string; message: string; accessRequest: unknown };
      expect([line.result, line.reason, line.accessRequest]).to.deep.equal(['failed', 'APIError', null]);
      expect(line.message, line.message).to.contain('HTTP 404');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
