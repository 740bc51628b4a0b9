import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TLS } from '../core/limits.ts';
import {
  makeSelfSigned,
  readTlsFiles,
  SELF_SIGNED_CERT_FILE,
  SELF_SIGNED_KEY_FILE,
  selfSignedTls,
  TlsError,
  uncoveredNames,
} from './tls.ts';

const NAMES = {
  dns: ['teacher-laptop', 'localhost', 'classroom.test'],
  ips: ['127.0.0.1', '::1', '192.168.1.5'],
};
const NOW = new Date('2026-11-27T12:00:00Z');
const DAY = 86_400_000;

function thrown(f: () => unknown): TlsError {
  try {
    f();
  } catch (e) {
    if (e instanceof TlsError) return e;
    throw e;
  }
  throw new Error('expected a TlsError, nothing was thrown');
}

describe('the self-signed certificate of --https', () => {
  it('is made once for every name, kept 0600 in the data dir, and used again at the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pqfed-tls-'));
    const first = await selfSignedTls(dir, NAMES, NOW);
    expect(first.made).toBe('there was none');
    for (const f of [SELF_SIGNED_CERT_FILE, SELF_SIGNED_KEY_FILE])
      expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    const x509 = new X509Certificate(readFileSync(join(dir, SELF_SIGNED_CERT_FILE)));
    expect(x509.fingerprint256).toBe(first.fingerprint256);
    expect(first.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(uncoveredNames(first.cert, NAMES)).toEqual([]);
    expect(x509.checkHost('evil.example')).toBeUndefined();
    expect(x509.verify(x509.publicKey)).toBe(true);

    const again = await selfSignedTls(dir, NAMES, new Date(NOW.getTime() + 30 * DAY));
    expect(again.made).toBeNull();
    expect(again.fingerprint256).toBe(first.fingerprint256);
  });

  it('is made again when the machine has a name the kept one misses, or it is about to expire', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pqfed-tls-'));
    const first = await selfSignedTls(dir, NAMES, NOW);
    const moved = { ...NAMES, ips: [...NAMES.ips, '10.0.0.7'] };
    const renamed = await selfSignedTls(dir, moved, NOW);
    expect(renamed.made).toMatch(/does not cover 10\.0\.0\.7/);
    expect(renamed.fingerprint256).not.toBe(first.fingerprint256);
    expect(uncoveredNames(renamed.cert, moved)).toEqual([]);

    const late = new Date(renamed.validTo.getTime() - (TLS.renewBeforeDays - 1) * DAY);
    const renewed = await selfSignedTls(dir, moved, late);
    expect(renewed.made).toMatch(/expired/);
    expect(renewed.validTo.getTime()).toBeGreaterThan(late.getTime() + 300 * DAY);
  });

  it('is made again when the kept files are damaged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pqfed-tls-'));
    await selfSignedTls(dir, NAMES, NOW);
    writeFileSync(join(dir, SELF_SIGNED_CERT_FILE), 'not a certificate');
    const made = await selfSignedTls(dir, NAMES, NOW);
    expect(made.made).toMatch(/refused.*expected a PEM X\.509 certificate/);
  });
});

describe('--tls-cert / --tls-key', () => {
  it('are read and checked: a matching pair gives its SHA-256', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pqfed-tls-'));
    const { cert, key } = await makeSelfSigned(NAMES, NOW);
    writeFileSync(join(dir, 'c.pem'), cert);
    writeFileSync(join(dir, 'k.pem'), key);
    const m = readTlsFiles(join(dir, 'c.pem'), join(dir, 'k.pem'), NOW);
    expect(m.fingerprint256).toBe(new X509Certificate(cert).fingerprint256);
  });

  it('refuse a missing, unreadable, invalid, mismatched or expired file, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pqfed-tls-'));
    const a = await makeSelfSigned(NAMES, NOW);
    const b = await makeSelfSigned(NAMES, NOW);
    writeFileSync(join(dir, 'a.pem'), a.cert);
    writeFileSync(join(dir, 'a.key'), a.key);
    writeFileSync(join(dir, 'b.key'), b.key);
    writeFileSync(join(dir, 'junk.pem'), 'hello');
    const c = join(dir, 'a.pem');

    let e = thrown(() => readTlsFiles(join(dir, 'none.pem'), join(dir, 'a.key'), NOW));
    expect([e.reason, e.message]).toEqual(['missing', expect.stringMatching(/--tls-cert: .*none\.pem/)]);
    e = thrown(() => readTlsFiles(c, dir, NOW));
    expect([e.reason, e.message]).toEqual([
      'unreadable',
      expect.stringMatching(/--tls-key: cannot read .*EISDIR/),
    ]);
    e = thrown(() => readTlsFiles(join(dir, 'junk.pem'), join(dir, 'a.key'), NOW));
    expect([e.reason, e.message]).toEqual([
      'invalid',
      expect.stringMatching(/junk\.pem: expected a PEM X\.509/),
    ]);
    e = thrown(() => readTlsFiles(c, join(dir, 'junk.pem'), NOW));
    expect(e.reason).toBe('invalid');
    e = thrown(() => readTlsFiles(c, join(dir, 'b.key'), NOW));
    expect([e.reason, e.message]).toEqual([
      'mismatch',
      expect.stringMatching(/b\.key is not the private key of/),
    ]);
    e = thrown(() => readTlsFiles(c, join(dir, 'a.key'), new Date(NOW.getTime() + 400 * DAY)));
    expect([e.reason, e.message]).toEqual(['expired', expect.stringMatching(/a\.pem expired on 2027-/)]);
  });
});
