/**
 * The controller's guards against crafted input (issue 11), property-based on its pure functions:
 *
 * - the role-template scope guard (§6.4): whatever rules a template author writes and whatever a Pod
 *   renders into them, a grant that passes holds only `connectors/proxy[/<path>]` of the Connectors
 *   group, for the one Connector, without wildcards, resourceNames of the author's or URLs;
 * - SubjectMismatch: a ServiceAccount AccessRequest is Active only for the Pod that runs as exactly
 *   that ServiceAccount (the default one when the Pod names none);
 * - Rego: hostile state policies (CPU, memory, huge output, forbidden built-ins) end within the time
 *   budget (opa eval --timeout, then a kill) and never yield a result.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { AccessRequest } from '../../apiserver/apis/connectors/v1alpha1/types.js';
import { group } from '../../apiserver/apis/connectors/v1alpha1/types.js';
import { regoJobKey, type RegoJob } from '../../apiserver/controller/checks.js';
import type { CheckObject, ConfigMap, Pod, PolicyRule } from '../../apiserver/controller/objects.js';
import { grantRules, scopeGuardError } from '../../apiserver/controller/rbac.js';
import { contextCondition } from '../../apiserver/controller/reconcile.js';
import { createRegoEvaluator, resolveOpaPath } from '../../apiserver/controller/rego.js';
import { figures, scaled, soak } from '../reliability/support.js';

const seed = process.env['FC_SEED'] !== undefined ? Number(process.env['FC_SEED']) : soak ? Date.now() % 2 ** 31 : 20261104;
const runs = (short: number, long: number): { numRuns: number; seed: number } => ({ numRuns: scaled(short, long), seed });

/** What a grant may hold: the proxy of the Connectors group, a path below it, no wildcard. */
const safeResource = (r: string): boolean => (r === 'connectors/proxy' || (r.startsWith('connectors/proxy/') && r.length > 'connectors/proxy/'.length)) && !r.includes('*');

const groups = fc.constantFrom(group, '', '*', 'rbac.authorization.k8s.io', `${group} `, 'Connectors.alauda.io', 'alauda.io', `${group}/v1alpha1`);
const resources = fc.oneof(
  fc.constantFrom('connectors/proxy', 'connectors/proxy/api/v2.0/projects', 'connectors/proxy/*', '*', '*/proxy', 'connectors/*', 'connectors', 'connectors/proxy/', 'connectors/proxyx', 'CONNECTORS/PROXY', 'secrets', 'roles', 'rolebindings', 'connectors/proxy/a/../../../secrets', 'connectors/proxy/**', ''),
  fc.string({ maxLength: 30 }),
  fc.string({ maxLength: 20 }).map((s) => `connectors/proxy/${s}`),
);
const verbs = fc.constantFrom('get', 'list', 'create', '*', 'escalate', 'bind', 'impersonate', 'deletecollection');
const rule: fc.Arbitrary<PolicyRule> = fc.record(
  {
    apiGroups: fc.array(groups, { maxLength: 3 }),
    resources: fc.array(resources, { maxLength: 3 }),
    verbs: fc.array(verbs, { maxLength: 3 }),
    resourceNames: fc.array(fc.constantFrom('prod-harbor', '*', 'other'), { maxLength: 2 }),
    nonResourceURLs: fc.array(fc.constantFrom('/*', '/healthz', '/api/*'), { maxLength: 2 }),
  },
  { requiredKeys: ['verbs'] },
);

/** Mostly what a template author would write, so that many rule sets pass and the property bites. */
const nearlySafeRule: fc.Arbitrary<PolicyRule> = fc.record({
  apiGroups: fc.oneof({ weight: 4, arbitrary: fc.constant([group]).map((g) => [...g]) }, { weight: 1, arbitrary: fc.array(groups, { maxLength: 2 }) }),
  resources: fc.array(fc.oneof({ weight: 3, arbitrary: fc.string({ maxLength: 20 }).map((x) => `connectors/proxy/${x}`) }, { weight: 1, arbitrary: resources }), { maxLength: 3 }),
  verbs: fc.array(verbs, { minLength: 1, maxLength: 3 }),
});

