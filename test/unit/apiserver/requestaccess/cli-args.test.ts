import { expect } from 'chai';
import { parseCliDuration, parseNamespacedName, parseRequestArgs } from '../../../../apiserver/requestaccess/cli-args.js';

describe('request-access CLI arguments (§7)', () => {
  it('parses the required flags with the default timeouts', () => {
    expect(parseRequestArgs(['--connector', 'devops/prod-harbor', '--pod', 'cicd/p1'])).to.deep.equal({
      kind: 'run',
      args: { connector: { namespace: 'devops', name: 'prod-harbor' }, pod: { namespace: 'cicd', name: 'p1' }, timeoutMs: 30_000, propagationTimeoutMs: 10_000 },
    });
  });

  it('parses every flag, in both the `--flag value` and `--flag=value` forms', () => {
    expect(
      parseRequestArgs([
        '--connector=devops/prod-harbor',
        '--pod',
        'cicd/p1',
        '--pod-uid=u-1',
        '--service-account',
        'builder',
        '--timeout',
        '2m',
        '--propagation-timeout=1m30s',
        '--kubeconfig',
        '/tmp/kc',
      ]),
    ).to.deep.equal({
      kind: 'run',
      args: {
        connector: { namespace: 'devops', name: 'prod-harbor' },
        pod: { namespace: 'cicd', name: 'p1' },
        podUid: 'u-1',
        serviceAccount: 'builder',
        timeoutMs: 120_000,
        propagationTimeoutMs: 90_000,
        kubeconfig: '/tmp/kc',
      },
    });
  });

  it('keeps an explicit empty --service-account (= default) and treats an empty --pod-uid as absent', () => {
    const r = parseRequestArgs(['--connector', 'a/b', '--pod', 'c/d', '--service-account=', '--pod-uid=']);
    expect(r.kind === 'run' ? r.args.serviceAccount : undefined).to.equal('');
    expect(r.kind === 'run' && 'podUid' in r.args).to.equal(false);
  });

  it('answers --help and -h anywhere', () => {
    expect(parseRequestArgs(['--help'])).to.deep.equal({ kind: 'help' });
    expect(parseRequestArgs(['--connector', 'a/b', '-h'])).to.deep.equal({ kind: 'help' });
  });

  for (const [what, argv] of [
    ['no flags', []],
    ['a missing --connector', ['--pod', 'c/d']],
    ['a missing --pod', ['--connector', 'a/b']],
    ['an unknown flag', ['--connector', 'a/b', '--pod', 'c/d', '--namespace', 'x']],
    ['a positional argument', ['--connector', 'a/b', '--pod', 'c/d', 'extra']],
    ['a flag without value', ['--connector', 'a/b', '--pod']],
    ['a connector without namespace', ['--connector', 'b', '--pod', 'c/d']],
    ['a pod with two slashes', ['--connector', 'a/b', '--pod', 'c/d/e']],
    ['an empty name part', ['--connector', 'a/', '--pod', 'c/d']],
    ['a bad --timeout', ['--connector', 'a/b', '--pod', 'c/d', '--timeout', '30']],
    ['a negative --propagation-timeout', ['--connector', 'a/b', '--pod', 'c/d', '--propagation-timeout', '-1s']],
  ] as const) {
    it(`reports ${what} as a usage error`, () => {
      expect(parseRequestArgs(argv).kind).to.equal('usageError');
    });
  }

  it('parses <ns>/<name> and durations', () => {
    expect(parseNamespacedName('ns/n')).to.deep.equal({ namespace: 'ns', name: 'n' });
    expect(parseNamespacedName('/n')).to.equal(undefined);
    expect(parseCliDuration('30s')).to.equal(30_000);
    expect(parseCliDuration('2m')).to.equal(120_000);
    expect(parseCliDuration('500ms')).to.equal(500);
    expect(parseCliDuration('0')).to.equal(0);
    expect(parseCliDuration('soon')).to.equal(undefined);
  });
});
