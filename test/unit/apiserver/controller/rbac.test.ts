import { expect } from 'chai';
import type { PolicyRule } from '../../../../apiserver/controller/objects.js';
import {
  cleanupOps,
  desiredGrant,
  grantRules,
  planGrant,
  readRoleTemplate,
  scopeGuardError,
  unrenderedTemplateError,
} from '../../../../apiserver/controller/rbac.js';
import { builtinTemplates, grant, pod, request, requestUid, systemNamespace } from './fixtures.js';

describe('scopeGuardError (§6.4)', () => {
  const ok: PolicyRule = { apiGroups: ['connectors.alauda.io'], resources: ['connectors/proxy'], verbs: ['*'] };
  const cases: { name: string; rule: PolicyRule; want: string | undefined }[] = [
    { name: 'accepts connectors/proxy', rule: ok, want: undefined },
    { name: 'accepts a proxy sub-path', rule: { ...ok, resources: ['connectors/proxy/v1/pod/cicd/p'] }, want: undefined },
    { name: 'refuses another group', rule: { ...ok, apiGroups: [''] }, want: 'rules[0]: apiGroups must be exactly ["connectors.alauda.io"], not [""]' },
    { name: 'refuses extra groups', rule: { ...ok, apiGroups: ['connectors.alauda.io', 'apps'] }, want: 'rules[0]: apiGroups must be exactly ["connectors.alauda.io"], not ["connectors.alauda.io","apps"]' },
    { name: 'refuses other resources', rule: { ...ok, resources: ['connectors'] }, want: 'rules[0]: resource "connectors" is not connectors/proxy or connectors/proxy/<path> without "*"' },
    { name: 'refuses an empty sub-path', rule: { ...ok, resources: ['connectors/proxy/'] }, want: 'rules[0]: resource "connectors/proxy/" is not connectors/proxy or connectors/proxy/<path> without "*"' },
    { name: 'refuses wildcards', rule: { ...ok, resources: ['connectors/proxy/*'] }, want: 'rules[0]: resource "connectors/proxy/*" is not connectors/proxy or connectors/proxy/<path> without "*"' },
    { name: 'refuses nonResourceURLs', rule: { ...ok, nonResourceURLs: ['/healthz'] }, want: 'rules[0]: nonResourceURLs are not allowed' },
    { name: 'refuses resourceNames in the template', rule: { ...ok, resourceNames: ['x'] }, want: 'rules[0]: resourceNames are not allowed in a template' },
    { name: 'refuses empty verbs', rule: { ...ok, verbs: [] }, want: 'rules[0]: verbs must not be empty' },
  ];
  for (const tc of cases) it(tc.name, () => expect(scopeGuardError([tc.rule])).to.equal(tc.want));

  it('names the offending rule', () => {
    expect(scopeGuardError([ok, { ...ok, verbs: [] }])).to.equal('rules[1]: verbs must not be empty');
  });
});

describe('role templates', () => {
  it('renders the built-in approval template against the Pod', () => {
    expect(grantRules('connectors-use-connectors-proxy-in-pod', builtinTemplates(), systemNamespace, pod(), 'prod-harbor')).to.deep.equal({
      ok: true,
      value: [
        {
          apiGroups: ['connectors.alauda.io'],
          resources: ['connectors/proxy/v1/pod/cicd/promote-run-abc12-push-image-pod'],
          verbs: ['*'],
          resourceNames: ['prod-harbor'],
        },
      ],
    });
  });

  it('reports template errors', () => {
    const cms = new Map([
      ['bad-yaml', { metadata: {}, data: { rules: '- [' } }],
      ['not-list', { metadata: {}, data: { rules: 'a: b' } }],
      ['bad-tpl', { metadata: {}, data: { rules: '- {apiGroups: [connectors.alauda.io], resources: ["connectors/proxy/{.x"], verbs: ["*"]}' } }],
      ['no-key', { metadata: {}, data: {} }],
    ]);
    const err = (name: string): string => {
      const r = grantRules(name, cms, systemNamespace, pod(), 'c');
      return r.ok ? '' : r.error;
    };
    expect(err('missing')).to.equal('role template ConfigMap connectors-system/missing not found');
    expect(err('no-key')).to.equal('role template ConfigMap connectors-system/no-key has no key "rules"');
    expect(err('bad-yaml')).to.match(/^role template ConfigMap connectors-system\/bad-yaml key rules: /);
    expect(err('not-list')).to.equal('role template ConfigMap connectors-system/not-list key rules: must be a list of PolicyRules');
    expect(err('bad-tpl')).to.match(/^role template ConfigMap connectors-system\/bad-tpl: rules\[0\]\.resources: "connectors\/proxy\/\{\.x": unclosed/);
  });

  it('reads an empty template as no rules', () => {
    expect(readRoleTemplate('e', new Map([['e', { metadata: {}, data: { rules: '' } }]]), systemNamespace)).to.deep.equal({ ok: true, value: [] });
  });

  it('flags braces in a default-grant template', () => {
    expect(unrenderedTemplateError([{ apiGroups: ['connectors.alauda.io'], resources: ['connectors/proxy/{.x}'], verbs: ['*'] }])).to.equal(
      'rules[0].resources: "connectors/proxy/{.x}": templates are not rendered in default grants',
    );
  });
});

