/**
 * The OpenAPI documents kube-apiserver downloads from us (OAPI-1..4): OpenAPI v3 per group-version
 * for /openapi/v3/apis/<group>/<version>, Swagger 2.0 for /openapi/v2. Both come from the resource
 * table and its structural schemas, shaped like the documents kube-apiserver publishes for CRDs:
 * definition names, operation IDs, `x-kubernetes-*` markers and parameters, so that kubectl explain,
 * kubectl's fieldValidation check and client-side apply treat our kinds like any other.
 */
import { createHash } from 'node:crypto';
import type { OpenAPIV2, OpenAPIV3 } from 'openapi-types';
import type { Schema } from './builders.js';
import {
  deleteOptionDescriptions,
  listMetadataDescription,
  metaDefinitions,
  metaNames,
  objectMetadataDescription,
  typeMetaProperties,
  type GroupVersionKind,
  type PublishedSchema,
} from './definitions.js';

/** What the documents need of a ResourceDefinition (apiserver/registry/rest.ts). */
export interface DocumentedResource {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly namespaced: boolean;
  readonly schema: Schema;
  readonly status: { readonly mode: 'computed' | 'writable' };
  /** Create-only and never stored (AccessReview): the kind and its `post` operation only, no list kind. */
  readonly createOnly?: boolean;
}

export type KubeAction = 'get' | 'list' | 'watch' | 'post' | 'put' | 'patch' | 'delete' | 'deletecollection';

/** Extensions on every operation; absent only on the group-version's resource list (`…/v1alpha1/`). */
export interface KubeOperationExtensions {
  'x-kubernetes-action'?: KubeAction;
  'x-kubernetes-group-version-kind'?: GroupVersionKind;
}

// ---------- names ----------

/** kube-openapi's ToRESTFriendlyName: `connectors.alauda.io/v1alpha1.AccessRequest` → `io.alauda.connectors.v1alpha1.AccessRequest`. */
export const definitionName = (group: string, version: string, kind: string): string =>
  [...(group === '' ? [] : group.split('.').reverse()), version, kind].join('.');

/** k8s.io/apiserver's ToValidOperationID: drop punctuation, capitalize what followed it. */
function toValidOperationID(s: string, capitalizeFirst: boolean): string {
  let out = '';
  let capitalize = capitalizeFirst;
  let i = 0;
  for (const ch of s) {
    if (/\p{L}/u.test(ch) || ch === '_' || (i !== 0 && /\p{Nd}/u.test(ch))) {
      out += capitalize ? ch.toUpperCase() : ch;
      capitalize = false;
    } else {
      capitalize = true;
    }
    i++;
  }
  return out;
}

// GetOperationIDAndTags treats /api as the group "core" and trims ".k8s.io".
const opGroup = (group: string): string => (group === '' ? 'core' : group.replace(/\.k8s\.io$/, ''));
const operationPrefix = (group: string, version: string): string =>
  toValidOperationID(opGroup(group), true) + toValidOperationID(version, true);
const tagOf = (group: string, version: string): string => `${toValidOperationID(opGroup(group), false)}_${toValidOperationID(version, false)}`;

const conventions = 'https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md';

// ---------- schemas ----------

type Loose<T> = { [K in keyof T]?: T[K] | undefined };

/** Drops undefined members, so optional fields stay absent under exactOptionalPropertyTypes. */
function defined<T extends object>(o: Loose<T>): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const mapValues = <A, B>(o: Readonly<Record<string, A>>, f: (a: A) => B): Record<string, B> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));

