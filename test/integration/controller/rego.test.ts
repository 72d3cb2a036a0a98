import { expect } from 'chai';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RegoJob, RegoOutcome } from '../../../apiserver/controller/checks.js';
import { regoJobKey } from '../../../apiserver/controller/checks.js';
import type { CheckObject } from '../../../apiserver/controller/objects.js';
import { createRegoEvaluator, resolveOpaPath } from '../../../apiserver/controller/rego.js';
import type { RegoEvaluator } from '../../../apiserver/controller/rego.js';

// The example of spec §5.3: pass only with at least two approvals.
const twoApprovals = `package approval

default status := {"state": "pending"}

status := {"state": "rejected"} if input.status.state == "rejected"

status := {"state": "approved"} if {
	input.status.state == "approved"
	input.status.approvalsReceived >= 2
}

status := {"state": "rejected"} if {
	input.status.state == "approved"
	input.status.approvalsReceived < 2
}
`;

let uidSeq = 0;
function task(status: Record<string, unknown>, name = 'promote'): CheckObject {
  uidSeq += 1;
  return {
    apiVersion: 'openshift-pipelines.org/v1alpha1',
    kind: 'ApprovalTask',
    metadata: { name, namespace: 'cicd', uid: `uid-${String(uidSeq)}`, resourceVersion: '7' },
    spec: { numberOfApprovalsRequired: 1 },
    status,
  };
}

const job = (rego: string, input: CheckObject): RegoJob => ({ key: regoJobKey(rego, input), rego, input });

