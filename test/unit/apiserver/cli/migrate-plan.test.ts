import { expect } from 'chai';
import type { KubeObject } from '../../../../apiserver/api/meta.js';
import {
  decideForward,
  decideReverse,
  migratedKinds,
  outcomeLine,
  reverseCreateBody,
  storedForm,
  type MigratedKind,
} from '../../../../apiserver/cli/migrate/plan.js';

const [classKind, connectorKind] = migratedKinds as [MigratedKind, MigratedKind];

/** A Connector as kube-apiserver serves it from the CRD. */
const fromCrd = (): KubeObject => ({
  apiVersion: 'connectors.alauda.io/v1alpha1',
  kind: 'Connector',
  metadata: {
    name: 'harbor',
    namespace: 'devops',
    uid: '6a1f0c55-0000-4000-8000-000000000001',
    resourceVersion: '4711',
    selfLink: '/apis/connectors.alauda.io/v1alpha1/namespaces/devops/connectors/harbor',
    generation: 3,
    creationTimestamp: '2025-01-02T03:04:05Z',
    deletionTimestamp: '2025-02-02T03:04:05Z',
    deletionGracePeriodSeconds: 0,
    labels: { team: 'a' },
    annotations: { note: 'x' },
    finalizers: ['connectors.alauda.io/cleanup'],
    ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'o', uid: 'u-o' }],
    managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'connectors.alauda.io/v1alpha1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }],
  },
  spec: { connectorClassName: 'harbor', address: 'https://harbor.example.com', auth: { params: { any: [1, { b: true }] } } },
  status: { observedGeneration: 3, conditions: [{ type: 'Ready', status: 'True', reason: 'Ready' }] },
  extra: 'dropped',
});

