/**
 * Per-run PKI for the local control plane, made with openssl exactly as local-control-plane.md §6:
 * three CAs (cluster, front-proxy, ours), leaf certificates with their SANs, the service-account key
 * pair and a static token file for unprivileged test users.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A certificate and its key (PEM files). */
export interface CertPair {
  readonly crt: string;
  readonly key: string;
}

/** A user of the static token file (`--token-auth-file`). */
export interface TokenUser {
  readonly name: string;
  readonly uid: string;
  readonly groups: readonly string[];
  readonly token: string;
}

export interface Pki {
  readonly dir: string;
  /** Cluster CA: kube-apiserver serving cert, user and component client certs. */
  readonly ca: CertPair;
  /** Only for the aggregator's client cert (`--requestheader-client-ca-file`). */
  readonly frontProxyCa: CertPair;
  /** Our CA: signs our serving cert, goes into the APIService's caBundle. */
  readonly extCa: CertPair;
  readonly apiserver: CertPair;
  /** `O=system:masters, CN=e2e-admin` */
  readonly admin: CertPair;
  /** `CN=system:kube-controller-manager` */
  readonly kcm: CertPair;
  readonly frontProxyClient: CertPair;
  /** Our serving cert; first SAN `connectors-access-apiserver.connectors-system.svc`. */
  readonly extServing: CertPair;
  /** Cluster-CA client cert `CN=connectors-access-apiserver`: fallback identity of our server (§8). */
  readonly extClient: CertPair;
  readonly saKey: string;
  readonly saPub: string;
  readonly tokensCsv: string;
  /** `alice` and `bob`: authenticated, no rights of their own. */
  readonly users: { readonly alice: TokenUser; readonly bob: TokenUser };
}

/** SANs of our serving certificate; the aggregator always verifies the first one (§10). */
export const extServingSans =
  'DNS:connectors-access-apiserver.connectors-system.svc,DNS:localhost,IP:127.0.0.1';
const apiserverSans =
  'DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,' +
  'DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.0.0.1';

function openssl(cwd: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd }, (err, _stdout, stderr) => {
      if (err === null) resolve();
      else reject(new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${stderr || err.message}`));
    });
  });
}

async function mkca(dir: string, name: string, cn: string): Promise<CertPair> {
  await openssl(dir, [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650',
    '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  return { crt: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

async function mkleaf(
  dir: string,
  name: string,
  ca: string,
  subject: string,
  eku: 'serverAuth' | 'clientAuth',
  san?: string,
): Promise<CertPair> {
  await openssl(dir, [
    'req', '-new', '-newkey', 'rsa:2048', '-nodes', '-sha256',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject,
  ]);
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${eku}`,
    ...(san === undefined ? [] : [`subjectAltName=${san}`]),
  ];
  writeFileSync(join(dir, `${name}.ext`), `${ext.join('\n')}\n`);
  // A serial file per leaf: leaves of one CA are signed in parallel and would race on ca.srl.
  await openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`,
    '-CAserial', `${name}.srl`, '-CAcreateserial', '-days', '825', '-sha256',
    '-extfile', `${name}.ext`, '-out', `${name}.crt`,
  ]);
  for (const f of [`${name}.csr`, `${name}.ext`, `${name}.srl`]) rmSync(join(dir, f), { force: true });
  return { crt: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

function tokenUser(name: string, groups: readonly string[]): TokenUser {
  return { name, uid: `e2e-${name}`, groups, token: randomBytes(24).toString('hex') };
}

/** Creates the PKI in `dir` (made if missing). Takes a few seconds: eleven RSA keys. */
export async function createPki(dir: string): Promise<Pki> {
  mkdirSync(dir, { recursive: true });
  const [ca, frontProxyCa, extCa] = await Promise.all([
    mkca(dir, 'ca', 'e2e-cluster-ca'),
    mkca(dir, 'front-proxy-ca', 'e2e-front-proxy-ca'),
    mkca(dir, 'ext-ca', 'e2e-connectors-ca'),
  ]);
  const [apiserver, admin, kcm, frontProxyClient, extServing, extClient] = await Promise.all([
    mkleaf(dir, 'apiserver', 'ca', '/CN=kube-apiserver', 'serverAuth', apiserverSans),
    mkleaf(dir, 'admin', 'ca', '/O=system:masters/CN=e2e-admin', 'clientAuth'),
    mkleaf(dir, 'kcm', 'ca', '/CN=system:kube-controller-manager', 'clientAuth'),
    mkleaf(dir, 'front-proxy-client', 'front-proxy-ca', '/CN=front-proxy-client', 'clientAuth'),
    mkleaf(dir, 'ext-serving', 'ext-ca', '/CN=connectors-access-apiserver', 'serverAuth', extServingSans),
    mkleaf(dir, 'ext-client', 'ca', '/CN=connectors-access-apiserver', 'clientAuth'),
  ]);
  const saKey = join(dir, 'sa.key');
  const saPub = join(dir, 'sa.pub');
  await openssl(dir, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key']);
  await openssl(dir, ['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);

  const users = {
    alice: tokenUser('alice', ['e2e:users']),
    bob: tokenUser('bob', ['e2e:users']),
  };
  // <token>,<user>,<uid>,"<group1>,<group2>"
  const tokensCsv = join(dir, 'tokens.csv');
  writeFileSync(
    tokensCsv,
    Object.values(users)
      .map((u) => `${u.token},${u.name},${u.uid},"${u.groups.join(',')}"\n`)
      .join(''),
  );
  for (const f of readdirSync(dir)) {
    if (f.endsWith('.key') || f === 'tokens.csv') chmodSync(join(dir, f), 0o600);
  }
  return {
    dir, ca, frontProxyCa, extCa, apiserver, admin, kcm, frontProxyClient, extServing, extClient,
    saKey, saPub, tokensCsv, users,
  };
}
