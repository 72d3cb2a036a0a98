import { expect } from 'chai';
import type { AccessPolicy } from '../../../../apiserver/apis/connectors/v1alpha1/types.js';
import type { FeatureFlags } from '../../../../apiserver/controller/config.js';
import { allFlagsOn } from '../../../../apiserver/controller/config.js';
import type { ConfigMap, Connector, RbacSubject, Role, RoleBinding } from '../../../../apiserver/controller/objects.js';
import type { Namespace, PolicyEvent, PolicyReconcileInputs, PolicyReconciliation, ReviewOutcome, SubjectReview } from '../../../../apiserver/controller/policy-reconcile.js';
import {
  expandSubjects,
  policyCleanupOps,
  policyGrantName,
  policyReadyCondition,
  reconcileAccessPolicy,
  subjectReview,
} from '../../../../apiserver/controller/policy-reconcile.js';
import type { RBACObject, RBACOp } from '../../../../apiserver/controller/rbac.js';
import { builtinTemplates, systemNamespace } from './fixtures.js';

const policyUid = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const pairName = 'connectors-policy-oci-default-access';
const t0 = '2026-03-30T09:00:00Z';
const t1 = '2026-03-30T09:05:00Z';
const t2 = '2026-03-30T09:10:00Z';
const at = (s: string): Date => new Date(s);

const connector = (name: string, labels: Record<string, string> = { 'connectors.alauda.io/connectorclass': 'oci' }, ns = 'devops'): Connector => ({
  apiVersion: 'connectors.alauda.io/v1alpha1',
  kind: 'Connector',
  metadata: { namespace: ns, name, uid: `c-${name}`, labels },
});

const namespace = (name: string, labels: Record<string, string> = {}): Namespace => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });

/** The policy of §10.3. */
function policy(): AccessPolicy {
  return {
    apiVersion: 'connectors.alauda.io/v1alpha1',
    kind: 'AccessPolicy',
    metadata: { namespace: 'devops', name: 'oci-default-access', uid: policyUid, generation: 1, resourceVersion: '1' },
    spec: {
      connector: { matchLabels: { 'connectors.alauda.io/connectorclass': 'oci' } },
      defaultPermission: {
        roleTemplate: { ref: { configMap: { name: 'connectors-use-connectors-proxy' } } },
        bindingTemplate: {
          serviceAccounts: [{ names: ['builder', 'deployer'], namespaceSelector: { names: ['devops', 'cicd'] } }, { namespaceSelector: { matchLabels: { team: 'platform' } } }],
        },
      },
    },
  };
}

/** The cluster of §10.3, mutable between passes; a fake driver acts on each answer as the header of policy-reconcile.ts asks. */
interface World {
  policy: AccessPolicy;
  connectors: Connector[];
  namespaces: Namespace[];
  configMaps: Map<string, ConfigMap>;
  roles: Role[];
  roleBindings: RoleBinding[];
  flags: FeatureFlags;
  /** SubjectAccessReview answers by review key; absent = allowed. */
  denied: Set<string>;
  reviewErrors: Map<string, string>;
  /** Kind → error for the fake API server to answer creates/updates with. */
  failWrites: Map<string, string>;
  dropped: ReadonlySet<string> | undefined;
  events: PolicyEvent[];
  ops: RBACOp[];
  reviewed: SubjectReview[];
  statusWrites: number;
  nextUid: number;
}

function world(): World {
  return {
    policy: policy(),
    connectors: [connector('harbor-dev'), connector('harbor-stage'), connector('prod-harbor', { 'connectors.alauda.io/connectorclass': 'harbor' }), connector('elsewhere', undefined, 'cicd')],
    namespaces: [namespace('devops'), namespace('cicd'), namespace('platform-a', { team: 'platform' }), namespace('platform-b', { team: 'data' }), namespace('kube-system')],
    configMaps: builtinTemplates(),
    roles: [],
    roleBindings: [],
    flags: allFlagsOn,
    denied: new Set(['ServiceAccount cicd/deployer']),
    reviewErrors: new Map(),
    failWrites: new Map(),
    dropped: undefined,
    events: [],
    ops: [],
    reviewed: [],
    statusWrites: 0,
    nextUid: 1,
  };
}

