import { expect } from 'chai';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import {
  createBearerTokenAuthenticator,
  createTokenReviewAuthenticator,
  type CreateTokenReview,
  type TokenAuthenticator,
  type TokenReviewBody,
} from '../../../../apiserver/auth/tokenreview.js';
import { callWithBackoff, createExpiringLru, type ReviewCallResult } from '../../../../apiserver/auth/webhook.js';

const reviewed = (status: Record<string, unknown>): ReviewCallResult => ({
  ok: true,
  value: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', status },
});

const alice = {
  authenticated: true,
  user: { username: 'alice', uid: 'u-1', groups: ['devs'], extra: { scopes: ['a', 'b'] } },
  audiences: ['https://kubernetes.default.svc'],
};

/** A fake TokenReview endpoint: answers from a queue, records bodies. */
function fakeReviews(answers: ReviewCallResult[]): { create: CreateTokenReview; bodies: TokenReviewBody[] } {
  const bodies: TokenReviewBody[] = [];
  return {
    bodies,
    create: (body) => {
      bodies.push(body);
      const next = answers.length > 1 ? answers.shift() : answers[0];
      return Promise.resolve(next ?? { ok: false, error: { code: undefined, message: 'no answer' } });
    },
  };
}

const noSleep = { sleep: () => Promise.resolve(), random: () => 0 };

describe('createTokenReviewAuthenticator', () => {
  it('maps status.user to the user and sends a TokenReview with the token', async () => {
    const fake = fakeReviews([reviewed(alice)]);
    const tokens = createTokenReviewAuthenticator({ createTokenReview: fake.create, ...noSleep });
    expect(await tokens.authenticateToken('t1')).to.deep.equal({
      kind: 'authenticated',
      user: { name: 'alice', uid: 'u-1', groups: ['devs'], extra: { scopes: ['a', 'b'] } },
    });
    expect(fake.bodies).to.deep.equal([{ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 't1' } }]);
  });

  it('serves the second call from the cache for 10 s, then asks again', async () => {
    let now = new Date('2030-01-01T00:00:00Z');
    const fake = fakeReviews([reviewed(alice)]);
    const tokens = createTokenReviewAuthenticator({ createTokenReview: fake.create, now: () => now, ...noSleep });
    await tokens.authenticateToken('t1');
    now = new Date(now.getTime() + 9_999);
    expect((await tokens.authenticateToken('t1')).kind).to.equal('authenticated');
    expect(fake.bodies).to.have.length(1);
    now = new Date(now.getTime() + 2);
    await tokens.authenticateToken('t1');
    expect(fake.bodies).to.have.length(2);
  });

  it('caches misses too', async () => {
    const fake = fakeReviews([reviewed({ authenticated: false })]);
    const tokens = createTokenReviewAuthenticator({ createTokenReview: fake.create, ...noSleep });
    expect(await tokens.authenticateToken('bad')).to.deep.equal({ kind: 'anonymous' });
    expect(await tokens.authenticateToken('bad')).to.deep.equal({ kind: 'anonymous' });
    expect(fake.bodies).to.have.length(1);
  });

  it('does not cache errors', async () => {
    const fake = fakeReviews([reviewed({ authenticated: false, error: 'token lookup failed' }), reviewed(alice)]);
    const tokens = createTokenReviewAuthenticator({ createTokenReview: fake.create, ...noSleep });
    expect(await tokens.authenticateToken('t1')).to.deep.equal({ kind: 'error', message: 'token lookup failed' });
    expect((await tokens.authenticateToken('t1')).kind).to.equal('authenticated');
  });

  it('keys the cache by token and audiences', async () => {
    const fake = fakeReviews([reviewed(alice)]);
    const tokens = createTokenReviewAuthenticator({ createTokenReview: fake.create, ...noSleep });
    await tokens.authenticateToken('t1');
    await tokens.authenticateToken('t2');
    expect(fake.bodies.map((b) => b.spec.token)).to.deep.equal(['t1', 't2']);
  });

  it('sends audiences and rejects a token meant for others', async () => {
    const fake = fakeReviews([reviewed(alice)]);
    const tokens = createTokenReviewAuthenticator({ createTokenReview: fake.create, audiences: ['connectors'], ...noSleep });
    expect(await tokens.authenticateToken('t1')).to.deep.equal({ kind: 'anonymous' });
    expect(fake.bodies[0]?.spec.audiences).to.deep.equal(['connectors']);
  });

  it('shares one TokenReview among concurrent requests with the same token', async () => {
    const fake = fakeReviews([reviewed(alice)]);
    const tokens = createTokenReviewAuthenticator({ createTokenReview: fake.create, ...noSleep });
    const results = await Promise.all([tokens.authenticateToken('t1'), tokens.authenticateToken('t1')]);
    expect(results.map((r) => r.kind)).to.deep.equal(['authenticated', 'authenticated']);
    expect(fake.bodies).to.have.length(1);
  });

  it('retries 5xx and connection errors with backoff', async () => {
    const sleeps: number[] = [];
    const fake = fakeReviews([
      { ok: false, error: { code: 503, message: 'unavailable' } },
      { ok: false, error: { code: undefined, message: 'ECONNRESET' } },
      reviewed(alice),
    ]);
    const tokens = createTokenReviewAuthenticator({
      createTokenReview: fake.create,
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
      random: () => 0,
    });
    expect((await tokens.authenticateToken('t1')).kind).to.equal('authenticated');
    expect(sleeps).to.deep.equal([500, 750]);
  });

  it('gives up after the attempts and reports an error', async () => {
    const fake = fakeReviews([{ ok: false, error: { code: 500, message: 'boom' } }]);
    const tokens = createTokenReviewAuthenticator({ createTokenReview: fake.create, ...noSleep });
    expect(await tokens.authenticateToken('t1')).to.deep.equal({ kind: 'error', message: 'TokenReview failed: boom' });
    expect(fake.bodies).to.have.length(5);
  });

  it('does not retry a 403', async () => {
    const fake = fakeReviews([{ ok: false, error: { code: 403, message: 'forbidden' } }]);
    const tokens = createTokenReviewAuthenticator({ createTokenReview: fake.create, ...noSleep });
    expect((await tokens.authenticateToken('t1')).kind).to.equal('error');
    expect(fake.bodies).to.have.length(1);
  });

  it('times out a TokenReview that does not answer', async () => {
    const tokens = createTokenReviewAuthenticator({ createTokenReview: () => new Promise(() => undefined), timeoutMs: 20, ...noSleep });
    expect(await tokens.authenticateToken('t1')).to.deep.equal({ kind: 'error', message: 'TokenReview failed: timed out after 20ms' });
  });
});

