/**
 * What every verb of the generic store shares: the resource, its storage and keys, the clock and
 * uid source, and the translation of storage errors into Status values (genericregistry.Store's
 * interpretGetError & co).
 */
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../../api/meta.js';
import * as status from '../../api/status.js';
import type { Status } from '../../api/status.js';
import type { Storage, StorageError } from '../../../storage/interface.js';
import type { ResourceKeys } from '../../../storage/keys.js';
import { apiVersionOf, groupResourceOf, type ResourceDefinition } from '../rest.js';

export interface StoreDeps<T extends KubeObject> {
  readonly resource: ResourceDefinition<T>;
  readonly storage: Storage;
  readonly keys: ResourceKeys;
  readonly newUid?: () => string;
}

export interface StoreContext<T extends KubeObject> extends StoreDeps<T> {
  readonly newUid: () => string;
  readonly apiVersion: string;
  readonly gr: { readonly group: string; readonly resource: string };
  readonly key: (namespace: string | undefined, name: string) => string;
  /** Sets apiVersion/kind on an object read from storage (stored objects carry them too). */
  readonly typed: (obj: T) => T;
  /**
   * typed() for watch events: one watch-cache event goes to every watcher of the resource, so its
   * typed copy is made once and shared (and serialized once, apiserver/endpoints/shared-json.ts).
   * Callers must not modify the result.
   */
  readonly typedShared: (obj: T) => T;
  readonly toStatus: (e: StorageError, name: string) => Status;
}

export function storeContext<T extends KubeObject>(deps: StoreDeps<T>): StoreContext<T> {
  const r = deps.resource;
  const apiVersion = apiVersionOf(r);
  const gr = groupResourceOf(r);
  const typed = (obj: T): T => ({ ...obj, apiVersion, kind: r.kind });
  const shared = new WeakMap<T, T>();
  return {
    ...deps,
    newUid: deps.newUid ?? randomUUID,
    apiVersion,
    gr,
    key: (ns, name) => deps.keys.objectKey(r.namespaced ? ns : undefined, name),
    typed,
    typedShared: (obj) => {
      let t = shared.get(obj);
      if (t === undefined) {
        t = typed(obj);
        shared.set(obj, t);
      }
      return t;
    },
    toStatus: (e, name) => storageErrorToStatus(e, gr, name),
  };
}

export function storageErrorToStatus(e: StorageError, gr: { group: string; resource: string }, name: string): Status {
  switch (e.kind) {
    case 'KeyNotFound':
      return status.notFound(gr, name);
    case 'KeyExists':
      return status.alreadyExists(gr, name);
    case 'PreconditionFailed':
      return status.conflict(
        gr,
        name,
        e.field === 'uid'
          ? `Precondition failed: UID in precondition: ${e.expected}, UID in object meta: ${e.actual}`
          : `Precondition failed: ResourceVersion in precondition: ${e.expected}, ResourceVersion in object meta: ${e.actual}`,
      );
    case 'Compacted':
      return e.source === 'continue'
        ? status.expired(
            'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
          )
        : e.source === 'watch'
          ? status.expired('The resourceVersion for the provided watch is too old.')
          : status.expired('The resourceVersion for the provided list is too old.');
    case 'TooLargeResourceVersion':
      return status.tooLargeResourceVersion(e.requested, e.current);
    case 'InvalidContinue':
      return status.badRequest(`invalid continue token: ${e.message}`);
    case 'Unavailable':
      return status.serviceUnavailable(`storage is unavailable: ${e.message}`);
  }
}

/** A deep copy that also drops prototype-polluting keys (bodies are parsed JSON, so this is cheap). */
export const clone = <V>(v: V): V => structuredClone(v);
