/**
 * Server-side apply (PATCH with `application/apply-patch+yaml`), as kube-apiserver's apply patcher
 * runs it: the configuration must be of this kind and version and carry no managedFields; the field
 * manager merges it into the live object (409 with one cause per conflicting field unless `force`);
 * the result goes through the update strategy like any patch. A missing object is created through
 * the create strategy, with the applier's Apply entry (201); /status never creates.
 */
import { required } from '../../api/field.js';
import type { KubeObject } from '../../api/meta.js';
import * as status from '../../api/status.js';
import type { Status } from '../../api/status.js';
import type { Result } from '../../../storage/interface.js';
import { appliedManagedFieldsError, applyPatch as applyConfiguration, conflictStatus, type ApplyResult } from '../fieldmanager/apply.js';
import type { RequestContext } from '../rest.js';
import { clone, type StoreContext } from './context.js';
import { prepareCreate, type WriteOptions, type Written } from './create.js';
import { decodeBody } from './decode.js';
import { guardedUpdate, type CreateOutcome } from './guarded-update.js';
import { lastAppliedFields, unexcusedConflicts, upgradesClientSideApply } from './last-applied.js';
import { ignoredTopLevelFields, managerSubresource, withManagedFields, type Subresource } from './managed.js';
import type { ApplyPatch } from './patch.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** GroupVersionKind.String() of what the configuration declares: `group/version, Kind=kind`. */
function declaredType(config: Record<string, unknown>): string {
  const apiVersion = typeof config['apiVersion'] === 'string' ? config['apiVersion'] : '';
  const kind = typeof config['kind'] === 'string' ? config['kind'] : '';
  const parts = apiVersion.split('/');
  // schema.ParseGroupVersion: "v1" is the core group; more than one '/' is no version at all.
  const [group, version] = parts.length === 1 ? ['', parts[0] ?? ''] : parts.length === 2 ? [parts[0] ?? '', parts[1] ?? ''] : ['', ''];
  return `${group}/${version}, Kind=${kind}`;
}

interface Configuration<T> {
  readonly applied: T;
  readonly warnings: string[];
}

/**
 * The applied configuration, checked as the field manager chain checks it (versionCheckManager,
 * then structuredMergeManager), then decoded against the schema like any body: unknown fields are
 * pruned and, per fieldValidation, refused or reported.
 */
function decodeConfiguration<T extends KubeObject>(c: StoreContext<T>, p: ApplyPatch, opts: WriteOptions): Result<Configuration<T>, Status> {
  const r = c.resource;
  // An empty document decodes to an empty map, which then fails the type check below.
  const config = p.config === null || p.config === undefined ? {} : p.config;
  if (!isObject(config)) {
    return { ok: false, error: status.badRequest(`error decoding YAML: the apply configuration must be a map, not ${Array.isArray(config) ? 'a list' : 'a scalar'}`) };
  }
  if (config['apiVersion'] !== c.apiVersion || config['kind'] !== r.kind) {
    return { ok: false, error: status.badRequest(`invalid object type: ${declaredType(config)}`) };
  }
  const warnings: string[] = [];
  if (p.duplicateKeys.length > 0 && opts.fieldValidation !== 'Ignore') {
    if (opts.fieldValidation === 'Strict') return { ok: false, error: status.badRequest(`error strict decoding YAML: ${p.duplicateKeys.join(', ')}`) };
    warnings.push(...p.duplicateKeys);
  }
  const decoded = decodeBody(c, clone(config), opts.fieldValidation);
  if (!decoded.ok) return decoded;
  const applied = decoded.value.object;
  const refused = appliedManagedFieldsError(applied);
  if (refused !== undefined) return { ok: false, error: refused };
  return { ok: true, value: { applied, warnings: [...warnings, ...decoded.value.warnings] } };
}

