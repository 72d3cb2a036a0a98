import { expect } from 'chai';
import { parseControllerConfig } from '../../../../apiserver/controller/config.js';
import { parseGoDuration } from '../../../../apiserver/controller/duration.js';

describe('parseControllerConfig (§8)', () => {
  it('defaults everything for a missing ConfigMap', () => {
    expect(parseControllerConfig(undefined)).to.deep.equal({
      flags: { connectorProxyPermissions: false, connectorsApproval: false },
      checkKinds: [{ group: 'openshift-pipelines.org', version: 'v1alpha1', kind: 'ApprovalTask', apiVersion: 'openshift-pipelines.org/v1alpha1' }],
      warnings: [],
    });
  });

  it('enables only on the exact string "true" and warns about the rest', () => {
    const c = parseControllerConfig({ 'enable-connector-proxy-permissions': 'true', 'enable-connectors-approval': 'True', other: 'x' });
    expect(c.flags).to.deep.equal({ connectorProxyPermissions: true, connectorsApproval: false });
    expect(c.warnings).to.deep.equal(['enable-connectors-approval: "True" is not "true" and counts as off']);
  });

  it('parses, trims and de-duplicates check kinds, ignoring malformed entries', () => {
    const c = parseControllerConfig({ 'check-kinds': ' example.com/v1/Gate , v1/ConfigMap,bad,example.com/v1/Gate,' });
    expect(c.checkKinds.map((k) => [k.apiVersion, k.kind])).to.deep.equal([
      ['example.com/v1', 'Gate'],
      ['v1', 'ConfigMap'],
    ]);
    expect(c.warnings).to.deep.equal(['check-kinds: ignoring malformed entry "bad"']);
  });
});

describe('parseGoDuration', () => {
  const cases: { src: string; want: number | undefined }[] = [
    { src: '90s', want: 90_000 },
    { src: '30m', want: 1_800_000 },
    { src: '1h30m', want: 5_400_000 },
    { src: '1.5h', want: 5_400_000 },
    { src: '250ms', want: 250 },
    { src: '0', want: 0 },
    { src: '-1m', want: -60_000 },
    { src: '', want: undefined },
    { src: '30', want: undefined },
    { src: '1d', want: undefined },
    { src: 'h', want: undefined },
  ];
  for (const tc of cases) it(`reads ${JSON.stringify(tc.src)}`, () => expect(parseGoDuration(tc.src)).to.equal(tc.want));
});
