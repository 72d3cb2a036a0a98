/**
 * Issue 9's install artifacts, checked against the shared local control plane:
 *
 * - `kubectl apply --dry-run=server -k manifests/` (the default install: in-cluster etcd component)
 *   and the external-etcd variant succeed. The control plane has no cert-manager: stand-in CRDs for
 *   cert-manager.io/v1 Issuer and Certificate (fixtures/cert-manager-crds.yaml, a strict subset of the
 *   real schemas) are installed for real first, and removed afterwards, because objects of a CRD that
 *   is created in the same dry-run apply cannot be dry-run (the CRD does not exist yet).
 * - The Deployment passes every flag of the server's usage text at its documented default (or a
 *   listed deliberate value), and the argument list parses with the server's own parser.
 * - The Helm chart (helm built by test/cluster/build-helm.sh) lints, renders the same objects as the
 *   kustomization (deep-equal after removing Helm's own labels; the Namespace is left to
 *   `--create-namespace`), follows the release namespace, and its renderings dry-run too.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { parseServerOptions, usage } from '../../apiserver/options.js';
import { repoRoot, runCommand, systemNamespace } from '../cluster/control-plane.js';
import { kubectl, useControlPlane, type CommandResult } from './setup.js';

const chartDir = join(repoRoot, 'charts/connectors-access-apiserver');
const manifestsDir = join(repoRoot, 'manifests');
const crdFixture = join(repoRoot, 'test/e2e/fixtures/cert-manager-crds.yaml');
const release = 'connectors-access-apiserver';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`YAML: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

const keyOf = (o: K8sObject): string => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? '-'}/${o.metadata.name}`;

/** Labels Helm's chart adds to metadata only; everything else must be identical. */
const helmLabels = ['helm.sh/chart', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/instance', 'app.kubernetes.io/version'];
function normalize(objects: readonly K8sObject[]): Map<string, K8sObject> {
  const out = new Map<string, K8sObject>();
  for (const o of objects) {
    const copy = structuredClone(o);
    const labels = copy.metadata.labels;
    if (labels !== undefined) {
      for (const l of helmLabels) delete labels[l];
      if (Object.keys(labels).length === 0) delete copy.metadata.labels;
    }
    const key = keyOf(copy);
    expect(out.has(key), `${key} rendered twice`).to.equal(false);
    out.set(key, copy);
  }
  return out;
}

function expectSameObjects(helmOut: readonly K8sObject[], kustomizeOut: readonly K8sObject[]): void {
  const h = normalize(helmOut);
  // The chart leaves the Namespace to `helm install --create-namespace` (a chart-owned Namespace
  // would make the release own, and on uninstall delete, everything in it).
  const k = normalize(kustomizeOut.filter((o) => o.kind !== 'Namespace'));
  expect([...h.keys()].sort(), 'objects rendered by the chart vs. the kustomization').to.deep.equal([...k.keys()].sort());
  for (const [key, obj] of k) expect(h.get(key), key).to.deep.equal(obj);
}

function must(what: string, r: CommandResult): string {
  expect(r.code, `${what} failed (exit ${String(r.code)}):\n${r.stderr}${r.stdout.slice(0, 2000)}`).to.equal(0);
  return r.stdout;
}

describe('install artifacts: manifests/ and the Helm chart (e2e)', function () {
  const cp = useControlPlane();
  let helmBin = '';
  let work = '';
  const helm = async (args: readonly string[]): Promise<CommandResult> => runCommand(helmBin, args, { timeoutMs: 60_000 });
  const template = async (values: Record<string, unknown> = {}, namespace = systemNamespace): Promise<CommandResult> => {
    const file = join(work, `values-${String(Math.random()).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(values));
    return helm(['template', release, chartDir, '--namespace', namespace, '--values', file]);
  };
  const kustomize = async (dir: string): Promise<K8sObject[]> =>
    parseObjects(must(`kubectl kustomize ${dir}`, await runCommand(cp().kubectl, ['kustomize', dir], { timeoutMs: 60_000 })));
  /** manifests/ copied with another etcd component chosen in its kustomization.yaml. */
  const variant = (component: 'etcd' | 'external-etcd'): string => {
    const dir = join(work, `manifests-${component}`);
    cpSync(manifestsDir, dir, { recursive: true });
    const file = join(dir, 'kustomization.yaml');
    const text = readFileSync(file, 'utf8');
    expect(text, 'manifests/kustomization.yaml chooses the etcd component').to.match(/^components:\n {2}- etcd\n/m);
    writeFileSync(file, text.replace(/^components:\n {2}- etcd\n/m, `components:\n  - ${component}\n`));
    return dir;
  };
  const dryRun = async (args: readonly string[], input?: string): Promise<string> =>
    must(`kubectl apply --dry-run=server ${args.join(' ')}`, await kubectl(['apply', '--dry-run=server', ...args], input === undefined ? {} : { input }));

  before(async function () {
    this.timeout(20 * 60_000); // a cold helm build takes about 4 minutes on 2 cores
    work = mkdtempSync(join(tmpdir(), 'connectors-manifests-'));
    const built = await runCommand('bash', [join(repoRoot, 'test/cluster/build-helm.sh')]);
    const bin = built.stdout.split('\n').find((l) => l.startsWith('HELM_BIN='))?.slice('HELM_BIN='.length).trim();
    if (built.code !== 0 || bin === undefined) throw new Error(`test/cluster/build-helm.sh failed (exit ${String(built.code)}):\n${built.stderr.slice(-4000)}`);
    helmBin = bin;
  });

  before(async function () {
    this.timeout(120_000);
    must('install stand-in cert-manager CRDs', await kubectl(['apply', '-f', crdFixture]));
    must(
      'wait for the stand-in CRDs',
      await kubectl(['wait', '--for=condition=Established', 'crd/issuers.cert-manager.io', 'crd/certificates.cert-manager.io', '--timeout=60s'], { timeoutMs: 90_000 }),
    );
  });

  after(async function () {
    this.timeout(120_000);
    if (work !== '') rmSync(work, { recursive: true, force: true });
    // Nothing was created from them (dry runs only); other files never use cert-manager.io.
    await kubectl(['delete', '-f', crdFixture, '--ignore-not-found', '--wait=false']);
  });

  describe('the Deployment\'s flags', function () {
    /** Flags a cluster install leaves out: --kubeconfig (in-cluster config) and --standalone (development only). */
    const notPassed = new Set(['kubeconfig', 'standalone']);
    /** Flags whose value in a cluster is not the usage default, and why. */
    const deliberate: Record<string, string> = {
      'etcd-servers': 'the etcd members (no default)',
      'etcd-cafile': 'mounted Secret',
      'etcd-certfile': 'mounted Secret',
      'etcd-keyfile': 'mounted Secret',
      'tls-cert-file': 'mounted Secret',
      'tls-private-key-file': 'mounted Secret',
      'cert-dir': 'the root filesystem is read-only: /tmp',
      'shutdown-delay-duration': 'OPS-5: 5-15 s in a cluster',
      'opa-path': 'the image\'s opa',
      'leader-elect-resource-namespace': 'the system namespace, spelt out',
    };

    it('passes every flag of the usage text, at its documented default, and the server parses them', async function () {
      const objects = await kustomize(manifestsDir);
      const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'connectors-access-apiserver');
      expect(deployment, 'the Deployment').to.not.equal(undefined);
      const spec = deployment?.['spec'] as { replicas: number; template: { spec: { containers: { args: string[] }[] } } };
      const args = spec.template.spec.containers[0]?.args ?? [];
      const passed = new Map(args.map((a) => {
        const m = /^--([a-z][a-z0-9-]*)=(.*)$/s.exec(a);
        expect(m, `argument ${a} is --flag=value`).to.not.equal(null);
        return [m?.[1] ?? '', m?.[2] ?? ''] as const;
      }));
      expect(passed.size, 'no flag is passed twice').to.equal(args.length);
      const documented = new Map<string, string | undefined>();
      for (const m of usage.matchAll(/--([a-z][a-z0-9-]*)(=(\S+))?/g)) {
        const name = m[1] ?? '';
        if (!documented.has(name) || documented.get(name) === undefined) documented.set(name, m[3]);
      }
      const expected = [...documented.keys()].filter((f) => !notPassed.has(f)).sort();
      expect([...passed.keys()].sort(), 'flags in manifests/deployment.yaml vs. apiserver/options.ts usage').to.deep.equal(expected);
      for (const [flag, value] of passed) {
        const dflt = documented.get(flag);
        if (flag in deliberate || dflt === undefined || dflt.startsWith('<')) continue;
        expect(value, `--${flag}: the usage default`).to.equal(dflt);
      }
      const parsed = parseServerOptions(args);
      expect(parsed.ok, parsed.ok ? '' : parsed.error).to.equal(true);
      if (parsed.ok) {
        expect(parsed.value.leaderElect).to.equal(true);
        expect(parsed.value.shutdownDelayMs).to.equal(10_000);
        expect(parsed.value.systemNamespace).to.equal(systemNamespace);
      }
      expect(spec.replicas).to.equal(2);
    });
  });

  describe('kubectl apply --dry-run=server', function () {
    it('accepts -k manifests/ (the default install, with the in-cluster etcd component)', async function () {
      this.timeout(120_000);
      const out = await dryRun(['-k', manifestsDir]);
      for (const name of [
        'deployment.apps/connectors-access-apiserver',
        'service/connectors-access-apiserver',
        'poddisruptionbudget.policy/connectors-access-apiserver',
        'apiservice.apiregistration.k8s.io/v1alpha1.connectors.alauda.io',
        'certificate.cert-manager.io/connectors-access-apiserver-serving',
        'issuer.cert-manager.io/connectors-access-apiserver-ca',
        'statefulset.apps/connectors-etcd',
        'service/connectors-etcd',
        'certificate.cert-manager.io/connectors-access-apiserver-etcd-client',
      ]) {
        expect(out, name).to.include(`${name} `);
      }
      // Nothing was stored: the Deployment does not exist.
      const get = await kubectl(['-n', systemNamespace, 'get', 'deployment/connectors-access-apiserver', '--ignore-not-found', '-o', 'name']);
      expect(get.stdout.trim()).to.equal('');
    });

    it('accepts the external-etcd variant, which has no etcd StatefulSet and points at the configured etcd', async function () {
      this.timeout(120_000);
      const dir = variant('external-etcd');
      const objects = await kustomize(dir);
      expect(objects.filter((o) => o.kind === 'StatefulSet' || o.metadata.name.startsWith('connectors-etcd'))).to.deep.equal([]);
      expect(JSON.stringify(objects)).to.include('--etcd-servers=https://etcd-0.example.com:2379');
      await dryRun(['-k', dir]);
    });

    it('leaves the APIService out with -l app.kubernetes.io/component!=apiservice (install before migrating)', async function () {
      this.timeout(120_000);
      const out = await dryRun(['-k', manifestsDir, '-l', 'app.kubernetes.io/component!=apiservice']);
      expect(out).to.include('deployment.apps/connectors-access-apiserver ');
      expect(out).to.not.include('apiservice');
    });

    it('rejects a misspelt cert-manager field (the stand-in CRDs validate)', async function () {
      this.timeout(60_000);
      const bad = `apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: typo, namespace: ${systemNamespace}}
spec: {secretName: typo, dnsName: [x.example], issuerRef: {name: connectors-access-apiserver-ca}}
`;
      const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: bad });
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.match(/unknown field "spec\.dnsName"/);
    });
  });

  describe('the Helm chart', function () {
    it('lints', async function () {
      must('helm lint', await helm(['lint', chartDir, '--namespace', systemNamespace]));
    });

    it('renders the objects of the kustomization with its default values', async function () {
      this.timeout(60_000);
      const rendered = parseObjects(must('helm template', await template()));
      expectSameObjects(rendered, await kustomize(manifestsDir));
    });

    it('renders the external-etcd variant with etcd.mode=external', async function () {
      this.timeout(60_000);
      const servers = ['https://etcd-0.example.com:2379', 'https://etcd-1.example.com:2379', 'https://etcd-2.example.com:2379'];
      const rendered = parseObjects(must('helm template', await template({ etcd: { mode: 'external', external: { servers } } })));
      expectSameObjects(rendered, await kustomize(variant('external-etcd')));
    });

    it('puts every namespaced object into the release namespace and the flags follow it', async function () {
      const rendered = parseObjects(must('helm template', await template({}, 'team-x')));
      for (const o of rendered) {
        if (o.metadata.namespace === undefined) continue;
        const want = o.kind === 'RoleBinding' && o.metadata.name === 'connectors-access-apiserver-auth-reader' ? 'kube-system' : 'team-x';
        expect(o.metadata.namespace, keyOf(o)).to.equal(want);
      }
      const text = JSON.stringify(rendered);
      expect(text).to.not.include(systemNamespace);
      expect(text).to.include('--system-namespace=team-x');
      expect(text).to.include('team-x/connectors-access-apiserver-serving');
      expect(text).to.include('connectors-etcd-2.connectors-etcd.team-x.svc');
    });

    it('without cert-manager: no cert-manager objects, the caBundle is set, external etcd over plain http has no TLS flags', async function () {
      const caBundle = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
      const rendered = parseObjects(
        must(
          'helm template',
          await template({ certManager: { enabled: false }, apiService: { caBundle }, etcd: { mode: 'external', clientSecretName: '', external: { servers: ['http://etcd.example.com:2379'] } } }),
        ),
      );
      expect(rendered.filter((o) => o.apiVersion.startsWith('cert-manager.io/'))).to.deep.equal([]);
      const apiService = rendered.find((o) => o.kind === 'APIService');
      expect((apiService?.['spec'] as { caBundle?: string }).caBundle).to.equal(caBundle);
      expect(apiService?.metadata.annotations).to.equal(undefined);
      const text = JSON.stringify(rendered);
      expect(text).to.not.include('--etcd-cafile');
      expect(text).to.not.include('etcd-client-cert');
      expect(text).to.include('--etcd-servers=http://etcd.example.com:2379');
    });

    it('refuses values that cannot work, saying why', async function () {
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ certManager: { enabled: false } }, /needs apiService\.caBundle/],
        [{ etcd: { mode: 'embedded' } }, /etcd\.mode must be internal or external/],
        [{ etcd: { mode: 'external' } }, /needs etcd\.external\.servers/],
        [{ etcd: { internal: { replicas: 2 } } }, /must be odd/],
        [{ etcd: { clientSecretName: '' } }, /etcd\.mode=internal needs etcd\.clientSecretName/],
      ];
      for (const [values, message] of cases) {
        const r = await template(values);
        expect(r.code, JSON.stringify(values)).to.not.equal(0);
        expect(r.stderr, JSON.stringify(values)).to.match(message);
      }
    });

    it('dry-runs on the cluster: default values, and without cert-manager with internal etcd', async function () {
      this.timeout(120_000);
      await dryRun(['-f', '-'], must('helm template', await template()));
      const caBundle = Buffer.from('not checked by the API server').toString('base64');
      const noCertManager = must('helm template', await template({ certManager: { enabled: false }, apiService: { caBundle } }));
      const objects = parseObjects(noCertManager);
      expect(objects.some((o) => o.kind === 'StatefulSet'), 'internal etcd without cert-manager: your own Secrets').to.equal(true);
      expect(objects.filter((o) => o.apiVersion.startsWith('cert-manager.io/'))).to.deep.equal([]);
      await dryRun(['-f', '-'], noCertManager);
    });
  });
});