/** The published form of a schema-source subschema: `x-connectors-ref` becomes a ref, nothing else is lost. */
export function publishSchema(s: Schema): PublishedSchema {
  const description = s.description === undefined || s.description === '' ? undefined : s.description;
  const ref = s['x-connectors-ref'];
  if (ref !== undefined) return defined<PublishedSchema>({ $ref: ref, description });
  return defined<PublishedSchema>({
    type: s.type,
    format: s.format,
    description,
    properties: s.properties === undefined ? undefined : mapValues(s.properties, publishSchema),
    additionalProperties: s.additionalProperties === undefined ? undefined : publishSchema(s.additionalProperties),
    items: s.items === undefined ? undefined : publishSchema(s.items),
    required: s.required === undefined || s.required.length === 0 ? undefined : [...s.required],
    enum: s.enum,
    default: s.default as unknown,
    pattern: s.pattern,
    minimum: s.minimum,
    maximum: s.maximum,
    minLength: s.minLength,
    maxLength: s.maxLength,
    minItems: s.minItems,
    maxItems: s.maxItems,
    minProperties: s.minProperties,
    maxProperties: s.maxProperties,
    uniqueItems: s.uniqueItems,
    nullable: s.nullable,
    'x-kubernetes-list-type': s['x-kubernetes-list-type'],
    'x-kubernetes-list-map-keys': s['x-kubernetes-list-map-keys'] === undefined ? undefined : [...s['x-kubernetes-list-map-keys']],
    'x-kubernetes-map-type': s['x-kubernetes-map-type'],
    'x-kubernetes-preserve-unknown-fields': s['x-kubernetes-preserve-unknown-fields'],
    'x-kubernetes-int-or-string': s['x-kubernetes-int-or-string'],
  });
}

const gvkOf = (r: DocumentedResource, kind = r.kind): GroupVersionKind => ({ group: r.group, version: r.version, kind });

/** The kind's schema as the CRD builder publishes it: TypeMeta and ObjectMeta replaced by the meta definitions. */
function kindSchema(r: DocumentedResource): PublishedSchema {
  const published = publishSchema(r.schema);
  return {
    ...published,
    type: 'object',
    properties: {
      ...published.properties,
      ...typeMetaProperties,
      metadata: { $ref: metaNames.objectMeta, description: objectMetadataDescription },
    },
    'x-kubernetes-group-version-kind': [gvkOf(r)],
  };
}

function listSchema(r: DocumentedResource): PublishedSchema {
  return {
    type: 'object',
    description: `${r.listKind} is a list of ${r.kind}`,
    required: ['items'],
    properties: {
      ...typeMetaProperties,
      items: {
        type: 'array',
        description: `List of ${r.plural}. More info: ${conventions}`,
        items: { $ref: definitionName(r.group, r.version, r.kind) },
      },
      metadata: { $ref: metaNames.listMeta, description: listMetadataDescription },
    },
    'x-kubernetes-group-version-kind': [gvkOf(r, r.listKind)],
  };
}

function allDefinitions(resources: readonly DocumentedResource[]): Record<string, PublishedSchema> {
  const kinds = resources.flatMap((r): [string, PublishedSchema][] => [
    [definitionName(r.group, r.version, r.kind), kindSchema(r)],
    ...(r.createOnly === true ? [] : [[definitionName(r.group, r.version, r.listKind), listSchema(r)] as [string, PublishedSchema]]),
  ]);
  return { ...metaDefinitions(groupVersionsOf(resources)), ...Object.fromEntries(kinds) };
}

const groupVersionsOf = (resources: readonly DocumentedResource[]): { group: string; version: string }[] =>
  resources
    .map((r) => ({ group: r.group, version: r.version }))
    .filter((gv, i, all) => all.findIndex((o) => o.group === gv.group && o.version === gv.version) === i);

// Definition names never contain '~' or '/', so they need no JSON-pointer escaping.
const v3Pointer = (name: string): string => `#/components/schemas/${name}`;
const v2Pointer = (name: string): string => `#/definitions/${name}`;

/** v3: a ref with siblings (a description) is wrapped in allOf, as kube-openapi does. */
function toV3(s: PublishedSchema): OpenAPIV3.ReferenceObject | OpenAPIV3.SchemaObject {
  const { $ref, properties, additionalProperties, items, type, ...rest } = s;
  if ($ref !== undefined) {
    return Object.keys(rest).length === 0 ? { $ref: v3Pointer($ref) } : { ...rest, allOf: [{ $ref: v3Pointer($ref) }] };
  }
  const children = defined<OpenAPIV3.BaseSchemaObject>({
    properties: properties === undefined ? undefined : mapValues(properties, toV3),
    additionalProperties: additionalProperties === undefined ? undefined : toV3(additionalProperties),
  });
  if (type === 'array') return { ...rest, ...children, type, items: items === undefined ? {} : toV3(items) };
  return { ...rest, ...children, ...(type === undefined ? {} : { type }) };
}

/**
 * v2: what ToStructuralOpenAPIV2 does for CRDs, so that kubectl's v2 validation copes: no nullable
 * (a nullable field loses its type), no properties or items under preserve-unknown-fields, and no
 * array type without items.
 */
