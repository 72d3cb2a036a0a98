/**
 * Reading request bodies: a hard size limit (413 before anything is parsed), the media types each
 * verb accepts (415 otherwise), and JSON parsing whose failures are the client's 400.
 */
import type { Request } from 'express';
import { parse as parseYAML } from 'yaml';
import * as status from '../api/status.js';
import type { Status } from '../api/status.js';
import type { Result } from '../../storage/interface.js';
import type { ApplyPatch, Patch, PatchType } from '../registry/store/patch.js';
import { maxNestingDepth, type FieldValidation } from '../registry/store/decode.js';
import type { WriteOptions } from '../registry/store/index.js';
import { nestingDepth } from '../../openapi/structural.js';
import { parseWriteOptions } from './options.js';

/** kube-apiserver's limit for request bodies (3 MiB). */
export const maxBodyBytes = 3 * 1024 * 1024;

export function readBody(req: Request, limit = maxBodyBytes): Promise<Result<Buffer, Status>> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) {
      // Do not read a body we will refuse; the connection is closed after the answer.
      resolve({ ok: false, error: status.requestEntityTooLarge(`limit is ${String(limit)}`) });
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        resolve({ ok: false, error: status.requestEntityTooLarge(`limit is ${String(limit)}`) });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve({ ok: true, value: Buffer.concat(chunks) });
      }
    });
    req.on('error', () => {
      if (!done) {
        done = true;
        resolve({ ok: false, error: status.badRequest('error reading the request body') });
      }
    });
  });
}

/** The media type without parameters, lower-cased. */
export const mediaType = (header: string | undefined): string => (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

/**
 * Bodies nesting deeper than any acceptable object (plus a JSON patch's array and operation) are
 * refused as soon as they are parsed: copying or patching them would overflow the stack (a 500).
 */
export const maxBodyNestingDepth = maxNestingDepth + 2;

function withinDepth(value: unknown): Result<unknown, Status> {
  if (nestingDepth(value, maxBodyNestingDepth) > maxBodyNestingDepth) {
    return { ok: false, error: status.badRequest(`the body of the request nests deeper than ${String(maxBodyNestingDepth)} levels`) };
  }
  return { ok: true, value };
}

export function parseJSON(buf: Buffer): Result<unknown, Status> {
  try {
    return withinDepth(JSON.parse(buf.toString('utf8')) as unknown);
  } catch (e) {
    return { ok: false, error: status.badRequest(`the body of the request could not be decoded as JSON: ${e instanceof Error ? e.message : String(e)}`) };
  }
}

/**
 * The keys that appear twice in one object of a JSON text that JSON.parse accepted (which keeps the
 * last one silently): what fieldValidation=Strict refuses, as the Kubernetes strict decoder does.
 */
export function duplicateJSONKeys(text: string): string[] {
  const found: string[] = [];
  // One entry per open container: the keys seen so far of an object, undefined for an array.
  const open: (Set<string> | undefined)[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '{') open.push(new Set());
    else if (ch === '[') open.push(undefined);
    else if (ch === '}' || ch === ']') open.pop();
    else if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const raw = text.slice(i, j + 1);
      i = j;
      let k = j + 1;
      while (k < text.length && /\s/.test(text[k] ?? '')) k++;
      const keys = open[open.length - 1];
      if (text[k] !== ':' || keys === undefined) continue;
      const key = JSON.parse(raw) as string;
      if (keys.has(key)) found.push(key);
      else keys.add(key);
    }
  }
  return found;
}

/**
 * Repeated keys in a JSON object body, judged by fieldValidation like unknown fields: Strict → a 400,
 * Warn → one warning each, Ignore → nothing (the JSON parser kept the last value). YAML bodies refuse
 * them always, at decoding.
 */
export function duplicateKeyFindings(contentType: string | undefined, buf: Buffer, fieldValidation: FieldValidation): Result<readonly string[], Status> {
  const mt = mediaType(contentType);
  if (fieldValidation === 'Ignore' || (mt !== '' && mt !== 'application/json')) return { ok: true, value: [] };
  const found = duplicateJSONKeys(buf.toString('utf8')).map((k) => `duplicate field ${JSON.stringify(k)}`);
  if (found.length > 0 && fieldValidation === 'Strict') return { ok: false, error: status.badRequest(`strict decoding error: ${found.join(', ')}`) };
  return { ok: true, value: found };
}

/** YAML 1.2 into plain JSON values; anchors and tags that JSON cannot carry are errors. */
export function parseYAMLBody(buf: Buffer): Result<unknown, Status> {
  try {
    return withinDepth(parseYAML(buf.toString('utf8'), { maxAliasCount: 100, uniqueKeys: true }) as unknown);
  } catch (e) {
    return { ok: false, error: status.badRequest(`the body of the request could not be decoded as YAML: ${e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e)}`) };
  }
}

