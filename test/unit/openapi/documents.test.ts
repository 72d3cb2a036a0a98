import { expect } from 'chai';
import type { OpenAPIV2, OpenAPIV3 } from 'openapi-types';
import { servedResources } from '../../../apiserver/registry/resources.js';
import { accessPolicySchema } from '../../../openapi/connectors-v1alpha1.js';
import { metaNames } from '../../../openapi/definitions.js';
import {
  buildOpenAPIV2,
  buildOpenAPIV3,
  canonicalJSON,
  definitionName,
  documentHash,
  openAPIV3Index,
  type DocumentedResource,
  type KubeOperationExtensions,
} from '../../../openapi/documents.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every node of a JSON value with its JSON-pointer-ish path. */
function* walk(v: unknown, path = '#'): Generator<{ path: string; node: unknown; key: string }> {
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) {
      yield { path: `${path}/${String(i)}`, node: x, key: String(i) };
      yield* walk(x, `${path}/${String(i)}`);
    }
  } else if (isRecord(v)) {
    for (const [k, x] of Object.entries(v)) {
      yield { path: `${path}/${k}`, node: x, key: k };
      yield* walk(x, `${path}/${k}`);
    }
  }
}

function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let cur: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const seg = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (!isRecord(cur)) return undefined;
    cur = cur[seg];
  }
  return cur;
}

const refsOf = (doc: unknown): { path: string; ref: string }[] =>
  [...walk(doc)].flatMap(({ path, node, key }) => (key === '$ref' && typeof node === 'string' ? [{ path, ref: node }] : []));

// A cluster-scoped kind with a writable status, like ConnectorClass: exercises the other branches.
const widget: DocumentedResource = {
  group: 'connectors.alauda.io',
  version: 'v1alpha1',
  kind: 'Widget',
  listKind: 'WidgetList',
  plural: 'widgets',
  namespaced: false,
  schema: accessPolicySchema,
  status: { mode: 'writable' },
};
const resources: readonly DocumentedResource[] = [...servedResources, widget];

const methods = ['get', 'put', 'post', 'delete', 'patch'] as const;
type Method = (typeof methods)[number];

const v3 = buildOpenAPIV3(resources);
const v2 = buildOpenAPIV2(resources);
const schemasV3 = v3.components?.schemas ?? {};
const definitionsV2 = v2.definitions ?? {};

const opsV3 = (path: string): Partial<Record<Method, OpenAPIV3.OperationObject<KubeOperationExtensions>>> => {
  const item = v3.paths[path];
  expect(item, path).to.not.equal(undefined);
  return Object.fromEntries(methods.flatMap((m) => (item?.[m] === undefined ? [] : [[m, item[m]]])));
};

const allOperations = (): { path: string; method: Method; op: OpenAPIV3.OperationObject<KubeOperationExtensions> }[] =>
  Object.entries(v3.paths).flatMap(([path, item]) => methods.flatMap((method) => (item?.[method] === undefined ? [] : [{ path, method, op: item[method] }])));