describe('security: the role-template scope guard and SubjectMismatch', function () {
  this.timeout(scaled(60_000, 600_000));
  const fig = figures('scope guard, SubjectMismatch');

  it('lets through only connectors/proxy rules of the Connectors group (crafted rules)', () => {
    let passed = 0;
    fc.assert(
      fc.property(fc.array(fc.oneof({ weight: 4, arbitrary: nearlySafeRule }, { weight: 1, arbitrary: rule }), { minLength: 1, maxLength: 3 }), (rules) => {
        fig.add('rule sets tried');
        if (scopeGuardError(rules) !== undefined) return;
        passed++;
        for (const r of rules) {
          expect(r.apiGroups).to.deep.equal([group]);
          expect((r.resources ?? []).every(safeResource), JSON.stringify(r.resources)).to.equal(true);
          expect(r.nonResourceURLs ?? []).to.deep.equal([]);
          expect(r.resourceNames ?? []).to.deep.equal([]);
          expect(r.verbs).to.not.deep.equal([]);
        }
      }),
      runs(2000, 50_000),
    );
    fig.set('rule sets that passed (all safe)', passed);
  });

  it('keeps grants safe whatever a crafted Pod renders into a template', () => {
    // Templates that pull Pod fields into resources; the Pod's author controls names, labels and annotations.
    const templates = [
      'connectors/proxy/{.object.metadata.annotations.path}',
      'connectors/{.object.metadata.annotations.path}',
      '{.object.metadata.annotations.path}',
      'connectors/proxy/{.object.metadata.labels.*}',
      'connectors/proxy{.object.metadata.annotations.path}',
      'connectors/proxy/{.object.metadata.name}/{.object.spec.containers[*].name}',
    ];
    const podValue = fc.oneof(
      fc.constantFrom('', '*', '/', '../../secrets', 'x/*', ' ', 'proxy', '/proxy', 's*', 'a b', '{.object}', '}', '{'),
      fc.string({ maxLength: 20 }),
    );
    const pod = fc.record({ path: podValue, label: podValue, name: podValue, container: podValue }).map(
      (p): Pod => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: p.name, namespace: 'cicd', annotations: { path: p.path }, labels: { a: p.label, b: p.label } },
        spec: { serviceAccountName: 'builder', containers: [{ name: p.container }, { name: p.container }] },
      }),
    );
    let granted = 0;
    fc.assert(
      fc.property(fc.constantFrom(...templates), fc.array(verbs, { minLength: 1, maxLength: 2 }), pod, (template, vs, p) => {
        fig.add('rendered templates tried');
        const rules = `- apiGroups: ["${group}"]\n  resources: [${JSON.stringify(template)}]\n  verbs: ${JSON.stringify(vs)}\n`;
        const configMaps = new Map<string, ConfigMap>([['t', { metadata: { name: 't', namespace: 'connectors-system' }, data: { rules } }]]);
        const out = grantRules('t', configMaps, 'connectors-system', p, 'prod-harbor');
        if (!out.ok) return;
        granted++;
        for (const r of out.value) {
          expect(r.apiGroups).to.deep.equal([group]);
          expect((r.resources ?? []).every(safeResource), JSON.stringify(r.resources)).to.equal(true);
          expect(r.resourceNames).to.deep.equal(['prod-harbor']);
          expect(r.nonResourceURLs ?? []).to.deep.equal([]);
        }
      }),
      runs(2000, 50_000),
    );
    fig.set('rendered grants (all safe)', granted);
  });

  it('reports SubjectMismatch unless the Pod runs as exactly the requested ServiceAccount', () => {
    const name = fc.constantFrom('builder', 'default', 'Builder', 'builder ', 'other', '');
    const ns = fc.constantFrom('cicd', 'devops', 'CICD', '');
    let active = 0;
    fc.assert(
      fc.property(name, ns, fc.option(name, { nil: undefined }), ns, fc.constantFrom('Running', 'Pending', undefined), (subjectName, subjectNs, podSa, podNs, phase) => {
        fig.add('subject/Pod pairs tried');
        const req: AccessRequest = {
          apiVersion: `${group}/v1alpha1`,
          kind: 'AccessRequest',
          metadata: { name: 'r', namespace: 'devops' },
          spec: {
            connectorRef: { name: 'prod-harbor' },
            context: { objectRef: { kind: 'Pod', namespace: podNs, name: 'p' } },
            subject: { kind: 'ServiceAccount', name: subjectName, namespace: subjectNs },
          },
        };
        const pod: Pod = {
          metadata: { name: 'p', namespace: podNs, uid: 'u' },
          spec: podSa === undefined ? {} : { serviceAccountName: podSa },
          ...(phase === undefined ? {} : { status: { phase } }),
        };
        const c = contextCondition(req, pod);
        const runsAs = podSa === undefined || podSa === '' ? 'default' : podSa;
        const matches = subjectNs === podNs && subjectName === runsAs;
        if (c.reason === 'Active') active++;
        expect(c.reason, JSON.stringify({ subjectName, subjectNs, podSa, podNs })).to.equal(matches ? 'Active' : 'SubjectMismatch');
      }),
      runs(1000, 20_000),
    );
    fig.set('pairs Active (all exact matches)', active);
  });
});