function toV2(s: PublishedSchema): OpenAPIV2.SchemaObject {
  const { $ref, properties, additionalProperties, items, type, nullable, ...rest } = s;
  if ($ref !== undefined) return { ...rest, $ref: v2Pointer($ref) };
  const open = nullable === true || rest['x-kubernetes-preserve-unknown-fields'] === true;
  const keptItems = open || items === undefined ? undefined : items;
  const keptType = nullable === true || (type === 'array' && keptItems === undefined) ? undefined : type;
  const required = rest.required?.filter((f) => properties?.[f]?.nullable !== true);
  return defined<OpenAPIV2.SchemaObject>({
    ...rest,
    required: required === undefined || required.length === 0 ? undefined : required,
    type: keptType,
    properties: open || properties === undefined ? undefined : mapValues(properties, toV2),
    additionalProperties: additionalProperties === undefined ? undefined : toV2(additionalProperties),
    // openapi-types models v2 `items` as a parameter ItemsObject; in a schema it is a Schema Object.
    items: keptItems === undefined ? undefined : (toV2(keptItems) as OpenAPIV2.ItemsObject),
  });
}

// ---------- operations ----------

interface Param {
  readonly name: string;
  readonly in: 'path' | 'query';
  readonly type: 'string' | 'boolean' | 'integer';
  readonly description: string;
}

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type BodyKind = 'object' | 'patch' | 'deleteOptions';

interface Operation {
  readonly action: KubeAction | undefined;
  readonly gvk: GroupVersionKind | undefined;
  readonly operationId: string;
  readonly description: string;
  readonly tag: string;
  readonly params: readonly Param[];
  readonly body: { readonly kind: BodyKind; readonly schema: string; readonly required: boolean } | undefined;
  /** Response codes with the definition each returns. */
  readonly responses: readonly { readonly code: '200' | '201' | '202'; readonly schema: string }[];
  readonly isList: boolean;
}

interface Route {
  readonly path: string;
  readonly params: readonly Param[];
  readonly operations: Partial<Record<Method, Operation>>;
}

const q = (name: string, type: Param['type'], description: string): Param => ({ name, in: 'query', type, description });

const pretty = q('pretty', 'string', "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget).");
const namespaceParam: Param = { name: 'namespace', in: 'path', type: 'string', description: 'object name and auth scope, such as for teams and projects' };
const nameParam = (kind: string): Param => ({ name: 'name', in: 'path', type: 'string', description: `name of the ${kind}` });