function inputs(w: World, now: Date, reviews: ReadonlyMap<string, ReviewOutcome>): PolicyReconcileInputs {
  return {
    policy: w.policy,
    connectors: w.connectors,
    namespaces: w.namespaces,
    reviews,
    configMaps: w.configMaps,
    roles: w.roles,
    roleBindings: w.roleBindings,
    flags: w.flags,
    systemNamespace,
    now,
    ...(w.dropped === undefined ? {} : { previouslyDropped: w.dropped }),
  };
}

function applyOp(w: World, op: RBACOp): string | undefined {
  const list = (kind: RBACObject['kind']): RBACObject[] => (kind === 'Role' ? w.roles : w.roleBindings);
  w.ops.push(op);
  if (op.op === 'delete') {
    const l = list(op.kind);
    const i = l.findIndex((x) => x.metadata.uid === op.uid);
    if (i >= 0) l.splice(i, 1);
    return undefined;
  }
  const failure = w.failWrites.get(op.object.kind);
  if (failure !== undefined) return failure;
  const stored = structuredClone(op.object);
  stored.metadata.uid = op.op === 'update' ? (op.object.metadata.uid ?? '') : `rbac-${String(w.nextUid++)}`;
  stored.metadata.resourceVersion = String(w.nextUid++);
  const l = list(op.object.kind);
  const i = l.findIndex((x) => x.metadata.name === op.object.metadata.name);
  if (i >= 0) l.splice(i, 1);
  l.push(stored);
  return undefined;
}

/** One pass as the driver runs it; returns the answer acted on. */
function runPass(w: World, now: Date): PolicyReconciliation {
  const reviews = new Map<string, ReviewOutcome>();
  let inp = inputs(w, now, reviews);
  let r = reconcileAccessPolicy(inp);
  if (r.kind === 'needsReviews') {
    for (const rv of r.reviews) {
      w.reviewed.push(rv);
      const err = w.reviewErrors.get(rv.key);
      reviews.set(rv.key, err !== undefined ? { ok: false, error: err } : { ok: true, allowed: !w.denied.has(rv.key) });
    }
    inp = inputs(w, now, reviews);
    r = reconcileAccessPolicy(inp);
  }
  if (r.kind !== 'apply') throw new Error('a second call must not ask for reviews again');
  for (const op of r.ops) {
    const err = applyOp(w, op);
    if (err !== undefined && op.op !== 'delete') {
      r = reconcileAccessPolicy({ ...inp, rbacWriteFailure: err });
      if (r.kind !== 'apply') throw new Error('unexpected');
      break;
    }
  }
  if (r.status !== undefined) {
    w.policy = { ...w.policy, status: r.status, metadata: { ...w.policy.metadata, resourceVersion: String(w.nextUid++) } };
    w.statusWrites++;
  }
  w.dropped = r.dropped;
  w.events.push(...r.events);
  return r;
}

const conds = (p: AccessPolicy): Record<string, [string, string, string]> =>
  Object.fromEntries((p.status?.conditions ?? []).map((c) => [c.type, [c.status, c.reason ?? '', c.message ?? ''] as [string, string, string]]));
const cond = (p: AccessPolicy, type: string): { status: string; reason?: string; message?: string; lastTransitionTime?: string } | undefined =>
  p.status?.conditions?.find((c) => c.type === type);

const owner = { apiVersion: 'connectors.alauda.io/v1alpha1', kind: 'AccessPolicy', name: 'oci-default-access', uid: policyUid, controller: true, blockOwnerDeletion: true };
const meta = { name: pairName, namespace: 'devops', labels: { 'connectors.alauda.io/accessPolicy': 'oci-default-access' }, ownerReferences: [owner] };

const expectedRole = (resourceNames = ['harbor-dev', 'harbor-stage']): Role => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'Role',
  metadata: structuredClone(meta),
  rules: [{ apiGroups: ['connectors.alauda.io'], resources: ['connectors/proxy'], verbs: ['*'], resourceNames }],
});

const expectedSubjects: RbacSubject[] = [
  { kind: 'Group', name: 'system:serviceaccounts:platform-a', apiGroup: 'rbac.authorization.k8s.io' },
  { kind: 'ServiceAccount', name: 'builder', namespace: 'cicd' },
  { kind: 'ServiceAccount', name: 'builder', namespace: 'devops' },
  { kind: 'ServiceAccount', name: 'deployer', namespace: 'devops' },
];

