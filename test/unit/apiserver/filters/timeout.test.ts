import { expect } from 'chai';
import express from 'express';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeStatus } from '../../../../apiserver/endpoints/responses.js';
import { armRequestTimeout, requestDeadlineMs, requestTimedOut } from '../../../../apiserver/filters/timeout.js';

describe('requestDeadlineMs', () => {
  const cases: { name: string; query: string; want: number }[] = [
    { name: 'uses the server maximum without ?timeout', query: '', want: 60_000 },
    { name: 'takes a shorter ?timeout', query: 'timeout=5s', want: 5000 },
    { name: 'caps a longer ?timeout at the maximum', query: 'timeout=10m', want: 60_000 },
    { name: 'treats ?timeout=0s as no timeout of the caller\'s own', query: 'timeout=0s', want: 60_000 },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(requestDeadlineMs(new URLSearchParams(tc.query), 60_000)).to.deep.equal({ ok: true, value: tc.want });
    });
  }

  it('answers 400 for a timeout that is not a duration', () => {
    const r = requestDeadlineMs(new URLSearchParams('timeout=soon'), 60_000);
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.error).to.include({ code: 400, message: 'invalid timeout specified in the request URL - time: invalid duration "soon"' });
  });
});

describe('armRequestTimeout', () => {
  let server: Server | undefined;
  let base = '';
  let release: () => void = () => undefined;
  const handlerDone: Promise<void>[] = [];
  before(async () => {
    const app = express();
    app.get('/slow', (_req, res) => {
      armRequestTimeout(res, 20, () => writeStatus(res, requestTimedOut()));
      // The handler is stuck until the test releases it, long after the deadline.
      handlerDone.push(
        new Promise<void>((resolve) => {
          release = () => {
            res.status(200).setHeader('X-Late', 'yes');
            res.end('late answer');
            resolve();
          };
        }),
      );
    });
    app.get('/fast', (_req, res) => {
      armRequestTimeout(res, 60_000, () => writeStatus(res, requestTimedOut()));
      res.end('fast');
    });
    server = createServer(app);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it('answers 504 Timeout when the handler takes too long, and drops its late answer', async () => {
    const res = await fetch(`${base}/slow`);
    expect(res.status).to.equal(504);
    expect(await res.json()).to.deep.equal({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Timeout: request did not complete within requested timeout - context deadline exceeded',
      reason: 'Timeout',
      details: {},
      code: 504,
    });
    release();
    await handlerDone[0];
    // The server is still healthy after the swallowed write.
    expect(await (await fetch(`${base}/fast`)).text()).to.equal('fast');
  });
});
