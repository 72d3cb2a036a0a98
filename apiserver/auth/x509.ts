/**
 * Client certificate authentication against `client-ca-file` (AUTHN-4), like k8s.io/apiserver's
 * request/x509 authenticator with CommonNameUserConversion: user = subject CN, groups = subject O.
 * Also the chain verification that the front-proxy authenticator shares (requestheader.ts).
 *
 * Chain rules follow Go's crypto/x509 Certificate.Verify with KeyUsages [ClientAuth], which both
 * Kubernetes authenticators use: every certificate of the chain must be within its validity period;
 * intermediates must be CAs; a leaf or intermediate that lists extended key usages must include
 * clientAuth (or anyExtendedKeyUsage), and one that lists none is allowed any usage.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TLSSocket, type DetailedPeerCertificate } from 'node:tls';
import type { Result } from '../../storage/interface.js';
import type { Authenticator } from './types.js';

const clientAuthOid = '1.3.6.1.5.5.7.3.2';
const anyExtendedKeyUsageOid = '2.5.29.37.0';
/** Go's crypto/x509 gives up on longer chains; so do we, which also bounds the search. */
const maxChainLength = 10;
/** user.CredentialIDKey of k8s.io/apiserver: which credential authenticated the request. */
export const credentialIdKey = 'authentication.kubernetes.io/credential-id';

/** Splits a PEM bundle into certificates; anything unparsable is an error, as in Go's cert pools. */
export function parseCertificateBundle(pem: string): Result<X509Certificate[], string> {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return { ok: false, error: 'no PEM certificate found' };
  const certs: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      certs.push(new X509Certificate(block));
    } catch (e) {
      return { ok: false, error: `certificate ${String(i + 1)} of the bundle: ${e instanceof Error ? e.message : String(e)}` };
    }
  }
  return { ok: true, value: certs };
}

/**
 * The certificates the TLS peer sent, leaf first (empty without TLS or without a client certificate).
 * Needs a server created with `requestCert: true, rejectUnauthorized: false`: the TLS layer accepts
 * any certificate and the authenticators decide which CA it must chain to.
 */
export function peerCertificateChain(req: IncomingMessage): X509Certificate[] {
  const socket = req.socket;
  if (!(socket instanceof TLSSocket)) return [];
  let chain = peerChains.get(socket);
  if (chain === undefined) {
    chain = readPeerChain(socket);
    // What a connection's peer presented is read once: from here on the peer may not renegotiate
    // (the only way its certificate could change), so every request on it sees this chain.
    socket.disableRenegotiation();
    peerChains.set(socket, chain);
  }
  return [...chain];
}

/** The parsed chain of each TLS connection: every request of a keep-alive connection reuses it. */
const peerChains = new WeakMap<TLSSocket, readonly X509Certificate[]>();

function readPeerChain(socket: TLSSocket): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  let cur: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  // Node links issuers as objects; a self-signed root points at itself, so stop at repeats.
  while (cur !== undefined && out.length <= maxChainLength) {
    const raw: Buffer | undefined = cur.raw;
    if (raw === undefined || raw.length === 0) break;
    const key = createHash('sha256').update(raw).digest('hex');
    if (seen.has(key)) break;
    seen.add(key);
    try {
      out.push(new X509Certificate(raw));
    } catch {
      break;
    }
    cur = cur.issuerCertificate;
  }
  return out;
}

// --- Minimal DER reading: subject attributes and validity, exactly as encoded (no text escaping). ---

interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
}

const byteAt = (buf: Uint8Array, i: number): number => buf[i] ?? 0;

function readTlv(buf: Uint8Array, pos: number, limit: number): Tlv | undefined {
  if (pos + 2 > limit) return undefined;
  const tag = byteAt(buf, pos);
  let len = byteAt(buf, pos + 1);
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + byteAt(buf, p + i);
    p += n;
  }
  if (p + len > limit) return undefined;
  return { tag, start: p, end: p + len };
}

function children(buf: Uint8Array, parent: Tlv): Tlv[] | undefined {
  const out: Tlv[] = [];
  let pos = parent.start;
  while (pos < parent.end) {
    const t = readTlv(buf, pos, parent.end);
    if (t === undefined) return undefined;
    out.push(t);
    pos = t.end;
  }
  return out;
}

function decodeString(buf: Buffer, t: Tlv): string | undefined {
  const bytes = buf.subarray(t.start, t.end);
  switch (t.tag) {
    case 0x0c: // UTF8String
      return bytes.toString('utf8');
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x14: // T61String
      return bytes.toString('latin1');
    case 0x1e: // BMPString: UTF-16BE
      return Buffer.from(bytes).swap16().toString('utf16le');
    default:
      return undefined;
  }
}

