import { expect } from 'chai';
import type { KubeObject, ManagedFieldsEntry } from '../../../../../apiserver/api/meta.js';
import { accessPolicySchema, accessRequestSchema } from '../../../../../openapi/connectors-v1alpha1.js';
import {
  appliedManagedFieldsError,
  applyPatch,
  conflictStatus,
  type ApplyInput,
  type Conflict,
} from '../../../../../apiserver/registry/fieldmanager/apply.js';
import { updateManagedFields } from '../../../../../apiserver/registry/fieldmanager/managedfields.js';

const GV = 'connectors.alauda.io/v1alpha1';
const GR = { group: 'connectors.alauda.io', resource: 'accesspolicies' };
const T0 = new Date('2025-03-01T10:00:00Z');
const T1 = new Date('2025-03-01T11:00:00Z');

const policy = (spec?: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: GV,
  kind: 'AccessPolicy',
  metadata: { name: 'p', namespace: 'ns', ...metadata },
  ...(spec === undefined ? {} : { spec }),
});

const request = (body: Record<string, unknown>): KubeObject => ({
  apiVersion: GV,
  kind: 'AccessRequest',
  metadata: { name: 'r', namespace: 'ns' },
  ...body,
});

const maxDuration = (d: string): Record<string, unknown> => ({ checkGrantedPermission: { spec: { maxDuration: d } } });
const checks = (...items: Record<string, unknown>[]): Record<string, unknown> => ({ checkGrantedPermission: { spec: { checks: items } } });

type Over = Partial<ApplyInput> & Pick<ApplyInput, 'applied' | 'manager'>;

const run = (over: Over) =>
  applyPatch({ live: undefined, force: false, schema: accessPolicySchema, apiVersion: GV, now: T0, ignoredTopLevelFields: ['status'], ...over });

/** Stores a successful result as the registry would: with a uid. */
function apply(over: Over): KubeObject {
  const r = run(over);
  if (!r.ok) throw new Error(`unexpected conflicts: ${JSON.stringify(r.conflicts)}`);
  return { ...r.object, metadata: { uid: 'u-1', ...r.object.metadata } };
}

/** A sequence of applies by different managers, each on the result of the last. */
const applyAll = (steps: readonly { manager: string; applied: KubeObject; force?: boolean }[], extra: Partial<ApplyInput> = {}): KubeObject =>
  steps.reduce<KubeObject | undefined>((live, s) => apply({ ...extra, live, ...s }), undefined) ?? policy();

const conflictsOf = (over: Over): Conflict[] => {
  const r = run(over);
  if (r.ok) throw new Error('expected conflicts');
  return r.conflicts;
};

const fields = (obj: KubeObject): Record<string, unknown> =>
  Object.fromEntries((obj.metadata.managedFields ?? []).map((e) => [`${e.manager ?? ''}/${e.operation ?? ''}`, e.fieldsV1]));

const withoutManaged = (obj: KubeObject): KubeObject => {
  const { managedFields: _m, uid: _u, ...metadata } = obj.metadata;
  return { ...obj, metadata };
};

const spec = (obj: KubeObject): unknown => obj['spec'];