describe('security: Rego evaluation is time-limited', function () {
  const fig = figures('Rego time limit');
  let opaPath = '';
  before(async function () {
    this.timeout(20 * 60_000);
    opaPath = await resolveOpaPath();
  });

  it('ends hostile policies within the budget, without a result', async function () {
    this.timeout(scaled(60_000, 600_000));
    const timeoutMs = 500;
    const killGraceMs = 500;
    const hostile: Record<string, string> = {
      'nested ranges (CPU)': 'status := {"state": "approved"} if {\n\tsome i in numbers.range(1, 100000)\n\tsome j in numbers.range(1, 100000)\n\ti * j < 0\n}',
      'a huge set (memory)': 'status := {"state": "approved"} if {\n\ts := {x | some x in numbers.range(1, 100000000)}\n\tcount(s) < 0\n}',
      'a huge state (output)': 'status := {"state": concat("", [x | some i in numbers.range(1, 3000000); x := "aaaaaaaaaa"])}',
      'string blow-up': 'status := {"state": "approved"} if {\n\ts := concat("", [x | some i in numbers.range(1, 10000000); x := sprintf("%v", [i])])\n\tcount(s) < 0\n}',
      'walk of a large document': 'status := {"state": "approved"} if {\n\tdoc := [[i, j] | some i in numbers.range(1, 3000); some j in numbers.range(1, 3000)]\n\tcount([p | walk(doc, [p, _])]) < 0\n}',
      'http.send': 'status := {"state": "approved"} if http.send({"method": "get", "url": "http://127.0.0.1:1/"}).status_code == 200',
      'opa.runtime': 'status := {"state": "approved"} if opa.runtime().env.HOME != ""',
      'net.lookup_ip_addr': 'status := {"state": "approved"} if count(net.lookup_ip_addr("example.com")) > 0',
    };
    const rounds = scaled(1, 10);
    const evaluator = createRegoEvaluator({ opaPath, timeoutMs, killGraceMs });
    try {
      for (let round = 0; round < rounds; round++) {
        const input: CheckObject = { apiVersion: 'v1', kind: 'ApprovalTask', metadata: { name: 't', namespace: 'cicd', uid: `u-${String(round)}`, resourceVersion: '1' }, status: { state: 'pending' } };
        const jobs: RegoJob[] = Object.values(hostile).map((body) => {
          const rego = `package approval\n\n${body}\n`;
          return { key: regoJobKey(rego, input), rego, input };
        });
        const t0 = Date.now();
        const out = await evaluator.evaluate(jobs);
        const ms = Date.now() - t0;
        for (const [name, body] of Object.entries(hostile)) {
          const j = jobs.find((x) => x.rego.includes(body));
          const o = out.get(j?.key ?? '');
          expect(o?.ok, `${name}: ${JSON.stringify(o).slice(0, 300)}`).to.equal(false);
          fig.add(o !== undefined && !o.ok && o.error.includes('timed out') ? 'policies stopped by the time limit' : 'policies refused otherwise (compile error, output limit)');
        }
        // Four at a time (the evaluator's default): two waves of at most budget + kill grace each, plus start-up.
        expect(ms, 'wall time of the round (ms)').to.be.at.most(2 * (timeoutMs + killGraceMs) + 15_000);
        fig.set('slowest round ms', Math.max(Number(fig.get('slowest round ms') ?? 0), ms));
      }
    } finally {
      await evaluator.close();
    }
    fig.set('budget ms', timeoutMs);
  });
});
