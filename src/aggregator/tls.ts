/**
 * The certificate `pqfed serve` speaks HTTPS with. A classroom has no certificate authority, and a browser
 * on a plain-HTTP LAN address withholds every secure-context feature (WebGPU, cross-origin isolation and so
 * WASM threads, service workers), so `--https` makes a self-signed certificate once, keeps it in the data
 * directory (mode 0600) and makes a new one when the kept one has expired or no longer covers the machine's
 * names (hostname, localhost, loopback, LAN addresses, the `--public-url` host). Node's crypto makes keys but
 * cannot issue X.509 certificates: the `selfsigned` package (on @peculiar/x509) does. `--tls-cert`/`--tls-key`
 * use a real one instead. Students compare the printed SHA-256 with the one the browser's warning shows.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { TLS } from '../core/limits.ts';
import { writeFileAtomic } from './atomic-file.ts';

export const SELF_SIGNED_CERT_FILE = 'tls-cert.pem';
export const SELF_SIGNED_KEY_FILE = 'tls-key.pem';

export const TLS_ERROR_REASONS = ['missing', 'unreadable', 'invalid', 'mismatch', 'expired'] as const;
export type TlsErrorReason = (typeof TLS_ERROR_REASONS)[number];

export class TlsError extends Error {
  override name = 'TlsError';
  constructor(
    readonly reason: TlsErrorReason,
    message: string,
  ) {
    super(message);
  }
}

export interface TlsMaterial {
  /** PEM. */
  cert: string;
  /** PEM. */
  key: string;
  /** SHA-256 of the certificate, `AB:CD:…` (as browsers show it). */
  fingerprint256: string;
  validTo: Date;
  /** The names the certificate covers, `DNS:…`/`IP Address:…`. */
  subjectAltName: string;
}

/** The names a certificate must cover (network.ts `certificateNames`). */
export interface CertificateNames {
  dns: readonly string[];
  ips: readonly string[];
}

function read(file: string, what: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new TlsError('missing', `${flag}: expected a PEM ${what} file, found no file ${file}`);
    throw new TlsError('unreadable', `${flag}: cannot read the ${what} file ${file} (${code ?? String(e)})`);
  }
}

/** Parses a certificate and its key and checks that they belong together and that the certificate is valid now. */
export function tlsMaterial(
  cert: string,
  key: string,
  now: Date,
  from = { cert: 'certificate', key: 'key' },
): TlsMaterial {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw new TlsError('invalid', `${from.cert}: expected a PEM X.509 certificate (${(e as Error).message})`);
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(key);
  } catch (e) {
    throw new TlsError('invalid', `${from.key}: expected a PEM private key (${(e as Error).message})`);
  }
  if (!x509.checkPrivateKey(keyObject))
    throw new TlsError(
      'mismatch',
      `${from.key} is not the private key of ${from.cert} (${x509.subject.replace(/\n/g, ', ')})`,
    );
  const validTo = new Date(x509.validTo);
  if (validTo.getTime() <= now.getTime())
    throw new TlsError('expired', `${from.cert} expired on ${validTo.toISOString()}`);
  return {
    cert,
    key,
    fingerprint256: x509.fingerprint256,
    validTo,
    subjectAltName: x509.subjectAltName ?? '',
  };
}

/** `--tls-cert F --tls-key F`: a real certificate and its key, checked before the server starts. */
export function readTlsFiles(certFile: string, keyFile: string, now = new Date()): TlsMaterial {
  const cert = read(certFile, 'certificate', '--tls-cert');
  const key = read(keyFile, 'private key', '--tls-key');
  return tlsMaterial(cert, key, now, { cert: `--tls-cert ${certFile}`, key: `--tls-key ${keyFile}` });
}

/** The names in `names` that `cert` does not cover. */
export function uncoveredNames(cert: string, names: CertificateNames): string[] {
  const x509 = new X509Certificate(cert);
  return [
    ...names.dns.filter((n) => x509.checkHost(n, { wildcards: false }) === undefined),
    ...names.ips.filter((ip) => x509.checkIP(ip) === undefined),
  ];
}

/** A new self-signed certificate (ECDSA P-256, SHA-256) for `names`. */
export async function makeSelfSigned(
  names: CertificateNames,
  now: Date,
): Promise<{ cert: string; key: string }> {
  const notAfter = new Date(now.getTime() + TLS.selfSignedDays * 86_400_000);
  const made = await generate(
    [
      { name: 'commonName', value: names.dns[0] ?? 'localhost' },
      { name: 'organizationName', value: 'PQFed classroom (self-signed)' },
    ],
    {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: new Date(now.getTime() - 60_000),
      notAfterDate: notAfter,
      extensions: [
        { name: 'basicConstraints', cA: false, critical: true },
        { name: 'keyUsage', digitalSignature: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            ...names.dns.map((value) => ({ type: 2 as const, value })),
            ...names.ips.map((ip) => ({ type: 7 as const, ip })),
          ],
        },
      ],
    },
  );
  return { cert: made.cert, key: made.private };
}

/**
 * `--https`: the certificate kept in `dataDir`, or a new one (kept, 0600) when there is none, it cannot be
 * read, its key does not match, it expires within `TLS.renewBeforeDays` or it misses one of `names`.
 * `made` says why a new one was made (null: the kept one was used).
 */
export async function selfSignedTls(
  dataDir: string,
  names: CertificateNames,
  now = new Date(),
): Promise<TlsMaterial & { made: string | null }> {
  const certFile = join(dataDir, SELF_SIGNED_CERT_FILE);
  const keyFile = join(dataDir, SELF_SIGNED_KEY_FILE);
  let why: string;
  try {
    const soon = new Date(now.getTime() + TLS.renewBeforeDays * 86_400_000);
    const kept = readTlsFiles(certFile, keyFile, soon);
    const missing = uncoveredNames(kept.cert, names);
    if (missing.length === 0) return { ...kept, made: null };
    why = `the kept certificate does not cover ${missing.join(', ')}`;
  } catch (e) {
    if (!(e instanceof TlsError)) throw e;
    why = e.reason === 'missing' ? 'there was none' : `the kept one was refused: ${e.message}`;
  }
  const { cert, key } = await makeSelfSigned(names, now);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(keyFile, Buffer.from(key), 0o600);
  writeFileAtomic(certFile, Buffer.from(cert), 0o600);
  return { ...tlsMaterial(cert, key, now), made: why };
}
