/**
 * Query and body options of each verb, validated as kube-apiserver validates CreateOptions,
 * ListOptions and DeleteOptions: a malformed value the decoder rejects is 400, a rule broken by
 * well-formed values is 422 with kind <Verb>Options and group meta.k8s.io.
 */
import { forbidden, invalid, notSupported, required, tooLong, type FieldError } from '../api/field.js';
import { parseFieldSelector } from '../api/selector/fields.js';
import { parseLabelSelector } from '../api/selector/labels.js';
import * as status from '../api/status.js';
import type { Status } from '../api/status.js';
import type { Result } from '../../storage/interface.js';
import type { DeleteOptions, ListOptions, PropagationPolicy, WatchOptions, WriteOptions } from '../registry/store/index.js';
import type { FieldValidation } from '../registry/store/decode.js';
import type { ResourceVersionMatch } from '../registry/store/read.js';
import type { PatchType } from '../registry/store/patch.js';

type OptionsKind = 'CreateOptions' | 'UpdateOptions' | 'PatchOptions' | 'DeleteOptions' | 'ListOptions';

const optionsInvalid = (kind: OptionsKind, errs: FieldError[]): Status => status.invalid('meta.k8s.io', kind, '', errs);

const fail = <T>(s: Status): Result<T, Status> => ({ ok: false, error: s });

function parseDryRun(values: readonly string[], errs: FieldError[]): boolean {
  for (const v of values) if (v !== 'All') errs.push(notSupported('dryRun', v, ['All']));
  return values.length > 0;
}

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** The limit kube-apiserver puts on fieldManager, in bytes (validation.FieldManagerMaxLength). */
export const fieldManagerMaxLength = 128;

