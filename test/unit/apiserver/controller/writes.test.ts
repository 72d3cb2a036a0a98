/**
 * runRBACOp / deleteRBACObject: the one RBAC write path of both controllers, against a scripted
 * KubeClient — request methods, paths and bodies, the messages a failure turns into, and a 409 on a
 * uid-precondition delete read as "gone".
 */
import { expect } from 'chai';
import type { KubeClient, KubeResponse } from '../../../../apiserver/controller/kube-client.js';
import type { Role, RoleBinding } from '../../../../apiserver/controller/objects.js';
import type { RBACOp } from '../../../../apiserver/controller/rbac.js';
import { deleteRBACObject, runRBACOp } from '../../../../apiserver/controller/writes.js';

interface Sent {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
}

type Reply = { ok: true; code: number } | { ok: false; code: number; message: string };

/** Answers each call with the next reply (200 when none is left) and records what was sent. */
function scripted(...replies: Reply[]): { client: KubeClient; sent: Sent[] } {
  const sent: Sent[] = [];
  const client: KubeClient = {
    call: <T>(method: string, path: string, body?: unknown): Promise<KubeResponse<T>> => {
      sent.push({ method, path, body });
      const r = replies.shift() ?? { ok: true, code: 200 };
      return Promise.resolve(r.ok ? { ok: true, code: r.code, body: undefined as T } : r);
    },
    watch: () => Promise.resolve({ code: 200 }),
  };
  return { client, sent };
}

const roles = '/apis/rbac.authorization.k8s.io/v1/namespaces/devops/roles';
const bindings = '/apis/rbac.authorization.k8s.io/v1/namespaces/devops/rolebindings';

const role: Role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'grant', namespace: 'devops' }, rules: [] };
const binding: RoleBinding = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata: { name: 'grant', namespace: 'devops' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'grant' },
};
const deleteRole: RBACOp = { op: 'delete', kind: 'Role', namespace: 'devops', name: 'grant', uid: 'u-1' };

describe('runRBACOp', () => {
  it('creates with POST to the collection; done on success', async () => {
    const { client, sent } = scripted({ ok: true, code: 201 });
    expect(await runRBACOp(client, { op: 'create', policy: 'p', object: role }, 'AccessRequest')).to.equal(undefined);
    expect(sent).to.deep.equal([{ method: 'POST', path: roles, body: role }]);
  });

  it('a 409 on create names the foreign object and the owner kind', async () => {
    for (const owner of ['AccessRequest', 'AccessPolicy'] as const) {
      const { client } = scripted({ ok: false, code: 409, message: 'already exists' });
      expect(await runRBACOp(client, { op: 'create', policy: 'p', object: binding }, owner)).to.equal(`RoleBinding grant exists and is not owned by this ${owner}`);
    }
  });

  it('other failures are the API answer, `<code> <message>`, the same for both owners', async () => {
    for (const owner of ['AccessRequest', 'AccessPolicy'] as const) {
      const { client, sent } = scripted({ ok: false, code: 403, message: 'forbidden' }, { ok: false, code: 500, message: '' });
      expect(await runRBACOp(client, { op: 'create', policy: 'p', object: role }, owner)).to.equal('403 forbidden');
      expect(await runRBACOp(client, { op: 'update', policy: 'p', object: role }, owner)).to.equal('500');
      expect(sent[1]).to.deep.equal({ method: 'PUT', path: `${roles}/grant`, body: role });
    }
  });

  it('recreate deletes the binding with its uid as precondition, then creates it; a 404 on the delete is fine', async () => {
    const { client, sent } = scripted({ ok: false, code: 404, message: 'not found' }, { ok: true, code: 201 });
    expect(await runRBACOp(client, { op: 'recreate', policy: 'p', object: binding, uid: 'u-2' }, 'AccessPolicy')).to.equal(undefined);
    expect(sent).to.deep.equal([
      { method: 'DELETE', path: `${bindings}/grant`, body: { preconditions: { uid: 'u-2' } } },
      { method: 'POST', path: bindings, body: binding },
    ]);
  });

  it('recreate stops on a failed delete other than 404', async () => {
    const { client, sent } = scripted({ ok: false, code: 409, message: 'precondition failed' });
    expect(await runRBACOp(client, { op: 'recreate', policy: 'p', object: binding, uid: 'u-2' }, 'AccessRequest')).to.equal('409 precondition failed');
    expect(sent).to.have.length(1);
  });

  it('delete: a 404 or a 409 (uid precondition failed: that object is gone) is done, for both owners', async () => {
    for (const owner of ['AccessRequest', 'AccessPolicy'] as const) {
      for (const code of [404, 409]) {
        const { client, sent } = scripted({ ok: false, code, message: 'x' });
        expect(await runRBACOp(client, deleteRole, owner)).to.equal(undefined);
        expect(sent).to.deep.equal([{ method: 'DELETE', path: `${roles}/grant`, body: { preconditions: { uid: 'u-1' } } }]);
      }
    }
  });

  it('delete: another failure names what was being deleted', async () => {
    const { client } = scripted({ ok: false, code: 0, message: 'connection refused' });
    expect(await runRBACOp(client, deleteRole, 'AccessPolicy')).to.equal('delete Role devops/grant: 0 connection refused');
  });
});

describe('deleteRBACObject', () => {
  it('tells deleted from absent (404, 409) from an error', async () => {
    const op = { op: 'delete', kind: 'RoleBinding', namespace: 'devops', name: 'grant', uid: 'u-3' } as const;
    expect(await deleteRBACObject(scripted({ ok: true, code: 200 }).client, op)).to.deep.equal({ kind: 'deleted' });
    expect(await deleteRBACObject(scripted({ ok: false, code: 404, message: 'not found' }).client, op)).to.deep.equal({ kind: 'absent' });
    expect(await deleteRBACObject(scripted({ ok: false, code: 409, message: 'uid mismatch' }).client, op)).to.deep.equal({ kind: 'absent' });
    expect(await deleteRBACObject(scripted({ ok: false, code: 503, message: 'unavailable' }).client, op)).to.deep.equal({
      kind: 'error',
      message: 'delete RoleBinding devops/grant: 503 unavailable',
    });
  });
});
