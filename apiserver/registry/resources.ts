/** The resources this server serves, in discovery order (alphabetical by plural), and their stores. */
import type { KubeObject } from '../api/meta.js';
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