describe('Rego evaluation with the real opa', function () {
  let opaPath: string;
  let evaluator: RegoEvaluator;

  before(async function () {
    // A cold build of opa takes minutes.
    this.timeout(20 * 60_000);
    opaPath = await resolveOpaPath();
    evaluator = createRegoEvaluator({ opaPath });
  });

  after(async function () {
    await evaluator.close();
  });

  async function one(rego: string, input: CheckObject): Promise<RegoOutcome> {
    const j = job(rego, input);
    const out = await evaluator.evaluate([j]);
    expect([...out.keys()]).to.deep.equal([j.key]);
    const r = out.get(j.key);
    if (r === undefined) expect.fail('no outcome');
    return r;
  }

  function failure(r: RegoOutcome): string {
    if (r.ok) expect.fail(`expected an error, got state ${JSON.stringify(r.state)}`);
    return r.error;
  }

  it('evaluates the example policy: approved, rejected, pending', async function () {
    const cases: [Record<string, unknown>, string][] = [
      [{ state: 'approved', approvalsReceived: 2 }, 'approved'],
      [{ state: 'approved', approvalsReceived: 3 }, 'approved'],
      [{ state: 'approved', approvalsReceived: 1 }, 'rejected'],
      [{ state: 'rejected', approvalsReceived: 5 }, 'rejected'],
      [{ state: 'pending' }, 'pending'],
      [{}, 'pending'],
    ];
    const jobs = cases.map(([status]) => job(twoApprovals, task(status)));
    const out = await evaluator.evaluate(jobs);
    expect(out.size).to.equal(cases.length);
    jobs.forEach((j, i) => expect(out.get(j.key), JSON.stringify(cases[i]?.[0])).to.deep.equal({ ok: true, state: cases[i]?.[1] }));
  });

  it('gives the whole check object as input and returns non-string states as they are', async function () {
    const rego = `package approval

status.state := {"name": input.metadata.name, "kind": input.kind, "n": input.spec.numberOfApprovalsRequired}
`;
    expect(await one(rego, task({}, 'deploy-1'))).to.deep.equal({
      ok: true,
      state: { name: 'deploy-1', kind: 'ApprovalTask', n: 1 },
    });
  });

  it('reports an undefined document as a missing state', async function () {
    expect(await one('package approval\n\nstatus := {"state": "approved"} if input.status.never\n', task({}))).to.deep.equal({
      ok: true,
      state: undefined,
    });
    // Another package: data.approval is undefined.
    expect(await one('package other\n\nstatus := {"state": "approved"}\n', task({}))).to.deep.equal({ ok: true, state: undefined });
  });

  it('fails on a compile error with OPA’s message', async function () {
    const err = failure(await one('package approval\n\nstatus := {"state": x} if { x := input.a +\n', task({})));
    expect(err).to.match(/^state\.rego:\d+: rego_parse_error: /);
  });

  it('compiles Rego v1 only', async function () {
    const err = failure(await one('package approval\n\nstatus["state"] = "approved" { true }\n', task({})));
    expect(err).to.contain('rego_parse_error');
  });

  it('fails on a runtime error', async function () {
    const rego = 'package approval\n\nstatus := {"state": "a"} if true\n\nstatus := {"state": "b"} if true\n';
    expect(failure(await one(rego, task({})))).to.contain('eval_conflict_error');
  });

  for (const [builtin, call] of [
    ['http.send', 'http.send({"method": "get", "url": "http://127.0.0.1:1/"}).status'],
    ['net.lookup_ip_addr', 'net.lookup_ip_addr("localhost")'],
    ['opa.runtime', 'opa.runtime().env'],
  ] as const) {
    it(`makes ${builtin} unavailable`, async function () {
      const rego = `package approval\n\nstatus := {"state": x} if x := ${call}\n`;
      const err = failure(await one(rego, task({})));
      expect(err).to.match(/^state\.rego:3: rego_type_error: undefined function /);
      expect(err).to.contain(builtin);
    });
  }

  it('times out an expensive policy after 1 s', async function () {
    this.timeout(20_000);
    const rego = `package approval

status := {"state": "approved"} if {
	some i in numbers.range(1, 100000)
	some j in numbers.range(1, 100000)
	i * j < 0
}
`;
    expect(await one(rego, task({}))).to.deep.equal({ ok: false, error: 'evaluation timed out after 1s' });
  });

  it('kills an opa process that overruns the timeout', async function () {
    this.timeout(20_000);
    // A stand-in that answers `opa capabilities` and then hangs on evaluation.
    const dir = await mkdtemp(join(tmpdir(), 'rego-test-'));
    try {
      const fake = join(dir, 'opa');
      await writeFile(fake, `#!/bin/sh\nif [ "$1" = capabilities ]; then exec '${opaPath}' "$@"; fi\nexec sleep 60\n`);
      await chmod(fake, 0o755);
      const slow = createRegoEvaluator({ opaPath: fake, timeoutMs: 1000, killGraceMs: 500 });
      try {
        const j = job(twoApprovals, task({ state: 'approved' }));
        expect((await slow.evaluate([j])).get(j.key)).to.deep.equal({ ok: false, error: 'evaluation timed out after 1s' });
      } finally {
        await slow.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('evaluates duplicate keys once and an empty list to nothing', async function () {
    const j = job(twoApprovals, task({ state: 'approved', approvalsReceived: 2 }));
    const out = await evaluator.evaluate([j, j, j]);
    expect([...out.entries()]).to.deep.equal([[j.key, { ok: true, state: 'approved' }]]);
    expect((await evaluator.evaluate([])).size).to.equal(0);
  });

  it('never throws: a missing binary fails every job', async function () {
    const broken = createRegoEvaluator({ opaPath: join(tmpdir(), 'no-such-dir', 'opa') });
    try {
      const jobs = [job(twoApprovals, task({})), job(twoApprovals, task({ state: 'approved' }))];
      const out = await broken.evaluate(jobs);
      expect(out.size).to.equal(2);
      for (const j of jobs) {
        const r = out.get(j.key);
        expect(r?.ok).to.equal(false);
        expect(r?.ok === false ? r.error : '').to.match(/^opa capabilities: .*ENOENT/);
      }
    } finally {
      await broken.close();
    }
  });
});
