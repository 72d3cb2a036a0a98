import { expect } from 'chai';
import { negotiate } from '../../../../apiserver/endpoints/negotiate.js';
import { discoveryForm } from '../../../../apiserver/endpoints/discovery-negotiate.js';

describe('negotiate', () => {
  const table = 'application/json;as=Table;v=v1;g=meta.k8s.io';
  const cases: { name: string; accept: string | undefined; target: 'object' | 'list' | 'watch'; want: string }[] = [
    { name: 'no Accept is JSON', accept: undefined, target: 'object', want: 'json' },
    { name: '*/* is JSON', accept: '*/*', target: 'list', want: 'json' },
    { name: "kubectl get's Table ranges", accept: `${table},application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json`, target: 'list', want: 'table' },
    { name: 'protobuf first falls back to JSON', accept: 'application/vnd.kubernetes.protobuf,application/json', target: 'object', want: 'json' },
    { name: 'protobuf only is 406', accept: 'application/vnd.kubernetes.protobuf', target: 'object', want: '406' },
    { name: 'PartialObjectMetadata for get', accept: 'application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1', target: 'object', want: 'partialObjectMetadata' },
    { name: 'PartialObjectMetadataList for list', accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1', target: 'list', want: 'partialObjectMetadata' },
    { name: 'the single form on a list is 406', accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1', target: 'list', want: '406' },
    { name: 'the list form on a get is 406', accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1', target: 'object', want: '406' },
    { name: 'PartialObjectMetadata for watch', accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1', target: 'watch', want: 'partialObjectMetadata' },
    { name: 'YAML for get', accept: 'application/yaml', target: 'object', want: 'yaml' },
    { name: 'quality decides before order', accept: 'application/yaml;q=0.5,application/json', target: 'object', want: 'json' },
    { name: 'an unknown group in as= is skipped', accept: 'application/json;as=Table;v=v1;g=example.com', target: 'list', want: '406' },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const got = negotiate(tc.accept, tc.target);
      expect(got.ok ? got.value.kind : String(got.error.code)).to.equal(tc.want);
    });
  }
});

describe('discoveryForm', () => {
  it('answers the aggregator with v2', () => {
    expect(discoveryForm('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList')).to.deep.equal({ kind: 'aggregated', version: 'v2' });
  });
  it('treats a profile=nopeer range as v2', () => {
    expect(discoveryForm('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;profile=nopeer,application/json')).to.deep.equal({ kind: 'aggregated', version: 'v2' });
  });
  it('falls back to the legacy list for plain JSON', () => {
    expect(discoveryForm('application/json')).to.deep.equal({ kind: 'legacy' });
  });
  it('finds nothing for protobuf only', () => {
    expect(discoveryForm('application/vnd.kubernetes.protobuf')).to.deep.equal({ kind: 'none' });
  });
});
