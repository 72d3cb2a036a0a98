/**
 * The patch kinds a PATCH may carry, and the two that are computed here: JSON patch (RFC 6902,
 * through fast-json-patch) and JSON merge patch (RFC 7386). A malformed patch document is the
 * client's 400; a patch that does not apply (failed `test`, missing path) is 422, as kube-apiserver
 * answers. Server-side apply (`apply`) runs through the field manager instead (./apply.ts).
 */
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import * as status from '../../api/status.js';
import type { Status } from '../../api/status.js';
import type { Result } from '../../../storage/interface.js';

export type JsonOrMergePatch = { readonly type: 'json'; readonly ops: unknown } | { readonly type: 'merge'; readonly doc: unknown };

/**
 * An apply configuration as parsed from YAML (or JSON). `duplicateKeys` holds the strict-decoding
 * errors of the document (repeated keys), which fieldValidation turns into a 400 or warnings.
 */
export interface ApplyPatch {
  readonly type: 'apply';
  readonly config: unknown;
  readonly duplicateKeys: readonly string[];
}

export type Patch = JsonOrMergePatch | ApplyPatch;

export type PatchType = Patch['type'];

/** More operations than this are refused with 413, as kube-apiserver does. */
export const maxJsonPatchOperations = 10000;

const patchFailed = (message: string): Status => status.failure(422, 'Invalid', message);

export function validateJsonPatch(ops: unknown): Result<Operation[], Status> {
  if (!Array.isArray(ops)) return { ok: false, error: status.badRequest('json patch must be a JSON array of operations') };
  if (ops.length > maxJsonPatchOperations) {
    return {
      ok: false,
      error: status.requestEntityTooLarge(`The allowed maximum operations in a JSON patch is ${String(maxJsonPatchOperations)}, got ${String(ops.length)}`),
    };
  }
  const err = fastJsonPatch.validate(ops as Operation[]);
  if (err !== undefined) return { ok: false, error: status.badRequest(`invalid json patch: ${err.message.split('\n')[0] ?? ''}`) };
  return { ok: true, value: ops as Operation[] };
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export function applyPatch(current: unknown, p: JsonOrMergePatch): Result<unknown, Status> {
  if (p.type === 'merge') {
    if (typeof p.doc !== 'object' || p.doc === null || Array.isArray(p.doc)) {
      return { ok: false, error: status.badRequest('merge patch must be a JSON object') };
    }
    return { ok: true, value: mergePatch(current, p.doc) };
  }
  const ops = validateJsonPatch(p.ops);
  if (!ops.ok) return ops;
  try {
    // validateOperation=true, mutateDocument=false, banPrototypeModifications=true
    return { ok: true, value: fastJsonPatch.applyPatch(current, ops.value, true, false, true).newDocument };
  } catch (e) {
    const name = (e as { name?: unknown }).name;
    const message = e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e);
    if (name === 'TEST_OPERATION_FAILED') return { ok: false, error: patchFailed('the server rejected our request due to an error in our request: test operation failed') };
    return { ok: false, error: patchFailed(`the server rejected our request due to an error in our request: ${message}`) };
  }
}
