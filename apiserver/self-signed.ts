/**
 * A self-signed serving certificate for standalone mode, made once with openssl into --cert-dir and
 * reused on later starts (like kube-apiserver's --cert-dir).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertPair {
  readonly certFile: string;
  readonly keyFile: string;
}

export async function ensureSelfSignedCert(certDir: string, hosts: readonly string[]): Promise<CertPair> {
  const certFile = join(certDir, 'apiserver.crt');
  const keyFile = join(certDir, 'apiserver.key');
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile };
  mkdirSync(certDir, { recursive: true, mode: 0o700 });
  const san = hosts.map((h) => (/^[0-9.]+$/.test(h) || h.includes(':') ? `IP:${h}` : `DNS:${h}`)).join(',');
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '365',
    '-keyout', keyFile, '-out', certFile,
    '-subj', '/CN=connectors-access-apiserver',
    '-addext', `subjectAltName=${san}`,
    '-addext', 'extendedKeyUsage=serverAuth',
  ]);
  return { certFile, keyFile };
}