function decodeTime(buf: Buffer, t: Tlv): Date | undefined {
  const s = buf.subarray(t.start, t.end).toString('latin1');
  const m =
    t.tag === 0x17
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
      : t.tag === 0x18
        ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
        : null;
  if (m === null) return undefined;
  const [, y = '', mo = '', d = '', h = '', mi = '', se = ''] = m;
  let year = Number(y);
  // RFC 5280 §4.1.2.5.1: two-digit years 50–99 are 19xx.
  if (t.tag === 0x17) year += year >= 50 ? 1900 : 2000;
  return new Date(Date.UTC(year, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se)));
}

/** Subject names and validity read from the DER encoding. */
export interface CertificateFacts {
  /** The last CN of the subject, as Go's pkix.Name.CommonName; '' when absent. */
  readonly commonName: string;
  /** Every O value of the subject, in order. */
  readonly organizations: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export function certificateFacts(cert: X509Certificate): CertificateFacts | undefined {
  if (factsOf.has(cert)) return factsOf.get(cert);
  const facts = readCertificateFacts(cert);
  factsOf.set(cert, facts);
  return facts;
}

/** Read once per certificate object (the connection's chain is kept, so once per connection). */
const factsOf = new WeakMap<X509Certificate, CertificateFacts | undefined>();

function readCertificateFacts(cert: X509Certificate): CertificateFacts | undefined {
  const buf = cert.raw;
  const outer = readTlv(buf, 0, buf.length);
  const certSeq = outer === undefined ? undefined : children(buf, outer);
  const tbs = certSeq?.[0];
  const tbsFields = tbs === undefined ? undefined : children(buf, tbs);
  if (tbsFields === undefined) return undefined;
  // [0] EXPLICIT version is optional; then serial, signature, issuer, validity, subject.
  const fields = tbsFields[0]?.tag === 0xa0 ? tbsFields.slice(1) : tbsFields;
  const validity = fields[3];
  const subject = fields[4];
  if (validity === undefined || subject === undefined) return undefined;
  const times = children(buf, validity);
  const notBefore = times?.[0] === undefined ? undefined : decodeTime(buf, times[0]);
  const notAfter = times?.[1] === undefined ? undefined : decodeTime(buf, times[1]);
  if (notBefore === undefined || notAfter === undefined) return undefined;
  let commonName = '';
  const organizations: string[] = [];
  for (const rdn of children(buf, subject) ?? []) {
    for (const atv of children(buf, rdn) ?? []) {
      const [oid, value] = children(buf, atv) ?? [];
      if (oid === undefined || value === undefined || oid.tag !== 0x06) continue;
      const oidHex = buf.subarray(oid.start, oid.end).toString('hex');
      const text = decodeString(buf, value);
      if (text === undefined) continue;
      if (oidHex === '550403') commonName = text;
      else if (oidHex === '55040a') organizations.push(text);
    }
  }
  return { commonName, organizations, notBefore, notAfter };
}

// --- Chain verification ---

const allowsClientAuth = (cert: X509Certificate): boolean => {
  const eku = cert.keyUsage as string[] | undefined; // Node names the extended key usages keyUsage
  return eku === undefined || eku.length === 0 || eku.includes(clientAuthOid) || eku.includes(anyExtendedKeyUsageOid);
};

function validityError(cert: X509Certificate, now: Date): string | undefined {
  const facts = certificateFacts(cert);
  if (facts === undefined) return 'x509: malformed certificate';
  if (now < facts.notBefore) return `x509: certificate has expired or is not yet valid: current time ${now.toISOString()} is before ${facts.notBefore.toISOString()}`;
  if (now > facts.notAfter) return `x509: certificate has expired or is not yet valid: current time ${now.toISOString()} is after ${facts.notAfter.toISOString()}`;
  return undefined;
}

const signedBy = (cert: X509Certificate, issuer: X509Certificate): boolean => {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
};

/**
 * Verifies `leaf` up to one of `roots`, with `intermediates` (the rest of what the peer sent) as
 * possible links. Returns the chain leaf → root, or the reason in Go's words.
 */
export function verifyClientCertificate(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  roots: readonly X509Certificate[],
  now: Date,
): Result<X509Certificate[], string> {
  // A keep-alive connection presents the same certificate objects on every request: its verified
  // chain holds for as long as every certificate in it is valid and the trusted roots are the same
  // (a CA rotation brings a new roots array). Failures are not kept: they are rare and must not stick.
  const t = now.getTime();
  const known = verifiedChains.get(leaf);
  if (
    known !== undefined &&
    known.roots === roots &&
    t >= known.from &&
    t <= known.until &&
    known.intermediates.length === intermediates.length &&
    known.intermediates.every((c, i) => c === intermediates[i])
  ) {
    return { ok: true, value: [...known.chain] };
  }
  const verified = verifyChain(leaf, intermediates, roots, now);
  if (verified.ok) {
    const facts = verified.value.map((c) => certificateFacts(c));
    verifiedChains.set(leaf, {
      roots,
      intermediates: [...intermediates],
      chain: verified.value,
      from: Math.max(...facts.map((f) => f?.notBefore.getTime() ?? Infinity)),
      until: Math.min(...facts.map((f) => f?.notAfter.getTime() ?? -Infinity)),
    });
  }
  return verified;
}

interface VerifiedChain {
  readonly roots: readonly X509Certificate[];
  readonly intermediates: readonly X509Certificate[];
  readonly chain: readonly X509Certificate[];
  /** The window in which every certificate of the chain is valid, in ms since the epoch. */
  readonly from: number;
  readonly until: number;
}

const verifiedChains = new WeakMap<X509Certificate, VerifiedChain>();

function verifyChain(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  roots: readonly X509Certificate[],
  now: Date,
): Result<X509Certificate[], string> {
  const leafError = validityError(leaf, now);
  if (leafError !== undefined) return { ok: false, error: leafError };
  if (!allowsClientAuth(leaf)) return { ok: false, error: 'x509: certificate specifies an incompatible key usage' };
  const usable = (c: X509Certificate): boolean => validityError(c, now) === undefined;
  const build = (chain: readonly X509Certificate[]): X509Certificate[] | undefined => {
    const cur = chain[chain.length - 1];
    if (cur === undefined) return undefined;
    // A peer that presents a trusted root itself (self-signed client CA) is trusted as is.
    if (roots.some((r) => r.raw.equals(cur.raw))) return [...chain];
    for (const root of roots) if (usable(root) && signedBy(cur, root)) return [...chain, root];
    if (chain.length >= maxChainLength) return undefined;
    for (const mid of intermediates) {
      if (chain.some((c) => c.raw.equals(mid.raw))) continue;
      if (!mid.ca || !allowsClientAuth(mid) || !usable(mid) || !signedBy(cur, mid)) continue;
      const found = build([...chain, mid]);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const chain = build([leaf]);
  return chain === undefined ? { ok: false, error: 'x509: certificate signed by unknown authority' } : { ok: true, value: chain };
}

/** How Kubernetes names a certificate in verification errors, shortened to the subject and serial. */
export const describeCertificate = (cert: X509Certificate): string =>
  `SN=${cert.serialNumber}, subject=${JSON.stringify(cert.subject.replace(/\n/g, ', '))}`;

export interface X509AuthenticatorOptions {
  /** Read on every request, so that a rotated client CA applies at once; undefined = not configured. */
  readonly clientCA: () => readonly X509Certificate[] | undefined;
  readonly now?: () => Date;
}

/**
 * Like x509.NewDynamic(..., CommonNameUserConversion): no certificate or no client CA → not this
 * authenticator's request; a certificate that does not verify → an error (the union still lets
 * another authenticator succeed); an empty CN → not authenticated.
 */
export function createX509Authenticator(opts: X509AuthenticatorOptions): Authenticator {
  const now = opts.now ?? (() => new Date());
  return {
    authenticate: (req) => {
      const roots = opts.clientCA();
      const [leaf, ...rest] = peerCertificateChain(req);
      if (leaf === undefined || roots === undefined || roots.length === 0) return Promise.resolve({ kind: 'anonymous' });
      const verified = verifyClientCertificate(leaf, rest, roots, now());
      if (!verified.ok) {
        return Promise.resolve({ kind: 'error', message: `verifying certificate ${describeCertificate(leaf)} failed: ${verified.error}` });
      }
      const facts = certificateFacts(leaf);
      if (facts === undefined || facts.commonName === '') return Promise.resolve({ kind: 'anonymous' });
      const credentialId = `X509SHA256=${createHash('sha256').update(leaf.raw).digest('hex')}`;
      return Promise.resolve({
        kind: 'authenticated',
        user: { name: facts.commonName, groups: [...facts.organizations], extra: { [credentialIdKey]: [credentialId] } },
      });
    },
  };
}