describe('openapi documents', () => {
  describe('kind and list schemas', () => {
    for (const r of resources) {
      const kindName = definitionName(r.group, r.version, r.kind);
      const listName = definitionName(r.group, r.version, r.listKind);

      it(`names ${r.kind} like kube-apiserver names CRD kinds`, () => {
        expect(kindName).to.equal(`io.alauda.connectors.v1alpha1.${r.kind}`);
        expect(schemasV3).to.have.property(kindName);
        expect(definitionsV2).to.have.property(listName);
      });

      it(`gives ${r.kind} and ${r.listKind} their GVK in both documents`, () => {
        for (const defs of [schemasV3, definitionsV2] as Record<string, unknown>[]) {
          expect((defs[kindName] as Record<string, unknown>)['x-kubernetes-group-version-kind']).to.deep.equal([{ group: r.group, version: r.version, kind: r.kind }]);
          expect((defs[listName] as Record<string, unknown>)['x-kubernetes-group-version-kind']).to.deep.equal([{ group: r.group, version: r.version, kind: r.listKind }]);
        }
      });

      it(`references ObjectMeta from ${r.kind}.metadata (v3 allOf with a description, v2 $ref)`, () => {
        const m3 = (schemasV3[kindName] as OpenAPIV3.SchemaObject).properties?.['metadata'] as OpenAPIV3.SchemaObject;
        expect(m3.allOf).to.deep.equal([{ $ref: `#/components/schemas/${metaNames.objectMeta}` }]);
        expect(m3.description).to.match(/^Standard object's metadata/);
        const m2 = (definitionsV2[kindName] as OpenAPIV2.SchemaObject).properties?.['metadata'];
        expect(m2?.$ref).to.equal(`#/definitions/${metaNames.objectMeta}`);
      });

      it(`publishes ${r.listKind} with items of ${r.kind} and ListMeta`, () => {
        const list = schemasV3[listName] as OpenAPIV3.SchemaObject;
        expect(list.required).to.deep.equal(['items']);
        const items = list.properties?.['items'] as OpenAPIV3.ArraySchemaObject;
        expect(items.type).to.equal('array');
        expect(items.items).to.deep.equal({ $ref: `#/components/schemas/${kindName}` });
        expect((list.properties?.['metadata'] as OpenAPIV3.SchemaObject).allOf).to.deep.equal([{ $ref: `#/components/schemas/${metaNames.listMeta}` }]);
      });
    }

    it('keeps the list, map and preserve-unknown-fields markers of the schema source', () => {
      const ar = schemasV3['io.alauda.connectors.v1alpha1.AccessRequest'] as OpenAPIV3.SchemaObject;
      const status = ar.properties?.['status'] as OpenAPIV3.SchemaObject;
      const conditions = status.properties?.['conditions'] as Record<string, unknown>;
      expect(conditions['x-kubernetes-list-type']).to.equal('map');
      expect(conditions['x-kubernetes-list-map-keys']).to.deep.equal(['type']);
      const spec = ar.properties?.['spec'] as OpenAPIV3.SchemaObject;
      expect((spec.properties?.['connectorRef'] as Record<string, unknown>)['x-kubernetes-map-type']).to.equal('atomic');
      const preserved = [...walk(ar)].filter(({ key, node }) => key === 'x-kubernetes-preserve-unknown-fields' && node === true);
      expect(preserved).to.not.be.empty;
    });

    it('publishes no x-connectors-ref and no inline ObjectMeta', () => {
      for (const doc of [v3, v2]) {
        expect([...walk(doc)].filter(({ key }) => key === 'x-connectors-ref')).to.deep.equal([]);
      }
      const ar = schemasV3['io.alauda.connectors.v1alpha1.AccessRequest'] as OpenAPIV3.SchemaObject;
      expect((ar.properties?.['metadata'] as OpenAPIV3.SchemaObject).properties).to.equal(undefined);
    });

    it('describes every property of our kinds, at every depth', () => {
      const missing: string[] = [];
      const visit = (s: unknown, path: string): void => {
        if (!isRecord(s) || typeof s['$ref'] === 'string') return;
        const props = s['properties'];
        if (isRecord(props)) {
          for (const [name, p] of Object.entries(props)) {
            if (!isRecord(p) || typeof p['description'] !== 'string' || p['description'] === '') missing.push(`${path}.${name}`);
            visit(p, `${path}.${name}`);
          }
        }
        visit(s['items'], `${path}[]`);
        visit(s['additionalProperties'], `${path}{}`);
      };
      for (const r of resources) {
        for (const kind of [r.kind, r.listKind]) {
          const name = definitionName(r.group, r.version, kind);
          visit(schemasV3[name], `v3 ${kind}`);
          visit(definitionsV2[name], `v2 ${kind}`);
        }
      }
      expect(missing).to.deep.equal([]);
    });

    it('includes the meta definitions, with Time as a date-time string and FieldsV1 as an object', () => {
      for (const name of Object.values(metaNames)) {
        expect(schemasV3, name).to.have.property(name);
        expect(definitionsV2, name).to.have.property(name);
      }
      expect(schemasV3[metaNames.time]).to.include({ type: 'string', format: 'date-time' });
      expect(schemasV3[metaNames.fieldsV1]).to.include({ type: 'object' });
      expect((schemasV3[metaNames.watchEvent] as Record<string, unknown>)['x-kubernetes-group-version-kind']).to.deep.equal([
        { group: '', kind: 'WatchEvent', version: 'v1' },
        { group: 'connectors.alauda.io', kind: 'WatchEvent', version: 'v1alpha1' },
      ]);
    });
  });

  describe('references', () => {
    const cases: { name: string; doc: unknown; prefix: string }[] = [
      { name: 'v3', doc: v3, prefix: '#/components/schemas/' },
      { name: 'v2', doc: v2, prefix: '#/definitions/' },
    ];
    for (const tc of cases) {
      it(`resolves every $ref of the ${tc.name} document inside it`, () => {
        const refs = refsOf(tc.doc);
        expect(refs).to.not.be.empty;
        const broken = refs.filter(({ ref }) => !ref.startsWith(tc.prefix) || resolvePointer(tc.doc, ref) === undefined);
        expect(broken).to.deep.equal([]);
      });
    }
  });

  describe('paths and operations', () => {
    const ns = '/apis/connectors.alauda.io/v1alpha1/namespaces/{namespace}/accessrequests';
    const cases: { path: string; method: Method; operationId: string; action: string }[] = [
      { path: ns, method: 'get', operationId: 'listConnectorsAlaudaIoV1alpha1NamespacedAccessRequest', action: 'list' },
      { path: ns, method: 'post', operationId: 'createConnectorsAlaudaIoV1alpha1NamespacedAccessRequest', action: 'post' },
      { path: ns, method: 'delete', operationId: 'deleteConnectorsAlaudaIoV1alpha1CollectionNamespacedAccessRequest', action: 'deletecollection' },
      { path: `${ns}/{name}`, method: 'get', operationId: 'readConnectorsAlaudaIoV1alpha1NamespacedAccessRequest', action: 'get' },
      { path: `${ns}/{name}`, method: 'put', operationId: 'replaceConnectorsAlaudaIoV1alpha1NamespacedAccessRequest', action: 'put' },
      { path: `${ns}/{name}`, method: 'patch', operationId: 'patchConnectorsAlaudaIoV1alpha1NamespacedAccessRequest', action: 'patch' },
      { path: `${ns}/{name}`, method: 'delete', operationId: 'deleteConnectorsAlaudaIoV1alpha1NamespacedAccessRequest', action: 'delete' },
      { path: `${ns}/{name}/status`, method: 'get', operationId: 'readConnectorsAlaudaIoV1alpha1NamespacedAccessRequestStatus', action: 'get' },
      { path: '/apis/connectors.alauda.io/v1alpha1/accessrequests', method: 'get', operationId: 'listConnectorsAlaudaIoV1alpha1AccessRequestForAllNamespaces', action: 'list' },
      { path: '/apis/connectors.alauda.io/v1alpha1/widgets', method: 'get', operationId: 'listConnectorsAlaudaIoV1alpha1Widget', action: 'list' },
      { path: '/apis/connectors.alauda.io/v1alpha1/widgets/{name}/status', method: 'patch', operationId: 'patchConnectorsAlaudaIoV1alpha1WidgetStatus', action: 'patch' },
    ];
    for (const tc of cases) {
      it(`publishes ${tc.operationId}`, () => {
        const op = opsV3(tc.path)[tc.method];
        expect(op?.operationId).to.equal(tc.operationId);
        expect(op?.['x-kubernetes-action']).to.equal(tc.action);
        expect(op?.tags).to.deep.equal(['connectorsAlaudaIo_v1alpha1']);
      });
    }

    it('gives every resource operation an action and the GVK of its kind', () => {
      const kinds = new Set(resources.map((r) => r.kind));
      for (const { path, op } of allOperations()) {
        if (path.endsWith('/')) continue; // the group-version's resource list
        expect(op['x-kubernetes-action'], path).to.be.a('string');
        const gvk = op['x-kubernetes-group-version-kind'];
        expect(gvk?.group, path).to.equal('connectors.alauda.io');
        expect(kinds.has(gvk?.kind ?? ''), path).to.equal(true);
      }
    });

    it('has unique operation IDs', () => {
      const ids = allOperations().map(({ op }) => op.operationId);
      expect(new Set(ids).size).to.equal(ids.length);
    });

    it('declares fieldValidation on every write, and force on PATCH', () => {
      const writes = allOperations().filter(({ method }) => method === 'post' || method === 'put' || method === 'patch');
      expect(writes).to.not.be.empty;
      for (const { path, method, op } of writes) {
        const query = (op.parameters ?? []).flatMap((p) => ('in' in p && p.in === 'query' ? [p.name] : []));
        expect(query, `${method} ${path}`).to.include.members(['fieldValidation', 'dryRun', 'fieldManager']);
        if (method === 'patch') expect(query, path).to.include('force');
      }
    });

    it('offers the patch types we implement and never strategic merge patch (kubectl would then send it)', () => {
      for (const { op, method } of allOperations()) {
        if (method !== 'patch') continue;
        const body = op.requestBody as OpenAPIV3.RequestBodyObject;
        expect(Object.keys(body.content).sort()).to.deep.equal(['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json']);
      }
    });

    it('publishes only GET on a computed status and GET, PUT, PATCH on a writable one', () => {
      for (const r of resources) {
        const collection = r.namespaced ? `/apis/${r.group}/${r.version}/namespaces/{namespace}/${r.plural}` : `/apis/${r.group}/${r.version}/${r.plural}`;
        const got = Object.keys(opsV3(`${collection}/{name}/status`)).sort();
        expect(got, r.kind).to.deep.equal(r.status.mode === 'writable' ? ['get', 'patch', 'put'] : ['get']);
        const item2 = v2.paths[`${collection}/{name}/status`];
        expect(methods.filter((m) => item2?.[m] !== undefined).sort(), r.kind).to.deep.equal(got);
      }
    });

    it('puts cluster-scoped kinds outside namespaces and without an all-namespaces list', () => {
      const paths = Object.keys(v3.paths).filter((p) => p.includes('/widgets'));
      expect(paths.sort()).to.deep.equal([
        '/apis/connectors.alauda.io/v1alpha1/widgets',
        '/apis/connectors.alauda.io/v1alpha1/widgets/{name}',
        '/apis/connectors.alauda.io/v1alpha1/widgets/{name}/status',
      ]);
    });

    it('declares the list and watch query parameters on lists', () => {
      const op = opsV3(ns).get;
      const names = (op?.parameters ?? []).flatMap((p) => ('name' in p ? [p.name] : []));
      expect(names).to.include.members(['labelSelector', 'fieldSelector', 'limit', 'continue', 'resourceVersion', 'resourceVersionMatch', 'sendInitialEvents', 'timeoutSeconds', 'watch', 'allowWatchBookmarks']);
    });

    it('declares the path parameters of every templated path', () => {
      for (const [path, item] of Object.entries(v3.paths)) {
        const declared = (item?.parameters ?? []).flatMap((p) => ('in' in p && p.in === 'path' ? [p.name] : [])).sort();
        const template = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
        expect(declared, path).to.deep.equal(template);
      }
    });

    it('answers creates with 200, 201 and 202 and every operation with 401', () => {
      const create = opsV3(ns).post;
      expect(Object.keys(create?.responses ?? {}).sort()).to.deep.equal(['200', '201', '202', '401']);
      for (const { op } of allOperations()) expect(op.responses).to.have.property('401');
    });
  });

  describe('Swagger 2.0', () => {
    it('passes the structural check', () => {
      expect(swagger2Problems(v2)).to.deep.equal([]);
    });

    it('the check catches what v3 would put there', () => {
      expect(swagger2Problems(v3)).to.not.be.empty;
      expect(swagger2Problems({ ...v2, definitions: { X: { type: 'string', nullable: true } } })).to.not.be.empty;
    });

    it('drops nullable and its type, and properties under preserve-unknown-fields, as kube-apiserver does', () => {
      const odd: DocumentedResource = {
        ...widget,
        kind: 'Odd',
        listKind: 'OddList',
        plural: 'odds',
        schema: {
          type: 'object',
          description: 'Odd.',
          properties: {
            spec: {
              type: 'object',
              description: 'Spec.',
              required: ['a', 'b'],
              properties: {
                a: { type: 'string', description: 'A.', nullable: true },
                b: { type: 'object', description: 'B.', 'x-kubernetes-preserve-unknown-fields': true, properties: { c: { type: 'string', description: 'C.' } } },
              },
            },
          },
        },
      };
      const spec2 = (buildOpenAPIV2([odd]).definitions?.['io.alauda.connectors.v1alpha1.Odd']?.properties?.['spec'] ?? {}) as OpenAPIV2.SchemaObject;
      expect(spec2.required).to.deep.equal(['b']);
      expect(spec2.properties?.['a']).to.deep.equal({ description: 'A.' });
      expect(spec2.properties?.['b']).to.deep.equal({ type: 'object', description: 'B.', 'x-kubernetes-preserve-unknown-fields': true });
      const spec3 = (buildOpenAPIV3([odd]).components?.schemas?.['io.alauda.connectors.v1alpha1.Odd'] as OpenAPIV3.SchemaObject).properties?.['spec'] as OpenAPIV3.SchemaObject;
      expect(spec3.properties?.['a']).to.deep.equal({ type: 'string', description: 'A.', nullable: true });
    });
  });

  describe('documentHash', () => {
    it('is stable across two builds', () => {
      expect(documentHash(buildOpenAPIV3(servedResources))).to.equal(documentHash(buildOpenAPIV3(servedResources)));
      expect(documentHash(buildOpenAPIV2(servedResources))).to.equal(documentHash(buildOpenAPIV2(servedResources)));
    });

    it('is upper-case hex SHA-512', () => {
      expect(documentHash(v3)).to.match(/^[0-9A-F]{128}$/);
    });

    it('ignores key order and follows content', () => {
      expect(documentHash({ a: 1, b: [{ c: 2, d: 3 }] })).to.equal(documentHash({ b: [{ d: 3, c: 2 }], a: 1 }));
      expect(documentHash(buildOpenAPIV3(servedResources))).to.not.equal(documentHash(v3));
      expect(canonicalJSON({ b: 1, a: { d: undefined, c: 'x' } })).to.equal('{"a":{"c":"x"},"b":1}');
    });

    it('addresses the v3 document by hash in the /openapi/v3 index', () => {
      expect(openAPIV3Index([{ group: 'connectors.alauda.io', version: 'v1alpha1', hash: 'ABC' }])).to.deep.equal({
        paths: { 'apis/connectors.alauda.io/v1alpha1': { serverRelativeURL: '/openapi/v3/apis/connectors.alauda.io/v1alpha1?hash=ABC' } },
      });
    });
  });
});

// ---------- a structural Swagger 2.0 check (the parts of the 2.0 JSON schema our documents use) ----------

const schemaKeys = new Set([
  '$ref', 'format', 'title', 'description', 'default', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum',
  'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'maxProperties', 'minProperties', 'required', 'enum',
  'type', 'items', 'allOf', 'properties', 'additionalProperties', 'discriminator', 'readOnly', 'xml', 'externalDocs', 'example',
]);
const schemaTypes = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
const paramTypes = new Set(['string', 'number', 'integer', 'boolean', 'array', 'file']);
const paramIn = new Set(['query', 'header', 'path', 'formData', 'body']);
const v2Methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];

