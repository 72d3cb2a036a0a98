/**
 * Delegated authentication and authorization, as k8s.io/apiserver's DelegatingAuthenticatorConfig and
 * DelegatingAuthorizerConfig build them for an aggregated server:
 *
 * authentication (AUTHN-6/7): union of front proxy, client certificate and bearer token; the first
 * success wins and gets `system:authenticated`; errors count only when nothing succeeded (→ 401);
 * nothing at all → anonymous. Authorization and X-Remote-* headers are removed afterwards (AUTHN-2).
 *
 * authorization (AUTHZ-1..5): `system:masters` and the exact health paths are allowed locally, the
 * rest asks kube-apiserver with a SubjectAccessReview, cached 10 s (allow and deny alike), failing
 * closed when the review cannot be made.
 */
import { AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { failure, type Status } from '../api/status.js';
import type { RequestInfo } from '../endpoints/request-info.js';
import { clientNodeCall } from '../kube/client-node-call.js';
import type { UserInfo } from '../registry/rest.js';
import type { AuthenticationConfig } from './authentication-config.js';
import { createRequestHeaderAuthenticator, stripAuthenticationHeaders } from './requestheader.js';
import { createBearerTokenAuthenticator, type TokenAuthenticator } from './tokenreview.js';
import type { AuthenticationResult, Authenticator, Authorizer, Decision } from './types.js';
import {
  callWithBackoff,
  createExpiringLru,
  defaultReviewBackoff,
  realSleep,
  type BackoffOptions,
  type CallOptions,
  type ReviewCallResult,
} from './webhook.js';
import { createX509Authenticator } from './x509.js';

export const allAuthenticated = 'system:authenticated';
export const allUnauthenticated = 'system:unauthenticated';
export const anonymousUser = 'system:anonymous';
export const mastersGroup = 'system:masters';

// --- Authentication ---

/** AuthenticatedGroupAdder: every authenticated user is in system:authenticated, exactly once. */
export function withAuthenticatedGroup(user: UserInfo): UserInfo {
  if (user.name === anonymousUser || user.groups.includes(allAuthenticated) || user.groups.includes(allUnauthenticated)) return user;
  return { ...user, groups: [...user.groups, allAuthenticated] };
}

/** unionauth.New: the first success wins; errors are reported only when no authenticator succeeded. */
export function createUnionAuthenticator(authenticators: readonly Authenticator[]): Authenticator {
  return {
    authenticate: async (req) => {
      const errors: string[] = [];
      for (const a of authenticators) {
        const r = await a.authenticate(req);
        if (r.kind === 'authenticated') return r;
        if (r.kind === 'error') errors.push(r.message);
      }
      return errors.length === 0 ? { kind: 'anonymous' } : { kind: 'error', message: errors.length === 1 ? (errors[0] ?? '') : `[${errors.join(', ')}]` };
    },
  };
}

export interface DelegatingAuthenticatorConfig {
  /**
   * The configuration in force, read on every request: pass `watch.current` of
   * watchAuthenticationConfig so that a CA rotation applies to the next request.
   */
  readonly authenticationConfig: () => AuthenticationConfig | undefined;
  /** TokenReview-backed tokens; omit to ignore Authorization headers (they are still stripped). */
  readonly tokens?: TokenAuthenticator;
  readonly now?: () => Date;
}

/**
 * Needs from the request: the TLS socket (`req.socket`, from an https server with `requestCert: true,
 * rejectUnauthorized: false`) and the headers (`rawHeaders`, `headers`), which it edits in place.
 */
export function createDelegatingAuthenticator(config: DelegatingAuthenticatorConfig): Authenticator {
  const now = config.now ?? (() => new Date());
  const union = createUnionAuthenticator([
    createRequestHeaderAuthenticator({ config: () => config.authenticationConfig()?.requestHeader, now }),
    createX509Authenticator({ clientCA: () => config.authenticationConfig()?.clientCA, now }),
    ...(config.tokens === undefined ? [] : [createBearerTokenAuthenticator(config.tokens)]),
  ]);
  return {
    authenticate: async (req) => {
      let result: AuthenticationResult;
      try {
        result = await union.authenticate(req);
      } finally {
        // Whatever the outcome, nothing after us may read credentials or asserted identities.
        stripAuthenticationHeaders(req, config.authenticationConfig()?.requestHeader);
      }
      return result.kind === 'authenticated' ? { kind: 'authenticated', user: withAuthenticatedGroup(result.user) } : result;
    },
  };
}

// --- Authorization attributes ---

/** path.IsValidPathSegmentName: what may become a name taken from a field selector. */
const isValidPathSegmentName = (name: string): boolean => name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');

/** fields.ParseSelector + RequiresExactMatch('metadata.name'); undefined when absent or unparsable. */
export function fieldSelectorName(selector: string): string | undefined {
  // Split on commas that are not escaped with a backslash.
  const terms: string[] = [];
  let cur = '';
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i] ?? '';
    if (c === '\\' && i + 1 < selector.length) {
      cur += c + (selector[i + 1] ?? '');
      i++;
    } else if (c === ',') {
      terms.push(cur);
      cur = '';
    } else cur += c;
  }
  terms.push(cur);
  terms.sort();
  let found: string | undefined;
  for (const term of terms) {
    if (term === '') continue;
    const m = /^(.*?)(!=|==|=)(.*)$/s.exec(term);
    if (m === null) return undefined;
    const [, field = '', op = '', escaped = ''] = m;
    let value = '';
    for (let i = 0; i < escaped.length; i++) {
      const c = escaped[i] ?? '';
      if (c !== '\\') {
        value += c;
        continue;
      }
      const next = escaped[i + 1];
      if (next !== '\\' && next !== ',' && next !== '=') return undefined;
      value += next;
      i++;
    }
    if (found === undefined && field === 'metadata.name' && op !== '!=') found = value;
  }
  return found;
}