describe('applyPatch', () => {
  it('creates the object and records an Apply entry without identity fields', () => {
    const applied = policy({ ...maxDuration('1h') }, { labels: { app: 'a' } });
    const r = run({ applied, manager: 'kubectl' });
    const want: ManagedFieldsEntry[] = [
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: GV,
        time: '2025-03-01T10:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': { 'f:checkGrantedPermission': { 'f:spec': { 'f:maxDuration': {} } } },
        },
      },
    ];
    expect(r).to.deep.equal({ ok: true, object: { ...applied, metadata: { ...applied.metadata, managedFields: want } }, managedFields: want });
  });

  it('removes what the same manager applied before and now omits', () => {
    const obj = applyAll([
      { manager: 'kubectl', applied: policy(maxDuration('1h'), { labels: { app: 'a', tier: 't' } }) },
      { manager: 'kubectl', applied: policy(undefined, { labels: { app: 'a' } }) },
    ]);
    expect(withoutManaged(obj)).to.deep.equal(policy(undefined, { labels: { app: 'a' } }));
    expect(fields(obj)).to.deep.equal({ 'kubectl/Apply': { 'f:metadata': { 'f:labels': { 'f:app': {} } } } });
  });

  it('keeps an omitted field that an updater also owns', () => {
    const created = policy({ checkGrantedPermission: { spec: { maxDuration: '1h', checks: [{ name: 'a' }] } } });
    const live: KubeObject = {
      ...created,
      metadata: {
        ...created.metadata,
        uid: 'u-1',
        managedFields: updateManagedFields({ live: undefined, updated: created, manager: 'kubectl-create', apiVersion: GV, now: T0, schema: accessPolicySchema }),
      },
    };
    const first = apply({ live, manager: 'kubectl', applied: policy({ checkGrantedPermission: { spec: { maxDuration: '1h', checks: [{ name: 'a' }] } } }) });
    const second = apply({ live: first, manager: 'kubectl', applied: policy({}) });
    expect(spec(second)).to.deep.equal({ checkGrantedPermission: { spec: { maxDuration: '1h', checks: [{ name: 'a' }] } } });
  });

  it('reports a field another updater owns with a different value', () => {
    const created = policy(maxDuration('1h'));
    const live: KubeObject = {
      ...created,
      metadata: {
        ...created.metadata,
        uid: 'u-1',
        managedFields: updateManagedFields({ live: undefined, updated: created, manager: 'kubectl-edit', apiVersion: GV, now: T0, schema: accessPolicySchema }),
      },
    };
    const conflicts = conflictsOf({ live, manager: 'kubectl', applied: policy(maxDuration('2h')) });
    expect(conflicts).to.deep.equal([
      { manager: 'kubectl-edit', operation: 'Update', apiVersion: GV, field: '.spec.checkGrantedPermission.spec.maxDuration' },
    ]);
    expect(conflictStatus(conflicts, GR, 'p')).to.deep.equal({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `Apply failed with 1 conflict: conflict with "kubectl-edit" using ${GV}: .spec.checkGrantedPermission.spec.maxDuration`,
      reason: 'Conflict',
      details: {
        causes: [
          {
            reason: 'FieldManagerConflict',
            message: `conflict with "kubectl-edit" using ${GV}`,
            field: '.spec.checkGrantedPermission.spec.maxDuration',
          },
        ],
      },
      code: 409,
    });
  });

  it('reports a field another applier owns, naming it without a version', () => {
    const live = applyAll([{ manager: 'a', applied: policy(maxDuration('1h')) }]);
    const conflicts = conflictsOf({ live, manager: 'b', applied: policy(maxDuration('2h')) });
    expect(conflictStatus(conflicts, GR, 'p').message).to.equal(
      'Apply failed with 1 conflict: conflict with "a": .spec.checkGrantedPermission.spec.maxDuration',
    );
  });

  it('shares a field applied with the same value', () => {
    const obj = applyAll([
      { manager: 'a', applied: policy(maxDuration('1h')) },
      { manager: 'b', applied: policy(maxDuration('1h')) },
    ]);
    const owned = { 'f:spec': { 'f:checkGrantedPermission': { 'f:spec': { 'f:maxDuration': {} } } } };
    expect(fields(obj)).to.deep.equal({ 'a/Apply': owned, 'b/Apply': owned });
    // The first applier letting go leaves the field to the second.
    const after = apply({ live: obj, manager: 'a', applied: policy(undefined, { labels: { x: 'y' } }) });
    expect(spec(after)).to.deep.equal(maxDuration('1h'));
  });

  it('takes the field over with force', () => {
    const obj = applyAll([
      { manager: 'a', applied: policy({ ...maxDuration('1h') }, { labels: { keep: 'k' } }) },
      { manager: 'b', applied: policy(maxDuration('2h')), force: true },
    ]);
    expect(spec(obj)).to.deep.equal(maxDuration('2h'));
    expect(fields(obj)).to.deep.equal({
      'a/Apply': { 'f:metadata': { 'f:labels': { 'f:keep': {} } } },
      'b/Apply': { 'f:spec': { 'f:checkGrantedPermission': { 'f:spec': { 'f:maxDuration': {} } } } },
    });
  });

  it('drops an owner whose last field is taken', () => {
    const obj = applyAll([
      { manager: 'a', applied: policy(maxDuration('1h')) },
      { manager: 'b', applied: policy(maxDuration('2h')), force: true },
    ]);
    expect(Object.keys(fields(obj))).to.deep.equal(['b/Apply']);
  });

  it('groups several conflicts per manager', () => {
    const live = applyAll([
      { manager: 'a', applied: policy({ connector: { names: ['c1'] } }) },
      { manager: 'b', applied: policy({ ...maxDuration('1h') }, { labels: { x: '1' } }) },
    ]);
    const conflicts = conflictsOf({
      live,
      manager: 'c',
      applied: policy({ connector: { names: ['c2'] }, ...maxDuration('2h') }, { labels: { x: '2' } }),
    });
    expect(conflictStatus(conflicts, GR, 'p').message).to.equal(
      [
        'Apply failed with 3 conflicts: conflicts with "a":',
        '- .spec.connector',
        'conflicts with "b":',
        '- .metadata.labels.x',
        '- .spec.checkGrantedPermission.spec.maxDuration',
      ].join('\n'),
    );
    expect(conflictStatus(conflicts, GR, 'p').details?.causes?.map((c) => c.message)).to.deep.equal([
      'conflict with "a"',
      'conflict with "b"',
      'conflict with "b"',
    ]);
  });

  it('names a subresource updater in the conflict', () => {
    const created = request({ spec: { subject: { kind: 'User', name: 'u' } } });
    const createdFields = updateManagedFields({ live: undefined, updated: created, manager: 'kubectl-create', apiVersion: GV, now: T0, schema: accessRequestSchema, ignoredTopLevelFields: ['status'] });
    const stored = { ...created, metadata: { ...created.metadata, uid: 'u-1', managedFields: createdFields } };
    const withStatus = { ...stored, status: { conditions: [{ type: 'Ready', status: 'True' }] } };
    const statusFields = updateManagedFields({ live: stored, updated: withStatus, manager: 'controller', subresource: 'status', apiVersion: GV, now: T0, schema: accessRequestSchema, ignoredTopLevelFields: ['spec'] });
    const live = { ...withStatus, metadata: { ...withStatus.metadata, managedFields: statusFields } };
    const conflicts = conflictsOf({
      live,
      manager: 'ctl',
      subresource: 'status',
      schema: accessRequestSchema,
      ignoredTopLevelFields: ['spec'],
      applied: request({ status: { conditions: [{ type: 'Ready', status: 'False' }] } }),
    });
    expect(conflictStatus(conflicts, GR, 'r').message).to.equal(
      `Apply failed with 1 conflict: conflict with "controller" with subresource "status" using ${GV}: .status.conditions[type="Ready"].status`,
    );
  });

  it('puts existing fields down to before-first-apply when the object has no entries', () => {
    const live: KubeObject = { ...policy(maxDuration('1h')), metadata: { name: 'p', namespace: 'ns', uid: 'u-1' } };
    const conflicts = conflictsOf({ live, manager: 'kubectl', applied: policy(maxDuration('2h')) });
    expect(conflicts.map((c) => `${c.manager} ${c.operation} ${c.field}`)).to.deep.equal([
      'before-first-apply Update .spec.checkGrantedPermission.spec.maxDuration',
    ]);
  });

  describe('merges', () => {
    const cases: { name: string; steps: { manager: string; applied: KubeObject; force?: boolean }[]; want: unknown; owners?: Record<string, unknown> }[] = [
      {
        name: 'list-map items by key, appending new items',
        steps: [
          { manager: 'a', applied: policy(checks({ name: 'x' }, { name: 'y' })) },
          { manager: 'b', applied: policy(checks({ name: 'z', ref: { configMap: { name: 'cm' } } })) },
        ],
        want: checks({ name: 'x' }, { name: 'y' }, { name: 'z', ref: { configMap: { name: 'cm' } } }),
        owners: {
          'a/Apply': { 'f:spec': { 'f:checkGrantedPermission': { 'f:spec': { 'f:checks': { 'k:{"name":"x"}': { '.': {}, 'f:name': {} }, 'k:{"name":"y"}': { '.': {}, 'f:name': {} } } } } } },
          'b/Apply': { 'f:spec': { 'f:checkGrantedPermission': { 'f:spec': { 'f:checks': { 'k:{"name":"z"}': { '.': {}, 'f:name': {}, 'f:ref': { 'f:configMap': { 'f:name': {} } } } } } } } },
        },
      },
      {
        name: 'the fields of one list-map item from two managers',
        steps: [
          { manager: 'a', applied: policy(checks({ name: 'x', spec: { state: { rego: 'r' } } })) },
          { manager: 'b', applied: policy(checks({ name: 'x', ref: { configMap: { name: 'cm' } } })) },
        ],
        want: checks({ name: 'x', spec: { state: { rego: 'r' } }, ref: { configMap: { name: 'cm' } } }),
      },
      {
        name: 'list-map items in the configuration’s order where it names them',
        steps: [
          { manager: 'a', applied: policy(checks({ name: 'x' }, { name: 'y' }, { name: 'z' })) },
          { manager: 'b', applied: policy(checks({ name: 'z' }, { name: 'x' })) },
        ],
        want: checks({ name: 'y' }, { name: 'z' }, { name: 'x' }),
      },
      {
        name: 'away a list-map item its applier dropped',
        steps: [
          { manager: 'a', applied: policy(checks({ name: 'x' }, { name: 'y' })) },
          { manager: 'b', applied: policy(checks({ name: 'z' })) },
          { manager: 'a', applied: policy(checks({ name: 'y' })) },
        ],
        want: checks({ name: 'y' }, { name: 'z' }),
      },
      {
        name: 'set lists as a union',
        steps: [
          { manager: 'a', applied: policy(undefined, { finalizers: ['f1'] }) },
          { manager: 'b', applied: policy(undefined, { finalizers: ['f2', 'f1'] }) },
        ],
        want: ['f2', 'f1'],
      },
      {
        name: 'away a set value its applier dropped',
        steps: [
          { manager: 'a', applied: policy(undefined, { finalizers: ['f1', 'f3'] }) },
          { manager: 'b', applied: policy(undefined, { finalizers: ['f2'] }) },
          { manager: 'a', applied: policy(undefined, { finalizers: ['f1'] }) },
        ],
        want: ['f1', 'f2'],
      },
      {
        name: 'atomic lists by replacing them whole',
        steps: [
          { manager: 'a', applied: policy({ defaultPermission: { bindingTemplate: { serviceAccounts: [{ names: ['s1'] }, { names: ['s2'] }] } } }) },
          { manager: 'b', applied: policy({ defaultPermission: { bindingTemplate: { serviceAccounts: [{ names: ['s3'] }] } } }), force: true },
        ],
        want: { defaultPermission: { bindingTemplate: { serviceAccounts: [{ names: ['s3'] }] } } },
      },
      {
        name: 'atomic maps by replacing them whole',
        steps: [
          { manager: 'a', applied: policy({ connector: { names: ['c1'], matchLabels: { k: 'v' } } }) },
          { manager: 'b', applied: policy({ connector: { matchLabels: { k: 'w' } } }), force: true },
        ],
        want: { connector: { matchLabels: { k: 'w' } } },
      },
      {
        name: 'labels and annotations per key',
        steps: [
          { manager: 'a', applied: policy(undefined, { labels: { a: '1' }, annotations: { n: 'x' } }) },
          { manager: 'b', applied: policy(undefined, { labels: { b: '2' }, annotations: { m: 'y' } }) },
        ],
        want: { labels: { a: '1', b: '2' }, annotations: { n: 'x', m: 'y' } },
      },
    ];
    for (const tc of cases) {
      it(tc.name, () => {
        const obj = applyAll(tc.steps);
        const got = tc.name.includes('set') ? obj.metadata.finalizers : tc.name.includes('labels') ? { labels: obj.metadata.labels, annotations: obj.metadata.annotations } : spec(obj);
        expect(got).to.deep.equal(tc.want);
        if (tc.owners !== undefined) expect(fields(obj)).to.deep.equal(tc.owners);
      });
    }

    it('status.policies by name on /status, leaving spec unowned', () => {
      const base = { spec: { subject: { kind: 'User', name: 'u' } } };
      const extra = { schema: accessRequestSchema, subresource: 'status', ignoredTopLevelFields: ['spec'] };
      const obj = applyAll(
        [
          { manager: 'c1', applied: request({ ...base, status: { policies: [{ name: 'p1', matchedChecks: [{ name: 'a' }] }] } }) },
          { manager: 'c2', applied: request({ ...base, status: { policies: [{ name: 'p2' }] } }) },
          { manager: 'c1', applied: request({ ...base, status: { policies: [{ name: 'p1', matchedChecks: [{ name: 'b' }] }] } }) },
        ],
        extra,
      );
      expect(obj['status']).to.deep.equal({ policies: [{ name: 'p1', matchedChecks: [{ name: 'b' }] }, { name: 'p2' }] });
      expect(obj.metadata.managedFields?.map((e) => [e.manager, e.subresource, Object.keys(e.fieldsV1 ?? {})])).to.deep.equal([
        ['c1', 'status', ['f:status']],
        ['c2', 'status', ['f:status']],
      ]);
    });
  });

  it('never records ignored or system fields', () => {
    const applied: KubeObject = {
      ...policy({ connector: {} }, { uid: 'x', resourceVersion: '3', generation: 4, creationTimestamp: '2025-01-01T00:00:00Z' }),
      status: { observedGeneration: 1 },
    };
    const r = run({ applied, manager: 'kubectl' });
    if (!r.ok) throw new Error('conflict');
    expect(r.managedFields.map((e) => e.fieldsV1)).to.deep.equal([{ 'f:spec': { 'f:connector': {} } }]);
  });

  it('keeps the entry time when a re-apply changes nothing', () => {
    const obj = applyAll([{ manager: 'a', applied: policy(maxDuration('1h')) }]);
    const again = apply({ live: obj, manager: 'a', applied: policy(maxDuration('1h')), now: T1 });
    expect(again.metadata.managedFields?.[0]?.time).to.equal('2025-03-01T10:00:00Z');
    const changed = apply({ live: obj, manager: 'a', applied: policy(maxDuration('2h')), now: T1 });
    expect(changed.metadata.managedFields?.[0]?.time).to.equal('2025-03-01T11:00:00Z');
  });

  it('keeps kubectl’s last-applied annotation in step', () => {
    const key = 'kubectl.kubernetes.io/last-applied-configuration';
    const live = apply({ manager: 'kubectl-client-side-apply', applied: policy(undefined, { annotations: { [key]: '{}' } }) });
    const obj = apply({ live, manager: 'kubectl', applied: policy({ connector: { names: ['<a>'] } }) });
    expect(obj.metadata.annotations?.[key]).to.equal(
      `{"apiVersion":"${GV}","kind":"AccessPolicy","metadata":{"name":"p","namespace":"ns"},"spec":{"connector":{"names":["\\u003ca\\u003e"]}}}\n`,
    );
  });
});

describe('appliedManagedFieldsError', () => {
  it('refuses managedFields in an applied configuration', () => {
    expect(appliedManagedFieldsError({ ...policy(), metadata: { name: 'p', managedFields: [] } })?.message).to.equal(
      'metadata.managedFields must be nil',
    );
    expect(appliedManagedFieldsError(policy())).to.equal(undefined);
  });
});
