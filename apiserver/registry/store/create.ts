/**
 * POST: rest.BeforeCreate then a create-if-absent write. Order as in k8s.io/apiserver: namespace
 * check, system fields reset, generateName, strategy.prepareForCreate, validation (kind rules plus
 * ObjectMeta), canonicalize, the creator's managedFields entry, store. Server-side apply of a missing
 * object shares everything but the decoding and the managedFields (./apply.ts).
 */
import { randomInt } from 'node:crypto';
import type { FieldError } from '../../api/field.js';
import { rfc3339, type KubeObject } from '../../api/meta.js';
import * as status from '../../api/status.js';
import type { Status } from '../../api/status.js';
import { validateObjectMeta } from '../../api/validation/objectmeta.js';
import type { Result } from '../../../storage/interface.js';
import type { RequestContext } from '../rest.js';
import { clone, type StoreContext } from './context.js';
import { decodeBody, type FieldValidation } from './decode.js';
import { recordUpdate } from './managed.js';

export interface WriteOptions {
  readonly dryRun: boolean;
  readonly fieldValidation: FieldValidation;
  /** Query parameter, else derived from the User-Agent; absent when neither names anyone. */
  readonly fieldManager?: string;
  /** Server-side apply only: take over fields other managers own instead of answering 409. */
  readonly force?: boolean;
}

export interface Written<T> {
  readonly object: T;
  readonly warnings: readonly string[];
  /** A server-side apply created the object (201 instead of 200). */
  readonly created?: boolean;
}

/** names.SimpleNameGenerator: 5 characters from an alphabet without vowels or confusable digits. */
const nameAlphabet = 'bcdfghjklmnpqrstvwxz2456789';
const maxGeneratedNameLength = 63 - 5;
const generateNameAttempts = 8;

export function generateName(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += nameAlphabet.charAt(randomInt(nameAlphabet.length));
  return prefix.slice(0, maxGeneratedNameLength) + suffix;
}

/**
 * Checks shared by create and update that the URL decides: the body's namespace must be empty or
 * equal to the URL's (AR-S5), and cluster-scoped objects carry none.
 */
export function reconcileNamespace<T extends KubeObject>(c: StoreContext<T>, ctx: RequestContext, obj: T): Status | undefined {
  if (!c.resource.namespaced) {
    delete obj.metadata.namespace;
    return undefined;
  }
  const ns = obj.metadata.namespace ?? '';
  if (ns === '' && ctx.namespace !== undefined) obj.metadata.namespace = ctx.namespace;
  else if (ns !== ctx.namespace) {
    return status.badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  return undefined;
}

export function metaErrors<T extends KubeObject>(c: StoreContext<T>, obj: T): FieldError[] {
  return validateObjectMeta(obj.metadata, { namespaced: c.resource.namespaced, nameValidator: c.resource.validateName });
}

export interface Prepared<T> {
  readonly object: T;
  readonly warnings: string[];
  /** The name was generated from generateName: a collision is retried with another. */
  readonly generatedName: boolean;
}

/** rest.BeforeCreate on a decoded object: everything up to the write, without storage access. */
export function prepareCreate<T extends KubeObject>(c: StoreContext<T>, ctx: RequestContext, object: T): Result<Prepared<T>, Status> {
  const r = c.resource;
  let obj = object;
  const nsError = reconcileNamespace(c, ctx, obj);
  if (nsError !== undefined) return { ok: false, error: nsError };
  // System fields are the server's: whatever the client sent is replaced.
  const meta = obj.metadata;
  delete meta.uid;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  delete meta.selfLink;
  meta.creationTimestamp = rfc3339(ctx.now());
  meta.uid = c.newUid();
  const generatedName = (meta.name ?? '') === '' && (meta.generateName ?? '') !== '';
  if (generatedName) meta.name = generateName(meta.generateName ?? '');

  obj = r.strategy.prepareForCreate(ctx, obj);
  obj.metadata.generation = 1;
  const errs = [...r.strategy.validate(ctx, obj), ...metaErrors(c, obj)];
  if (errs.length > 0) return { ok: false, error: status.invalid(r.group, r.kind, obj.metadata.name ?? '', errs) };
  obj = r.strategy.canonicalize(obj);
  return { ok: true, value: { object: obj, warnings: r.strategy.warningsOnCreate(ctx, obj), generatedName } };
}

export async function create<T extends KubeObject>(
  c: StoreContext<T>,
  ctx: RequestContext,
  body: unknown,
  opts: WriteOptions,
): Promise<Result<Written<T>, Status>> {
  const decoded = decodeBody(c, clone(body), opts.fieldValidation);
  if (!decoded.ok) return decoded;
  const prepared = prepareCreate(c, ctx, decoded.value.object);
  if (!prepared.ok) return prepared;
  // The storage layer's refusal in kube-apiserver, hence after validation.
  if ((prepared.value.object.metadata.resourceVersion ?? '') !== '') {
    return { ok: false, error: status.badRequest('resourceVersion should not be set on objects to be created') };
  }
  // managedFields the body carries count (a copied object keeps its owners), then the creator's entry.
  let obj = recordUpdate(c, ctx, undefined, prepared.value.object, opts.fieldManager ?? '', 'main');
  const warnings = [...decoded.value.warnings, ...prepared.value.warnings];

  if (opts.dryRun) return { ok: true, value: { object: c.typed(obj), warnings } };

  for (let attempt = 1; ; attempt++) {
    const name = obj.metadata.name ?? '';
    const stored = await c.storage.create(c.key(obj.metadata.namespace, name), obj);
    if (stored.ok) return { ok: true, value: { object: c.typed(stored.value), warnings } };
    if (stored.error.kind === 'KeyExists' && prepared.value.generatedName) {
      // A generated name collided: try another, then give up the way kube-apiserver does.
      if (attempt >= generateNameAttempts) return { ok: false, error: status.alreadyExists(c.gr, name, 1) };
      obj = { ...obj, metadata: { ...obj.metadata, name: generateName(obj.metadata.generateName ?? '') } };
      continue;
    }
    return { ok: false, error: c.toStatus(stored.error, name) };
  }
}