const expectedBinding = (subjects = expectedSubjects): RoleBinding => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata: structuredClone(meta),
  subjects,
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: pairName },
});

const strip = (o: RBACObject): RBACObject => {
  const c = structuredClone(o);
  delete c.metadata.uid;
  delete c.metadata.resourceVersion;
  return c;
};

/** A world after the first pass of §10.3 at t0. */
function synced(): World {
  const w = world();
  runPass(w, at(t0));
  return w;
}

describe('reconcileAccessPolicy: §10.3 default permission', () => {
  it('creates the Role and RoleBinding of §10.3 exactly', () => {
    const w = world();
    const r = runPass(w, at(t0));
    expect(r.kind).to.equal('apply');
    expect(w.ops.map((o) => `${o.op} ${o.op === 'delete' ? o.kind : o.object.kind}`)).to.deep.equal(['create Role', 'create RoleBinding']);
    expect(w.roles.map(strip)).to.deep.equal([expectedRole()]);
    expect(w.roleBindings.map(strip)).to.deep.equal([expectedBinding()]);
  });

  it('writes the status of §10.3: matchedConnectors, ConnectorsMatched, PermissionSynced, Ready, observedGeneration', () => {
    const w = synced();
    expect(w.policy.status).to.deep.equal({
      observedGeneration: 1,
      matchedConnectors: [{ name: 'harbor-dev' }, { name: 'harbor-stage' }],
      conditions: [
        { type: 'ConnectorsMatched', status: 'True', reason: 'Matched', message: '2 Connector(s) matched', lastTransitionTime: t0 },
        { type: 'PermissionSynced', status: 'True', reason: 'Synced', lastTransitionTime: t0 },
        { type: 'Ready', status: 'True', reason: 'Synced', lastTransitionTime: t0 },
      ],
    });
  });

  it('drops cicd/deployer with a Warning SubjectDropped, and grants with PermissionGranted', () => {
    const w = synced();
    expect(w.events.map((e) => [e.type, e.reason])).to.deep.equal([
      ['Warning', 'SubjectDropped'],
      ['Normal', 'PermissionGranted'],
    ]);
    expect(w.events[0]?.message).to.equal('ServiceAccount cicd/deployer cannot get connectors in namespace devops');
    expect(w.events[1]?.message).to.include('harbor-dev, harbor-stage');
    expect([...(w.dropped ?? [])]).to.deep.equal(['ServiceAccount cicd/deployer']);
  });

  it('asks the SubjectAccessReviews of §5.8 step 4, one per expanded subject', () => {
    const w = synced();
    const specs = Object.fromEntries(w.reviewed.map((r) => [r.key, r.spec]));
    const attrs = { group: 'connectors.alauda.io', resource: 'connectors', verb: 'get', namespace: 'devops' };
    expect(Object.keys(specs)).to.have.members([
      'Group system:serviceaccounts:platform-a',
      'ServiceAccount cicd/builder',
      'ServiceAccount cicd/deployer',
      'ServiceAccount devops/builder',
      'ServiceAccount devops/deployer',
    ]);
    expect(specs['ServiceAccount cicd/deployer']).to.deep.equal({
      user: 'system:serviceaccount:cicd:deployer',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:cicd', 'system:authenticated'],
      resourceAttributes: attrs,
    });
    expect(specs['Group system:serviceaccounts:platform-a']).to.deep.equal({
      user: 'system:serviceaccount:platform-a:default',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:platform-a', 'system:authenticated'],
      resourceAttributes: attrs,
    });
    expect(subjectReview({ kind: 'Group', name: 'system:serviceaccounts', apiGroup: 'rbac.authorization.k8s.io' }, 'devops').spec).to.deep.equal({
      groups: ['system:serviceaccounts', 'system:authenticated'],
      resourceAttributes: attrs,
    });
  });

  it('a second pass changes nothing and emits nothing (no write without a change, SubjectDropped only when new)', () => {
    const w = synced();
    const before = { events: w.events.length, ops: w.ops.length, writes: w.statusWrites };
    const r = runPass(w, at(t1));
    expect(r.kind === 'apply' ? r.status : 'not apply').to.equal(undefined);
    expect(w.ops.length).to.equal(before.ops);
    expect(w.events.length).to.equal(before.events);
    expect(w.statusWrites).to.equal(before.writes);
  });

  it('both Connectors gone: pair deleted (PermissionRevoked), NoMatch, NoPermissionRequired, Ready False/NoMatch', () => {
    const w = synced();
    w.connectors = w.connectors.filter((c) => !c.metadata.name?.startsWith('harbor-'));
    runPass(w, at(t1));
    expect(w.roles).to.deep.equal([]);
    expect(w.roleBindings).to.deep.equal([]);
    expect(w.events.at(-1)).to.include({ type: 'Normal', reason: 'PermissionRevoked' });
    expect(conds(w.policy)).to.deep.equal({
      ConnectorsMatched: ['False', 'NoMatch', 'no Connector in namespace devops matches spec.connector'],
      PermissionSynced: ['True', 'NoPermissionRequired', ''],
      Ready: ['False', 'NoMatch', 'no Connector in namespace devops matches spec.connector'],
    });
    expect(w.policy.status?.matchedConnectors).to.equal(undefined);
    // True → True keeps the time; True → False moves it.
    expect(cond(w.policy, 'PermissionSynced')?.lastTransitionTime).to.equal(t0);
    expect(cond(w.policy, 'ConnectorsMatched')?.lastTransitionTime).to.equal(t1);
    expect(cond(w.policy, 'Ready')?.lastTransitionTime).to.equal(t1);
  });
});

