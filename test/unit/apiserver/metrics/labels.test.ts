import { expect } from 'chai';
import { requestInfo } from '../../../../apiserver/endpoints/request-info.js';
import { requestLabelsOf } from '../../../../apiserver/metrics/index.js';
import { etcdKeyLabels } from '../../../../apiserver/metrics/storage.js';

const gv = '/apis/connectors.alauda.io/v1alpha1';

describe('requestLabelsOf', () => {
  const cases: { method: string; url: string; contentType?: string; want: Partial<Record<string, string>> }[] = [
    { method: 'GET', url: `${gv}/namespaces/a/accessrequests/x`, want: { verb: 'GET', scope: 'resource', resource: 'accessrequests' } },
    { method: 'GET', url: `${gv}/namespaces/a/accessrequests`, want: { verb: 'LIST', scope: 'namespace' } },
    { method: 'GET', url: `${gv}/accessrequests`, want: { verb: 'LIST', scope: 'cluster' } },
    { method: 'GET', url: `${gv}/namespaces/a/accessrequests?watch=1`, want: { verb: 'WATCH', scope: 'namespace' } },
    { method: 'POST', url: `${gv}/namespaces/a/accessrequests`, want: { verb: 'POST', scope: 'resource' } },
    { method: 'PUT', url: `${gv}/namespaces/a/accessrequests/x/status`, want: { verb: 'PUT', subresource: 'status' } },
    { method: 'PATCH', url: `${gv}/namespaces/a/accessrequests/x`, contentType: 'application/merge-patch+json', want: { verb: 'PATCH' } },
    { method: 'PATCH', url: `${gv}/namespaces/a/accessrequests/x`, contentType: 'application/apply-patch+yaml; charset=utf-8', want: { verb: 'APPLY' } },
    { method: 'DELETE', url: `${gv}/namespaces/a/accessrequests`, want: { verb: 'DELETECOLLECTION', scope: 'namespace' } },
    { method: 'POST', url: `${gv}/namespaces/a/accessrequests?dryRun=All`, want: { dry_run: 'All' } },
    { method: 'GET', url: '/metrics', want: { verb: 'GET', group: '', resource: '', scope: '', component: 'apiserver' } },
  ];
  for (const tc of cases) {
    it(`labels ${tc.method} ${tc.url}${tc.contentType === undefined ? '' : ` (${tc.contentType})`}`, () => {
      const u = new URL(tc.url, 'https://localhost');
      expect(requestLabelsOf(tc.method, requestInfo(tc.method, u.pathname, u.searchParams), u.searchParams, tc.contentType)).to.include(tc.want);
    });
  }
});

describe('etcdKeyLabels', () => {
  it('reads group and resource from a key under the prefix', () => {
    expect(etcdKeyLabels('/registry', '/registry/connectors.alauda.io/accessrequests/ns/a')).to.deep.equal({ group: 'connectors.alauda.io', resource: 'accessrequests' });
    expect(etcdKeyLabels('/registry/', '/registry/connectors.alauda.io/accesspolicies/')).to.deep.equal({ group: 'connectors.alauda.io', resource: 'accesspolicies' });
  });

  it('leaves keys outside the prefix unlabelled', () => {
    expect(etcdKeyLabels('/registry', '')).to.deep.equal({ group: '', resource: '' });
    expect(etcdKeyLabels('/registry', '/other/x/y')).to.deep.equal({ group: '', resource: '' });
  });
});
