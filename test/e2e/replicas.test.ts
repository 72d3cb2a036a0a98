/**
 * Several replicas on one etcd (issue 8): every replica serves the API and sees the others' writes
 * in its watches; only the Lease holder runs the controllers; when the leader is SIGKILLed in the
 * middle of an approval, another replica takes over and the flow completes once, with one grant.
 *
 * The control plane's replica (A) is the APIService's backend and, having started first, the
 * leader. The test starts B and C on other ports, kills A right after approving, and starts A again
 * on its port (so the APIService keeps working); A's new PID is recorded where the control plane's
 * stop() finds it. B and C are stopped by this file.
 *
 * A replica starting creates the built-in templates that are missing (§8) and leaves the others,
 * edited or not, as they are.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, writeFileSync, closeSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import {
  approvalFlag,
  bothOn,
  connectorYaml,
  createNamespaces,
  gv,
  installApprovalTaskCrd,
  ok,
  podName,
  policyYaml,
  proxyFlag,
  runYaml,
  setFlags,
  systemNamespace,
  taskName,
  type Scene,
} from './scenes.js';
import { eventually, kubectl, serverSkipped, uniqueName, useControlPlane, type ControlPlane } from './setup.js';
import { freePort } from '../support/ports.js';

const base = `/apis/${gv}`;

interface Replica {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly log: string;
}

function startReplica(cp: ControlPlane, name: string, port: number): Replica {
  const log = join(cp.runDir, `${name}.log`);
  const fd = openSync(log, 'w');
  const child = spawn(process.execPath, cp.serverArgs(port), {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  return { name, port, child, log };
}

/** HTTPS to one replica directly, as the cluster's admin (client certificate, system:masters). */
function direct(cp: ControlPlane, port: number, method: string, path: string, body?: unknown): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        ca: readFileSync(cp.pki.extCa.crt),
        cert: readFileSync(cp.pki.admin.crt),
        key: readFileSync(cp.pki.admin.key),
        checkServerIdentity: () => undefined,
        headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (s: string) => (text += s));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const ready = async (cp: ControlPlane, r: { port: number }): Promise<true | undefined> => {
  try {
    return (await direct(cp, r.port, 'GET', '/readyz')).code === 200 ? true : undefined;
  } catch {
    return undefined;
  }
};

const leaseHolder = async (): Promise<string> =>
  (await ok(['get', 'lease', 'connectors-access-apiserver', '-n', 'connectors-system', '-o', 'jsonpath={.spec.holderIdentity}'])).trim();

