/**
 * Hostile input, property-based with fast-check (issue 11), against the server process (standalone,
 * HTTPS) over a real etcd. Every generated request must get a 4xx answer with a Status body whose code
 * is the HTTP status (Node's own 431 for oversized headers has none), never a 5xx, and nothing may be
 * stored or changed: after each case the keys and values under the server's etcd prefix are compared
 * with the seed objects, reading etcd directly.
 *
 * Short form: a fixed seed and a few hundred cases per property; soak (SOAK=1): thousands, a random
 * seed (printed; FC_SEED=<n> replays one).
 */
import { Agent } from 'node:https';
import { expect } from 'chai';
import fc from 'fast-check';
import { Etcd3 } from 'etcd3';
import { useEtcd } from '../support/etcd.js';
import { call, figures, gv, gvPath, isStatus, policy, scaled, soak, startStandalone, type Reply, type ServerProcess, type Target } from '../reliability/support.js';

const seed = process.env['FC_SEED'] !== undefined ? Number(process.env['FC_SEED']) : soak ? Date.now() % 2 ** 31 : 20261104;
const runs = (short: number, long: number): { numRuns: number; seed: number } => ({ numRuns: scaled(short, long), seed });

// Oracles for what Kubernetes accepts (apimachinery's validation), to generate only invalid values.
const label = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const subdomain = new RegExp(`^${label}(\\.${label})*$`);
const isSubdomain = (s: string): boolean => s.length > 0 && s.length <= 253 && subdomain.test(s);
const qualifiedPart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const isQualifiedName = (k: string): boolean => {
  const parts = k.split('/');
  if (parts.length > 2) return false;
  const name = parts.length === 2 ? (parts[1] ?? '') : k;
  if (parts.length === 2 && !isSubdomain(parts[0] ?? '')) return false;
  return name.length > 0 && name.length <= 63 && qualifiedPart.test(name);
};
const isLabelValue = (v: string): boolean => v === '' || (v.length <= 63 && qualifiedPart.test(v));

/** Characters that break naive validators: surrogates, NUL, zero-width, bidi, look-alikes, combining marks, separators. */
const edgeChar = fc.oneof(
  fc.constantFrom('\ud800', '\udfff', '\u0000', '\u0001', '\u200b', '\u200d', '\u202e', '\ufeff', '\u2028', 'ｅ', 'é', 'e\u0301', 'İ', 'ß', '𝔞', '😀', '/', '%', '%2F', '.', '..', ' ', '\n', '\t', '\\', '"', "'", '<', '{', 'A', 'Z', '_', ':', '@', '#', '?', '&', '='),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-.'.split('')),
);
const edgeString = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: edgeChar, maxLength });

/** Percent-encodes every UTF-8 byte (encodeURIComponent throws on a lone surrogate). */
const enc = (s: string): string => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

/** Nests `leaf` `depth` times in arrays or objects. */
const nest = (depth: number, arrays: boolean, leaf: unknown): string => {
  let s = JSON.stringify(leaf);
  for (let i = 0; i < depth; i++) s = arrays ? `[${s}]` : `{"a":${s}}`;
  return s;
};

