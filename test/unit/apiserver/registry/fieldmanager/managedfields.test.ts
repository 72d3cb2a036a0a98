import { expect } from 'chai';
import type { KubeObject, ManagedFieldsEntry } from '../../../../../apiserver/api/meta.js';
import { accessPolicySchema, accessRequestSchema } from '../../../../../openapi/connectors-v1alpha1.js';
import {
  capUpdateManagers,
  decodeManagedFields,
  updateManagedFields,
  type UpdateManagedFieldsInput,
} from '../../../../../apiserver/registry/fieldmanager/managedfields.js';

const GV = 'connectors.alauda.io/v1alpha1';
const T0 = new Date('2025-03-01T10:00:00.123Z');
const T1 = new Date('2025-03-01T11:00:00.999Z');

const policy = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: GV,
  kind: 'AccessPolicy',
  metadata: { name: 'p', namespace: 'ns', ...metadata },
  spec,
});

const stored = (obj: KubeObject, managedFields: ManagedFieldsEntry[]): KubeObject => ({
  ...obj,
  metadata: { ...obj.metadata, uid: 'u-1', resourceVersion: '5', managedFields },
});

const update = (over: Partial<UpdateManagedFieldsInput> & Pick<UpdateManagedFieldsInput, 'updated'>): ManagedFieldsEntry[] =>
  updateManagedFields({
    live: undefined,
    manager: 'kubectl-create',
    apiVersion: GV,
    now: T0,
    schema: accessPolicySchema,
    ignoredTopLevelFields: ['status'],
    ...over,
  });

/** manager → fieldsV1, the part most cases check. */
const owners = (entries: ManagedFieldsEntry[]): Record<string, unknown> =>
  Object.fromEntries(entries.map((e) => [`${e.manager ?? ''}/${e.operation ?? ''}${e.subresource === undefined ? '' : `/${e.subresource}`}`, e.fieldsV1]));

