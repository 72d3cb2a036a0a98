import { expect } from 'chai';
import type { KubeObject, ManagedFieldsEntry } from '../../../../../apiserver/api/meta.js';
import type { Storage } from '../../../../../storage/interface.js';
import { resourceKeys } from '../../../../../storage/keys.js';
import { accessPolicyResource } from '../../../../../apiserver/registry/accesspolicy/resource.js';
import type { Conflict } from '../../../../../apiserver/registry/fieldmanager/apply.js';
import type { RequestContext, ResourceDefinition } from '../../../../../apiserver/registry/rest.js';
import { storeContext } from '../../../../../apiserver/registry/store/context.js';
import { lastAppliedFields, unexcusedConflicts } from '../../../../../apiserver/registry/store/last-applied.js';
import {
  ignoredTopLevelFields,
  recordUpdate,
  sameIgnoringManagedFieldsTimes,
  withManagedFields,
} from '../../../../../apiserver/registry/store/managed.js';
import { accessPolicySchema } from '../../../../../openapi/connectors-v1alpha1.js';

const GV = 'connectors.alauda.io/v1alpha1';
const r = accessPolicyResource as unknown as ResourceDefinition<KubeObject>;
// These helpers never touch storage.
const c = storeContext({ resource: r, storage: {} as Storage, keys: resourceKeys('/t', r.group, r.plural, r.namespaced) });
const ctx: RequestContext = { namespace: 'ns', user: { name: 'u', groups: [] }, now: () => new Date('2025-03-01T10:00:00Z') };

const policy = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion: GV, kind: 'AccessPolicy', metadata: { name: 'p', namespace: 'ns', ...metadata }, spec }) as KubeObject;

const entry = (manager: string, time: string): ManagedFieldsEntry => ({
  manager,
  operation: 'Update',
  apiVersion: GV,
  time,
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:spec': { 'f:connector': {} } },
});

describe('store managedFields helpers', () => {
  it('ignores status on the main resource and everything but status on /status', () => {
    expect(ignoredTopLevelFields(c, 'main')).to.deep.equal(['status']);
    expect(ignoredTopLevelFields(c, 'status')).to.include.members(['metadata', 'spec']).and.not.include('status');
  });

  it('records a create as an Update entry, never owning status', () => {
    const obj = { ...policy({ connector: { names: ['a'] } }), status: { observedGeneration: 1 } };
    const recorded = recordUpdate(c, ctx, undefined, obj, 'creator', 'main');
    expect(recorded.metadata.managedFields).to.deep.equal([
      {
        manager: 'creator',
        operation: 'Update',
        apiVersion: GV,
        time: '2025-03-01T10:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': { '.': {}, 'f:connector': {} } },
      },
    ]);
  });

  it('records a /status write under its subresource', () => {
    const live = recordUpdate(c, ctx, undefined, policy({}), 'creator', 'main');
    const stored = { ...live, metadata: { ...live.metadata, uid: 'u-1' } };
    const updated = { ...stored, status: { observedGeneration: 2 } };
    const recorded = recordUpdate(c, ctx, stored, updated, 'ctrl', 'status');
    expect(recorded.metadata.managedFields?.find((e) => e.manager === 'ctrl')).to.deep.include({
      subresource: 'status',
      fieldsV1: { 'f:status': { '.': {}, 'f:observedGeneration': {} } },
    });
  });

  it('removes metadata.managedFields when there are no entries', () => {
    const obj = policy({}, { managedFields: [entry('a', '2025-01-01T00:00:00Z')] });
    expect(withManagedFields(obj, []).metadata).to.not.have.property('managedFields');
  });

  it('treats objects that differ only in managedFields times as the same', () => {
    const a = policy({}, { managedFields: [entry('a', '2025-01-01T00:00:00Z')] });
    const b = policy({}, { managedFields: [entry('a', '2025-06-01T00:00:00Z')] });
    expect(sameIgnoringManagedFieldsTimes(a, b)).to.equal(true);
    expect(sameIgnoringManagedFieldsTimes(a, policy({}, { managedFields: [entry('b', '2025-01-01T00:00:00Z')] }))).to.equal(false);
    expect(sameIgnoringManagedFieldsTimes(a, { ...b, spec: { connector: {} } })).to.equal(false);
  });

  describe('last-applied conflicts (lastAppliedManager)', () => {
    const annotated = (config: unknown, spec: Record<string, unknown>): KubeObject =>
      policy(spec, { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(config) } });
    const conflict = (field: string): Conflict => ({ manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: GV, field });

    it('excuses the fields the annotation configured with the live values', () => {
      const live = annotated(policy({ connector: { names: ['a'] } }, { labels: { x: '1' } }), { connector: { names: ['a'] } });
      live.metadata.labels = { x: '2' };
      const excused = lastAppliedFields(live, accessPolicySchema, GV);
      expect(excused?.has('.spec.connector')).to.equal(true);
      // The label changed since: not excused.
      expect(excused?.has('.metadata.labels.x')).to.equal(false);
      expect(unexcusedConflicts([conflict('.spec.connector'), conflict('.metadata.labels.x')], excused ?? new Set())).to.deep.equal([
        conflict('.metadata.labels.x'),
      ]);
    });

    it('excuses nothing without a usable annotation', () => {
      expect(lastAppliedFields(policy({}), accessPolicySchema, GV)).to.equal(undefined);
      const broken = policy({}, { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{not json' } });
      expect(lastAppliedFields(broken, accessPolicySchema, GV)).to.equal(undefined);
      const otherVersion = annotated({ ...policy({}), apiVersion: 'connectors.alauda.io/v1' }, {});
      expect(lastAppliedFields(otherVersion, accessPolicySchema, GV)).to.equal(undefined);
    });
  });
});