describe('reconcileAccessPolicy: re-expansion and re-selection', () => {
  it('a label change drops a Connector from resourceNames (update, PermissionGranted)', () => {
    const w = synced();
    w.connectors = w.connectors.map((c) => (c.metadata.name === 'harbor-stage' ? connector('harbor-stage', { 'connectors.alauda.io/connectorclass': 'other' }) : c));
    runPass(w, at(t1));
    expect(w.ops.at(-1)).to.include({ op: 'update' });
    expect(w.roles.map(strip)).to.deep.equal([expectedRole(['harbor-dev'])]);
    expect(w.policy.status?.matchedConnectors).to.deep.equal([{ name: 'harbor-dev' }]);
    expect(conds(w.policy)['ConnectorsMatched']).to.deep.equal(['True', 'Matched', '1 Connector(s) matched']);
    expect(cond(w.policy, 'ConnectorsMatched')?.lastTransitionTime).to.equal(t0);
    expect(w.events.at(-1)).to.include({ reason: 'PermissionGranted' });
  });

  it('namespaces that appear and disappear are re-expanded', () => {
    const w = synced();
    w.namespaces.push(namespace('platform-c', { team: 'platform' }));
    w.namespaces = w.namespaces.filter((n) => n.metadata.name !== 'cicd');
    runPass(w, at(t1));
    expect(w.roleBindings[0]?.subjects).to.deep.equal([
      { kind: 'Group', name: 'system:serviceaccounts:platform-a', apiGroup: 'rbac.authorization.k8s.io' },
      { kind: 'Group', name: 'system:serviceaccounts:platform-c', apiGroup: 'rbac.authorization.k8s.io' },
      { kind: 'ServiceAccount', name: 'builder', namespace: 'devops' },
      { kind: 'ServiceAccount', name: 'deployer', namespace: 'devops' },
    ]);
    // cicd/deployer no longer exists as a subject: no longer dropped either.
    expect([...(w.dropped ?? [])]).to.deep.equal([]);
  });

  it('a subject that newly fails the filter is dropped with SubjectDropped; one that recovers is bound again', () => {
    const w = synced();
    w.denied.add('ServiceAccount devops/builder');
    runPass(w, at(t1));
    expect(w.events.filter((e) => e.reason === 'SubjectDropped').map((e) => e.message)).to.deep.equal([
      'ServiceAccount cicd/deployer cannot get connectors in namespace devops',
      'ServiceAccount devops/builder cannot get connectors in namespace devops',
    ]);
    expect(w.roleBindings[0]?.subjects?.map((s) => `${s.namespace ?? ''}/${s.name}`)).to.deep.equal(['/system:serviceaccounts:platform-a', 'cicd/builder', 'devops/deployer']);
    w.denied.delete('ServiceAccount devops/builder');
    runPass(w, at(t2));
    expect(w.roleBindings.map(strip)).to.deep.equal([expectedBinding()]);
  });

  it('a dropped group is reported as Group <name>', () => {
    const w = world();
    w.denied.add('Group system:serviceaccounts:platform-a');
    runPass(w, at(t0));
    expect(w.events.find((e) => e.message.startsWith('Group'))?.message).to.equal('Group system:serviceaccounts:platform-a cannot get connectors in namespace devops');
  });

  it('restores a deleted or edited pair, and re-creates a binding whose roleRef changed', () => {
    const w = synced();
    w.roles = [];
    const b = w.roleBindings[0];
    if (b === undefined) throw new Error('setup');
    b.subjects = [{ kind: 'User', name: 'mallory', apiGroup: 'rbac.authorization.k8s.io' }];
    runPass(w, at(t1));
    expect(w.roles.map(strip)).to.deep.equal([expectedRole()]);
    expect(w.roleBindings.map(strip)).to.deep.equal([expectedBinding()]);
    (w.roleBindings[0] as RoleBinding).roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' };
    runPass(w, at(t2));
    expect(w.ops.at(-1)).to.include({ op: 'recreate' });
  });
});