describe('three replicas on one etcd (leader election e2e)', function () {
  const cp = useControlPlane();
  const replicas: Replica[] = [];

  before(async function () {
    if (serverSkipped()) this.skip();
    this.timeout(120_000);
    for (const name of ['replica-b', 'replica-c']) replicas.push(startReplica(cp(), name, await freePort()));
    for (const r of replicas) await eventually(`${r.name} ready`, () => ready(cp(), r), { timeoutMs: 60_000 });
  });

  after(async function () {
    this.timeout(60_000);
    for (const r of replicas) {
      if (r.child.exitCode === null && r.child.signalCode === null) {
        const exited = new Promise((res) => r.child.once('exit', res));
        r.child.kill('SIGTERM');
        await Promise.race([exited, new Promise((res) => setTimeout(res, 20_000))]);
        r.child.kill('SIGKILL');
      }
    }
  });

  it('shows a write made through one replica in a watch opened on another', async function () {
    this.timeout(60_000);
    const ns = uniqueName('repl');
    await ok(['create', 'namespace', ns]);
    const [b, c] = replicas as [Replica, Replica];
    const listed = JSON.parse((await direct(cp(), c.port, 'GET', `${base}/namespaces/${ns}/accesspolicies`)).body) as { metadata: { resourceVersion: string } };
    const events: string[] = [];
    const watch = request({
      host: '127.0.0.1',
      port: c.port,
      path: `${base}/namespaces/${ns}/accesspolicies?watch=true&resourceVersion=${listed.metadata.resourceVersion}`,
      ca: readFileSync(cp().pki.extCa.crt),
      cert: readFileSync(cp().pki.admin.crt),
      key: readFileSync(cp().pki.admin.key),
      checkServerIdentity: () => undefined,
    });
    watch.on('response', (res) => res.setEncoding('utf8').on('data', (s: string) => events.push(s)));
    watch.on('error', () => undefined);
    watch.end();
    try {
      const created = await direct(cp(), b.port, 'POST', `${base}/namespaces/${ns}/accesspolicies`, { apiVersion: gv, kind: 'AccessPolicy', metadata: { name: 'via-b' }, spec: {} });
      expect(created.code, created.body).to.equal(201);
      await eventually('the event on replica C', () => Promise.resolve(events.join('').includes('"via-b"') ? true : undefined), { timeoutMs: 20_000 });
      expect(events.join('')).to.include('"type":"ADDED"');
    } finally {
      watch.destroy();
    }
  });

  it('fails over when the leader is killed mid-approval: the flow completes once, one grant', async function () {
    this.timeout(240_000);
    const c = cp();
    const s: Scene = { devops: uniqueName('devops'), cicd: uniqueName('cicd') };
    const { devops, cicd } = s;
    const firstHolder = await eventually('a lease holder', async () => ((await leaseHolder()) === '' ? undefined : leaseHolder()));
    await installApprovalTaskCrd();
    await createNamespaces(s);
    await setFlags(bothOn);
    const pod = podName('run-x');
    const request = `prod-harbor-${pod}`;
    await ok(['apply', '-f', '-'], `${connectorYaml(devops, 'prod-harbor', 'https://harbor.example.com')}---
${policyYaml(devops, { name: 'approval' })}---
${runYaml(cicd, 'run-x', 'pending')}---
apiVersion: ${gv}
kind: AccessRequest
metadata: {name: ${request}, namespace: ${devops}}
spec:
  connectorRef: {name: prod-harbor}
  context: {objectRef: {apiVersion: v1, kind: Pod, namespace: ${cicd}, name: ${pod}}}
  subject: {kind: ServiceAccount, name: builder, namespace: ${cicd}}
`);
    const readyOf = async (): Promise<string> =>
      (await kubectl(['get', 'accessrequest', request, '-n', devops, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].reason}'])).stdout.trim();
    await eventually('Ready Pending', async () => ((await readyOf()) === 'Pending' ? true : undefined), { timeoutMs: 60_000 });

    // Approve and kill the leader (A, the control plane's replica) at once: mid-reconcile.
    const aPid = c.pids['connectors-apiserver'];
    expect(aPid, 'the control plane replica').to.be.a('number');
    await ok(['patch', 'approvaltask', taskName('run-x'), '-n', cicd, '--type=merge', '-p', '{"status":{"state":"approved"}}']);
    process.kill(aPid ?? -1, 'SIGKILL');
    // A comes back on its port (the APIService's backend) as one more candidate.
    const a2 = startReplica(c, 'connectors-apiserver-restarted', c.ports.ext);
    writeFileSync(join(c.runDir, 'pids', 'connectors-apiserver.pid'), `${String(a2.child.pid ?? -1)}\n`);
    await eventually('A restarted', () => ready(c, { port: c.ports.ext }), { timeoutMs: 60_000 });

    await eventually('Ready Synced after failover', async () => ((await readyOf()) === 'Synced' ? true : undefined), { timeoutMs: 90_000, intervalMs: 1000 });
    const holder = await leaseHolder();
    expect(holder).to.not.equal(firstHolder);
    const roles = (await ok(['get', 'roles', '-n', devops, '-l', `connectors.alauda.io/accessRequest=${request}`, '-o', 'name'])).trim().split('\n');
    expect(roles).to.deep.equal([`role.rbac.authorization.k8s.io/${request}-approval`]);
    const granted = (await ok(['get', 'events', '-n', devops, '--field-selector', `involvedObject.name=${request},reason=PermissionGranted`, '-o', 'name'])).trim().split('\n').filter((l) => l !== '');
    expect(granted, 'PermissionGranted events').to.have.length(1);
    // Exactly one replica leads now.
    const leaders = [...replicas.map((r) => r.log), a2.log].filter((f) => {
      const lines = readFileSync(f, 'utf8').split('\n');
      const started = lines.filter((l) => l.includes('started leading')).length;
      const stoppedCount = lines.filter((l) => l.includes('stopped leading')).length;
      return started > stoppedCount;
    });
    expect(leaders, 'replicas that lead').to.have.length(1);
    await setFlags({ [proxyFlag]: 'false', [approvalFlag]: 'false' });
    await kubectl(['delete', 'namespace', devops, cicd, '--wait=false']);
  });
});

describe('a starting replica and the built-in templates (§8)', function () {
  const cp = useControlPlane();

  it('creates a missing built-in template and leaves an edited one as it is', async function () {
    if (serverSkipped()) this.skip();
    this.timeout(120_000);
    const missing = 'connectors-approvals-in-pipeline';
    const edited = 'connectors-use-connectors-proxy';
    const shipped = await ok(['get', 'configmap', missing, '-n', systemNamespace, '-o', 'jsonpath={.data.spec}']);
    await ok(['annotate', 'configmap', edited, '-n', systemNamespace, 'e2e.connectors.alauda.io/edited=yes', '--overwrite']);
    await ok(['delete', 'configmap', missing, '-n', systemNamespace]);
    const r = startReplica(cp(), 'replica-templates', await freePort());
    try {
      const spec = await eventually(`${missing} created again`, async () => {
        const got = await kubectl(['get', 'configmap', missing, '-n', systemNamespace, '-o', 'jsonpath={.data.spec}']);
        return got.code === 0 ? got.stdout : undefined;
      }, { timeoutMs: 60_000, intervalMs: 500 });
      expect(spec).to.equal(shipped);
      expect(readFileSync(r.log, 'utf8')).to.include('created a missing built-in template');
      const annotation = await ok(['get', 'configmap', edited, '-n', systemNamespace, '-o', 'jsonpath={.metadata.annotations.e2e\\.connectors\\.alauda\\.io/edited}']);
      expect(annotation, 'the edited template is not overwritten').to.equal('yes');
    } finally {
      const exited = new Promise((res) => r.child.once('exit', res));
      r.child.kill('SIGTERM');
      await Promise.race([exited, new Promise((res) => setTimeout(res, 20_000))]);
      r.child.kill('SIGKILL');
      await kubectl(['annotate', 'configmap', edited, '-n', systemNamespace, 'e2e.connectors.alauda.io/edited-']);
    }
  });
});