const objectMediaTypes = ['application/json', 'application/yaml'];

/** POST and PUT bodies: JSON, or YAML as kube-apiserver also accepts. */
export function decodeObjectBody(contentType: string | undefined, buf: Buffer): Result<unknown, Status> {
  const mt = mediaType(contentType);
  if (mt === 'application/yaml' || mt === 'application/x-yaml') return parseYAMLBody(buf);
  if (mt !== '' && mt !== 'application/json') {
    return { ok: false, error: status.unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${objectMediaTypes.join(', ')}`) };
  }
  return parseJSON(buf);
}

/** A create's or update's options and decoded object body. */
export interface ObjectWrite {
  readonly options: WriteOptions;
  readonly body: unknown;
  /** fieldValidation=Warn: the body's repeated keys, for the response's Warning headers. */
  readonly warnings: readonly string[];
}

/**
 * The options and body of a create or update (POST, PUT), failing in kube-apiserver's order: the
 * options (400), reading the body (413), decoding it (415, 400), then a repeated key (Strict: 400;
 * Warn: a warning).
 */
export async function readObjectWrite(req: Request, query: URLSearchParams, kind: 'CreateOptions' | 'UpdateOptions'): Promise<Result<ObjectWrite, Status>> {
  const wo = parseWriteOptions(kind, query, req.headers['user-agent']);
  if (!wo.ok) return wo;
  const buf = await readBody(req);
  if (!buf.ok) return buf;
  const body = decodeObjectBody(req.headers['content-type'], buf.value);
  if (!body.ok) return body;
  const duplicates = duplicateKeyFindings(req.headers['content-type'], buf.value, wo.value.fieldValidation);
  if (!duplicates.ok) return duplicates;
  return { ok: true, value: { options: wo.value, body: body.value, warnings: duplicates.value } };
}

const patchMediaTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];

/**
 * The patch type of a PATCH by Content-Type, decided before anything else as kube-apiserver does (a
 * bad type is 415 whatever the options). Strategic merge patch is refused with a pointer to the
 * alternatives.
 */
export function patchTypeOf(contentType: string | undefined): Result<PatchType, Status> {
  switch (mediaType(contentType)) {
    case 'application/json-patch+json':
      return { ok: true, value: 'json' };
    case 'application/merge-patch+json':
      return { ok: true, value: 'merge' };
    case 'application/apply-patch+yaml':
      return { ok: true, value: 'apply' };
    case 'application/strategic-merge-patch+json':
      // The garbage collector switches to merge patch after this 415; kubectl users need --type=merge.
      return {
        ok: false,
        error: status.unsupportedMediaType(
          'strategic merge patch is not supported for this resource: use a JSON merge patch (application/merge-patch+json, kubectl patch --type=merge) or a JSON patch (application/json-patch+json, kubectl patch --type=json)',
        ),
      };
    default:
      return {
        ok: false,
        error: status.unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${patchMediaTypes.join(', ')}`),
      };
  }
}

/** The YAML library's message without its source excerpt (which ends the first line with ':'). */
const firstLine = (e: unknown): string => (e instanceof Error ? (e.message.split('\n')[0] ?? '').replace(/:$/, '') : String(e));

/**
 * An apply configuration: YAML, of which JSON is a subset (kubectl sends JSON). Like the apply
 * patcher, a repeated key is not a decoding error; it is kept as a strict-decoding error for
 * fieldValidation to judge (Strict → 400, Warn → warning).
 */
export function decodeApplyBody(buf: Buffer): Result<ApplyPatch, Status> {
  const text = buf.toString('utf8');
  let config: unknown;
  try {
    config = parseYAML(text, { maxAliasCount: 100, uniqueKeys: false }) as unknown;
  } catch (e) {
    return { ok: false, error: status.badRequest(`error decoding YAML: ${firstLine(e)}`) };
  }
  const shallow = withinDepth(config);
  if (!shallow.ok) return shallow;
  const duplicateKeys: string[] = [];
  try {
    parseYAML(text, { maxAliasCount: 100, uniqueKeys: true });
  } catch (e) {
    duplicateKeys.push(firstLine(e));
  }
  return { ok: true, value: { type: 'apply', config, duplicateKeys } };
}

/** A PATCH body of the given type. */
export function decodePatchBody(type: PatchType, buf: Buffer): Result<Patch, Status> {
  switch (type) {
    case 'json': {
      const ops = parseJSON(buf);
      return ops.ok ? { ok: true, value: { type: 'json', ops: ops.value } } : ops;
    }
    case 'merge': {
      const doc = parseJSON(buf);
      return doc.ok ? { ok: true, value: { type: 'merge', doc: doc.value } } : doc;
    }
    case 'apply':
      return decodeApplyBody(buf);
  }
}