describe('expandSubjects: the table of §5.8', () => {
  const p = (serviceAccounts: NonNullable<NonNullable<AccessPolicy['spec']['defaultPermission']>['bindingTemplate']>['serviceAccounts']): AccessPolicy => {
    const x = policy();
    x.spec.defaultPermission = { roleTemplate: { ref: { configMap: { name: 'connectors-use-connectors-proxy' } } }, bindingTemplate: { serviceAccounts: serviceAccounts ?? [] } };
    return x;
  };
  const nss = [namespace('devops'), namespace('cicd', { team: 'x' }), namespace('other', { team: 'x' })];
  const text = (s: RbacSubject[]): string[] => s.map((x) => (x.kind === 'ServiceAccount' ? `SA ${x.namespace ?? ''}/${x.name}` : `${x.kind} ${x.name}`));

  it('names, namespaceSelector omitted: ServiceAccounts in the policy namespace', () => {
    expect(text(expandSubjects(p([{ names: ['a', 'b'] }]), nss))).to.deep.equal(['SA devops/a', 'SA devops/b']);
  });
  it('names × selected namespaces (names or labels); missing namespaces are left out', () => {
    expect(text(expandSubjects(p([{ names: ['a'], namespaceSelector: { names: ['cicd', 'gone'] } }]), nss))).to.deep.equal(['SA cicd/a']);
    expect(text(expandSubjects(p([{ names: ['a'], namespaceSelector: { matchLabels: { team: 'x' } } }]), nss))).to.deep.equal(['SA cicd/a', 'SA other/a']);
    expect(text(expandSubjects(p([{ names: ['a'], namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] } }]), nss))).to.deep.equal(['SA devops/a']);
  });
  it('names with {}: every namespace', () => {
    expect(text(expandSubjects(p([{ names: ['a'], namespaceSelector: {} }]), nss))).to.deep.equal(['SA cicd/a', 'SA devops/a', 'SA other/a']);
  });
  it('no names: Group per namespace; omitted = policy namespace; {} = system:serviceaccounts', () => {
    expect(text(expandSubjects(p([{}]), nss))).to.deep.equal(['Group system:serviceaccounts:devops']);
    expect(text(expandSubjects(p([{ namespaceSelector: { matchLabels: { team: 'x' } } }]), nss))).to.deep.equal([
      'Group system:serviceaccounts:cicd',
      'Group system:serviceaccounts:other',
    ]);
    expect(expandSubjects(p([{ names: [], namespaceSelector: {} }]), nss)).to.deep.equal([{ kind: 'Group', name: 'system:serviceaccounts', apiGroup: 'rbac.authorization.k8s.io' }]);
  });
  it('deduplicates and sorts by kind, namespace, name', () => {
    expect(text(expandSubjects(p([{ names: ['z', 'a'] }, { names: ['a'], namespaceSelector: { names: ['devops', 'cicd'] } }, {}]), nss))).to.deep.equal([
      'Group system:serviceaccounts:devops',
      'SA cicd/a',
      'SA devops/a',
      'SA devops/z',
    ]);
  });
});

