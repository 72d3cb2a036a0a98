/**
 * `connectors-access migrate` without its flags (domain spec §2.3): copies every ConnectorClass, then
 * every Connector, from the main API server (served by the Connector CRDs) into this server's etcd
 * under the keys the server uses — or back with `reverse`. The main API server is behind the
 * MainApiServer seam (client-node in ./main-api.ts); storage is the server's own etcd storage.
 */
import type { KubeObject } from '../../api/meta.js';
import type { Storage, StorageError } from '../../../storage/interface.js';
import { resourceKeys } from '../../../storage/keys.js';
import {
  decideForward,
  decideReverse,
  hasStatus,
  migratedKinds,
  objectRef,
  outcomeLine,
  reverseCreateBody,
  storedForm,
  type MigratedKind,
  type Outcome,
} from './plan.js';

export const apiServiceName = 'v1alpha1.connectors.alauda.io';
const apiServiceGroupVersion = 'connectors.alauda.io/v1alpha1';

/** A failed call to the main API server: HTTP status (undefined for connection errors) and message. */
export class MainApiError extends Error {
  readonly code: number | undefined;
  constructor(code: number | undefined, message: string) {
    super(message);
    this.name = 'MainApiError';
    this.code = code;
  }
}

/** What migrate does with the main API server; every method throws MainApiError on failure. */
export interface MainApiServer {
  /** `spec.service` of the APIService v1alpha1.connectors.alauda.io as `<namespace>/<name>`; undefined when the APIService is absent or has none. */
  registeredService(): Promise<string | undefined>;
  /** Names of CRDs serving connectors.alauda.io/v1alpha1 other than the migrated kinds' ([] when CRDs cannot be listed). */
  otherCrds(): Promise<string[]>;
  /** Every object of the kind (all namespaces); undefined when the main API server does not serve the kind (no CRD). */
  list(kind: MigratedKind): Promise<KubeObject[] | undefined>;
  /** undefined on 404. */
  get(kind: MigratedKind, namespace: string | undefined, name: string): Promise<KubeObject | undefined>;
  create(kind: MigratedKind, body: KubeObject): Promise<KubeObject>;
  /** PUT …/status with the object as read (its resourceVersion) and the new status. */
  replaceStatus(kind: MigratedKind, obj: KubeObject): Promise<KubeObject>;
  delete(kind: MigratedKind, namespace: string | undefined, name: string): Promise<void>;
}

export interface MigrateOptions {
  readonly api: MainApiServer;
  readonly storage: Storage;
  /** The server's --etcd-prefix. */
  readonly etcdPrefix: string;
  readonly dryRun: boolean;
  readonly reverse: boolean;
  /** One output line (no newline): `<Kind> <namespace>/<name> <outcome>`. */
  readonly out: (line: string) => void;
  /** One diagnostic line (no newline). */
  readonly err: (line: string) => void;
}

interface Tally {
  readonly counts: Record<Outcome, number>;
  errors: number;
}

const describeStorageError = (e: StorageError): string => {
  switch (e.kind) {
    case 'Unavailable':
    case 'InvalidContinue':
      return e.message;
    case 'KeyNotFound':
    case 'KeyExists':
      return `${e.kind} ${e.key}`;
    default:
      return e.kind;
  }
};