describe('security: hostile input (property-based)', function () {
  this.timeout(scaled(240_000, 3_600_000));
  const etcd = useEtcd();
  const fig = figures('hostile input');
  const prefix = '/hostile';
  const ns = 'hostile';
  const path = `${gvPath}/namespaces/${ns}/accesspolicies`;
  let server: ServerProcess | undefined;
  let agent: Agent | undefined;
  let client: Etcd3 | undefined;
  let t: Target;
  let baseline = new Map<string, string>();
  let seq = 0;
  const byStatus = new Map<number, number>();

  before(async function () {
    this.timeout(90_000);
    server = await startStandalone({ etcdServers: [etcd.endpoint()], etcdPrefix: prefix });
    agent = new Agent({ keepAlive: true, maxSockets: 4 });
    t = server.target(agent);
    client = new Etcd3({ hosts: [etcd.endpoint()] });
    // Seeds that updates and patches aim at.
    expect((await call(t, 'POST', path, { body: policy('seed', ns) })).status).to.equal(201);
    const ar = {
      apiVersion: gv,
      kind: 'AccessRequest',
      metadata: { name: 'seed', namespace: ns },
      spec: { connectorRef: { name: 'c' }, context: { objectRef: { kind: 'Pod', namespace: ns, name: 'p' } }, subject: { kind: 'ServiceAccount', name: 'sa', namespace: ns } },
    };
    expect((await call(t, 'POST', `${gvPath}/namespaces/${ns}/accessrequests`, { body: ar })).status).to.equal(201);
    baseline = await stored();
  });
  afterEach(() => {
    fig.set('seed', seed);
    fig.set('5xx', [...byStatus].filter(([c]) => c >= 500).reduce((a, [, n]) => a + n, 0));
    fig.set('answers', [...byStatus].sort(([a], [b]) => a - b).map(([c, n]) => `${String(c)}×${String(n)}`).join(' '));
  });
  after(async () => {
    agent?.destroy();
    client?.close();
    await server?.stop();
  });

  const stored = async (): Promise<Map<string, string>> => new Map(Object.entries(await (client as Etcd3).getAll().prefix(prefix).strings()));

  /** The request must be refused with a 4xx Status and leave etcd as it was. */
  /** etcd holds exactly the seeds, unchanged (put back first, so that a failure shrinks right). */
  const untouched = async (what: string): Promise<void> => {
    const now = await stored();
    const added = [...now.keys()].filter((k) => !baseline.has(k));
    const changed = [...baseline].filter(([k, v]) => now.get(k) !== v).map(([k]) => k);
    for (const k of added) await (client as Etcd3).delete().key(k);
    for (const k of changed) await (client as Etcd3).put(k).value(baseline.get(k) ?? '');
    expect(added, `${what}: stored in etcd`).to.deep.equal([]);
    expect(changed, `${what}: changed in etcd`).to.deep.equal([]);
  };
  const count = (r: Reply): void => {
    byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    fig.add('inputs tried');
  };
  /** The request must be refused with a 4xx Status and leave etcd as it was. */
  const refused = async (r: Reply, what: string): Promise<void> => {
    count(r);
    const etcdState = untouched(what);
    etcdState.catch(() => undefined);
    expect(r.status, `${what}: ${r.text.slice(0, 300)}`).to.be.within(400, 499);
    if (r.status !== 431) expect(isStatus(r), `${what}: a Status body: ${r.text.slice(0, 300)}`).to.equal(true);
    await etcdState;
  };
  const post = (body: string, contentType = 'application/json', query = ''): Promise<Reply> => call(t, 'POST', `${path}${query}`, { raw: body, contentType });
  const fresh = (): string => `h-${String(seq++)}`;
  const valid = (): Record<string, unknown> & { metadata: Record<string, unknown> } => policy(fresh(), ns) as never;

  it('malformed JSON → 400', async () => {
    const broken = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.json().chain((j) => fc.integer({ min: 0, max: Math.max(0, j.length - 1) }).map((cut) => j.slice(0, cut))),
      fc.json().map((j) => `${j}}`),
      fc.json().map((j) => `{"apiVersion":"${gv}","kind":"AccessPolicy","metadata":${j},`),
      fc.constantFrom('', '{', '{"a":}', "{'a':1}", '{"a":1,}', '[1,]', 'NaN', '{"a":undefined}', '\ufeff{}', '{"a":"\\x41"}', '{"a":01}'),
    ).filter((s) => {
      try {
        JSON.parse(s);
        return false;
      } catch {
        return true;
      }
    });
    await fc.assert(fc.asyncProperty(broken, async (s) => refused(await post(s), `JSON ${JSON.stringify(s.slice(0, 80))}`)), runs(200, 3000));
  });

  it('malformed or non-object YAML, alias bombs → 4xx', async () => {
    const yaml = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ unit: fc.constantFrom('a', ':', ' ', '\n', '-', '[', ']', '{', '}', '&', '*', '!', '|', '>', '#', '"', "'", '%', '@', '`', '?', ','), maxLength: 120 }),
      fc.integer({ min: 2, max: 40 }).map((n) => {
        let doc = 'a0: &a0 ["x","x","x","x","x","x","x","x","x"]\n';
        for (let i = 1; i < n; i++) doc += `a${String(i)}: &a${String(i)} [${Array.from({ length: 9 }, () => `*a${String(i - 1)}`).join(',')}]\n`;
        return doc;
      }),
      fc.constantFrom('!!binary aGVsbG8=', 'a: !!js/function "x"', '--- 1\n--- 2', 'a: &x [*x]', `apiVersion: ${gv}\nkind: AccessPolicy\nmetadata: [1]`),
    );
    await fc.assert(fc.asyncProperty(yaml, async (s) => refused(await post(s, 'application/yaml'), `YAML ${JSON.stringify(s.slice(0, 80))}`)), runs(200, 3000));
  });

  it('wrong apiVersion or kind → 400', async () => {
    const wrong = fc.record({
      apiVersion: fc.oneof(fc.constant(gv), edgeString(40), fc.constantFrom('v1', 'connectors.alauda.io/v1', 'Connectors.alauda.io/v1alpha1', `${gv} `, `/${gv}`, '')),
      kind: fc.oneof(fc.constant('AccessPolicy'), edgeString(30), fc.constantFrom('accesspolicy', 'AccessRequest', 'Connector', 'Status', 'AccessPolicyList', 'AccessPolicy ', '')),
    }).filter((x) => x.apiVersion !== gv || x.kind !== 'AccessPolicy');
    await fc.assert(
      fc.asyncProperty(wrong, async (w) => refused(await post(JSON.stringify({ ...valid(), ...w })), `apiVersion ${JSON.stringify(w.apiVersion)} kind ${JSON.stringify(w.kind)}`)),
      runs(200, 3000),
    );
  });

  it('invalid names, label keys and label values (unicode edge cases included) → 422', async () => {
    const badName = fc.oneof(edgeString(40), fc.string({ unit: 'binary', maxLength: 20 }), fc.integer({ min: 254, max: 2000 }).map((n) => 'a'.repeat(n))).filter((n) => !isSubdomain(n));
    await fc.assert(
      fc.asyncProperty(badName, async (name) => {
        const o = valid();
        o.metadata['name'] = name;
        await refused(await post(JSON.stringify(o)), `name ${JSON.stringify(name.slice(0, 80))}`);
      }),
      runs(200, 3000),
    );
    const badLabels = fc
      .tuple(fc.oneof(edgeString(30), fc.integer({ min: 64, max: 400 }).map((n) => 'k'.repeat(n)), fc.constantFrom('a/b/c', '__proto__', 'constructor', 'prototype')), fc.oneof(edgeString(30), fc.integer({ min: 64, max: 400 }).map((n) => 'v'.repeat(n))))
      .filter(([k, v]) => !isQualifiedName(k) || !isLabelValue(v));
    await fc.assert(
      fc.asyncProperty(badLabels, async ([k, v]) => {
        const o = valid();
        o.metadata['labels'] = { ok: 'fine', [k]: v };
        // Prototype keys are pruned as unknown fields, never stored (a warning under the default Warn):
        // refused under Strict, kubectl's default.
        const query = ['__proto__', 'constructor', 'prototype'].includes(k) ? '?fieldValidation=Strict' : '';
        await refused(await post(JSON.stringify(o), 'application/json', query), `label ${JSON.stringify(k.slice(0, 60))}=${JSON.stringify(v.slice(0, 60))}`);
      }),
      runs(200, 3000),
    );
  });

  it('deep nesting → 400, in creates, updates and patches', async () => {
    const deep = fc.record({ depth: fc.integer({ min: 110, max: 5000 }), arrays: fc.boolean(), where: fc.constantFrom('spec', 'labels', 'annotation', 'put', 'merge', 'jsonpatch') });
    await fc.assert(
      fc.asyncProperty(deep, async ({ depth, arrays, where }) => {
        const d = nest(depth, arrays, 1);
        const o = valid();
        const what = `${String(depth)} levels of ${arrays ? 'arrays' : 'objects'} in ${where}`;
        switch (where) {
          case 'spec':
            return refused(await post(JSON.stringify({ ...o, spec: { x: 'D' } }).replace('"D"', d)), what);
          case 'labels':
            return refused(await post(JSON.stringify({ ...o, metadata: { ...o.metadata, labels: { a: 'D' } } }).replace('"D"', d)), what);
          case 'annotation':
            return refused(await post(JSON.stringify({ ...o, metadata: { ...o.metadata, annotations: { a: 'D' } } }).replace('"D"', d)), what);
          case 'put':
            return refused(await call(t, 'PUT', `${path}/seed`, { raw: JSON.stringify({ ...policy('seed', ns), spec: { x: 'D' } }).replace('"D"', d) }), what);
          case 'merge':
            return refused(await call(t, 'PATCH', `${path}/seed`, { raw: `{"spec":{"connector":${d}}}`, contentType: 'application/merge-patch+json' }), what);
          default:
            return refused(await call(t, 'PATCH', `${path}/seed`, { raw: `[{"op":"add","path":"/spec/connector","value":${d}}]`, contentType: 'application/json-patch+json' }), what);
        }
      }),
      runs(100, 1500),
    );
  });

  it('huge strings and arrays (under 3 MiB) where they are invalid → 4xx', async () => {
    const huge = fc.record({ size: fc.integer({ min: 300_000, max: 3_000_000 }), where: fc.constantFrom('annotations', 'name', 'labelValue', 'finalizers', 'array-of-numbers', 'unknown-strict') });
    await fc.assert(
      fc.asyncProperty(huge, async ({ size, where }) => {
        const o = valid();
        const big = 'x'.repeat(size);
        let query = '';
        if (where === 'annotations') o.metadata['annotations'] = { big };
        else if (where === 'name') o.metadata['name'] = `a${'b'.repeat(Math.min(size, 100_000))}`;
        else if (where === 'labelValue') o.metadata['labels'] = { k: big };
        // Each invalid finalizer is one error in the answer: a tenth of the size keeps the answers (about 30× the request) small enough.
        else if (where === 'finalizers') o.metadata['finalizers'] = Array.from({ length: Math.floor(size / 200) }, (_, i) => `-bad-${String(i)}`);
        else if (where === 'array-of-numbers') o['spec'] = { connector: { names: Array.from({ length: Math.floor(size / 8) }, (_, i) => i) } };
        else {
          o['spec'] = { unknown: Array.from({ length: Math.floor(size / 8) }, () => 'x') };
          query = '?fieldValidation=Strict';
        }
        await refused(await post(JSON.stringify(o), 'application/json', query), `${String(size)} bytes in ${where}`);
      }),
      runs(30, 300),
    );
  });

  it('duplicate keys under fieldValidation=Strict → 400', async () => {
    const dup = fc.record({ key: fc.constantFrom('apiVersion', 'kind', 'metadata', 'name', 'spec', 'labels'), value: fc.jsonValue({ maxDepth: 2 }) });
    await fc.assert(
      fc.asyncProperty(dup, async ({ key, value }) => {
        const o = { ...valid(), spec: {} } as Record<string, unknown> & { metadata: Record<string, unknown> };
        let text: string;
        if (key === 'name') text = JSON.stringify(o).replace('"name":', `"name":${JSON.stringify(value)},"name":`);
        else if (key === 'labels') text = JSON.stringify({ ...o, metadata: { ...o.metadata, labels: { a: 'b' } } }).replace('"a":"b"', '"a":"b","a":"c"');
        else text = JSON.stringify(o).replace(`"${key}":`, `"${key}":${JSON.stringify(value)},"${key}":`);
        await refused(await post(text, 'application/json', '?fieldValidation=Strict'), `duplicate ${key}`);
      }),
      runs(100, 1500),
    );
  });

  it('numbers out of range or of the wrong type → 4xx', async () => {
    const number = fc.oneof(
      // Past int64 as a JavaScript number too (-9223372036854775809 would round to -2^63, which fits).
      fc.constantFrom('1e400', '-1e400', '9223372036854775808', '-9223372036854777856', '18446744073709551616', '1e21', '0.5', '-0.0001', '1.5e300'),
      fc.double({ min: 2 ** 63, max: 1e300, noNaN: true }).map(String),
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)).map(String),
    );
    const where = fc.constantFrom('generation', 'deletionGracePeriodSeconds', 'name', 'connectorNames', 'labels');
    await fc.assert(
      fc.asyncProperty(number, where, async (n, w) => {
        const o = valid();
        let text: string;
        if (w === 'generation' || w === 'deletionGracePeriodSeconds') text = JSON.stringify({ ...o, metadata: { ...o.metadata, [w]: 'N' } });
        else if (w === 'name') text = JSON.stringify({ ...o, metadata: { ...o.metadata, name: 'N' } });
        else if (w === 'connectorNames') text = JSON.stringify({ ...o, spec: { connector: { names: ['N'] } } });
        else text = JSON.stringify({ ...o, metadata: { ...o.metadata, labels: { a: 'N' } } });
        await refused(await post(text.replace('"N"', n)), `${n} in ${w}`);
      }),
      runs(150, 2000),
    );
  });

  it('bodies over 3 MiB → 413', async () => {
    const size = fc.integer({ min: 3 * 1024 * 1024 + 1, max: 6 * 1024 * 1024 });
    await fc.assert(
      fc.asyncProperty(size, fc.constantFrom('POST', 'PUT', 'PATCH'), async (n, method) => {
        const o = valid();
        const text = JSON.stringify({ ...o, metadata: { ...o.metadata, annotations: { a: 'x'.repeat(n) } } });
        const target = method === 'POST' ? path : `${path}/seed`;
        const r = await call(t, method, target, { raw: text, contentType: method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' });
        expect(r.status, r.text.slice(0, 200)).to.equal(413);
        await refused(r, `${String(n)} bytes by ${method}`);
      }),
      runs(15, 200),
    );
  });

  it('bad label/field selectors, continue tokens and list options → 400 (or 410), never 5xx', async () => {
    const selector = fc.oneof(
      edgeString(60),
      fc.string({ unit: fc.constantFrom('a', 'b', '=', '!', ',', '(', ')', ' ', 'in', 'notin', '/', '.', '-', '==', '!=', 'x'), maxLength: 40 }),
    );
    const option = fc.oneof(
      selector.map((s) => `labelSelector=${enc(s)}`),
      selector.map((s) => `fieldSelector=${enc(s)}`),
      fc.oneof(edgeString(60), fc.jsonValue({ maxDepth: 3 }).map((j) => Buffer.from(JSON.stringify(j)).toString('base64url')), fc.record({ v: fc.constantFrom('meta.k8s.io/v1', 'x'), rv: fc.oneof(fc.integer(), fc.constant(-1), fc.constant(2 ** 62)), start: edgeString(20) }).map((j) => Buffer.from(JSON.stringify(j)).toString('base64url'))).map((c) => `limit=1&continue=${enc(c)}`),
      fc.oneof(edgeString(20), fc.constantFrom('-1', '1e400', '0x10', '99999999999999999999999', ' 1')).map((v) => `resourceVersion=${enc(v)}`),
      fc.oneof(edgeString(20), fc.constantFrom('-1', '1e400', '0x10', 'NaN')).map((v) => `limit=${enc(v)}`),
      fc.oneof(edgeString(20), fc.constantFrom('Exact', 'NotOlderThan', 'exact', '')).map((v) => `resourceVersionMatch=${enc(v)}&resourceVersion=1`),
      fc.oneof(edgeString(20), fc.constantFrom('-1', '1e400')).map((v) => `timeoutSeconds=${enc(v)}&watch=true`),
    );
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(option, fc.boolean(), async (q, watch) => {
        const r = await call(t, 'GET', `${path}?${q}${watch && !q.includes('watch=') ? '&watch=true' : ''}`, { headersOnlyOn200: true });
        if (r.status === 200) {
          // A harmless query (e.g. a selector that happens to be valid): fine, but nothing may change.
          accepted++;
          count(r);
          return untouched(`GET ?${q}`);
        }
        await refused(r, `GET ?${q}`);
      }),
      runs(300, 5000),
    );
    fig.set('queries that were valid after all', accepted);
  });

  it('path tricks (encoded slashes, dot segments, namespace mismatch URL vs body) → 4xx, nothing stored', async () => {
    const segment = fc.oneof(
      fc.constantFrom('..', '.', '%2e%2e', '%2E%2E', '..%2F..', '%2F', 'a%2Fb', '%252F', '%00', 'a%00b', '%', '%zz', '~', '..;', '%c0%ae%c0%ae', 'seed%2F..', 'seed/..', 'seed/../seed', '', '/'),
      edgeString(12).map((s) => enc(s)),
    );
    const trick = fc.record({ method: fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE', 'GET'), nsSeg: fc.oneof(fc.constant(ns), segment), nameSeg: fc.oneof(fc.constant('seed'), segment), bodyNs: fc.constantFrom(ns, 'other', '', '..', 'a/b') });
    await fc.assert(
      fc.asyncProperty(trick, async ({ method, nsSeg, nameSeg, bodyNs }) => {
        const name = method === 'POST' ? fresh() : 'seed';
        const body = policy(name, bodyNs === '' ? undefined : bodyNs);
        const url = method === 'POST' ? `${gvPath}/namespaces/${nsSeg}/accesspolicies` : `${gvPath}/namespaces/${nsSeg}/accesspolicies/${nameSeg}`;
        // Only combinations that are not a plain, valid request.
        const bodyless = method === 'GET' || method === 'DELETE';
        // Dot segments are not resolved (kube-apiserver answers 404 to `seed/..`, and so must we).
        const plain = nsSeg === ns && (method === 'POST' || nameSeg === 'seed') && (bodyless || bodyNs === ns || bodyNs === '');
        if (plain && method !== 'POST') return;
        // DELETE …/accesspolicies/ (a trailing slash) is a deletecollection, as in Kubernetes.
        if (method === 'DELETE' && nsSeg === ns && (nameSeg === '' || nameSeg === '/')) return;
        const r = await call(t, method, url, {
          ...(method === 'GET' || method === 'DELETE' ? {} : { raw: method === 'PATCH' ? JSON.stringify({ metadata: { namespace: bodyNs } }) : JSON.stringify(body) }),
          contentType: method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
        });
        if (plain) {
          // A valid create: undo it so that the baseline holds.
          expect(r.status, r.text).to.equal(201);
          await call(t, 'DELETE', `${path}/${name}`);
          return;
        }
        // Reading, or deleting a collection (e.g. in a namespace named "..;", as Kubernetes allows),
        // may succeed: nothing may change.
        if (r.status === 200 && (method === 'GET' || (method === 'DELETE' && (nameSeg === '' || nameSeg === '/')))) {
          count(r);
          fig.add('harmless reads or empty deletecollections');
          return untouched(`${method} ${url}`);
        }
        await refused(r, `${method} ${url} (body namespace ${JSON.stringify(bodyNs)})`);
      }),
      runs(300, 5000),
    );
  });

  it('hostile updates and patches of an existing object → 4xx, the object unchanged', async () => {
    const op = fc.record({
      op: fc.oneof(edgeString(10), fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test')),
      path: fc.oneof(edgeString(30), fc.constantFrom('', '/', '/metadata/../spec', '/metadata/name', '/metadata/uid', '/apiVersion', '/kind', '/spec/~2', '/spec/a~', '/metadata/namespace', '/__proto__/x', '/metadata/labels/a b', '/metadata/creationTimestamp')),
      value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), edgeString(20)),
      from: edgeString(20),
    });
    const patch = fc.oneof(
      fc.array(op, { minLength: 1, maxLength: 4 }).map((ops) => ({ type: 'application/json-patch+json', body: JSON.stringify(ops) })),
      fc.record({ metadata: fc.record({ name: edgeString(10), namespace: edgeString(10), labels: fc.dictionary(edgeString(10), edgeString(10)) }, { requiredKeys: [] }), apiVersion: edgeString(10), kind: edgeString(10) }, { requiredKeys: [] })
        .filter((p) => Object.keys(p).length > 0)
        .map((p) => ({ type: 'application/merge-patch+json', body: JSON.stringify(p) })),
      fc.string({ unit: 'binary', maxLength: 100 }).map((s) => ({ type: 'application/apply-patch+yaml', body: s })),
      fc.constantFrom('application/strategic-merge-patch+json', 'text/plain', 'application/xml', '').map((type) => ({ type, body: '{}' })),
    );
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(patch, async (p) => {
        const query = p.type === 'application/apply-patch+yaml' ? '?fieldManager=hostile' : '';
        const r = await call(t, 'PATCH', `${path}/seed${query}`, { raw: p.body, contentType: p.type });
        if (r.status === 200) {
          // Generated by chance as a valid change (e.g. a merge patch of valid labels): put the seed back.
          accepted++;
          const back = await call(t, 'PUT', `${path}/seed`, { body: { ...policy('seed', ns), metadata: { ...(r.body.metadata as object), labels: undefined, annotations: undefined } } });
          expect(back.status, back.text).to.equal(200);
          baseline = await stored();
          return;
        }
        await refused(r, `PATCH ${p.type} ${p.body.slice(0, 120)}`);
      }),
      runs(300, 5000),
    );
    fig.set('patches that were valid after all', accepted);
  });
});
