import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseAuthenticationConfig,
  watchAuthenticationConfig,
  type AuthenticationConfig,
  type AuthenticationConfigWatchOptions,
  type ConfigMapSnapshot,
  type ConfigMapWatchEvent,
} from '../../../../apiserver/auth/authentication-config.js';
import type { Result } from '../../../../storage/interface.js';

function makeCA(dir: string, cn: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-keyout', `${cn}.key`, '-out', `${cn}.crt`, '-subj', `/CN=${cn}`],
      { cwd: dir },
      (err, _o, stderr) => (err === null ? resolve(readFileSync(join(dir, `${cn}.crt`), 'utf8')) : reject(new Error(stderr || err.message))),
    );
  });
}

/** A watch the test drives: push events, end it, and see which resourceVersions it was opened at. */
function fakeWatch(): {
  watchConfigMap: AuthenticationConfigWatchOptions['watchConfigMap'];
  push: (ev: ConfigMapWatchEvent | 'end') => void;
  openedAt: string[];
} {
  const queue: (ConfigMapWatchEvent | 'end')[] = [];
  let wake = (): void => undefined;
  const openedAt: string[] = [];
  return {
    openedAt,
    push: (ev) => {
      queue.push(ev);
      wake();
    },
    watchConfigMap: async function* (rv, signal) {
      openedAt.push(rv);
      while (!signal.aborted) {
        const ev = queue.shift();
        if (ev === 'end') return;
        if (ev !== undefined) {
          yield ev;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
      }
    },
  };
}

describe('authentication config', function () {
  this.timeout(30_000);
  let dir = '';
  let caA = '';
  let caB = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auth-config-test-'));
    [caA, caB] = await Promise.all([makeCA(dir, 'ca-a'), makeCA(dir, 'ca-b')]);
  });
  after(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  const data = (over: Record<string, string | undefined> = {}): Record<string, string> => {
    const d: Record<string, string | undefined> = {
      'client-ca-file': caA,
      'requestheader-client-ca-file': caB,
      'requestheader-allowed-names': '["front-proxy-client","a, b"]',
      'requestheader-username-headers': '["X-Remote-User"]',
      'requestheader-group-headers': '["X-Remote-Group"]',
      'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
      ...over,
    };
    return Object.fromEntries(Object.entries(d).filter((e): e is [string, string] => e[1] !== undefined));
  };

  describe('parseAuthenticationConfig', () => {
    it('reads the PEM bundles and the JSON lists, never splitting on commas', () => {
      const r = parseAuthenticationConfig(data({ 'requestheader-uid-headers': '["X-Remote-Uid"]' }));
      if (!r.ok) throw new Error(r.error);
      expect(r.value.clientCA?.map((c) => c.subject)).to.deep.equal(['CN=ca-a']);
      expect(r.value.requestHeader.clientCA.map((c) => c.subject)).to.deep.equal(['CN=ca-b']);
      const { clientCA: _ca, ...lists } = r.value.requestHeader;
      expect(lists).to.deep.equal({
        allowedNames: ['front-proxy-client', 'a, b'],
        usernameHeaders: ['X-Remote-User'],
        groupHeaders: ['X-Remote-Group'],
        extraHeaderPrefixes: ['X-Remote-Extra-'],
        uidHeaders: ['X-Remote-Uid'],
      });
    });

    it('reads a bundle of several CAs', () => {
      const r = parseAuthenticationConfig(data({ 'requestheader-client-ca-file': caA + caB }));
      expect(r.ok ? r.value.requestHeader.clientCA.length : r.error).to.equal(2);
    });

    it('treats absent lists and client CA as empty', () => {
      const r = parseAuthenticationConfig({ 'requestheader-client-ca-file': caB });
      if (!r.ok) throw new Error(r.error);
      expect(r.value.clientCA).to.equal(undefined);
      expect(r.value.requestHeader.allowedNames).to.deep.equal([]);
      expect(r.value.requestHeader.uidHeaders).to.deep.equal([]);
    });

    const errors: { name: string; over: Record<string, string | undefined>; want: string }[] = [
      { name: 'a missing requestheader CA', over: { 'requestheader-client-ca-file': undefined }, want: 'kube-apiserver is not set up for aggregation' },
      { name: 'an empty requestheader CA', over: { 'requestheader-client-ca-file': '' }, want: 'kube-apiserver is not set up for aggregation' },
      { name: 'a garbled PEM', over: { 'client-ca-file': '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----' }, want: 'client-ca-file' },
      { name: 'a comma list instead of JSON', over: { 'requestheader-allowed-names': 'front-proxy-client,other' }, want: 'requestheader-allowed-names is not a JSON array of strings' },
      { name: 'a JSON list of non-strings', over: { 'requestheader-group-headers': '[1]' }, want: 'requestheader-group-headers is not a JSON array of strings' },
    ];
    for (const tc of errors) {
      it(`rejects ${tc.name}`, () => {
        const r = parseAuthenticationConfig(data(tc.over));
        expect(r.ok ? 'ok' : r.error).to.contain(tc.want);
      });
    }
  });

  describe('watchAuthenticationConfig', () => {
    const snap = (rv: string, d: Record<string, string>): Result<ConfigMapSnapshot | undefined, string> => ({ ok: true, value: { resourceVersion: rv, data: d } });

    it('refuses to start without the ConfigMap', async () => {
      const w = fakeWatch();
      const r = await watchAuthenticationConfig({ getConfigMap: () => Promise.resolve({ ok: true, value: undefined }), watchConfigMap: w.watchConfigMap });
      expect(r.ok ? 'ok' : r.error).to.contain('kube-apiserver is not set up for aggregation');
    });

    it('refuses to start without requestheader-client-ca-file', async () => {
      const w = fakeWatch();
      const r = await watchAuthenticationConfig({ getConfigMap: () => Promise.resolve(snap('1', data({ 'requestheader-client-ca-file': undefined }))), watchConfigMap: w.watchConfigMap });
      expect(r.ok ? 'ok' : r.error).to.contain('kube-apiserver is not set up for aggregation');
    });

    it('applies changes from the watch and keeps the last good config on a bad one', async () => {
      const w = fakeWatch();
      const changes: AuthenticationConfig[] = [];
      const errors: string[] = [];
      let notify = (): void => undefined;
      const r = await watchAuthenticationConfig({
        getConfigMap: () => Promise.resolve(snap('1', data())),
        watchConfigMap: w.watchConfigMap,
        onChange: (c) => {
          changes.push(c);
          notify();
        },
        onError: (m) => {
          errors.push(m);
          notify();
        },
        sleep: () => Promise.resolve(),
      });
      if (!r.ok) throw new Error(r.error);
      const next = (): Promise<void> => new Promise((resolve) => (notify = resolve));
      try {
        expect(r.value.current().requestHeader.allowedNames).to.deep.equal(['front-proxy-client', 'a, b']);
        expect(w.openedAt).to.deep.equal(['1']);

        let seen = next();
        w.push({ type: 'MODIFIED', object: { resourceVersion: '2', data: data({ 'requestheader-allowed-names': '["aggregator"]' }) } });
        await seen;
        expect(r.value.current().requestHeader.allowedNames).to.deep.equal(['aggregator']);
        expect(changes).to.have.length(1);

        seen = next();
        w.push({ type: 'MODIFIED', object: { resourceVersion: '3', data: data({ 'requestheader-client-ca-file': undefined }) } });
        await seen;
        expect(errors[0]).to.contain('keeping the previous configuration');
        expect(r.value.current().requestHeader.allowedNames).to.deep.equal(['aggregator']);
      } finally {
        await r.value.stop();
      }
    });

    it('reads again and re-opens the watch at the new resourceVersion when the watch ends', async () => {
      const w = fakeWatch();
      let reads = 0;
      let notify = (): void => undefined;
      const r = await watchAuthenticationConfig({
        getConfigMap: () => {
          reads += 1;
          return Promise.resolve(reads === 1 ? snap('1', data()) : snap('7', data({ 'requestheader-client-ca-file': caA })));
        },
        watchConfigMap: w.watchConfigMap,
        onChange: () => notify(),
        sleep: () => Promise.resolve(),
      });
      if (!r.ok) throw new Error(r.error);
      try {
        const seen = new Promise<void>((resolve) => (notify = resolve));
        w.push({ type: 'ERROR', message: 'too old resource version' });
        await seen;
        expect(r.value.current().requestHeader.clientCA.map((c) => c.subject)).to.deep.equal(['CN=ca-a']);
        // The loop re-opens right after applying the fresh read.
        await new Promise((resolve) => setImmediate(resolve));
        expect(w.openedAt).to.deep.equal(['1', '7']);
      } finally {
        await r.value.stop();
      }
    });
  });
});
