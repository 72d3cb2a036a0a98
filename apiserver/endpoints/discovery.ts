/**
 * Legacy discovery documents (DISC-1, DISC-2), built from the resource table so that discovery
 * lists exactly what is served.
 */
import type { ResourceDefinition } from '../registry/rest.js';

/** Every stored resource implements all eight verbs, a create-only one just `create`; sorted, as discovery clients expect. */
export const verbsOf = (r: ResourceDefinition): string[] =>
  r.createOnly === true ? ['create'] : ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const statusVerbsOf = (r: ResourceDefinition): string[] => (r.status.mode === 'writable' ? ['get', 'patch', 'update'] : ['get']);

export function apiResourceList(groupVersion: string, resources: readonly ResourceDefinition[]): unknown {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion,
    resources: resources.flatMap((r) => [
      {
        name: r.plural,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: verbsOf(r),
        ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
        ...(r.categories.length > 0 ? { categories: r.categories } : {}),
      },
      ...(r.createOnly === true ? [] : [{ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: statusVerbsOf(r) }]),
    ]),
  };
}

export function apiGroup(group: string, versions: readonly string[]): unknown {
  const entries = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: entries, preferredVersion: entries[0] };
}

export function apiGroupList(group: string, versions: readonly string[]): unknown {
  const { kind: _k, apiVersion: _a, ...entry } = apiGroup(group, versions) as Record<string, unknown>;
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [entry] };
}

/** Aggregated discovery (DISC-3): the whole group in one document, v2 (or v2beta1 if asked for). */
export function apiGroupDiscoveryList(group: string, version: string, resources: readonly ResourceDefinition[], apiVersion: 'v2' | 'v2beta1'): unknown {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${apiVersion}`,
    metadata: {},
    items: [
      {
        metadata: { name: group },
        versions: [
          {
            version,
            freshness: 'Current',
            resources: resources.map((r) => {
              // responseKind is never null: some client-go releases panic on a missing one.
              const responseKind = { group: r.group, version: r.version, kind: r.kind };
              return {
                resource: r.plural,
                singularResource: r.singular,
                scope: r.namespaced ? 'Namespaced' : 'Cluster',
                responseKind,
                verbs: verbsOf(r),
                ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
                ...(r.categories.length > 0 ? { categories: r.categories } : {}),
                ...(r.createOnly === true ? {} : { subresources: [{ subresource: 'status', responseKind, verbs: statusVerbsOf(r) }] }),
              };
            }),
          },
        ],
      },
    ],
  };
}