describe('reconcileAccessPolicy: each PermissionSynced reason', () => {
  it('NoPermissionRequired without defaultPermission (no RBAC, no reviews); Ready True/NoPermissionRequired', () => {
    const w = world();
    delete w.policy.spec.defaultPermission;
    runPass(w, at(t0));
    expect(w.reviewed).to.deep.equal([]);
    expect(w.ops).to.deep.equal([]);
    expect(conds(w.policy)).to.deep.equal({
      ConnectorsMatched: ['True', 'Matched', '2 Connector(s) matched'],
      PermissionSynced: ['True', 'NoPermissionRequired', ''],
      Ready: ['True', 'NoPermissionRequired', ''],
    });
  });

  it('removing defaultPermission later deletes the pair (PermissionRevoked)', () => {
    const w = synced();
    delete w.policy.spec.defaultPermission;
    w.policy.metadata.generation = 2;
    runPass(w, at(t1));
    expect(w.roles).to.deep.equal([]);
    expect(w.roleBindings).to.deep.equal([]);
    expect(w.events.at(-1)?.reason).to.equal('PermissionRevoked');
    expect(w.policy.status?.observedGeneration).to.equal(2);
  });

  it('NoPermissionRequired when the template has no rules (pair deleted)', () => {
    const w = synced();
    w.configMaps.set('connectors-use-connectors-proxy', { metadata: { namespace: systemNamespace, name: 'connectors-use-connectors-proxy' }, data: { rules: '[]' } });
    runPass(w, at(t1));
    expect(w.roles).to.deep.equal([]);
    expect(conds(w.policy)['PermissionSynced']).to.deep.equal(['True', 'NoPermissionRequired', '']);
    expect(conds(w.policy)['Ready']).to.deep.equal(['True', 'NoPermissionRequired', '']);
  });

  it('NoSubjects when every subject is dropped (pair deleted); Ready copies it', () => {
    const w = synced();
    for (const s of ['Group system:serviceaccounts:platform-a', 'ServiceAccount cicd/builder', 'ServiceAccount devops/builder', 'ServiceAccount devops/deployer']) w.denied.add(s);
    runPass(w, at(t1));
    expect(w.roles).to.deep.equal([]);
    expect(w.roleBindings).to.deep.equal([]);
    const m = 'no subject left after expansion and the SubjectAccessReview filter';
    expect(conds(w.policy)['PermissionSynced']).to.deep.equal(['False', 'NoSubjects', m]);
    expect(conds(w.policy)['Ready']).to.deep.equal(['False', 'NoSubjects', m]);
    expect(w.events.map((e) => e.reason)).to.include('PermissionRevoked');
  });

  it('NoSubjects when bindingTemplate expands to nothing', () => {
    const w = world();
    w.policy.spec.defaultPermission = { roleTemplate: { ref: { configMap: { name: 'connectors-use-connectors-proxy' } } }, bindingTemplate: { serviceAccounts: [{ names: ['x'], namespaceSelector: { names: ['gone'] } }] } };
    runPass(w, at(t0));
    expect(conds(w.policy)['PermissionSynced']?.slice(0, 2)).to.deep.equal(['False', 'NoSubjects']);
  });

  const failing: [string, (w: World) => void, string][] = [
    ['a missing template', (w) => w.configMaps.delete('connectors-use-connectors-proxy'), 'role template ConfigMap connectors-system/connectors-use-connectors-proxy not found'],
    [
      'a template with braces (never rendered)',
      (w) => w.configMaps.set('connectors-use-connectors-proxy', { metadata: { name: 'connectors-use-connectors-proxy' }, data: { rules: '- apiGroups: [connectors.alauda.io]\n  resources: ["connectors/proxy/v1/pod/{.object.metadata.name}"]\n  verbs: ["*"]\n' } }),
      'templates are not rendered in default grants',
    ],
    [
      'the scope guard',
      (w) => w.configMaps.set('connectors-use-connectors-proxy', { metadata: { name: 'connectors-use-connectors-proxy' }, data: { rules: '- apiGroups: [""]\n  resources: [secrets]\n  verbs: [get]\n' } }),
      'scope guard: rules[0]: apiGroups must be exactly ["connectors.alauda.io"]',
    ],
  ];
  for (const [what, breakIt, message] of failing) {
    it(`SyncFailed on ${what}; the existing pair is left unchanged`, () => {
      const w = synced();
      const roles = structuredClone(w.roles);
      const bindings = structuredClone(w.roleBindings);
      w.connectors.push(connector('harbor-prod'));
      breakIt(w);
      runPass(w, at(t1));
      expect(w.roles).to.deep.equal(roles);
      expect(w.roleBindings).to.deep.equal(bindings);
      const c = conds(w.policy);
      expect(c['PermissionSynced']?.slice(0, 2)).to.deep.equal(['False', 'SyncFailed']);
      expect(c['PermissionSynced']?.[2]).to.include(message);
      expect(c['Ready']).to.deep.equal(c['PermissionSynced']);
      // matchedConnectors still follows the Connectors.
      expect(w.policy.status?.matchedConnectors?.map((m) => m.name)).to.deep.equal(['harbor-dev', 'harbor-prod', 'harbor-stage']);
    });
  }

  it('SyncFailed on a same-named object not owned by the policy (never adopted)', () => {
    const w = world();
    w.roles.push({ ...expectedRole(), metadata: { name: pairName, namespace: 'devops', uid: 'foreign' } });
    runPass(w, at(t0));
    expect(conds(w.policy)['PermissionSynced']).to.deep.equal(['False', 'SyncFailed', `Role ${pairName} exists and is not owned by this AccessPolicy`]);
    expect(w.ops).to.deep.equal([]);
  });

  it('SyncFailed with the API error when a write fails', () => {
    const w = world();
    w.failWrites.set('RoleBinding', '403 forbidden');
    runPass(w, at(t0));
    expect(conds(w.policy)['PermissionSynced']).to.deep.equal(['False', 'SyncFailed', '403 forbidden']);
    expect(w.events.map((e) => e.reason)).to.not.include('PermissionGranted');
  });

  it('Pending on a first pass whose SubjectAccessReview errors; later passes keep the pair and the condition', () => {
    const w = world();
    w.reviewErrors.set('ServiceAccount cicd/builder', '500 etcd timeout');
    const r = runPass(w, at(t0));
    expect(r.kind === 'apply' && r.retry).to.include('500 etcd timeout');
    expect(w.ops).to.deep.equal([]);
    expect(conds(w.policy)['PermissionSynced']).to.deep.equal(['Unknown', 'Pending', 'waiting for SubjectAccessReviews: ServiceAccount cicd/builder: 500 etcd timeout']);
    expect(conds(w.policy)['Ready']).to.deep.equal(['Unknown', 'Pending', 'waiting for SubjectAccessReviews: ServiceAccount cicd/builder: 500 etcd timeout']);
    w.reviewErrors.clear();
    runPass(w, at(t1));
    expect(conds(w.policy)['Ready']).to.deep.equal(['True', 'Synced', '']);
    // An error is no denial: the pair stays as it is, nothing is dropped.
    w.reviewErrors.set('ServiceAccount devops/builder', '503');
    w.connectors.pop();
    const ops = w.ops.length;
    const r2 = runPass(w, at(t2));
    expect(r2.kind === 'apply' && r2.retry).to.be.a('string');
    expect(w.ops.length).to.equal(ops);
    expect(w.roleBindings.map(strip)).to.deep.equal([expectedBinding()]);
    expect(conds(w.policy)['PermissionSynced']).to.deep.equal(['True', 'Synced', '']);
  });
});

