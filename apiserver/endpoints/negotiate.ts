/**
 * Accept negotiation (WIRE-2): media ranges are parsed with their parameters, ranges we cannot
 * produce are skipped (clients list protobuf first), and 406 only when nothing fits.
 */
import * as status from '../api/status.js';
import type { Status } from '../api/status.js';
import type { Result } from '../../storage/interface.js';

export interface MediaRange {
  readonly type: string;
  readonly params: Readonly<Record<string, string>>;
}

export function parseAccept(header: string | undefined): MediaRange[] {
  if (header === undefined || header.trim() === '') return [{ type: '*/*', params: {} }];
  return header.split(',').map((part) => {
    const [type = '', ...params] = part.split(';').map((s) => s.trim());
    const p: Record<string, string> = {};
    for (const kv of params) {
      const eq = kv.indexOf('=');
      if (eq > 0) p[kv.slice(0, eq).trim().toLowerCase()] = kv.slice(eq + 1).trim().replace(/^"|"$/g, '');
    }
    return { type: type.toLowerCase(), params: p };
  });
}

export type Representation = { readonly kind: 'json' };

const isJSONRange = (r: MediaRange): boolean =>
  (r.type === 'application/json' || r.type === '*/*' || r.type === 'application/*') && r.params['as'] === undefined;

export function negotiate(header: string | undefined): Result<Representation, Status> {
  const ranges = parseAccept(header);
  if (ranges.some(isJSONRange)) return { ok: true, value: { kind: 'json' } };
  return {
    ok: false,
    error: status.notAcceptable(`only the following media types are accepted: application/json`),
  };
}
