/**
 * etcd key layout like kube-apiserver's: `<prefix>/<group>/<plural>/<namespace>/<name>` for namespaced
 * kinds, `<prefix>/<group>/<plural>/<name>` for cluster-scoped ones. Every range prefix ends in '/'
 * so that namespace `ns1` never matches `ns10`.
 */

export interface ResourceKeys {
  /** Prefix of every object of the resource (all namespaces). */
  readonly resourcePrefix: string;
  /** Prefix of one namespace's objects. */
  readonly namespacePrefix: (namespace: string) => string;
  readonly objectKey: (namespace: string | undefined, name: string) => string;
}

export function resourceKeys(etcdPrefix: string, group: string, plural: string, namespaced: boolean): ResourceKeys {
  const root = `${etcdPrefix.replace(/\/+$/, '')}/${group}/${plural}/`;
  return {
    resourcePrefix: root,
    namespacePrefix: (ns) => (namespaced ? `${root}${ns}/` : root),
    objectKey: (ns, name) => (namespaced ? `${root}${ns ?? ''}/${name}` : `${root}${name}`),
  };
}
