import { expect } from 'chai';
import { healthPath, healthy, runHealthCheck, runHealthChecks, unhealthy, withCheckTimeout, type HealthCheck } from '../../../apiserver/health.js';

const check = (name: string, ok: boolean): HealthCheck => ({ name, check: () => (ok ? healthy : unhealthy(`${name} is down`)) });
const ready = [check('ping', true), check('etcd', true), check('informer-sync', true), check('shutdown', true)];
const etcdDown = [check('ping', true), check('etcd', false), check('informer-sync', true), check('shutdown', true)];

describe('runHealthChecks', () => {
  const cases: { name: string; checks: HealthCheck[]; query: string; code: number; body: string }[] = [
    { name: 'answers ok when every check passes', checks: ready, query: '', code: 200, body: 'ok' },
    {
      name: 'lists every check with ?verbose',
      checks: ready,
      query: 'verbose',
      code: 200,
      body: '[+]ping ok\n[+]etcd ok\n[+]informer-sync ok\n[+]shutdown ok\nreadyz check passed\n',
    },
    {
      name: 'lists every check on failure, verbose or not, and withholds the reason',
      checks: etcdDown,
      query: '',
      code: 500,
      body: '[+]ping ok\n[-]etcd failed: reason withheld\n[+]informer-sync ok\n[+]shutdown ok\nreadyz check failed\n',
    },
    {
      name: 'passes with the failing check excluded',
      checks: etcdDown,
      query: 'exclude=etcd&verbose',
      code: 200,
      body: '[+]ping ok\n[+]etcd excluded: ok\n[+]informer-sync ok\n[+]shutdown ok\nreadyz check passed\n',
    },
    {
      name: 'warns about exclusions that match no check',
      checks: [check('ping', true)],
      query: 'exclude=nope&exclude=also&verbose',
      code: 200,
      body: '[+]ping ok\nwarn: some health checks cannot be excluded: no matches for "also","nope"\nreadyz check passed\n',
    },
  ];
  for (const tc of cases) {
    it(tc.name, async () => {
      const reply = await runHealthChecks('readyz', tc.checks, new URLSearchParams(tc.query));
      expect(reply).to.deep.equal({ code: tc.code, body: tc.body });
    });
  }

  it('names the endpoint in the last line', async () => {
    expect((await runHealthChecks('livez', [check('ping', true)], new URLSearchParams('verbose'))).body).to.equal('[+]ping ok\nlivez check passed\n');
  });

  it('counts a check that throws as failed', async () => {
    const throwing: HealthCheck = { name: 'boom', check: () => Promise.reject(new Error('x')) };
    expect((await runHealthChecks('healthz', [throwing], new URLSearchParams())).code).to.equal(500);
  });
});

describe('runHealthCheck', () => {
  it('answers ok for a passing check', async () => {
    expect(await runHealthCheck(check('etcd', true))).to.deep.equal({ code: 200, body: 'ok' });
  });

  it('shows the reason of a failing check', async () => {
    expect(await runHealthCheck(check('etcd', false))).to.deep.equal({ code: 500, body: 'internal server error: etcd is down\n' });
  });
});

describe('withCheckTimeout', () => {
  it('fails a check that does not answer in time', async () => {
    const hung: HealthCheck = { name: 'etcd', check: () => new Promise(() => undefined) };
    expect(await withCheckTimeout(hung, 5).check()).to.deep.equal(unhealthy('timed out after 5ms'));
  });

  it('passes the answer of a prompt check through', async () => {
    expect(await withCheckTimeout(check('etcd', true), 1000).check()).to.deep.equal(healthy);
  });
});

describe('healthPath', () => {
  const cases: { path: string; want: ReturnType<typeof healthPath> }[] = [
    { path: '/readyz', want: { endpoint: 'readyz', check: undefined } },
    { path: '/livez/', want: { endpoint: 'livez', check: undefined } },
    { path: '/readyz/etcd', want: { endpoint: 'readyz', check: 'etcd' } },
    { path: '/healthz/ping', want: { endpoint: 'healthz', check: 'ping' } },
    { path: '/readyz/etcd/more', want: undefined },
    { path: '/metrics', want: undefined },
  ];
  for (const tc of cases) {
    it(`parses ${tc.path}`, () => {
      expect(healthPath(tc.path)).to.deep.equal(tc.want);
    });
  }
});