const rvDocs = 'https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions';
const listParams: readonly Param[] = [
  q('allowWatchBookmarks', 'boolean', 'allowWatchBookmarks requests watch events with type "BOOKMARK". Bookmarks are sent at the server\'s discretion; clients should not assume any interval. Ignored unless this is a watch.'),
  q('continue', 'string', 'The continue option should be set when retrieving more results from the server: the continue value of a previous list response with identical query parameters. An expired value is answered with 410 ResourceExpired. Not supported when watch is true.'),
  q('fieldSelector', 'string', 'A selector to restrict the list of returned objects by their fields. Defaults to everything.'),
  q('labelSelector', 'string', 'A selector to restrict the list of returned objects by their labels. Defaults to everything.'),
  q('limit', 'integer', 'limit is a maximum number of responses to return for a list call. If more items exist, the server sets the `continue` field on the list metadata to a value that retrieves the next set of results from the same consistent snapshot. Not supported if watch is true.'),
  q('resourceVersion', 'string', `resourceVersion sets a constraint on what resource versions a request may be served from. See ${rvDocs} for details.\n\nDefaults to unset`),
  q('resourceVersionMatch', 'string', `resourceVersionMatch determines how resourceVersion is applied to list calls. It is highly recommended that resourceVersionMatch be set for list calls where resourceVersion is set. See ${rvDocs} for details.\n\nDefaults to unset`),
  q('sendInitialEvents', 'boolean', '`sendInitialEvents=true` may be set together with `watch=true`: the watch stream then begins with synthetic events for the current state of the collection, followed by a "Bookmark" event annotated `"k8s.io/initial-events-end": "true"`. Requires `resourceVersionMatch=NotOlderThan`.'),
  q('timeoutSeconds', 'integer', 'Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.'),
  q('watch', 'boolean', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.'),
];
const listOnly = new Set(['allowWatchBookmarks', 'watch']);

const dryRun = q('dryRun', 'string', deleteOptionDescriptions.dryRun);
const fieldManagerText =
  'fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.';
const fieldManager = q('fieldManager', 'string', fieldManagerText);
const fieldManagerForPatch = q('fieldManager', 'string', `${fieldManagerText} This field is required for apply requests (application/apply-patch) but optional for non-apply patch types (JsonPatch, MergePatch).`);
const fieldValidation = q(
  'fieldValidation',
  'string',
  'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: unknown fields are silently dropped, and all but the last duplicate field are ignored. - Warn: a warning is sent via the standard warning response header for each unknown field dropped and each duplicate field. This is the default. - Strict: the request fails with a BadRequest error naming all unknown and duplicate fields.',
);
const force = q('force', 'boolean', 'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.');
const deleteParams: readonly Param[] = [
  dryRun,
  q('gracePeriodSeconds', 'integer', deleteOptionDescriptions.gracePeriodSeconds),
  q('orphanDependents', 'boolean', deleteOptionDescriptions.orphanDependents),
  q('propagationPolicy', 'string', deleteOptionDescriptions.propagationPolicy),
];
const byName = (a: Param, b: Param): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** k8s.io/apiserver's GetArticleForNoun: plurals (a final "s", not "ss") take none. */
const article = (noun: string): string => (/[^s]s$/.test(noun) ? ' ' : /^[aeiou]/i.test(noun) ? ' an ' : ' a ');

function resourceRoutes(r: DocumentedResource): Route[] {
  const base = `/apis/${r.group}/${r.version}`;
  const scope = r.namespaced ? 'Namespaced' : '';
  const prefix = operationPrefix(r.group, r.version);
  const kindName = definitionName(r.group, r.version, r.kind);
  const listName = definitionName(r.group, r.version, r.listKind);
  const op = (o: Omit<Operation, 'gvk' | 'tag' | 'isList'> & { isList?: boolean }): Operation => ({ ...o, gvk: gvkOf(r), tag: tagOf(r.group, r.version), isList: o.isList ?? false });
  const ok = (schema: string): Operation['responses'] => [{ code: '200', schema }];

  const list = (operationId: string): Operation =>
    op({ action: 'list', operationId, description: `list or watch objects of kind ${r.kind}`, params: listParams, body: undefined, responses: ok(listName), isList: true });
  const read = (sub: string): Operation =>
    op({ action: 'get', operationId: `read${prefix}${scope}${r.kind}${sub === '' ? '' : 'Status'}`, description: `read${sub} the specified ${r.kind}`, params: [], body: undefined, responses: ok(kindName) });
  const replace = (sub: string): Operation =>
    op({
      action: 'put',
      operationId: `replace${prefix}${scope}${r.kind}${sub === '' ? '' : 'Status'}`,
      description: `replace${sub} the specified ${r.kind}`,
      params: [dryRun, fieldManager, fieldValidation],
      body: { kind: 'object', schema: kindName, required: true },
      responses: [...ok(kindName), { code: '201', schema: kindName }],
    });
  const patch = (sub: string): Operation =>
    op({
      action: 'patch',
      operationId: `patch${prefix}${scope}${r.kind}${sub === '' ? '' : 'Status'}`,
      description: `partially update${sub} the specified ${r.kind}`,
      params: [dryRun, fieldManagerForPatch, fieldValidation, force],
      body: { kind: 'patch', schema: metaNames.patch, required: true },
      responses: [...ok(kindName), { code: '201', schema: kindName }],
    });

  const collection = r.namespaced ? `${base}/namespaces/{namespace}/${r.plural}` : `${base}/${r.plural}`;
  const scopeParams = r.namespaced ? [namespaceParam] : [];
  const createOp = (responses: Operation['responses']): Operation =>
    op({
      action: 'post',
      operationId: `create${prefix}${scope}${r.kind}`,
      description: `create${article(r.kind)}${r.kind}`,
      params: [dryRun, fieldManager, fieldValidation],
      body: { kind: 'object', schema: kindName, required: true },
      responses,
    });
  // Create-only (like SubjectAccessReview): POST answers 201 with the computed status; nothing else.
  if (r.createOnly === true) return [{ path: collection, params: [...scopeParams, pretty], operations: { post: createOp([{ code: '201', schema: kindName }]) } }];
  const routes: Route[] = [
    {
      path: collection,
      params: [...scopeParams, pretty],
      operations: {
        get: list(`list${prefix}${scope}${r.kind}`),
        post: createOp([...ok(kindName), { code: '201', schema: kindName }, { code: '202', schema: kindName }]),
        delete: op({
          action: 'deletecollection',
          operationId: `delete${prefix}Collection${scope}${r.kind}`,
          description: `delete collection of ${r.kind}`,
          params: [...deleteParams, ...listParams.filter((p) => !listOnly.has(p.name))].sort(byName),
          body: { kind: 'deleteOptions', schema: metaNames.deleteOptions, required: false },
          responses: ok(metaNames.status),
        }),
      },
    },
    {
      path: `${collection}/{name}`,
      params: [nameParam(r.kind), ...scopeParams, pretty],
      operations: {
        get: read(''),
        put: replace(''),
        patch: patch(''),
        delete: op({
          action: 'delete',
          operationId: `delete${prefix}${scope}${r.kind}`,
          description: `delete${article(r.kind)}${r.kind}`,
          params: deleteParams,
          body: { kind: 'deleteOptions', schema: metaNames.deleteOptions, required: false },
          responses: [...ok(metaNames.status), { code: '202', schema: metaNames.status }],
        }),
      },
    },
    {
      path: `${collection}/{name}/status`,
      params: [nameParam(r.kind), ...scopeParams, pretty],
      // A computed status is GET only (PUT/PATCH answer 405), so only GET is published.
      operations: r.status.mode === 'writable' ? { get: read(' status of'), put: replace(' status of'), patch: patch(' status of') } : { get: read(' status of') },
    },
  ];
  if (r.namespaced) {
    routes.push({ path: `${base}/${r.plural}`, params: [pretty], operations: { get: list(`list${prefix}${r.kind}ForAllNamespaces`) } });
  }
  return routes;
}

function allRoutes(resources: readonly DocumentedResource[]): Route[] {
  const apiResources = groupVersionsOf(resources).map(
    (gv): Route => ({
      path: `/apis/${gv.group}/${gv.version}/`,
      params: [],
      operations: {
        get: {
          action: undefined,
          gvk: undefined,
          operationId: `get${operationPrefix(gv.group, gv.version)}APIResources`,
          description: 'get available resources',
          tag: tagOf(gv.group, gv.version),
          params: [],
          body: undefined,
          responses: [{ code: '200', schema: metaNames.apiResourceList }],
          isList: false,
        },
      },
    }),
  );
  return [...apiResources, ...resources.flatMap(resourceRoutes)];
}

const responseText = { '200': 'OK', '201': 'Created', '202': 'Accepted' } as const;
const patchTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
const objectTypes = ['application/json', 'application/yaml'];
const consumesOf = (body: BodyKind | undefined): string[] =>
  body === 'patch' ? patchTypes : body === 'object' ? objectTypes : ['application/json'];
const producesOf = (o: Operation): string[] => (o.isList ? [...objectTypes, 'application/json;stream=watch'] : objectTypes);

const extensionsOf = (o: Operation): KubeOperationExtensions =>
  defined<KubeOperationExtensions>({ 'x-kubernetes-action': o.action, 'x-kubernetes-group-version-kind': o.gvk });

const methods: readonly Method[] = ['get', 'post', 'put', 'patch', 'delete'];

// ---------- documents ----------

const info = { title: 'connectors-access-apiserver', version: 'unversioned' };

function v3Param(p: Param): OpenAPIV3.ParameterObject {
  return { name: p.name, in: p.in, description: p.description, ...(p.in === 'path' ? { required: true } : {}), schema: { type: p.type } };
}

function v3Operation(o: Operation): OpenAPIV3.OperationObject<KubeOperationExtensions> {
  const content = (schema: string, types: readonly string[]): Record<string, OpenAPIV3.MediaTypeObject> =>
    Object.fromEntries(types.map((t) => [t, { schema: { $ref: v3Pointer(schema) } }]));
  const responses: OpenAPIV3.ResponsesObject = Object.fromEntries([
    ...o.responses.map((r) => [r.code, { description: responseText[r.code], content: content(r.schema, producesOf(o)) }]),
    ['401', { description: 'Unauthorized' }],
  ]);
  return {
    tags: [o.tag],
    description: o.description,
    operationId: o.operationId,
    ...(o.params.length > 0 ? { parameters: o.params.map(v3Param) } : {}),
    ...(o.body === undefined ? {} : { requestBody: { content: content(o.body.schema, consumesOf(o.body.kind)), required: o.body.required } }),
    responses,
    ...extensionsOf(o),
  };
}

/** The OpenAPI v3 document of one group-version (/openapi/v3/apis/<group>/<version>). */
export function buildOpenAPIV3(resources: readonly DocumentedResource[]): OpenAPIV3.Document<KubeOperationExtensions> {
  const paths: OpenAPIV3.PathsObject<KubeOperationExtensions> = {};
  for (const route of allRoutes(resources)) {
    const item: OpenAPIV3.PathItemObject<KubeOperationExtensions> = route.params.length > 0 ? { parameters: route.params.map(v3Param) } : {};
    for (const m of methods) {
      const o = route.operations[m];
      if (o !== undefined) item[m] = v3Operation(o);
    }
    paths[route.path] = item;
  }
  const schemas = mapValues(allDefinitions(resources), toV3);
  return { openapi: '3.0.0', info, paths, components: { schemas } };
}

function v2Param(p: Param): OpenAPIV2.GeneralParameterObject {
  return { name: p.name, in: p.in, description: p.description, type: p.type, ...(p.in === 'path' ? { required: true } : {}) };
}

function v2Operation(o: Operation): OpenAPIV2.OperationObject<KubeOperationExtensions> {
  const body: OpenAPIV2.Parameter[] =
    o.body === undefined ? [] : [{ name: 'body', in: 'body', required: o.body.required, schema: { $ref: v2Pointer(o.body.schema) } }];
  const responses: OpenAPIV2.ResponsesObject = Object.fromEntries([
    ...o.responses.map((r) => [r.code, { description: responseText[r.code], schema: { $ref: v2Pointer(r.schema) } }]),
    ['401', { description: 'Unauthorized' }],
  ]);
  const parameters = [...body, ...o.params.map(v2Param)];
  return {
    tags: [o.tag],
    description: o.description,
    operationId: o.operationId,
    consumes: consumesOf(o.body?.kind),
    produces: producesOf(o),
    schemes: ['https'],
    ...(parameters.length > 0 ? { parameters } : {}),
    responses,
    ...extensionsOf(o),
  };
}

/** The Swagger 2.0 document served at /openapi/v2 (the aggregator merges it into the cluster's). */
export function buildOpenAPIV2(resources: readonly DocumentedResource[]): OpenAPIV2.Document<KubeOperationExtensions> {
  const paths: OpenAPIV2.PathsObject<KubeOperationExtensions> = {};
  for (const route of allRoutes(resources)) {
    const item: OpenAPIV2.PathItemObject<KubeOperationExtensions> = route.params.length > 0 ? { parameters: route.params.map(v2Param) } : {};
    for (const m of methods) {
      const o = route.operations[m];
      if (o !== undefined) item[m] = v2Operation(o);
    }
    paths[route.path] = item;
  }
  return { swagger: '2.0', info, paths, definitions: mapValues(allDefinitions(resources), toV2) };
}

// ---------- serving helpers ----------

/** JSON with object keys sorted at every level (as Go's encoding/json writes maps), so equal documents are equal bytes. */
export function canonicalJSON(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v: unknown) => (v === undefined ? 'null' : canonicalJSON(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJSON(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Upper-case hex SHA-512 of the canonical JSON, as kube-openapi computes ETags and `?hash=` values. */
export function documentHash(doc: unknown): string {
  return createHash('sha512').update(canonicalJSON(doc)).digest('hex').toUpperCase();
}

/** The /openapi/v3 discovery document (OAPI-2): one entry per group-version, addressed by content hash. */
export function openAPIV3Index(entries: readonly { readonly group: string; readonly version: string; readonly hash: string }[]): {
  paths: Record<string, { serverRelativeURL: string }>;
} {
  return {
    paths: Object.fromEntries(
      entries.map((e) => {
        const path = `apis/${e.group}/${e.version}`;
        return [path, { serverRelativeURL: `/openapi/v3/${path}?hash=${e.hash}` }];
      }),
    ),
  };
}