/**
 * RequestInfoFactory's rule: a list or watch whose field selector pins metadata.name is authorized
 * (and reported in a 403) with that name, so `kubectl wait`/`get --field-selector` work with
 * resourceNames grants. Use the result for authorize() and forbiddenStatus(), not for handlers.
 */
export function authorizationInfo(info: RequestInfo, query: URLSearchParams): RequestInfo {
  if (info.kind !== 'resource' || (info.verb !== 'list' && info.verb !== 'watch') || info.name !== undefined) return info;
  const selector = query.get('fieldSelector');
  const name = selector === null ? undefined : fieldSelectorName(selector);
  return name === undefined || !isValidPathSegmentName(name) ? info : { ...info, name };
}

export interface ResourceAttributes {
  readonly namespace?: string;
  readonly verb: string;
  readonly group?: string;
  readonly version?: string;
  readonly resource?: string;
  readonly subresource?: string;
  readonly name?: string;
}

export interface SubjectAccessReviewSpec {
  readonly user: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
  readonly resourceAttributes?: ResourceAttributes;
  readonly nonResourceAttributes?: { readonly path: string; readonly verb: string };
}

export interface SubjectAccessReviewBody {
  readonly apiVersion: 'authorization.k8s.io/v1';
  readonly kind: 'SubjectAccessReview';
  readonly spec: SubjectAccessReviewSpec;
}

const nonEmpty = <K extends string>(key: K, v: string | undefined): Partial<Record<K, string>> =>
  v === undefined || v === '' ? {} : ({ [key]: v } as Partial<Record<K, string>>);

/** The SAR spec for a request, with empty fields left out as Go's omitempty does; extra keys sorted. */
export function subjectAccessReviewSpec(user: UserInfo, info: RequestInfo): SubjectAccessReviewSpec {
  const extraKeys = Object.keys(user.extra ?? {}).sort();
  const subject = {
    user: user.name,
    ...nonEmpty('uid', user.uid),
    ...(user.groups.length === 0 ? {} : { groups: [...user.groups] }),
    ...(extraKeys.length === 0 ? {} : { extra: Object.fromEntries(extraKeys.map((k) => [k, [...(user.extra?.[k] ?? [])]])) }),
  };
  if (info.kind === 'nonResource') return { ...subject, nonResourceAttributes: { path: info.path, verb: info.verb } };
  return {
    ...subject,
    resourceAttributes: {
      ...nonEmpty('namespace', info.namespace),
      verb: info.verb,
      ...nonEmpty('group', info.group),
      ...nonEmpty('version', info.version),
      ...nonEmpty('resource', info.resource),
      ...nonEmpty('subresource', info.subresource),
      ...nonEmpty('name', info.name),
    },
  };
}

// --- Authorization ---

export type CreateSubjectAccessReview = (body: SubjectAccessReviewBody, signal: AbortSignal) => Promise<ReviewCallResult>;

/** The real SubjectAccessReview call (needs system:auth-delegator). */
export function subjectAccessReviewClient(kc: KubeConfig): CreateSubjectAccessReview {
  const api = kc.makeApiClient(AuthorizationV1Api);
  return (body, signal) =>
    clientNodeCall(signal, (options) => {
      const { groups, extra, ...rest } = body.spec;
      const spec = {
        ...rest,
        ...(groups === undefined ? {} : { groups: [...groups] }),
        ...(extra === undefined ? {} : { extra: Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, [...v]])) }),
      };
      return api.createSubjectAccessReview({ body: { apiVersion: body.apiVersion, kind: body.kind, spec } }, options);
    });
}