export async function apply<T extends KubeObject>(
  c: StoreContext<T>,
  ctx: RequestContext,
  name: string,
  p: ApplyPatch,
  opts: WriteOptions,
  sub: Subresource,
): Promise<Result<Written<T>, Status>> {
  const manager = opts.fieldManager ?? '';
  if (manager === '') {
    // The endpoint refuses this already; a direct caller of the store gets the same answer.
    return { ok: false, error: status.invalid('meta.k8s.io', 'PatchOptions', '', [required('fieldManager', 'is required for apply patch')]) };
  }
  const config = decodeConfiguration(c, p, opts);
  if (!config.ok) return config;
  const { applied, warnings } = config.value;

  const attempt = (live: T | undefined, force: boolean): ApplyResult =>
    applyConfiguration({
      live,
      applied: clone(applied),
      manager,
      force,
      schema: c.resource.schema,
      apiVersion: c.apiVersion,
      now: ctx.now(),
      ignoredTopLevelFields: ignoredTopLevelFields(c, sub),
      subresource: managerSubresource(sub),
    });
  const run = (live: T | undefined): ApplyResult => {
    const result = attempt(live, opts.force ?? false);
    if (result.ok || live === undefined || !upgradesClientSideApply(manager)) return result;
    // Conflicts over what kubectl's client-side apply configured are forced (lastAppliedManager).
    const excused = lastAppliedFields(live, c.resource.schema, c.apiVersion);
    if (excused === undefined) return result;
    const remaining = unexcusedConflicts(result.conflicts, excused);
    return remaining.length === 0 ? attempt(live, true) : { ok: false, conflicts: remaining };
  };

  const createMissing = async (): Promise<CreateOutcome<T>> => {
    const result = run(undefined);
    if (!result.ok) return { ok: false, error: conflictStatus(result.conflicts, c.gr, name) };
    return createApplied(c, ctx, name, result, opts, warnings);
  };

  return guardedUpdate(c, ctx, {
    name,
    sub,
    opts,
    intent: (current) => {
      const result = run(current);
      if (!result.ok) return { ok: false, error: conflictStatus(result.conflicts, c.gr, name) };
      const obj = result.object as T;
      // A configuration that names a resourceVersion asks for optimistic concurrency against it.
      if ((obj.metadata.resourceVersion ?? '') !== (current.metadata.resourceVersion ?? '')) {
        return { ok: false, error: status.staleResourceVersion(c.gr, name) };
      }
      return { ok: true, value: { object: obj, warnings: [...warnings], managedFields: result.managedFields } };
    },
    // Subresources never create on update (kube-apiserver passes forceAllowCreate=false for them).
    ...(sub === 'main' ? { createMissing } : {}),
  });
}

/** The create half of an apply: rest.BeforeCreate on the applied object, then a create-if-absent write. */
async function createApplied<T extends KubeObject>(
  c: StoreContext<T>,
  ctx: RequestContext,
  name: string,
  result: Extract<ApplyResult, { ok: true }>,
  opts: WriteOptions,
  warnings: readonly string[],
): Promise<CreateOutcome<T>> {
  const object = result.object as T;
  const meta = object.metadata;
  // The apply patcher's checks on a new object: the URL names it, and a uid names an object that is gone.
  if ((meta.name ?? '') !== name) {
    return { ok: false, error: status.badRequest(`the name of the object (${meta.name ?? ''}) does not match the name on the URL (${name})`) };
  }
  if ((meta.uid ?? '') !== '') {
    return {
      ok: false,
      error: status.conflict(c.gr, name, `uid mismatch: the provided object specified uid ${meta.uid ?? ''}, and no existing object was found`),
    };
  }
  // Creating through the update path, kube-apiserver does not hold a resourceVersion against the object.
  delete meta.resourceVersion;
  const prepared = prepareCreate(c, ctx, object);
  if (!prepared.ok) return prepared;
  const obj = withManagedFields(prepared.value.object, result.managedFields);
  const all = [...warnings, ...prepared.value.warnings];
  if (opts.dryRun) return { ok: true, value: { object: c.typed(obj), warnings: all, created: true } };
  const stored = await c.storage.create(c.key(obj.metadata.namespace, name), obj);
  if (!stored.ok) return stored.error.kind === 'KeyExists' ? 'exists' : { ok: false, error: c.toStatus(stored.error, name) };
  return { ok: true, value: { object: c.typed(stored.value), warnings: all, created: true } };
}