describe('callWithBackoff', () => {
  it('turns a thrown call into a retryable error', async () => {
    let calls = 0;
    const r = await callWithBackoff(
      () => {
        calls += 1;
        return calls === 1 ? Promise.reject(new Error('socket hang up')) : Promise.resolve({ ok: true, value: 1 });
      },
      { timeoutMs: 1000, backoff: { initialMs: 1, factor: 1, jitter: 0, steps: 3 }, ...noSleep },
    );
    expect(r).to.deep.equal({ ok: true, value: 1 });
  });
});

describe('createExpiringLru', () => {
  it('evicts the least recently used entry', () => {
    const now = new Date();
    const lru = createExpiringLru<number>(2, () => now);
    lru.set('a', 1, 1000);
    lru.set('b', 2, 1000);
    lru.get('a');
    lru.set('c', 3, 1000);
    expect([lru.get('a'), lru.get('b'), lru.get('c')]).to.deep.equal([1, undefined, 3]);
  });
});

describe('createBearerTokenAuthenticator', () => {
  const tokens: TokenAuthenticator = {
    authenticateToken: (t) => Promise.resolve(t === 'good' ? { kind: 'authenticated', user: { name: 'sa', groups: [] } } : { kind: 'anonymous' }),
  };
  const withAuthorization = (value: string | undefined): IncomingMessage => {
    const req = new IncomingMessage(new Socket());
    req.headers = value === undefined ? {} : { authorization: value };
    return req;
  };
  const cases: { name: string; header: string | undefined; want: string }[] = [
    { name: 'no header is not ours', header: undefined, want: 'anonymous' },
    { name: 'Basic is not ours', header: 'Basic Zm9vOmJhcg==', want: 'anonymous' },
    { name: 'an empty bearer token is not ours', header: 'Bearer ', want: 'anonymous' },
    { name: 'a valid token authenticates (scheme case-insensitive)', header: 'bearer good', want: 'authenticated' },
    { name: 'an invalid token is an error', header: 'Bearer nope', want: 'error' },
  ];
  for (const tc of cases) {
    it(tc.name, async () => {
      expect((await createBearerTokenAuthenticator(tokens).authenticate(withAuthorization(tc.header))).kind).to.equal(tc.want);
    });
  }
});
