import { expect } from 'chai';
import { useKubectl } from '../../support/kubectl.js';
import { useRestServer } from '../../support/rest.js';

describe('kubectl against the standalone API', function () {
  const { k, ok, kIn } = useKubectl(useRestServer());

  it('lists both kinds with their verbs in api-resources', async () => {
    const out = await ok('api-resources', '--api-group=connectors.alauda.io', '-o', 'wide');
    const lines = out.trim().split('\n');
    expect(lines[0]).to.match(/^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND\s+VERBS\s+CATEGORIES/);
    expect(out).to.match(/accesspolicies\s+connectors\.alauda\.io\/v1alpha1\s+true\s+AccessPolicy\s+create,delete,deletecollection,get,list,patch,update,watch\s+alauda/);
    expect(out).to.match(/accessrequests\s+connectors\.alauda\.io\/v1alpha1\s+true\s+AccessRequest\s+create,delete,deletecollection,get,list,patch,update,watch\s+alauda/);
  });

  it('creates from YAML and shows the printer columns in get -A', async () => {
    const manifest = `apiVersion: connectors.alauda.io/v1alpha1
kind: AccessRequest
metadata: {name: kr1, namespace: kns}
spec:
  connectorRef: {name: prod-harbor}
  context: {objectRef: {kind: Pod, namespace: cicd, name: p1}}
  subject: {kind: ServiceAccount, name: builder, namespace: cicd}
`;
    const created = await kIn(manifest, 'create', '-f', '-');
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stdout.trim()).to.equal('accessrequest.connectors.alauda.io/kr1 created');
    const out = await ok('get', 'accessrequests', '-A');
    const [header, row] = out.trim().split('\n');
    expect(header).to.match(/^NAMESPACE\s+NAME\s+CONNECTOR\s+SUBJECT\s+CONTEXTVALID\s+PERMISSION\s+AGE$/);
    // kubectl prints null cells of a server-side Table as blanks.
    expect(row).to.match(/^kns\s+kr1\s+prod-harbor\s+builder\s+\d+s$/);
  });

  it('gets by the singular name and the category', async () => {
    expect(await ok('get', 'accessrequest', 'kr1', '-n', 'kns', '-o', 'name')).to.equal('accessrequest.connectors.alauda.io/kr1\n');
    expect(await ok('get', 'alauda', '-A', '-o', 'name')).to.include('accessrequest.connectors.alauda.io/kr1');
  });

  it('shows the 422 causes of an immutable spec change', async () => {
    const r = await k('patch', 'accessrequest', 'kr1', '-n', 'kns', '--type=merge', '-p', '{"spec":{"subject":{"name":"x"}}}');
    expect(r.code).to.not.equal(0);
    // kubectl rewrites a 422 as `The <Kind> "<name>" is invalid: <causes>`.
    expect(r.stderr).to.include('The AccessRequest "kr1" is invalid: spec: Invalid value: "object": field is immutable');
  });

  it('explains that a strategic merge patch is not supported', async () => {
    const r = await k('patch', 'accessrequest', 'kr1', '-n', 'kns', '-p', '{"metadata":{"labels":{"a":"b"}}}');
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.include('--type=merge');
  });

  it('labels, deletes and reports a missing object', async () => {
    await ok('label', 'accessrequest', 'kr1', '-n', 'kns', 'team=a');
    expect(await ok('get', 'accessrequests', '-n', 'kns', '-l', 'team=a', '-o', 'name')).to.equal('accessrequest.connectors.alauda.io/kr1\n');
    expect((await ok('delete', 'accessrequest', 'kr1', '-n', 'kns')).trim()).to.equal('accessrequest.connectors.alauda.io "kr1" deleted from kns namespace');
    // kubectl turns a namespaced NotFound into "namespaces … not found" after a GET of the namespace;
    // the standalone server has no core API, so that GET is a plain 404. Check the object itself.
    const r = await k('get', 'accessrequest', 'kr1', '-n', 'kns', '-o', 'name', '--ignore-not-found');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('');
    const raw = await k('get', '--raw', '/apis/connectors.alauda.io/v1alpha1/namespaces/kns/accessrequests/kr1');
    expect(raw.stderr.trim()).to.equal('Error from server (NotFound): accessrequests.connectors.alauda.io "kr1" not found');
  });
});
