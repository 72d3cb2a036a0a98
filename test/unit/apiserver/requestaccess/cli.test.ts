import { expect } from 'chai';
import { type Connection, runRequestAccess } from '../../../../apiserver/cli/request-access.js';
import type { PodIdentity } from '../../../../apiserver/requestaccess/client.js';
import type { ApiResult } from '../../../../apiserver/requestaccess/helper.js';
import { FakeCluster, cond, until } from './fake-client.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('connectors-access request (CLI of §7, against a fake main API server)', () => {
  let k: FakeCluster;
  let podReads: string[];
  let pod: ApiResult<PodIdentity>;
  let kubeconfigs: (string | undefined)[];
  beforeEach(() => {
    k = new FakeCluster();
    podReads = [];
    kubeconfigs = [];
    pod = { ok: true, value: { uid: 'uid-from-pod', serviceAccountName: '' } };
  });

  const connect = (kubeconfig: string | undefined): Connection => {
    kubeconfigs.push(kubeconfig);
    return {
      client: k,
      readPod: async (ns, name) => {
        podReads.push(`${ns}/${name}`);
        return pod;
      },
    };
  };

  async function run(argv: string[]): Promise<Run> {
    let stdout = '';
    let stderr = '';
    const code = await runRequestAccess(argv, {
      connect,
      stdout: (s) => (stdout += s),
      stderr: (s) => (stderr += s),
      helperDeps: { retryDelaysMs: [1, 1, 1], propagationPollMs: 5 },
    });
    return { code, stdout, stderr };
  }

  it('--help prints the usage on stdout and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^Usage: connectors-access request --connector/);
    expect(r.stderr).to.equal('');
  });

  for (const argv of [[], ['--pod', 'cicd/p'], ['--connector', 'devops', '--pod', 'cicd/p'], ['--connector', 'devops/c', '--pod', 'cicd/p', '--timeout', 'x'], ['--connector', 'devops/c', '--pod', 'cicd/p', '--bogus']]) {
    it(`exits 64 with the usage on stderr and nothing on stdout: ${argv.join(' ') || '(no args)'}`, async () => {
      const r = await run(argv);
      expect(r.code).to.equal(64);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.contain('Usage: connectors-access request');
      expect(kubeconfigs).to.deep.equal([]);
    });
  }

  it('granted: one JSON line, exit 0, Pod read for its uid and ServiceAccount', async () => {
    k.allow = () => true;
    const r = await run(['--connector', 'devops/prod-harbor', '--pod', 'cicd/p1', '--kubeconfig', '/tmp/kc']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.equal('{"result":"granted","reason":"AlreadyPermitted","message":"","accessRequest":null}\n');
    expect(podReads).to.deep.equal(['cicd/p1']);
    expect(kubeconfigs).to.deep.equal(['/tmp/kc']);
    expect(k.reviews[0]?.user).to.equal('system:serviceaccount:cicd:default');
  });

  it('does not read the Pod when --pod-uid and --service-account are given', async () => {
    k.allow = () => true;
    const r = await run(['--connector', 'devops/prod-harbor', '--pod', 'cicd/p1', '--pod-uid', 'u', '--service-account', 'builder']);
    expect(r.code).to.equal(0);
    expect(podReads).to.deep.equal([]);
    expect(kubeconfigs).to.deep.equal([undefined]);
    expect(k.reviews[0]?.user).to.equal('system:serviceaccount:cicd:builder');
  });

  it('takes the missing one of uid and ServiceAccount from the Pod', async () => {
    pod = { ok: true, value: { uid: 'uid-from-pod', serviceAccountName: 'from-pod' } };
    const p = run(['--connector', 'devops/prod-harbor', '--pod', 'cicd/p1', '--service-account', 'builder']);
    await until(() => k.objects.size === 1, 'the AccessRequest');
    const [ar] = [...k.objects.values()];
    expect(ar?.spec.context.objectRef.uid).to.equal('uid-from-pod');
    expect(ar?.spec.subject.name).to.equal('builder');
    k.setConditions('devops', ar?.metadata.name ?? '', [cond('AccessCheckReady', 'False', 'Rejected', 'no')]);
    const r = await p;
    expect(r.code).to.equal(3);
    expect(JSON.parse(r.stdout)).to.deep.equal({ result: 'rejected', reason: 'Rejected', message: 'no', accessRequest: { namespace: 'devops', name: ar?.metadata.name } });
  });

  it('a missing Pod → failed/NotFound, exit 1', async () => {
    pod = { ok: false, error: { code: 404, message: 'pods "p1" not found' } };
    const r = await run(['--connector', 'devops/prod-harbor', '--pod', 'cicd/p1']);
    expect(r.code).to.equal(1);
    expect(JSON.parse(r.stdout)).to.deep.equal({ result: 'failed', reason: 'NotFound', message: 'Pod cicd/p1 not found', accessRequest: null });
    expect(k.calls).to.deep.equal([]);
  });

  it('pending after --timeout, exit 2', async () => {
    const r = await run(['--connector', 'devops/prod-harbor', '--pod', 'cicd/p1', '--pod-uid', 'u', '--service-account', 'builder', '--timeout', '100ms']);
    expect(r.code).to.equal(2);
    const line = JSON.parse(r.stdout) as { result: string; reason: string; message: string };
    expect([line.result, line.reason]).to.deep.equal(['pending', 'Pending']);
    expect(line.message).to.match(/^timed out after 0\.1s waiting for AccessRequest devops\/prod-harbor-p1-[0-9a-f]{8}: not evaluated yet$/);
  });

  it('an unreadable kubeconfig → failed/APIError, exit 1', async () => {
    let stdout = '';
    const code = await runRequestAccess(['--connector', 'devops/c', '--pod', 'cicd/p', '--kubeconfig', '/nonexistent/kubeconfig'], {
      stdout: (s) => (stdout += s),
      stderr: () => undefined,
    });
    expect(code).to.equal(1);
    const line = JSON.parse(stdout) as { result: string; reason: string; message: string };
    expect([line.result, line.reason]).to.deep.equal(['failed', 'APIError']);
    expect(line.message).to.contain('/nonexistent/kubeconfig');
  });
});