describe('migrate: the pure part (domain spec §2.3)', () => {
  it('copies ConnectorClasses before Connectors', () => {
    expect(migratedKinds.map((k) => [k.kind, k.plural, k.namespaced])).to.deep.equal([
      ['ConnectorClass', 'connectorclasses', false],
      ['Connector', 'connectors', true],
    ]);
  });

  describe('storedForm', () => {
    it('keeps all of metadata but resourceVersion and selfLink, plus spec and status', () => {
      const src = fromCrd();
      const s = storedForm(connectorKind, src);
      const { resourceVersion: _rv, selfLink: _sl, ...kept } = src.metadata;
      expect(s.metadata).to.deep.equal(kept);
      expect(s.metadata).not.to.have.property('resourceVersion');
      expect(s.metadata).not.to.have.property('selfLink');
      expect(s.metadata.uid).to.equal(src.metadata.uid);
      expect(s.metadata.deletionTimestamp).to.equal('2025-02-02T03:04:05Z');
      expect(s.metadata.managedFields).to.deep.equal(src.metadata.managedFields);
      expect(s['spec']).to.deep.equal(src['spec']);
      expect(s['status']).to.deep.equal(src['status']);
      expect(s).not.to.have.property('extra');
      expect(s.apiVersion).to.equal('connectors.alauda.io/v1alpha1');
      expect(s.kind).to.equal('Connector');
    });

    it('does not share structure with its input', () => {
      const src = fromCrd();
      const s = storedForm(connectorKind, src);
      (s.metadata.labels as Record<string, string>)['team'] = 'changed';
      (s['spec'] as { address: string }).address = 'changed';
      expect(src.metadata.labels?.['team']).to.equal('a');
      expect((src['spec'] as { address: string }).address).to.equal('https://harbor.example.com');
    });

    it('drops a namespace on a cluster-scoped kind and leaves out absent spec and status', () => {
      const s = storedForm(classKind, { metadata: { name: 'harbor', namespace: 'x', uid: 'u' } });
      expect(s).to.deep.equal({ apiVersion: 'connectors.alauda.io/v1alpha1', kind: 'ConnectorClass', metadata: { name: 'harbor', uid: 'u' } });
    });
  });

  describe('decideForward', () => {
    const desired = storedForm(connectorKind, fromCrd());

    it('created when nothing is stored', () => {
      expect(decideForward(desired, undefined)).to.equal('created');
    });

    it('unchanged when the stored object equals it (resourceVersion and key order aside)', () => {
      const stored = JSON.parse(JSON.stringify({ status: desired['status'], spec: desired['spec'], metadata: { ...desired.metadata, resourceVersion: '12' }, kind: desired.kind, apiVersion: desired.apiVersion })) as KubeObject;
      expect(decideForward(desired, stored)).to.equal('unchanged');
    });

    it('updated when the stored object with the same uid differs anywhere', () => {
      const spec = structuredClone(desired);
      (spec['spec'] as { address: string }).address = 'https://old';
      expect(decideForward(desired, spec)).to.equal('updated');
      const status = structuredClone(desired);
      delete status['status'];
      expect(decideForward(desired, status)).to.equal('updated');
      const labels = structuredClone(desired);
      labels.metadata.labels = { team: 'b' };
      expect(decideForward(desired, labels)).to.equal('updated');
    });

    it('conflict when the stored object has another uid, however equal otherwise', () => {
      const other = structuredClone(desired);
      other.metadata.uid = 'someone-else';
      expect(decideForward(desired, other)).to.equal('conflict');
    });
  });

  describe('reverse', () => {
    const stored = storedForm(connectorKind, fromCrd());

    it('creates with name, namespace, labels, annotations, finalizers, ownerReferences and spec only', () => {
      expect(reverseCreateBody(connectorKind, stored)).to.deep.equal({
        apiVersion: 'connectors.alauda.io/v1alpha1',
        kind: 'Connector',
        metadata: {
          name: 'harbor',
          namespace: 'devops',
          labels: { team: 'a' },
          annotations: { note: 'x' },
          finalizers: ['connectors.alauda.io/cleanup'],
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'o', uid: 'u-o' }],
        },
        spec: stored['spec'],
      });
      const cls = reverseCreateBody(classKind, { metadata: { name: 'c', uid: 'u', labels: {} } });
      expect(cls).to.deep.equal({ apiVersion: 'connectors.alauda.io/v1alpha1', kind: 'ConnectorClass', metadata: { name: 'c' } });
    });

    /** What kube-apiserver holds after creating it: new uid, its own metadata. */
    const created = (): KubeObject => ({
      ...reverseCreateBody(connectorKind, stored),
      metadata: { ...reverseCreateBody(connectorKind, stored).metadata, uid: 'new-uid', resourceVersion: '9', generation: 1, creationTimestamp: '2026-01-01T00:00:00Z' },
    });

    it('created when absent; updated when only the status is behind; unchanged when equal', () => {
      expect(decideReverse(stored, undefined)).to.equal('created');
      expect(decideReverse(stored, created())).to.equal('updated');
      expect(decideReverse(stored, { ...created(), status: structuredClone(stored['status']) })).to.equal('unchanged');
    });

    it('treats absent, null and empty maps and lists alike', () => {
      const a: KubeObject = { metadata: { name: 'n', labels: {}, finalizers: [] }, spec: {} };
      const b: KubeObject = { metadata: { name: 'n', uid: 'x' }, status: null };
      expect(decideReverse(a, b)).to.equal('unchanged');
    });

    it('conflict when the existing object has other labels, annotations, finalizers, ownerReferences or spec', () => {
      for (const change of [
        (o: KubeObject) => (o.metadata.labels = { team: 'b' }),
        (o: KubeObject) => delete o.metadata.annotations,
        (o: KubeObject) => (o.metadata.finalizers = []),
        (o: KubeObject) => (o.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'o', uid: 'other' }]),
        (o: KubeObject) => ((o['spec'] as { address: string }).address = 'https://elsewhere'),
      ]) {
        const existing = created();
        change(existing);
        expect(decideReverse(stored, existing)).to.equal('conflict');
      }
    });
  });

  it('writes one line per object, "-" as the namespace of a cluster-scoped one', () => {
    expect(outcomeLine(connectorKind, storedForm(connectorKind, fromCrd()), 'created')).to.equal('Connector devops/harbor created');
    expect(outcomeLine(classKind, { metadata: { name: 'harbor' } }, 'conflict')).to.equal('ConnectorClass -/harbor conflict');
  });
});
