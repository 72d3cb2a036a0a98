/**
 * Accept negotiation (WIRE-2, TABLE-1, POM-1): media ranges are parsed with their parameters and
 * tried by quality then order; ranges we cannot produce for this request are skipped (clients list
 * protobuf first) and 406 answers only when nothing fits.
 */
import * as status from '../api/status.js';
import type { Status } from '../api/status.js';
import type { Result } from '../../storage/interface.js';

export interface MediaRange {
  readonly type: string;
  readonly params: Readonly<Record<string, string>>;
  readonly q: number;
}

export function parseAccept(header: string | undefined): MediaRange[] {
  if (header === undefined || header.trim() === '') return [{ type: '*/*', params: {}, q: 1 }];
  const ranges = header.split(',').map((part) => {
    const [type = '', ...params] = part.split(';').map((s) => s.trim());
    const p: Record<string, string> = {};
    let q = 1;
    for (const kv of params) {
      const eq = kv.indexOf('=');
      if (eq <= 0) continue;
      const k = kv.slice(0, eq).trim().toLowerCase();
      const v = kv.slice(eq + 1).trim().replace(/^"|"$/g, '');
      if (k === 'q') q = Number.isFinite(Number(v)) ? Number(v) : 0;
      else p[k] = v;
    }
    return { type: type.toLowerCase(), params: p, q };
  });
  // Stable sort by quality: equal weights keep the client's order.
  return ranges.filter((r) => r.q > 0).sort((a, b) => b.q - a.q);
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export type Representation =
  | { readonly kind: 'json' }
  | { readonly kind: 'yaml' }
  | { readonly kind: 'table'; readonly version: 'v1' | 'v1beta1' }
  | { readonly kind: 'partialObjectMetadata'; readonly version: 'v1' | 'v1beta1' };

/** What is being answered: one object (get), a list, or a watch stream. */
export type Target = 'object' | 'list' | 'watch';

const isJSONType = (t: string): boolean => t === 'application/json' || t === '*/*' || t === 'application/*';
const metaVersion = (r: MediaRange): 'v1' | 'v1beta1' | undefined =>
  r.params['g'] === 'meta.k8s.io' && (r.params['v'] === 'v1' || r.params['v'] === 'v1beta1') ? r.params['v'] : undefined;

function representationFor(r: MediaRange, target: Target): Representation | undefined {
  const as = r.params['as'];
  if (as === undefined) {
    if (isJSONType(r.type)) return { kind: 'json' };
    if ((r.type === 'application/yaml' || r.type === 'application/x-yaml') && target !== 'watch') return { kind: 'yaml' };
    return undefined;
  }
  if (r.type !== 'application/json') return undefined;
  const v = metaVersion(r);
  if (v === undefined) return undefined;
  if (as === 'Table') return { kind: 'table', version: v };
  // The single form answers get and watch, the list form only list (a mismatch is 406).
  if (as === 'PartialObjectMetadata' && target !== 'list') return { kind: 'partialObjectMetadata', version: v };
  if (as === 'PartialObjectMetadataList' && target === 'list') return { kind: 'partialObjectMetadata', version: v };
  return undefined;
}

export function negotiate(header: string | undefined, target: Target): Result<Representation, Status> {
  for (const r of parseAccept(header)) {
    const rep = representationFor(r, target);
    if (rep !== undefined) return { ok: true, value: rep };
  }
  return {
    ok: false,
    error: status.notAcceptable(
      `only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io, application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io, application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io`,
    ),
  };
}

export function parseIncludeObject(q: URLSearchParams): Result<IncludeObject, Status> {
  const v = q.get('includeObject') ?? '';
  if (v === '') return { ok: true, value: 'Metadata' };
  if (v === 'None' || v === 'Metadata' || v === 'Object') return { ok: true, value: v };
  return { ok: false, error: status.badRequest(`includeObject: unsupported value "${v}": supported values: "None", "Metadata", "Object"`) };
}
