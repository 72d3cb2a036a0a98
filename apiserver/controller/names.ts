/**
 * Name derivations of domain spec §6.1. They must match the request-access helper byte for byte:
 * the helper computes the AccessRequest name, the controller the names of the RBAC it owns.
 */
import { createHash } from 'node:crypto';

/** First 8 lowercase hex characters of SHA-256 over the UTF-8 bytes of `s`. */
export const sha8 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 8);

/** Cut to `n` characters, then strip trailing `-`/`.` so the result can take a `-<hash>` suffix. */
const cut = (s: string, n: number): string => s.slice(0, n).replace(/[-.]+$/, '');

export interface AccessRequestNameParts {
  readonly subjectKind: string;
  readonly subjectNamespace: string;
  readonly subjectName: string;
  readonly connector: string;
  readonly podNamespace: string;
  readonly podName: string;
  readonly podUid: string;
}

/**
 * Always hashed, so two requests that differ only in subject or Pod uid never collide, and always
 * at most 253 characters (244 + `-` + 8).
 */
export function accessRequestName(p: AccessRequestNameParts): string {
  const key = [p.subjectKind, p.subjectNamespace, p.subjectName, p.connector, p.podNamespace, p.podName, p.podUid].join('\n');
  return `${cut(`${p.connector}-${p.podName}`, 244)}-${sha8(key)}`;
}

/** `s` if it is a valid length for an object name, else a hashed cut. */
export const boundName = (s: string): string => (s.length <= 253 ? s : `${cut(s, 244)}-${sha8(s)}`);

/** `s` if it fits a label value, else its first 54 characters, `-` and a hash (no stripping). */
export const labelValue = (s: string): string => (s.length <= 63 ? s : `${s.slice(0, 54)}-${sha8(s)}`);