/** ValidateFieldManager: at most 128 bytes, every character printable (positions are byte offsets). */
export function validateFieldManager(manager: string): FieldError[] {
  const errs: FieldError[] = [];
  if (Buffer.byteLength(manager, 'utf8') > fieldManagerMaxLength) errs.push(tooLong('fieldManager', fieldManagerMaxLength));
  let offset = 0;
  for (const ch of manager) {
    if (!printable.test(ch)) {
      const code = (ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
      errs.push(invalid('fieldManager', manager, `invalid character U+${code} (at position ${String(offset)})`));
    }
    offset += Buffer.byteLength(ch, 'utf8');
  }
  return errs;
}

/**
 * prefixFromUserAgent: the User-Agent up to its first '/', without unprintable characters, cut to
 * 128 bytes — the manager of a write that names none (kubectl names itself, controllers should).
 */
export function managerFromUserAgent(userAgent: string | undefined): string {
  let out = '';
  for (const ch of (userAgent ?? '').split('/')[0] ?? '') {
    if (!printable.test(ch)) continue;
    if (Buffer.byteLength(out + ch, 'utf8') > fieldManagerMaxLength) break;
    out += ch;
  }
  return out;
}

/**
 * CreateOptions, UpdateOptions and PatchOptions from the query. For a PATCH, `patchType` decides the
 * apply-only rules of ValidatePatchOptions: apply needs an explicit fieldManager (controllers must
 * name themselves), and `force` is refused on any other patch.
 */
export function parseWriteOptions(
  kind: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions',
  q: URLSearchParams,
  userAgent: string | undefined,
  patchType?: PatchType,
): Result<WriteOptions, Status> {
  const errs: FieldError[] = [];
  const explicit = q.get('fieldManager') ?? '';
  let force: boolean | undefined;
  if (kind === 'PatchOptions') {
    if (patchType === 'apply') {
      if (explicit === '') errs.push(required('fieldManager', 'is required for apply patch'));
      const parsed = parseBool(q, 'force');
      if (!parsed.ok) return parsed;
      force = parsed.value;
    } else if (q.has('force')) {
      errs.push(forbidden('force', 'may not be specified for non-apply patch'));
    }
  }
  errs.push(...validateFieldManager(explicit));
  const dryRun = parseDryRun(q.getAll('dryRun'), errs);
  const fv = q.get('fieldValidation') ?? '';
  let fieldValidation: FieldValidation = 'Warn';
  if (fv === 'Ignore' || fv === 'Warn' || fv === 'Strict') fieldValidation = fv;
  else if (fv !== '') errs.push(notSupported('fieldValidation', fv, ['Ignore', 'Strict', 'Warn']));
  if (errs.length > 0) return fail(optionsInvalid(kind, errs));
  // managerOrUserAgent: the query's manager, else one derived from the User-Agent (may be empty).
  const fieldManager = explicit !== '' ? explicit : managerFromUserAgent(userAgent);
  return {
    ok: true,
    value: { dryRun, fieldValidation, ...(fieldManager === '' ? {} : { fieldManager }), ...(force === undefined ? {} : { force }) },
  };
}

const isRevision = (rv: string): boolean => /^[0-9]+$/.test(rv) && rv.length <= 19;

function parseBool(q: URLSearchParams, name: string): Result<boolean | undefined, Status> {
  const v = q.get(name);
  if (v === null) return { ok: true, value: undefined };
  if (v === 'true' || v === '1' || v === '') return { ok: true, value: true };
  if (v === 'false' || v === '0') return { ok: true, value: false };
  return fail(status.badRequest(`invalid boolean value for ${name}: "${v}"`));
}

export interface ParsedList {
  readonly list: ListOptions;
  readonly watch: WatchOptions;
  readonly isWatch: boolean;
  /** Requested watch timeout; undefined = the server's random default. */
  readonly timeoutSeconds: number | undefined;
}

/** Parses list and watch options together: the same query serves both verbs. */
export function parseListOptions(q: URLSearchParams, isWatch: boolean): Result<ParsedList, Status> {
  const labels = parseLabelSelector(q.get('labelSelector') ?? '');
  if (!labels.ok) return fail(status.badRequest(labels.error));
  const fields = parseFieldSelector(q.get('fieldSelector') ?? '');
  if (!fields.ok) return fail(status.badRequest(fields.error));

  const limitRaw = q.get('limit') ?? '';
  const limit = limitRaw === '' ? 0 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 0) return fail(status.badRequest(`invalid value for limit: "${limitRaw}"`));
  const cont = q.get('continue') ?? '';
  const rv = q.get('resourceVersion') ?? '';
  if (rv !== '' && !isRevision(rv)) return fail(status.badRequest(`invalid resource version: "${rv}"`));
  const timeoutRaw = q.get('timeoutSeconds');
  const timeoutSeconds = timeoutRaw === null || timeoutRaw === '' ? undefined : Number(timeoutRaw);
  if (timeoutSeconds !== undefined && (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 0)) {
    return fail(status.badRequest(`invalid value for timeoutSeconds: "${timeoutRaw ?? ''}"`));
  }
  const bookmarks = parseBool(q, 'allowWatchBookmarks');
  if (!bookmarks.ok) return bookmarks;
  const initial = parseBool(q, 'sendInitialEvents');
  if (!initial.ok) return initial;

  const errs: FieldError[] = [];
  const matchRaw = q.get('resourceVersionMatch') ?? '';
  let match: ResourceVersionMatch | undefined;
  if (matchRaw === 'NotOlderThan' || matchRaw === 'Exact') match = matchRaw;
  else if (matchRaw !== '') errs.push(notSupported('resourceVersionMatch', matchRaw, ['Exact', 'NotOlderThan']));
  if (match !== undefined) {
    if (rv === '' && !(isWatch && initial.value !== undefined)) errs.push(forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided'));
    if (cont !== '') errs.push(forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'));
    if (match === 'Exact' && rv === '0') errs.push(forbidden('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'));
    if (isWatch && initial.value === undefined) errs.push(forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided'));
  }
  if (initial.value !== undefined) {
    if (!isWatch) errs.push(forbidden('sendInitialEvents', 'sendInitialEvents is forbidden for list'));
    else if (match !== 'NotOlderThan') {
      errs.push(required('resourceVersionMatch', 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan'));
    }
  }
  if (errs.length > 0) return fail(optionsInvalid('ListOptions', errs));
  if (cont !== '' && rv !== '' && rv !== '0') {
    return fail(status.badRequest('specifying resource version is not allowed when using continue'));
  }
  return {
    ok: true,
    value: {
      isWatch,
      timeoutSeconds,
      list: { labelSelector: labels.value, fieldSelector: fields.value, limit, continue: cont, resourceVersion: rv, resourceVersionMatch: match },
      watch: {
        labelSelector: labels.value,
        fieldSelector: fields.value,
        resourceVersion: rv,
        sendInitialEvents: initial.value,
        allowWatchBookmarks: bookmarks.value ?? false,
      },
    },
  };
}

/** GET of one object: only resourceVersion matters. */
export function parseGetResourceVersion(q: URLSearchParams): Result<string, Status> {
  const rv = q.get('resourceVersion') ?? '';
  return rv === '' || isRevision(rv) ? { ok: true, value: rv } : fail(status.badRequest(`invalid resource version: "${rv}"`));
}

interface RawDeleteOptions {
  propagationPolicy?: unknown;
  orphanDependents?: unknown;
  preconditions?: { uid?: unknown; resourceVersion?: unknown } | null;
  dryRun?: unknown;
  gracePeriodSeconds?: unknown;
  apiVersion?: unknown;
  kind?: unknown;
}

/** DeleteOptions from the JSON body when there is one, else from the query (§9.7). */
export function parseDeleteOptions(q: URLSearchParams, body: unknown): Result<DeleteOptions, Status> {
  let raw: RawDeleteOptions;
  if (body !== undefined) {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return fail(status.badRequest('the body of a delete request must be a DeleteOptions object'));
    raw = body as RawDeleteOptions;
    const av = raw.apiVersion;
    if (av !== undefined && av !== 'meta.k8s.io/v1' && av !== 'v1') {
      return fail(status.badRequest(`the API version in the data (${String(av)}) does not match the expected API version (meta.k8s.io/v1)`));
    }
    if (raw.kind !== undefined && raw.kind !== 'DeleteOptions') {
      return fail(status.badRequest(`the kind in the data (${String(raw.kind)}) does not match the expected kind (DeleteOptions)`));
    }
  } else {
    const orphan = q.get('orphanDependents');
    raw = {
      ...(q.has('propagationPolicy') ? { propagationPolicy: q.get('propagationPolicy') } : {}),
      ...(orphan === null ? {} : { orphanDependents: orphan === 'true' ? true : orphan === 'false' ? false : orphan }),
      dryRun: q.getAll('dryRun'),
      ...(q.has('gracePeriodSeconds') ? { gracePeriodSeconds: Number(q.get('gracePeriodSeconds')) } : {}),
    };
  }
  const errs: FieldError[] = [];
  const dryRunValues = raw.dryRun === undefined || raw.dryRun === null ? [] : Array.isArray(raw.dryRun) ? raw.dryRun.map(String) : [String(raw.dryRun)];
  const dryRun = parseDryRun(dryRunValues, errs);
  let policy: PropagationPolicy | undefined;
  const pp = raw.propagationPolicy;
  if (pp === 'Orphan' || pp === 'Background' || pp === 'Foreground') policy = pp;
  else if (pp !== undefined && pp !== null && pp !== '') errs.push(notSupported('propagationPolicy', pp, ['Foreground', 'Background', 'Orphan']));
  const od = raw.orphanDependents;
  if (od !== undefined && od !== null && typeof od !== 'boolean') return fail(status.badRequest(`invalid value for orphanDependents: ${JSON.stringify(od)}`));
  if (typeof od === 'boolean' && policy !== undefined) {
    errs.push(invalid('propagationPolicy', policy, 'orphanDependents and deletionPropagation cannot be both set'));
  }
  if (od === true) policy = 'Orphan';
  const gp = raw.gracePeriodSeconds;
  if (gp !== undefined && gp !== null && (typeof gp !== 'number' || !Number.isInteger(gp))) {
    return fail(status.badRequest('invalid value for gracePeriodSeconds'));
  }
  if (errs.length > 0) return fail(optionsInvalid('DeleteOptions', errs));
  const pre = raw.preconditions ?? {};
  const uid = typeof pre.uid === 'string' && pre.uid !== '' ? pre.uid : undefined;
  const rv = typeof pre.resourceVersion === 'string' && pre.resourceVersion !== '' ? pre.resourceVersion : undefined;
  return {
    ok: true,
    value: {
      dryRun,
      preconditions: { ...(uid === undefined ? {} : { uid }), ...(rv === undefined ? {} : { resourceVersion: rv }) },
      propagationPolicy: policy,
      orphanDependentsFalse: od === false,
    },
  };
}