describe('updateManagedFields', () => {
  it('records a create as one Update entry, CRD style', () => {
    const created = policy({ checkGrantedPermission: { spec: { maxDuration: '1h' } } }, { labels: { app: 'a' } });
    expect(update({ updated: created })).to.deep.equal([
      {
        manager: 'kubectl-create',
        operation: 'Update',
        apiVersion: GV,
        time: '2025-03-01T10:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
          'f:spec': { '.': {}, 'f:checkGrantedPermission': { '.': {}, 'f:spec': { '.': {}, 'f:maxDuration': {} } } },
        },
      },
    ]);
  });

  it('never records type, identity or system metadata', () => {
    const created = policy(
      {},
      {
        uid: 'u',
        resourceVersion: '1',
        generation: 1,
        creationTimestamp: '2025-01-01T00:00:00Z',
        deletionTimestamp: '2025-01-01T00:00:00Z',
        deletionGracePeriodSeconds: 0,
        selfLink: '/x',
        generateName: 'p-',
      },
    );
    expect(owners(update({ updated: created }))).to.deep.equal({
      'kubectl-create/Update': { 'f:metadata': { 'f:generateName': {} }, 'f:spec': {} },
    });
  });

  it('records nothing when only ignored and system fields are set', () => {
    const created = { ...policy({}), spec: undefined, status: { observedGeneration: 1 } } as KubeObject;
    expect(update({ updated: created })).to.deep.equal([]);
  });

  const transfers: {
    name: string;
    live: KubeObject;
    updated: KubeObject;
    manager: string;
    want: Record<string, unknown>;
  }[] = [
    {
      name: 'moves a changed field to the writer',
      live: policy({ checkGrantedPermission: { spec: { maxDuration: '1h' } } }, { labels: { app: 'a' } }),
      updated: policy({ checkGrantedPermission: { spec: { maxDuration: '2h' } } }, { labels: { app: 'a' } }),
      manager: 'kubectl-edit',
      want: {
        'kubectl-create/Update': {
          'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
          // The emptied struct stays a member: `f:spec: {}`.
          'f:spec': { '.': {}, 'f:checkGrantedPermission': { '.': {}, 'f:spec': {} } },
        },
        'kubectl-edit/Update': { 'f:spec': { 'f:checkGrantedPermission': { 'f:spec': { 'f:maxDuration': {} } } } },
      },
    },
    {
      name: 'takes a removed field from every owner and drops an emptied entry',
      live: policy({}, { labels: { app: 'a' } }),
      updated: policy({}),
      manager: 'kubectl-edit',
      want: { 'kubectl-create/Update': { 'f:spec': {} } },
    },
    {
      name: 'adds to the writer’s own entry',
      live: policy({ checkGrantedPermission: { spec: { maxDuration: '1h' } } }, { labels: { app: 'a' } }),
      updated: policy({ checkGrantedPermission: { spec: { maxDuration: '1h' } } }, { labels: { app: 'a', b: 'c' } }),
      manager: 'kubectl-create',
      want: {
        'kubectl-create/Update': {
          'f:metadata': { 'f:labels': { '.': {}, 'f:app': {}, 'f:b': {} } },
          'f:spec': { '.': {}, 'f:checkGrantedPermission': { '.': {}, 'f:spec': { '.': {}, 'f:maxDuration': {} } } },
        },
      },
    },
  ];
  for (const tc of transfers) {
    it(tc.name, () => {
      const live = stored(tc.live, update({ updated: tc.live }));
      const got = update({ live, updated: { ...tc.updated, metadata: { ...tc.updated.metadata, uid: 'u-1' } }, manager: tc.manager, now: T1 });
      expect(owners(got)).to.deep.equal(tc.want);
    });
  }

  it('moves the time only for the entry that changed', () => {
    const created = policy({}, { labels: { app: 'a' } });
    const live = stored(created, update({ updated: created }));
    const got = update({ live, updated: policy({}, { labels: { app: 'a', x: 'y' } }), manager: 'other', now: T1 });
    expect(got.map((e) => [e.manager, e.time])).to.deep.equal([
      ['kubectl-create', '2025-03-01T10:00:00Z'],
      ['other', '2025-03-01T11:00:00Z'],
    ]);
  });

  it('leaves the time alone when the writer changed nothing', () => {
    const created = policy({}, { labels: { app: 'a' } });
    const live = stored(created, update({ updated: created }));
    expect(update({ live, updated: created, now: T1 })[0]?.time).to.equal('2025-03-01T10:00:00Z');
  });

  it('keeps status writes of the main endpoint out of the record', () => {
    const created = policy({}, { labels: { app: 'a' } });
    const live = stored(created, update({ updated: created }));
    const got = update({ live, updated: { ...created, status: { observedGeneration: 3 } }, manager: 'ctl', now: T1 });
    expect(Object.keys(owners(got))).to.deep.equal(['kubectl-create/Update']);
  });

  it('records a /status write under its subresource, without spec', () => {
    const created: KubeObject = { ...policy({}), apiVersion: GV, kind: 'AccessRequest', spec: { subject: { kind: 'User', name: 'u' } } };
    const live = stored(created, update({ updated: created, schema: accessRequestSchema }));
    const got = update({
      live,
      updated: { ...created, spec: { subject: { kind: 'User', name: 'other' } }, status: { conditions: [{ type: 'Ready', status: 'True' }] } },
      manager: 'controller',
      subresource: 'status',
      schema: accessRequestSchema,
      ignoredTopLevelFields: ['spec'],
      now: T1,
    });
    expect(got[1]).to.deep.equal({
      manager: 'controller',
      operation: 'Update',
      apiVersion: GV,
      time: '2025-03-01T11:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:status': {
          '.': {},
          'f:conditions': { '.': {}, 'k:{"type":"Ready"}': { '.': {}, 'f:status': {}, 'f:type': {} } },
        },
      },
      subresource: 'status',
    });
  });

  it('does not start tracking on an update of an object without entries', () => {
    const live = stored(policy({}), []);
    delete live.metadata.managedFields;
    expect(update({ live, updated: policy({}, { labels: { a: 'b' } }) })).to.deep.equal([]);
  });

  it('clears every entry when the write sets managedFields to [{}]', () => {
    const created = policy({}, { labels: { app: 'a' } });
    const live = stored(created, update({ updated: created }));
    expect(update({ live, updated: { ...created, metadata: { ...created.metadata, managedFields: [{}] } }, now: T1 })).to.deep.equal([]);
  });

  it('uses the entries a main-resource write sets itself', () => {
    const created = policy({}, { labels: { app: 'a' } });
    const live = stored(created, update({ updated: created }));
    const own: ManagedFieldsEntry[] = [
      { manager: 'mine', operation: 'Apply', apiVersion: GV, fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { 'f:app': {} } } } },
    ];
    const got = update({ live, updated: { ...created, metadata: { ...created.metadata, managedFields: own } }, now: T1 });
    expect(got).to.deep.equal(own);
  });

  it('ignores the entries a subresource write sends', () => {
    const created = policy({}, { labels: { app: 'a' } });
    const mf = update({ updated: created });
    const live = stored(created, mf);
    const got = update({ live, updated: { ...created, metadata: { ...created.metadata, managedFields: [] } }, subresource: 'status', now: T1 });
    expect(got).to.deep.equal(mf);
  });
});

describe('decodeManagedFields', () => {
  const bad: { name: string; entry: ManagedFieldsEntry }[] = [
    { name: 'an unknown operation', entry: { manager: 'm', apiVersion: GV, fieldsType: 'FieldsV1', fieldsV1: {} } },
    { name: 'a missing apiVersion', entry: { manager: 'm', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: {} } },
    { name: 'a missing fieldsType', entry: { manager: 'm', operation: 'Update', apiVersion: GV, fieldsV1: {} } },
    { name: 'bad fields', entry: { manager: 'm', operation: 'Update', apiVersion: GV, fieldsType: 'FieldsV1', fieldsV1: { x: {} } } },
  ];
  for (const tc of bad) {
    it(`rejects ${tc.name}`, () => {
      expect(decodeManagedFields([tc.entry]).ok).to.equal(false);
    });
  }
});

describe('capUpdateManagers', () => {
  it('merges the oldest updaters beyond ten into ancient-changes', () => {
    const entries: ManagedFieldsEntry[] = Array.from({ length: 12 }, (_, i) => ({
      manager: `m${String(i).padStart(2, '0')}`,
      operation: 'Update',
      apiVersion: GV,
      time: `2025-01-01T00:00:${String(i).padStart(2, '0')}Z`,
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': { 'f:labels': { [`f:l${String(i)}`]: {} } } },
    }));
    const decoded = decodeManagedFields(entries);
    if (!decoded.ok) throw new Error(decoded.error);
    const capped = [...capUpdateManagers(decoded.value).values()];
    expect(capped).to.have.length(10);
    const bucket = capped.find((m) => m.manager === 'ancient-changes');
    expect(bucket?.time).to.equal('2025-01-01T00:00:02Z');
    expect(capped.map((m) => m.manager)).to.not.include.members(['m00', 'm01', 'm02']);
  });
});
