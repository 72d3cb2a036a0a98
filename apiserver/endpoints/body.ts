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

export function parseJSON(buf: Buffer): Result<unknown, Status> {
  try {
    return { ok: true, value: JSON.parse(buf.toString('utf8')) as unknown };
  } catch (e) {
    return { ok: false, error: status.badRequest(`the body of the request could not be decoded as JSON: ${e instanceof Error ? e.message : String(e)}`) };
  }
}

/** YAML 1.2 into plain JSON values; anchors and tags that JSON cannot carry are errors. */
export function parseYAMLBody(buf: Buffer): Result<unknown, Status> {
  try {
    return { ok: true, value: parseYAML(buf.toString('utf8'), { maxAliasCount: 100, uniqueKeys: true }) as unknown };
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
