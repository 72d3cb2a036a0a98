import { expect } from 'chai';
import { useKubectl } from '../../support/kubectl.js';
import { useRestServer } from '../../support/rest.js';

const classManifest = `apiVersion: connectors.alauda.io/v1alpha1
kind: ConnectorClass
metadata:
  name: harbor
spec:
  address: {name: address, type: string}
  auth:
    types:
      - name: basicAuth
        secretType: kubernetes.io/basic-auth
  livenessProbe:
    http: {path: /api/v2.0/ping}
`;

const connectorManifest = `apiVersion: connectors.alauda.io/v1alpha1
kind: Connector
metadata:
  name: harbor-prod
  namespace: devops
spec:
  connectorClassName: harbor
  address: https://harbor.example.com
  auth:
    name: basicAuth
    secretRef: {name: harbor-secret}
    params: {anything: [1, 2]}
`;

describe('kubectl against Connector and ConnectorClass', function () {
  const { k, ok, kIn } = useKubectl(useRestServer());

  it('lists both kinds in api-resources with their scope', async () => {
    const out = await ok('api-resources', '--api-group=connectors.alauda.io', '-o', 'wide');
    expect(out).to.match(/connectorclasses\s+connectors\.alauda\.io\/v1alpha1\s+false\s+ConnectorClass\s+create,delete,deletecollection,get,list,patch,update,watch\s+alauda/);
    expect(out).to.match(/connectors\s+connectors\.alauda\.io\/v1alpha1\s+true\s+Connector\s+create,delete,deletecollection,get,list,patch,update,watch\s+alauda/);
    const cluster = await ok('api-resources', '--api-group=connectors.alauda.io', '--namespaced=false', '-o', 'name');
    expect(cluster.trim().split('\n')).to.deep.equal(['connectorclasses.connectors.alauda.io']);
  });

  it('creates both kinds from YAML', async () => {
    const cc = await kIn(classManifest, 'create', '-f', '-');
    expect(cc.code, cc.stderr).to.equal(0);
    expect(cc.stdout.trim()).to.equal('connectorclass.connectors.alauda.io/harbor created');
    const c = await kIn(connectorManifest, 'create', '-f', '-');
    expect(c.code, c.stderr).to.equal(0);
    expect(c.stdout.trim()).to.equal('connector.connectors.alauda.io/harbor-prod created');
  });

  it('writes status through --subresource=status and shows the printer columns', async () => {
    const cond = '{"status":{"conditions":[{"type":"Ready","status":"True","reason":"Ready"}]}}';
    await ok('patch', 'connectorclass', 'harbor', '--subresource=status', '--type=merge', '-p', cond);
    await ok('patch', 'connector', 'harbor-prod', '-n', 'devops', '--subresource=status', '--type=merge', '-p', cond);

    const classes = (await ok('get', 'connectorclasses')).trim().split('\n');
    expect(classes[0]).to.match(/^NAME\s+READY\s+REASON\s+AGE$/);
    expect(classes[1]).to.match(/^harbor\s+True\s+Ready\s+\d+s$/);

    const conns = (await ok('get', 'connectors', '-A')).trim().split('\n');
    expect(conns[0]).to.match(/^NAMESPACE\s+NAME\s+CLASS\s+ADDRESS\s+READY\s+REASON\s+AGE$/);
    expect(conns[1]).to.match(/^devops\s+harbor-prod\s+harbor\s+https:\/\/harbor\.example\.com\s+True\s+Ready\s+\d+s$/);
  });

  it('gets connectors,connectorclasses together, by singular name and by category', async () => {
    const both = await ok('get', 'connectors,connectorclasses', '-A', '-o', 'name');
    expect(both.trim().split('\n')).to.deep.equal(['connector.connectors.alauda.io/harbor-prod', 'connectorclass.connectors.alauda.io/harbor']);
    expect(await ok('get', 'connectorclass', 'harbor', '-o', 'name')).to.equal('connectorclass.connectors.alauda.io/harbor\n');
    expect(await ok('get', 'connector', 'harbor-prod', '-n', 'devops', '-o', 'jsonpath={.spec.auth.params.anything}')).to.equal('[1,2]');
    const alauda = await ok('get', 'alauda', '-A', '-o', 'name');
    expect(alauda).to.include('connector.connectors.alauda.io/harbor-prod');
    expect(alauda).to.include('connectorclass.connectors.alauda.io/harbor');
  });

  it('has no short names, as the CRDs define none', async () => {
    const r = await k('get', 'ctc');
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.include("the server doesn't have a resource type \"ctc\"");
  });

  it('explains connectorclass.spec from the published OpenAPI', async () => {
    const out = await ok('explain', 'connectorclass.spec');
    expect(out).to.match(/GROUP:\s+connectors\.alauda\.io/);
    expect(out).to.match(/KIND:\s+ConnectorClass/);
    for (const field of ['address', 'api', 'auth', 'authProbes', 'configurations', 'livenessProbe', 'proxy']) {
      expect(out).to.match(new RegExp(`^\\s+${field}\\s+<`, 'm'), field);
    }
    const probe = await ok('explain', 'connectorclass.spec.livenessProbe.http.method');
    expect(probe).to.include('GET');
  });

  it('reports the 422 causes of an invalid ConnectorClass', async () => {
    const bad = classManifest.replace('name: harbor', 'name: broken').replace('path: /api/v2.0/ping', 'path: /ping, method: PUT');
    const r = await kIn(bad, 'create', '-f', '-');
    expect(r.code).to.not.equal(0);
    // kubectl create rewrites a 422 as `The <Kind> "<name>" is invalid: <causes>`.
    expect(r.stderr).to.include('The ConnectorClass "broken" is invalid: spec.livenessProbe.http.method: Unsupported value: "PUT": supported values: "GET", "POST"');
  });

  it('deletes both kinds', async () => {
    expect((await ok('delete', 'connector', 'harbor-prod', '-n', 'devops')).trim()).to.equal('connector.connectors.alauda.io "harbor-prod" deleted from devops namespace');
    expect((await ok('delete', 'connectorclass', 'harbor')).trim()).to.equal('connectorclass.connectors.alauda.io "harbor" deleted');
    const r = await k('get', 'connectorclass', 'harbor');
    expect(r.stderr.trim()).to.equal('Error from server (NotFound): connectorclasses.connectors.alauda.io "harbor" not found');
  });
});
