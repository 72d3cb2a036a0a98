/** The MainApiServer of migrate over @kubernetes/client-node (CustomObjectsApi, ApiregistrationV1Api). */
import { ApiextensionsV1Api, ApiregistrationV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../../api/meta.js';
import { clientNodeFailure } from '../../kube/client-node-call.js';
import { migratedKinds, type MigratedKind } from './plan.js';
import { apiServiceName, MainApiError, type MainApiServer } from './run.js';

/** An error response keeps its code, with `HTTP <code>: <Status message>` for the message. */
function toMainApiError(e: unknown): MainApiError {
  if (e instanceof MainApiError) return e;
  const f = clientNodeFailure(e);
  if (f.code === undefined) return new MainApiError(undefined, f.message);
  return new MainApiError(f.code, `HTTP ${String(f.code)}: ${f.statusMessage ?? 'no message'}`);
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toMainApiError(e);
  }
}

/** undefined for a 404, the value otherwise. */
async function unless404<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call(fn);
  } catch (e) {
    if (e instanceof MainApiError && e.code === 404) return undefined;
    throw e;
  }
}

const isObject = (v: unknown): v is KubeObject =>
  typeof v === 'object' && v !== null && typeof (v as { metadata?: unknown }).metadata === 'object' && (v as { metadata?: unknown }).metadata !== null;

function asObject(v: unknown): KubeObject {
  if (!isObject(v)) throw new MainApiError(undefined, 'unexpected response: not an object with metadata');
  return v;
}

const pageSize = 500;

export function mainApiServer(kc: KubeConfig): MainApiServer {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const registration = kc.makeApiClient(ApiregistrationV1Api);
  const extensions = kc.makeApiClient(ApiextensionsV1Api);
  const base = (k: MigratedKind): { group: string; version: string; plural: string } => ({ group: k.group, version: k.version, plural: k.plural });
  const nsOf = (k: MigratedKind, namespace: string | undefined): string => {
    if (!k.namespaced) return '';
    if (namespace === undefined || namespace === '') throw new MainApiError(undefined, `${k.kind} without a namespace`);
    return namespace;
  };

  return {
    async registeredService() {
      const svc = await unless404(() => registration.readAPIService({ name: apiServiceName }));
      const ref = svc?.spec?.service;
      if (ref === undefined || ref === null) return undefined;
      return `${ref.namespace ?? ''}/${ref.name ?? ''}`;
    },

    async otherCrds() {
      const [first] = migratedKinds;
      if (first === undefined) return [];
      const list = await call(() => extensions.listCustomResourceDefinition());
      const ours = new Set(migratedKinds.map((k) => `${k.plural}.${k.group}`));
      return list.items
        .filter((crd) => crd.spec.group === first.group && crd.spec.versions.some((v) => v.name === first.version && v.served))
        .map((crd) => crd.metadata?.name ?? '')
        .filter((name) => !ours.has(name));
    },

    async list(kind) {
      const items: KubeObject[] = [];
      let token: string | undefined;
      do {
        const page: unknown = await unless404(() =>
          custom.listClusterCustomObject({ ...base(kind), limit: pageSize, ...(token === undefined ? {} : { _continue: token }) }),
        );
        if (page === undefined) {
          if (token === undefined) return undefined;
          throw new MainApiError(404, `${kind.plural} vanished while listing`);
        }
        const p = page as { items?: unknown; metadata?: { continue?: unknown } };
        if (!Array.isArray(p.items)) throw new MainApiError(undefined, `unexpected ${kind.kind} list: no items`);
        for (const item of p.items as unknown[]) items.push(asObject(item));
        const next = p.metadata?.continue;
        token = typeof next === 'string' && next !== '' ? next : undefined;
      } while (token !== undefined);
      return items;
    },

    async get(kind, namespace, name) {
      const got: unknown = await unless404(() =>
        kind.namespaced
          ? custom.getNamespacedCustomObject({ ...base(kind), namespace: nsOf(kind, namespace), name })
          : custom.getClusterCustomObject({ ...base(kind), name }),
      );
      return got === undefined ? undefined : asObject(got);
    },

    async create(kind, body) {
      const created: unknown = await call(() =>
        kind.namespaced
          ? custom.createNamespacedCustomObject({ ...base(kind), namespace: nsOf(kind, body.metadata.namespace), body })
          : custom.createClusterCustomObject({ ...base(kind), body }),
      );
      return asObject(created);
    },

    async replaceStatus(kind, obj) {
      const name = obj.metadata.name ?? '';
      const replaced: unknown = await call(() =>
        kind.namespaced
          ? custom.replaceNamespacedCustomObjectStatus({ ...base(kind), namespace: nsOf(kind, obj.metadata.namespace), name, body: obj })
          : custom.replaceClusterCustomObjectStatus({ ...base(kind), name, body: obj }),
      );
      return asObject(replaced);
    },

    async delete(kind, namespace, name) {
      await call(() =>
        kind.namespaced
          ? custom.deleteNamespacedCustomObject({ ...base(kind), namespace: nsOf(kind, namespace), name })
          : custom.deleteClusterCustomObject({ ...base(kind), name }),
      );
    },
  };
}
