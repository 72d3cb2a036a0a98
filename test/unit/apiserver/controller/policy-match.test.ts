import { expect } from 'chai';
import type { AccessPolicySpec } from '../../../../apiserver/apis/connectors/v1alpha1/types.js';
import { matchingPolicies, selectsConnector, snapshotPolicies } from '../../../../apiserver/controller/policy-match.js';
import { connector, policy } from './fixtures.js';

describe('selectsConnector', () => {
  const cases: { name: string; sel: AccessPolicySpec['connector']; want: boolean }[] = [
    { name: 'selects every Connector without a selector', sel: undefined, want: true },
    { name: 'selects every Connector with {}', sel: {}, want: true },
    { name: 'selects every Connector with empty names and labels', sel: { names: [], matchLabels: {} }, want: true },
    { name: 'selects by name', sel: { names: ['dev', 'prod-harbor'] }, want: true },
    { name: 'skips other names', sel: { names: ['dev'] }, want: false },
    { name: 'selects by label', sel: { matchLabels: { 'connectors.alauda.io/connectorclass': 'oci' } }, want: true },
    { name: 'skips other labels', sel: { matchLabels: { 'connectors.alauda.io/connectorclass': 'git' } }, want: false },
    {
      name: 'selects by expression',
      sel: { matchExpressions: [{ key: 'connectors.alauda.io/connectorclass', operator: 'In', values: ['oci', 'git'] }] },
      want: true,
    },
    { name: 'selects nothing with a bad operator', sel: { matchExpressions: [{ key: 'a', operator: 'Near' }] }, want: false },
  ];
  for (const tc of cases) it(tc.name, () => expect(selectsConnector(tc.sel, connector())).to.equal(tc.want));
});

describe('matchingPolicies and snapshotPolicies', () => {
  it('keeps only policies of the namespace', () => {
    const elsewhere = policy();
    elsewhere.metadata.namespace = 'other';
    expect(matchingPolicies('devops', connector(), [elsewhere])).to.deep.equal([]);
  });

  it('copies name and spec deeply, sorted by name', () => {
    const b = policy();
    const a = policy();
    a.metadata.name = 'a';
    const snaps = snapshotPolicies([b, a]);
    expect(snaps.map((s) => s.name)).to.deep.equal(['a', 'prod-harbor-approval']);
    expect(snaps[1]?.policySpec).to.deep.equal(b.spec);
    expect(snaps[1]?.policySpec).to.not.equal(b.spec);
  });
});