function swagger2Problems(doc: unknown): string[] {
  const problems: string[] = [];
  const bad = (where: string, what: string): void => {
    problems.push(`${where}: ${what}`);
  };
  if (!isRecord(doc)) return ['document is not an object'];
  for (const k of Object.keys(doc)) {
    if (!['swagger', 'info', 'host', 'basePath', 'schemes', 'consumes', 'produces', 'paths', 'definitions', 'parameters', 'responses', 'securityDefinitions', 'security', 'tags', 'externalDocs'].includes(k) && !k.startsWith('x-')) bad('#', `unknown field ${k}`);
  }
  if (doc['swagger'] !== '2.0') bad('#/swagger', 'must be "2.0"');
  const info = doc['info'];
  if (!isRecord(info) || typeof info['title'] !== 'string' || typeof info['version'] !== 'string') bad('#/info', 'needs title and version');

  const checkSchema = (s: unknown, where: string): void => {
    if (!isRecord(s)) return bad(where, 'schema is not an object');
    for (const [k, v] of Object.entries(s)) {
      if (!schemaKeys.has(k) && !k.startsWith('x-')) bad(where, `field ${k} is not a Swagger 2.0 schema field`);
      if (k === 'type' && !(typeof v === 'string' && schemaTypes.has(v))) bad(where, `bad type ${JSON.stringify(v)}`);
      if (k === '$ref' && !(typeof v === 'string' && v.startsWith('#/definitions/') && resolvePointer(doc, v) !== undefined)) bad(where, `unresolved $ref ${String(v)}`);
      if (k === 'required' && !(Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string'))) bad(where, 'required must be a non-empty string array');
    }
    if (s['type'] === 'array' && s['items'] === undefined) bad(where, 'array without items');
    if (isRecord(s['properties'])) for (const [k, p] of Object.entries(s['properties'])) checkSchema(p, `${where}/properties/${k}`);
    if (s['items'] !== undefined) checkSchema(s['items'], `${where}/items`);
    if (isRecord(s['additionalProperties'])) checkSchema(s['additionalProperties'], `${where}/additionalProperties`);
    if (Array.isArray(s['allOf'])) s['allOf'].forEach((x, i) => { checkSchema(x, `${where}/allOf/${String(i)}`); });
  };

  const checkParam = (p: unknown, where: string, path: string): string | undefined => {
    if (!isRecord(p)) {
      bad(where, 'parameter is not an object');
      return undefined;
    }
    const name = p['name'];
    const loc = p['in'];
    if (typeof name !== 'string' || typeof loc !== 'string' || !paramIn.has(loc)) {
      bad(where, 'parameter needs name and a valid in');
      return undefined;
    }
    if (loc === 'body') checkSchema(p['schema'], `${where}/schema`);
    else {
      if (p['schema'] !== undefined) bad(where, 'only body parameters have a schema');
      if (typeof p['type'] !== 'string' || !paramTypes.has(p['type'])) bad(where, `bad parameter type ${String(p['type'])}`);
    }
    if (loc === 'path' && (p['required'] !== true || !path.includes(`{${name}}`))) bad(where, 'path parameter must be required and in the path');
    return `${loc}:${name}`;
  };

  const operationIds = new Set<string>();
  const paths = doc['paths'];
  if (!isRecord(paths)) bad('#/paths', 'missing');
  else {
    for (const [path, item] of Object.entries(paths)) {
      const where = `#/paths/${path}`;
      if (!path.startsWith('/')) bad(where, 'path must start with /');
      if (!isRecord(item)) {
        bad(where, 'path item is not an object');
        continue;
      }
      const common = Array.isArray(item['parameters']) ? item['parameters'].map((p, i) => checkParam(p, `${where}/parameters/${String(i)}`, path)) : [];
      for (const k of Object.keys(item)) if (!v2Methods.includes(k) && k !== 'parameters' && k !== '$ref' && !k.startsWith('x-')) bad(where, `unknown field ${k}`);
      for (const m of v2Methods) {
        const op = item[m];
        if (op === undefined) continue;
        const ow = `${where}/${m}`;
        if (!isRecord(op)) {
          bad(ow, 'operation is not an object');
          continue;
        }
        if (op['requestBody'] !== undefined) bad(ow, 'requestBody is OpenAPI 3');
        const id = op['operationId'];
        if (typeof id === 'string') {
          if (operationIds.has(id)) bad(ow, `duplicate operationId ${id}`);
          operationIds.add(id);
        }
        for (const k of ['consumes', 'produces', 'schemes', 'tags']) {
          const v = op[k];
          if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) bad(ow, `${k} must be a string array`);
        }
        const own = Array.isArray(op['parameters']) ? op['parameters'].map((p, i) => checkParam(p, `${ow}/parameters/${String(i)}`, path)) : [];
        const keys = [...common, ...own].filter((k): k is string => k !== undefined);
        if (new Set(own).size !== own.length) bad(ow, 'duplicate parameters');
        if (keys.filter((k) => k.startsWith('body:')).length > 1) bad(ow, 'more than one body parameter');
        for (const t of path.matchAll(/\{([^}]+)\}/g)) if (!keys.includes(`path:${t[1] ?? ''}`)) bad(ow, `path parameter ${t[1] ?? ''} not declared`);
        const responses = op['responses'];
        if (!isRecord(responses) || Object.keys(responses).length === 0) bad(ow, 'needs responses');
        else {
          for (const [code, r] of Object.entries(responses)) {
            if (code !== 'default' && !/^[1-5]\d\d$/.test(code)) bad(ow, `bad response code ${code}`);
            if (!isRecord(r) || typeof r['description'] !== 'string') bad(`${ow}/responses/${code}`, 'needs a description');
            else if (r['content'] !== undefined) bad(`${ow}/responses/${code}`, 'content is OpenAPI 3');
            else if (r['schema'] !== undefined) checkSchema(r['schema'], `${ow}/responses/${code}/schema`);
          }
        }
      }
    }
  }
  const definitions = doc['definitions'];
  if (!isRecord(definitions)) bad('#/definitions', 'missing');
  else for (const [name, s] of Object.entries(definitions)) checkSchema(s, `#/definitions/${name}`);
  return problems;
}
