/** The resources this server serves, in discovery order (alphabetical by plural), and their stores. */
import type { KubeObject } from '../api/meta.js';
import { createCacher } from '../../storage/cacher.js';
import type { Storage } from '../../storage/interface.js';
import { resourceKeys } from '../../storage/keys.js';
import type { ResourceDefinition } from './rest.js';
import { createStore, type Store } from './store/index.js';
import { accessPolicyResource } from './accesspolicy/resource.js';
import { accessRequestResource } from './accessrequest/resource.js';
import { connectorClassResource } from './connectorclass/resource.js';
import { connectorResource } from './connector/resource.js';

export const servedResources: readonly ResourceDefinition<KubeObject>[] = [
  accessPolicyResource as unknown as ResourceDefinition<KubeObject>,
  accessRequestResource as unknown as ResourceDefinition<KubeObject>,
  // The group's other kinds (domain spec §2.3): the APIService owns the whole group-version.
  connectorClassResource as unknown as ResourceDefinition<KubeObject>,
  connectorResource as unknown as ResourceDefinition<KubeObject>,
];

/** One generic store per served resource, all on one storage under one etcd prefix. */
export const createStores = (storage: Storage, etcdPrefix: string): Store<KubeObject>[] =>
  servedResources.map((resource) =>
    createStore({ resource, storage, keys: resourceKeys(etcdPrefix, resource.group, resource.plural, resource.namespaced) }),
  );

/**
 * The storage the stores read through: with --watch-cache (the default), one watch cache per served
 * resource in front of etcd; writes still go straight to etcd. Closing it closes `storage` too.
 */
export function withWatchCache(
  storage: Storage,
  etcdPrefix: string,
  flags: { readonly watchCache: boolean; readonly watchCacheSizes?: ReadonlyMap<string, number> },
): Storage {
  if (!flags.watchCache) return storage;
  const sizes = flags.watchCacheSizes ?? new Map<string, number>();
  return createCacher(storage, {
    resources: servedResources.map((r) => {
      const size = sizes.get(`${r.plural}.${r.group}`) ?? sizes.get(r.plural);
      return { prefix: resourceKeys(etcdPrefix, r.group, r.plural, r.namespaced).resourcePrefix, ...(size === undefined ? {} : { size }) };
    }),
  });
}
