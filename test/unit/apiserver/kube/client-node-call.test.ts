/**
 * How a thrown client-node error is read, once for every client-node caller: the review clients and
 * the request-access helper (clientNodeCall → code + Status message, else `HTTP <code>`) and
 * `migrate`'s MainApiServer (clientNodeFailure, which says when the Status had no message).
 */
import { expect } from 'chai';
import { ApiException } from '@kubernetes/client-node';
import { clientNodeCall, clientNodeError, clientNodeFailure } from '../../../../apiserver/kube/client-node-call.js';

const status = (code: number, message?: string): string =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, ...(message === undefined ? {} : { message }) });
const apiException = (code: number, body: unknown): ApiException<unknown> => new ApiException(code, `HTTP-Code: ${String(code)}`, body, {});

describe('client-node call helpers', () => {
  it('an error response: its code and the message of the Status in the body', () => {
    expect(clientNodeFailure(apiException(503, status(503, 'etcd is down')))).to.deep.equal({ code: 503, statusMessage: 'etcd is down' });
    expect(clientNodeError(apiException(503, status(503, 'etcd is down')))).to.deep.equal({ code: 503, message: 'etcd is down' });
  });

  it('a Status without a message, an empty body: no status message; the error says HTTP <code>', () => {
    expect(clientNodeFailure(apiException(404, status(404)))).to.deep.equal({ code: 404, statusMessage: undefined });
    expect(clientNodeFailure(apiException(500, ''))).to.deep.equal({ code: 500, statusMessage: undefined });
    expect(clientNodeError(apiException(404, status(404)))).to.deep.equal({ code: 404, message: 'HTTP 404' });
  });

  it('a body that is not JSON is the message, cut at 200 characters', () => {
    expect(clientNodeFailure(apiException(502, 'Bad Gateway'))).to.deep.equal({ code: 502, statusMessage: 'Bad Gateway' });
    expect(clientNodeError(apiException(502, 'x'.repeat(300))).message).to.have.length(200);
  });

  it('anything else thrown: no code, its message', () => {
    expect(clientNodeFailure(new Error('connect ECONNREFUSED'))).to.deep.equal({ code: undefined, message: 'connect ECONNREFUSED' });
    expect(clientNodeError('boom')).to.deep.equal({ code: undefined, message: 'boom' });
  });

  it('clientNodeCall never throws: the value, or the failure as a result', async () => {
    const signal = new AbortController().signal;
    expect(await clientNodeCall(signal, () => Promise.resolve({ a: 1 }))).to.deep.equal({ ok: true, value: { a: 1 } });
    expect(await clientNodeCall(signal, () => Promise.reject(apiException(403, status(403, 'forbidden'))))).to.deep.equal({
      ok: false,
      error: { code: 403, message: 'forbidden' },
    });
  });

  it('clientNodeCall hands the signal to the call through a middleware', async () => {
    const signal = new AbortController().signal;
    let seen: unknown;
    await clientNodeCall(signal, (options) => {
      seen = options;
      return Promise.resolve(undefined);
    });
    expect(seen).to.have.property('middlewareMergeStrategy', 'append');
    expect((seen as { middleware: unknown[] }).middleware).to.have.length(1);
  });
});
