/**
 * Front-proxy authentication (AUTHN-1): kube-apiserver's aggregator presents its front-proxy client
 * certificate and names the user in X-Remote-* headers. Mirrors k8s.io/apiserver's
 * x509.NewDynamicCAVerifier around headerrequest.NewDynamic:
 *
 * - no client certificate → not this authenticator's request (the headers are ignored);
 * - a certificate that does not chain to the requestheader CA (with clientAuth usage, in its validity
 *   period) or whose CN is not in requestheader-allowed-names (empty = any) → an error. In the union
 *   this error only counts when no later authenticator succeeds, so a client-CA certificate still
 *   authenticates through x509.ts, and a forged X-Remote-User next to it is never believed;
 * - a verified certificate without a username header → not authenticated (falls through).
 *
 * Headers are read from rawHeaders: Node joins repeated headers with ', ' in req.headers, but every
 * X-Remote-Group line is one group whose name may itself contain a comma.
 */
import type { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { UserInfo } from '../registry/rest.js';
import type { Authenticator } from './types.js';
import { certificateFacts, describeCertificate, peerCertificateChain, verifyClientCertificate } from './x509.js';

/** The requestheader-* keys of the extension-apiserver-authentication ConfigMap, parsed. */
export interface RequestHeaderConfig {
  /** requestheader-client-ca-file: the only CA whose client certificates may assert X-Remote-*. */
  readonly clientCA: readonly X509Certificate[];
  /** requestheader-allowed-names: allowed subject CNs; empty means any certificate of the CA. */
  readonly allowedNames: readonly string[];
  readonly usernameHeaders: readonly string[];
  /** requestheader-uid-headers: empty means the UID is never read. */
  readonly uidHeaders: readonly string[];
  readonly groupHeaders: readonly string[];
  readonly extraHeaderPrefixes: readonly string[];
}

/** Each occurrence of the header as its own value, in arrival order. */
export function headerValues(req: IncomingMessage, name: string): string[] {
  const want = name.toLowerCase();
  const raw = req.rawHeaders;
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]?.toLowerCase() === want) out.push(raw[i + 1] ?? '');
  return out;
}

// headerValue in headerrequest: the first value of the first configured header whose first value is set.
function firstHeaderValue(req: IncomingMessage, names: readonly string[]): string {
  for (const name of names) {
    const v = headerValues(req, name)[0] ?? '';
    if (v !== '') return v;
  }
  return '';
}

const allHeaderValues = (req: IncomingMessage, names: readonly string[]): string[] =>
  names.flatMap((n) => headerValues(req, n).filter((v) => v !== ''));

/** url.PathUnescape: %XX decoded as bytes; a malformed escape keeps the key as sent. */
export function unescapeExtraKey(encoded: string): string {
  if (/%(?![0-9a-fA-F]{2})/.test(encoded)) return encoded;
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; ) {
    if (encoded[i] === '%') {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      const cp = encoded.codePointAt(i) ?? 0;
      const ch = String.fromCodePoint(cp);
      bytes.push(...Buffer.from(ch, 'utf8'));
      i += ch.length;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function extraFromHeaders(req: IncomingMessage, prefixes: readonly string[]): Record<string, string[]> {
  const extra: Record<string, string[]> = {};
  const raw = req.rawHeaders;
  // Prefixes first, then headers in arrival order, so each key's values keep their order.
  for (const prefix of prefixes) {
    const p = prefix.toLowerCase();
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = (raw[i] ?? '').toLowerCase();
      if (!name.startsWith(p) || name.length === p.length) continue;
      const key = unescapeExtraKey(name.slice(p.length));
      (extra[key] ??= []).push(raw[i + 1] ?? '');
    }
  }
  return extra;
}

/** The identity the headers assert; undefined when no username header is set. Trusts the caller. */
export function userFromRequestHeaders(req: IncomingMessage, cfg: RequestHeaderConfig): UserInfo | undefined {
  const name = firstHeaderValue(req, cfg.usernameHeaders);
  if (name === '') return undefined;
  const uid = cfg.uidHeaders.length === 0 ? '' : firstHeaderValue(req, cfg.uidHeaders);
  const extra = extraFromHeaders(req, cfg.extraHeaderPrefixes);
  return {
    name,
    ...(uid === '' ? {} : { uid }),
    groups: allHeaderValues(req, cfg.groupHeaders),
    ...(Object.keys(extra).length === 0 ? {} : { extra }),
  };
}

/**
 * AUTHN-2: removes Authorization, every X-Remote-* header and the configured requestheader headers
 * (which need not start with X-Remote-) from rawHeaders, headers and headersDistinct.
 */
export function stripAuthenticationHeaders(req: IncomingMessage, cfg: RequestHeaderConfig | undefined): void {
  const exact = new Set(['authorization', ...[...(cfg?.usernameHeaders ?? []), ...(cfg?.uidHeaders ?? []), ...(cfg?.groupHeaders ?? [])].map((h) => h.toLowerCase())]);
  const prefixes = ['x-remote-', ...(cfg?.extraHeaderPrefixes ?? []).map((p) => p.toLowerCase())];
  const drop = (name: string): boolean => exact.has(name) || prefixes.some((p) => name.startsWith(p));
  // Node builds headers and headersDistinct lazily from rawHeaders with the header count of the
  // parser: materialise both before rawHeaders shrinks, then clean all three.
  const headers = req.headers as Record<string, unknown>;
  const distinct = req.headersDistinct as Record<string, unknown>;
  const raw = req.rawHeaders;
  const names = new Set<string>();
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    const name = (raw[i] ?? '').toLowerCase();
    if (drop(name)) {
      names.add(name);
      raw.splice(i, 2);
    }
  }
  for (const name of [...names, ...Object.keys(headers).filter(drop)]) {
    Reflect.deleteProperty(headers, name);
    Reflect.deleteProperty(distinct, name);
  }
}

export interface RequestHeaderAuthenticatorOptions {
  /** Read on every request (live ConfigMap); undefined = front proxy not configured. */
  readonly config: () => RequestHeaderConfig | undefined;
  readonly now?: () => Date;
}

export function createRequestHeaderAuthenticator(opts: RequestHeaderAuthenticatorOptions): Authenticator {
  const now = opts.now ?? (() => new Date());
  return {
    authenticate: (req) => {
      const cfg = opts.config();
      const [leaf, ...rest] = peerCertificateChain(req);
      if (cfg === undefined || leaf === undefined) return Promise.resolve({ kind: 'anonymous' });
      const verified = verifyClientCertificate(leaf, rest, cfg.clientCA, now());
      if (!verified.ok) {
        return Promise.resolve({ kind: 'error', message: `verifying certificate ${describeCertificate(leaf)} failed: ${verified.error}` });
      }
      const cn = certificateFacts(leaf)?.commonName ?? '';
      if (cfg.allowedNames.length > 0 && !cfg.allowedNames.includes(cn)) {
        return Promise.resolve({ kind: 'error', message: `x509: subject with cn=${cn} is not in the allowed list` });
      }
      const user = userFromRequestHeaders(req, cfg);
      return Promise.resolve(user === undefined ? { kind: 'anonymous' } : { kind: 'authenticated', user });
    },
  };
}