describe('reconcileAccessPolicy: enable-connector-proxy-permissions off', () => {
  const off: FeatureFlags = { connectorProxyPermissions: false, connectorsApproval: true };
  const m = 'feature flags not enabled: enable-connector-proxy-permissions';

  it('deletes the pair (PermissionRevoked), FeatureDisabled, ConnectorsMatched and matchedConnectors unchanged; no reviews', () => {
    const w = synced();
    const reviewed = w.reviewed.length;
    w.flags = off;
    w.connectors = [];
    runPass(w, at(t1));
    expect(w.reviewed.length).to.equal(reviewed);
    expect(w.roles).to.deep.equal([]);
    expect(w.roleBindings).to.deep.equal([]);
    expect(w.events.at(-1)).to.deep.include({ type: 'Normal', reason: 'PermissionRevoked' });
    expect(w.events.at(-1)?.message).to.include(m);
    expect(conds(w.policy)).to.deep.equal({
      ConnectorsMatched: ['True', 'Matched', '2 Connector(s) matched'],
      PermissionSynced: ['Unknown', 'FeatureDisabled', m],
      Ready: ['Unknown', 'FeatureDisabled', m],
    });
    expect(w.policy.status?.matchedConnectors).to.deep.equal([{ name: 'harbor-dev' }, { name: 'harbor-stage' }]);
  });

  it('on a fresh policy writes only PermissionSynced and Ready', () => {
    const w = world();
    w.flags = off;
    runPass(w, at(t0));
    expect(Object.keys(conds(w.policy))).to.deep.equal(['PermissionSynced', 'Ready']);
    expect(w.ops).to.deep.equal([]);
    expect(w.events).to.deep.equal([]);
  });

  it('when the flag returns the next pass re-creates the pair; SubjectDropped is not repeated', () => {
    const w = synced();
    w.flags = off;
    runPass(w, at(t1));
    w.flags = allFlagsOn;
    runPass(w, at(t2));
    expect(w.roles.map(strip)).to.deep.equal([expectedRole()]);
    expect(w.roleBindings.map(strip)).to.deep.equal([expectedBinding()]);
    expect(w.events.filter((e) => e.reason === 'SubjectDropped')).to.have.length(1);
    expect(conds(w.policy)['Ready']).to.deep.equal(['True', 'Synced', '']);
    expect(cond(w.policy, 'Ready')?.lastTransitionTime).to.equal(t2);
  });
});

