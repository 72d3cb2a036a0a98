import { expect } from 'chai';
import { parseServerOptions } from '../../../apiserver/options.js';
import { parseWatchCacheFlags } from '../../../apiserver/watch-cache-options.js';

describe('watch cache flags', () => {
  it('defaults to a cache for every resource', () => {
    const parsed = parseServerOptions(['--etcd-servers=http://127.0.0.1:2379', '--standalone']);
    if (!parsed.ok) expect.fail(parsed.error);
    expect(parsed.value.watchCache).to.equal(true);
    expect([...parsed.value.watchCacheSizes]).to.deep.equal([]);
  });

  it('reads --watch-cache=false and kube-style --watch-cache-sizes', () => {
    const parsed = parseServerOptions([
      '--etcd-servers=http://127.0.0.1:2379',
      '--standalone',
      '--watch-cache=false',
      '--watch-cache-sizes=accessrequests#5000, connectors.connectors.alauda.io#0',
    ]);
    if (!parsed.ok) expect.fail(parsed.error);
    expect(parsed.value.watchCache).to.equal(false);
    expect([...parsed.value.watchCacheSizes]).to.deep.equal([
      ['accessrequests', 5000],
      ['connectors.connectors.alauda.io', 0],
    ]);
  });

  const bad: [string, string][] = [
    ['yes', ''],
    ['true', 'accessrequests=5'],
    ['true', 'accessrequests#-1'],
    ['true', '#5'],
  ];
  for (const [cache, sizes] of bad) {
    it(`rejects --watch-cache=${cache} --watch-cache-sizes=${sizes}`, () => {
      expect(parseWatchCacheFlags({ 'watch-cache': cache, 'watch-cache-sizes': sizes }).ok).to.equal(false);
    });
  }
});