/** status.denied → deny; status.allowed → allow; neither (no opinion) → deny; both → deny. */
export function subjectAccessReviewDecision(body: unknown): Decision | undefined {
  const status = typeof body === 'object' && body !== null ? (body as { status?: unknown }).status : undefined;
  if (typeof status !== 'object' || status === null) return undefined;
  const s = status as { allowed?: unknown; denied?: unknown; reason?: unknown };
  const reason = typeof s.reason === 'string' ? s.reason : '';
  if (s.denied === true) return { allowed: false, reason };
  if (s.allowed === true) return { allowed: true };
  return { allowed: false, reason };
}

export interface DelegatingAuthorizerOptions {
  readonly createSubjectAccessReview: CreateSubjectAccessReview;
  readonly cacheTtlMs?: number;
  readonly maxEntries?: number;
  readonly now?: () => Date;
  readonly timeoutMs?: number;
  readonly backoff?: BackoffOptions;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  /** Told why a review failed (the client sees only a generic reason). */
  readonly onError?: (message: string) => void;
}

const alwaysAllowPaths: ReadonlySet<string> = new Set(['/healthz', '/livez', '/readyz']);

export const reviewFailedReason = 'the SubjectAccessReview could not be completed';

export function createDelegatingAuthorizer(opts: DelegatingAuthorizerOptions): Authorizer {
  const ttl = opts.cacheTtlMs ?? 10_000;
  const cache = createExpiringLru<Decision>(opts.maxEntries ?? 8192, opts.now ?? (() => new Date()));
  const callOpts: CallOptions = {
    timeoutMs: opts.timeoutMs ?? 10_000,
    backoff: opts.backoff ?? defaultReviewBackoff,
    sleep: opts.sleep ?? realSleep,
    random: opts.random ?? Math.random,
  };
  return {
    authorize: async (user, info) => {
      if (user.groups.includes(mastersGroup)) return { allowed: true };
      if (info.kind === 'nonResource' && alwaysAllowPaths.has(info.path)) return { allowed: true };
      const spec = subjectAccessReviewSpec(user, info);
      const key = JSON.stringify(spec);
      const hit = cache.get(key);
      if (hit !== undefined) return hit;
      const body: SubjectAccessReviewBody = { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec };
      const res = await callWithBackoff((signal) => opts.createSubjectAccessReview(body, signal), callOpts);
      const decision = res.ok ? subjectAccessReviewDecision(res.value) : undefined;
      if (decision === undefined) {
        // Fail closed (AUTHZ-5), and do not cache: the next request asks again.
        opts.onError?.(res.ok ? 'SubjectAccessReview response without status' : `SubjectAccessReview failed: ${res.error.message}`);
        return { allowed: false, reason: reviewFailedReason };
      }
      cache.set(key, decision, ttl);
      return decision;
    },
  };
}

// --- The 403 body ---

const quote = (s: string): string => JSON.stringify(s);

/**
 * responsewriters.Forbidden: the AUTHZ-6 message and details. `info` should come from
 * authorizationInfo() so a field-selector name appears as the name.
 */
export function forbiddenStatus(user: UserInfo, info: RequestInfo, reason: string): Status {
  const why = (msg: string): string => (reason === '' ? msg : `${msg}: ${reason}`);
  if (info.kind === 'nonResource') {
    return failure(403, 'Forbidden', `forbidden: ${why(`User ${quote(user.name)} cannot ${info.verb} path ${quote(info.path)}`)}`, {});
  }
  const resource = info.subresource === undefined || info.subresource === '' ? info.resource : `${info.resource}/${info.subresource}`;
  const scope =
    info.namespace === undefined || info.namespace === '' ? 'at the cluster scope' : `in the namespace ${quote(info.namespace)}`;
  const msg = why(`User ${quote(user.name)} cannot ${info.verb} resource ${quote(resource)} in API group ${quote(info.group)} ${scope}`);
  const qualified = info.group === '' ? info.resource : `${info.resource}.${info.group}`;
  const name = info.name ?? '';
  return failure(403, 'Forbidden', name === '' ? `${qualified} is forbidden: ${msg}` : `${qualified} ${quote(name)} is forbidden: ${msg}`, {
    ...(name === '' ? {} : { name }),
    ...(info.group === '' ? {} : { group: info.group }),
    kind: info.resource,
  });
}