describe('planGrant', () => {
  const rules: PolicyRule[] = [{ apiGroups: ['connectors.alauda.io'], resources: ['connectors/proxy'], verbs: ['*'], resourceNames: ['prod-harbor'] }];
  const g = desiredGrant(request(), 'prod-harbor-approval', rules);
  const live = <T extends { metadata: object }>(o: T, uid: string): T => ({ ...o, metadata: { ...o.metadata, uid, resourceVersion: '5' } });

  it('creates both objects when none exist', () => {
    const r = planGrant('p', g, undefined, undefined, requestUid);
    expect(r.ok && r.value.map((o) => [o.op, o.op === 'delete' ? o.kind : o.object.kind])).to.deep.equal([
      ['create', 'Role'],
      ['create', 'RoleBinding'],
    ]);
    expect(g.role.metadata.name).to.equal(grant);
  });

  it('writes nothing when the objects are correct, extra labels allowed', () => {
    const role = live(g.role, 'r1');
    role.metadata = { ...role.metadata, labels: { ...role.metadata.labels, extra: 'yes' } };
    expect(planGrant('p', g, role, live(g.roleBinding, 'b1'), requestUid)).to.deep.equal({ ok: true, value: [] });
  });

  it('updates with the live resourceVersion and keeps foreign labels', () => {
    const role = live({ ...g.role, rules: [] }, 'r1');
    role.metadata = { ...role.metadata, labels: { extra: 'yes' } };
    const r = planGrant('p', g, role, live(g.roleBinding, 'b1'), requestUid);
    const op = r.ok ? r.value[0] : undefined;
    expect(op?.op).to.equal('update');
    if (op?.op !== 'update') return;
    expect(op.object.metadata.resourceVersion).to.equal('5');
    expect(op.object.metadata.labels?.['extra']).to.equal('yes');
    expect(op.object.metadata.labels?.['connectors.alauda.io/accessRequest']).to.equal(request().metadata.name);
  });

  it('refuses objects owned by someone else', () => {
    expect(planGrant('p', g, undefined, live({ ...g.roleBinding, metadata: { ...g.roleBinding.metadata, ownerReferences: [] } }, 'b1'), requestUid)).to.deep.equal({
      ok: false,
      error: `RoleBinding ${grant} exists and is not owned by this AccessRequest`,
    });
  });

  it('deletes only labelled, owned objects on cleanup', () => {
    const mine = live(g.role, 'r1');
    const unlabelled = live({ ...g.roleBinding, metadata: { ...g.roleBinding.metadata, labels: {} } }, 'b1');
    const foreign = live({ ...g.role, metadata: { ...g.role.metadata, name: 'x', ownerReferences: [] } }, 'r2');
    expect(cleanupOps(request(), [mine, unlabelled, foreign])).to.deep.equal([
      { op: 'delete', kind: 'Role', namespace: 'devops', name: grant, uid: 'r1' },
    ]);
  });
});