class StorageFailure extends Error {
  constructor(e: StorageError) {
    super(`etcd: ${describeStorageError(e)}`);
    this.name = 'StorageFailure';
  }
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Runs the migration; resolves to the exit code (0, or 1 after a conflict or error, the rest copied). */
export async function runMigration(o: MigrateOptions): Promise<0 | 1> {
  const direction = o.reverse ? 'migrate --reverse' : 'migrate';
  let service: string | undefined;
  try {
    service = await o.api.registeredService();
  } catch (e) {
    o.err(`error: reading APIService ${apiServiceName}: ${message(e)}`);
    return 1;
  }
  if (service !== undefined) {
    o.err(
      `error: APIService ${apiServiceName} points at service ${service}, i.e. this server is registered; ` +
        (o.reverse
          ? `${direction} runs after the APIService is deleted (rollback order in the README)`
          : `${direction} runs before the APIService is registered (install order in the README)`),
    );
    return 1;
  }
  const revision = await o.storage.currentRevision();
  if (!revision.ok) {
    o.err(`error: cannot read the server's etcd: ${describeStorageError(revision.error)}`);
    return 1;
  }

  if (!o.reverse) {
    // Not migrated, and unreachable once the APIService is registered: say so (the README's check).
    for (const name of await o.api.otherCrds().catch(() => [])) {
      o.err(`warning: CRD ${name} also serves ${apiServiceGroupVersion}; this server does not serve its kind, so its objects become unreachable once the APIService is registered`);
    }
  }
  const tally: Tally = { counts: { created: 0, updated: 0, unchanged: 0, conflict: 0 }, errors: 0 };
  if (o.reverse) {
    if (!(await reverse(o, tally))) return 1;
  } else {
    await forward(o, tally);
  }
  const c = tally.counts;
  const total = c.created + c.updated + c.unchanged + c.conflict + tally.errors;
  o.err(
    `${String(total)} object(s): ${String(c.created)} created, ${String(c.updated)} updated, ${String(c.unchanged)} unchanged, ` +
      `${String(c.conflict)} conflict(s), ${String(tally.errors)} error(s)${o.dryRun ? ' (dry run: nothing was written)' : ''}`,
  );
  return c.conflict > 0 || tally.errors > 0 ? 1 : 0;
}

function record(o: MigrateOptions, tally: Tally, kind: MigratedKind, obj: KubeObject, outcome: Outcome, conflictDetail: string): void {
  tally.counts[outcome]++;
  o.out(outcomeLine(kind, obj, outcome));
  if (outcome === 'conflict') o.err(`conflict: ${objectRef(kind, obj)}: ${conflictDetail}; left alone`);
}

// ---- forward: main API server → our etcd ----

async function forward(o: MigrateOptions, tally: Tally): Promise<void> {
  for (const kind of migratedKinds) {
    let items: KubeObject[] | undefined;
    try {
      items = await o.api.list(kind);
    } catch (e) {
      o.err(`error: listing ${kind.plural} through the main API server: ${message(e)}`);
      tally.errors++;
      continue;
    }
    if (items === undefined) {
      o.err(`the main API server does not serve ${kind.plural}.${kind.group} (no CRD): no ${kind.kind} to copy`);
      continue;
    }
    const keys = resourceKeys(o.etcdPrefix, kind.group, kind.plural, kind.namespaced);
    for (const item of items) {
      const desired = storedForm(kind, item);
      try {
        const r = await copyForward(o.storage, keys.objectKey(desired.metadata.namespace, desired.metadata.name ?? ''), desired, o.dryRun);
        record(o, tally, kind, desired, r.outcome, `stored with uid ${r.storedUid ?? '<none>'}, the main API server's has uid ${desired.metadata.uid ?? '<none>'}`);
      } catch (e) {
        tally.errors++;
        o.err(`error: ${objectRef(kind, desired)}: ${message(e)}`);
      }
    }
  }
}

const maxRounds = 5;

/** Create-if-absent, else compare-and-swap against the stored object; repeats when the key changes in between. */
async function copyForward(storage: Storage, key: string, desired: KubeObject, dryRun: boolean): Promise<{ outcome: Outcome; storedUid?: string }> {
  for (let round = 1; ; round++) {
    const current = await storage.get<KubeObject>(key);
    if (!current.ok && current.error.kind !== 'KeyNotFound') throw new StorageFailure(current.error);
    const stored = current.ok ? current.value : undefined;
    const outcome = decideForward(desired, stored);
    const storedUid = stored?.metadata.uid;
    if (dryRun || outcome === 'unchanged' || outcome === 'conflict') return { outcome, ...(storedUid === undefined ? {} : { storedUid }) };
    if (outcome === 'created') {
      const created = await storage.create(key, desired);
      if (created.ok) return { outcome };
      if (created.error.kind !== 'KeyExists' || round >= maxRounds) throw new StorageFailure(created.error);
      continue;
    }
    let decided: { outcome: Outcome; storedUid?: string } = { outcome };
    const updated = await storage.guaranteedUpdate<KubeObject, 'conflict'>(key, (now) => {
      const d = decideForward(desired, now);
      decided = { outcome: d, ...(now.metadata.uid === undefined ? {} : { storedUid: now.metadata.uid }) };
      if (d === 'conflict') return { kind: 'abort', error: 'conflict' };
      if (d === 'unchanged') return { kind: 'unchanged' };
      return { kind: 'write', object: desired };
    });
    if (updated.ok || updated.error === 'conflict') return decided;
    if (updated.error.kind !== 'KeyNotFound' || round >= maxRounds) throw new StorageFailure(updated.error);
  }
}

// ---- reverse: our etcd → main API server ----

async function reverse(o: MigrateOptions, tally: Tally): Promise<boolean> {
  // Nothing is written unless the main API server serves both kinds again (CRDs re-created).
  for (const kind of migratedKinds) {
    let served: KubeObject[] | undefined;
    try {
      served = await o.api.list(kind);
    } catch (e) {
      o.err(`error: listing ${kind.plural} through the main API server: ${message(e)}`);
      return false;
    }
    if (served === undefined) {
      o.err(`error: the main API server does not serve ${kind.plural}.${kind.group}: re-create the ${kind.kind} CRD first (rollback order in the README)`);
      return false;
    }
  }
  for (const kind of migratedKinds) {
    const keys = resourceKeys(o.etcdPrefix, kind.group, kind.plural, kind.namespaced);
    let continueToken: string | undefined;
    do {
      const page = await o.storage.list<KubeObject>(keys.resourcePrefix, { limit: 500, ...(continueToken === undefined ? {} : { continue: continueToken }) });
      if (!page.ok) {
        o.err(`error: listing ${kind.plural} in the server's etcd: ${describeStorageError(page.error)}`);
        tally.errors++;
        break;
      }
      for (const stored of page.value.items) {
        try {
          const outcome = await copyReverse(o.api, kind, stored, o.dryRun);
          record(o, tally, kind, stored, outcome, 'the main API server has an object of that name with other labels, annotations, finalizers, ownerReferences or spec');
        } catch (e) {
          tally.errors++;
          o.err(`error: ${objectRef(kind, stored)}: ${message(e)}`);
        }
      }
      continueToken = page.value.continue;
    } while (continueToken !== undefined);
  }
  return true;
}

async function copyReverse(api: MainApiServer, kind: MigratedKind, stored: KubeObject, dryRun: boolean): Promise<Outcome> {
  const ns = kind.namespaced ? stored.metadata.namespace : undefined;
  const name = stored.metadata.name ?? '';
  for (let round = 1; ; round++) {
    const existing = await api.get(kind, ns, name);
    const outcome = decideReverse(stored, existing);
    if (dryRun || outcome === 'unchanged' || outcome === 'conflict') return outcome;
    if (outcome === 'updated' && existing !== undefined) {
      await api.replaceStatus(kind, { ...existing, status: structuredClone(stored['status']) });
      return outcome;
    }
    let created: KubeObject;
    try {
      created = await api.create(kind, reverseCreateBody(kind, stored));
    } catch (e) {
      // Created by someone else since the GET: decide again.
      if (e instanceof MainApiError && e.code === 409 && round < maxRounds) continue;
      throw e;
    }
    if (hasStatus(stored)) await api.replaceStatus(kind, { ...created, status: structuredClone(stored['status']) });
    // An object that was being deleted is deleted again; its finalizers keep it until they are removed.
    if (stored.metadata.deletionTimestamp !== undefined) await api.delete(kind, ns, name);
    return outcome;
  }
}