describe('policyReadyCondition', () => {
  const T = (reason: string) => ({ status: 'True' as const, reason, message: 'x' });
  it('True with PermissionSynced reason and no message when both True', () => {
    expect(policyReadyCondition(allFlagsOn, T('Matched'), T('Synced'))).to.deep.equal({ type: 'Ready', status: 'True', reason: 'Synced', message: '' });
  });
  it('the first False, then the first Unknown, ConnectorsMatched first', () => {
    const F = { status: 'False' as const, reason: 'NoMatch', message: 'm1' };
    const U = { status: 'Unknown' as const, reason: 'Pending', message: 'm2' };
    expect(policyReadyCondition(allFlagsOn, T('Matched'), { status: 'False', reason: 'SyncFailed', message: 'e' })).to.include({ status: 'False', reason: 'SyncFailed', message: 'e' });
    expect(policyReadyCondition(allFlagsOn, F, U)).to.include({ status: 'False', reason: 'NoMatch', message: 'm1' });
    expect(policyReadyCondition(allFlagsOn, U, { status: 'False', reason: 'NoSubjects', message: 'n' })).to.include({ status: 'False', reason: 'NoSubjects' });
    expect(policyReadyCondition(allFlagsOn, T('Matched'), U)).to.include({ status: 'Unknown', reason: 'Pending', message: 'm2' });
    expect(policyReadyCondition(allFlagsOn, T('Matched'), undefined)).to.include({ status: 'Unknown', reason: 'Pending', message: 'waiting for PermissionSynced' });
  });
});

describe('policyCleanupOps and naming', () => {
  it('deletes only the pair labelled for and owned by the policy uid (approval grants and foreign objects are left alone)', () => {
    const w = synced();
    const approval: Role = {
      ...expectedRole(),
      metadata: { name: 'ar-x-oci-default-access', namespace: 'devops', uid: 'a1', labels: { 'connectors.alauda.io/accessRequest': 'ar-x', 'connectors.alauda.io/accessPolicy': 'oci-default-access' }, ownerReferences: [owner] },
    };
    const foreign: Role = { ...expectedRole(), metadata: { name: 'other', namespace: 'devops', uid: 'f1', labels: { 'connectors.alauda.io/accessPolicy': 'oci-default-access' } } };
    const ops = policyCleanupOps('devops', 'oci-default-access', policyUid, [...w.roles, ...w.roleBindings, approval, foreign]);
    expect(ops.map((o) => (o.op === 'delete' ? `${o.kind} ${o.name}` : o.op))).to.deep.equal([`Role ${pairName}`, `RoleBinding ${pairName}`]);
    expect(policyCleanupOps('devops', 'oci-default-access', 'another-uid', [...w.roles, ...w.roleBindings])).to.deep.equal([]);
  });

  it('boundName and labelValue apply to long policy names', () => {
    const long = 'p'.repeat(250);
    expect(policyGrantName(long).length).to.be.at.most(253);
    const w = world();
    w.policy.metadata.name = long;
    runPass(w, at(t0));
    expect(w.roles[0]?.metadata.name).to.equal(policyGrantName(long));
    expect(w.roles[0]?.metadata.labels?.['connectors.alauda.io/accessPolicy']).to.have.length(63);
  });
});
