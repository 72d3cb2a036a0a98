import { expect } from 'chai';
import { parseServerOptions, usage } from '../../../apiserver/options.js';

const base = ['--standalone', '--etcd-servers=http://127.0.0.1:2379'];

describe('operations flags', () => {
  it('defaults to kube-apiserver\'s limits and deadline, no shutdown delay and verbosity 0', () => {
    const parsed = parseServerOptions(base);
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.value).to.include({ maxRequestsInflight: 400, maxMutatingRequestsInflight: 200, requestTimeoutMs: 60_000, shutdownDelayMs: 0, verbosity: 0 });
  });

  const cases: { name: string; args: string[]; want: Record<string, number> }[] = [
    { name: 'reads -v=4', args: ['-v=4'], want: { verbosity: 4 } },
    { name: 'reads --v=2', args: ['--v=2'], want: { verbosity: 2 } },
    { name: 'reads -v 3', args: ['-v', '3'], want: { verbosity: 3 } },
    { name: 'reads the in-flight limits', args: ['--max-requests-inflight=10', '--max-mutating-requests-inflight=0'], want: { maxRequestsInflight: 10, maxMutatingRequestsInflight: 0 } },
    { name: 'reads Go durations', args: ['--request-timeout=1m30s', '--shutdown-delay-duration=15s'], want: { requestTimeoutMs: 90_000, shutdownDelayMs: 15_000 } },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const parsed = parseServerOptions([...base, ...tc.args]);
      if (!parsed.ok) throw new Error(parsed.error);
      expect(parsed.value).to.include(tc.want);
    });
  }

  const bad: { args: string[]; error: string }[] = [
    { args: ['--max-requests-inflight=-1'], error: '--max-requests-inflight must be a non-negative integer' },
    { args: ['--max-mutating-requests-inflight=lots'], error: '--max-mutating-requests-inflight must be a non-negative integer' },
    { args: ['--request-timeout=60'], error: '--request-timeout must be a duration' },
    { args: ['--request-timeout=0s'], error: '--request-timeout must be greater than 0' },
    { args: ['--shutdown-delay-duration=-5s'], error: '--shutdown-delay-duration must be a duration' },
    { args: ['-v=high'], error: '-v must be a non-negative integer' },
  ];
  for (const tc of bad) {
    it(`rejects ${tc.args.join(' ')}`, () => {
      const parsed = parseServerOptions([...base, ...tc.args]);
      expect(parsed.ok).to.equal(false);
      if (!parsed.ok) expect(parsed.error).to.include(tc.error);
    });
  }

  it('documents every flag in the usage text', () => {
    for (const flag of ['--max-requests-inflight=400', '--max-mutating-requests-inflight=200', '--request-timeout=1m0s', '--shutdown-delay-duration=0s', '-v, --v=0']) {
      expect(usage).to.include(flag);
    }
  });
});
