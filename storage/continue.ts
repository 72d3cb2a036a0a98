/**
 * Continue tokens, kube-apiserver's format: base64url (no padding) of {"v","rv","start"}, with start
 * relative to the listed prefix. Shared by the etcd storage and the watch cache, so that a page
 * served by one can be continued by the other.
 */
import { err, ok } from './interface.js';
import type { Result, StorageError } from './interface.js';

const continueVersion = 'meta.k8s.io/v1';

export interface ContinueToken {
  /** The revision every page of the list is read at. */
  readonly revision: bigint;
  /** The first key of the next page, relative to the listed prefix. */
  readonly start: string;
}

export function encodeContinue(revision: bigint, start: string): string {
  return Buffer.from(
    JSON.stringify({ v: continueVersion, rv: Number(revision), start }),
    'utf8',
  ).toString('base64url');
}

export function decodeContinue(token: string): Result<ContinueToken, StorageError> {
  const invalid = (why: string): Result<never, StorageError> =>
    err({ kind: 'InvalidContinue', message: `continue key is not valid: ${why}` });
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return invalid('not base64url');
  const raw = Buffer.from(token, 'base64url');
  if (raw.toString('base64url') !== token) return invalid('not base64url');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    return invalid('not JSON');
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    !('v' in parsed) ||
    parsed.v !== continueVersion
  ) {
    return invalid('unknown version');
  }
  if (
    !('rv' in parsed) ||
    typeof parsed.rv !== 'number' ||
    !Number.isSafeInteger(parsed.rv) ||
    parsed.rv <= 0
  ) {
    return invalid('bad resource version');
  }
  if (!('start' in parsed) || typeof parsed.start !== 'string' || parsed.start === '')
    return invalid('empty start key');
  const start = parsed.start;
  // Like kube-apiserver's path.Clean check: the key must not climb out of the listed prefix.
  if (
    start.startsWith('/') ||
    start.includes('//') ||
    start.split('/').some((s) => s === '.' || s === '..')
  ) {
    return invalid(start);
  }
  return ok({ revision: BigInt(parsed.rv), start });
}
