import { expect } from 'chai';
import { requestInfo } from '../../../../apiserver/endpoints/request-info.js';
import { createInflightLimiter, isHealthPath, isLongRunning, requestKindOf, tooManyRequests, type RequestKind } from '../../../../apiserver/filters/inflight.js';

const info = (method: string, url: string): ReturnType<typeof requestInfo> => {
  const u = new URL(url, 'https://localhost');
  return requestInfo(method, u.pathname, u.searchParams);
};
const ars = '/apis/connectors.alauda.io/v1alpha1/namespaces/ns/accessrequests';

describe('createInflightLimiter', () => {
  it('refuses past the limit and admits again after a release', () => {
    const l = createInflightLimiter({ readOnly: 2, mutating: 1 });
    const a = l.tryAcquire('readOnly');
    const b = l.tryAcquire('readOnly');
    expect(a).to.be.a('function');
    expect(b).to.be.a('function');
    expect(l.tryAcquire('readOnly')).to.equal(undefined);
    a?.();
    expect(l.tryAcquire('readOnly')).to.be.a('function');
  });

  it('keeps separate counts for read-only and mutating requests', () => {
    const l = createInflightLimiter({ readOnly: 1, mutating: 1 });
    l.tryAcquire('readOnly');
    expect(l.tryAcquire('mutating')).to.be.a('function');
    expect(l.tryAcquire('mutating')).to.equal(undefined);
    expect([l.current('readOnly'), l.current('mutating')]).to.deep.equal([1, 1]);
  });

  it('releases a seat once however often release is called', () => {
    const l = createInflightLimiter({ readOnly: 2, mutating: 2 });
    const release = l.tryAcquire('mutating');
    l.tryAcquire('mutating');
    release?.();
    release?.();
    expect(l.current('mutating')).to.equal(1);
  });

  it('treats 0 as no limit', () => {
    const l = createInflightLimiter({ readOnly: 0, mutating: 0 });
    for (let i = 0; i < 1000; i++) expect(l.tryAcquire('readOnly')).to.be.a('function');
  });

  it('reports each change', () => {
    const seen: [RequestKind, number][] = [];
    const l = createInflightLimiter({ readOnly: 5, mutating: 5 }, (k, n) => seen.push([k, n]));
    l.tryAcquire('readOnly')?.();
    expect(seen).to.deep.equal([
      ['readOnly', 1],
      ['readOnly', 0],
    ]);
  });
});

describe('request classification', () => {
  const cases: { method: string; url: string; kind: RequestKind; longRunning: boolean }[] = [
    { method: 'GET', url: `${ars}/a`, kind: 'readOnly', longRunning: false },
    { method: 'GET', url: ars, kind: 'readOnly', longRunning: false },
    { method: 'GET', url: `${ars}?watch=true`, kind: 'readOnly', longRunning: true },
    { method: 'GET', url: '/apis/connectors.alauda.io/v1alpha1/watch/namespaces/ns/accessrequests', kind: 'readOnly', longRunning: true },
    { method: 'POST', url: ars, kind: 'mutating', longRunning: false },
    { method: 'PATCH', url: `${ars}/a`, kind: 'mutating', longRunning: false },
    { method: 'DELETE', url: ars, kind: 'mutating', longRunning: false },
    { method: 'GET', url: '/metrics', kind: 'readOnly', longRunning: false },
    { method: 'POST', url: '/metrics', kind: 'mutating', longRunning: false },
  ];
  for (const tc of cases) {
    it(`classifies ${tc.method} ${tc.url}`, () => {
      const i = info(tc.method, tc.url);
      expect([requestKindOf(i), isLongRunning(i)]).to.deep.equal([tc.kind, tc.longRunning]);
    });
  }

  it('recognises the health paths', () => {
    expect(['/readyz', '/livez', '/healthz', '/readyz/etcd'].map(isHealthPath)).to.deep.equal([true, true, true, true]);
    expect(['/metrics', '/readyzz', '/apis'].map(isHealthPath)).to.deep.equal([false, false, false]);
  });
});

describe('tooManyRequests', () => {
  it('is a 429 Status asking to retry after one second', () => {
    expect(tooManyRequests()).to.deep.equal({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Too many requests, please try again later.',
      reason: 'TooManyRequests',
      details: { retryAfterSeconds: 1 },
      code: 429,
    });
  });
});
