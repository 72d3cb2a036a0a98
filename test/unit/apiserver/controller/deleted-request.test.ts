/**
 * §5.6: "Deleting any request makes the controller delete its RBAC at once" — the pure part of the
 * delete handler (`revokeDeletedRequest`), which the e2e scenario "deleting a granted request
 * revokes at once" found missing.
 */
import { expect } from 'chai';
import { revokeDeletedRequest } from '../../../../apiserver/controller/reconcile.js';
import type { Role, RoleBinding } from '../../../../apiserver/controller/objects.js';
import { approvalTask, at, grant, runPass, world } from './fixtures.js';
import type { World } from './fixtures.js';

function granted(): World {
  const w = world();
  runPass(w, at('10:00:06'));
  w.checkObjects = [approvalTask('approved')];
  runPass(w, at('10:12:41'));
  return w;
}

describe('revokeDeletedRequest (§5.6 request deletion)', () => {
  it('deletes the granted Role and RoleBinding by uid and raises PermissionRevoked', () => {
    const w = granted();
    expect(w.roles.map((r) => r.metadata.name)).to.deep.equal([grant]);
    const r = revokeDeletedRequest(w.request, w.roles, w.roleBindings);
    expect(r.ops).to.deep.equal([
      { op: 'delete', kind: 'Role', namespace: 'devops', name: grant, uid: w.roles[0]?.metadata.uid },
      { op: 'delete', kind: 'RoleBinding', namespace: 'devops', name: grant, uid: w.roleBindings[0]?.metadata.uid },
    ]);
    expect(r.events).to.deep.equal([
      {
        type: 'Normal',
        reason: 'PermissionRevoked',
        message: "revoked ServiceAccount cicd/builder's use of Connector devops/prod-harbor: the AccessRequest is being deleted",
      },
    ]);
  });

  it('works whatever the flags or the status say: only the owned, labelled objects count', () => {
    const w = granted();
    // A request read back without status (e.g. the last state the delete event carried) still finds them.
    const bare = { ...w.request, status: {} };
    expect(revokeDeletedRequest(bare, w.roles, w.roleBindings).ops).to.have.length(2);
  });

  it('leaves objects of a former request with the same name (another uid) and foreign objects alone', () => {
    const w = granted();
    const other = { ...w.request, metadata: { ...w.request.metadata, uid: 'another-uid' } };
    expect(revokeDeletedRequest(other, w.roles, w.roleBindings)).to.deep.equal({ ops: [], events: [] });
    const unlabelled: Role[] = w.roles.map((r) => ({ ...r, metadata: { ...r.metadata, labels: {} } }));
    const otherNs: RoleBinding[] = w.roleBindings.map((b) => ({ ...b, metadata: { ...b.metadata, namespace: 'elsewhere' } }));
    expect(revokeDeletedRequest(w.request, unlabelled, otherNs)).to.deep.equal({ ops: [], events: [] });
  });

  it('nothing granted: no ops, no Event', () => {
    const w = world();
    runPass(w, at('10:00:06'));
    expect(revokeDeletedRequest(w.request, w.roles, w.roleBindings)).to.deep.equal({ ops: [], events: [] });
  });
});
