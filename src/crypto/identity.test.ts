import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { concatBytes, utf8 } from './bytes.ts';
import {
  base32,
  decodeIdentity,
  encodeIdentity,
  fingerprint,
  fingerprintsEqual,
  generateIdentity,
  normalizeFingerprint,
  SIGNATURE_CONTEXT,
  sign,
  verify,
} from './identity.ts';
import { ML_DSA_65_SIZES } from './suites.ts';
import { flipBit, refusal, testIdentity, testSeed } from './test-support.ts';

describe('identities', () => {
  it('generates ML-DSA-65 key pairs, deterministic for a seed', () => {
    const a = testIdentity(1);
    expect(a.publicKey.length).toBe(ML_DSA_65_SIZES.publicKey);
    expect(a.secretKey.length).toBe(ML_DSA_65_SIZES.secretKey);
    expect(generateIdentity(testSeed(1))).toEqual(a);
    expect(generateIdentity(testSeed(2)).publicKey).not.toEqual(a.publicKey);
    expect(generateIdentity().publicKey).not.toEqual(generateIdentity().publicKey);
  });
});

describe('fingerprints', () => {
  it('encodes base32 as RFC 4648 section 10 does, lower case, unpadded', () => {
    const cases: [string, string][] = [
      ['', ''],
      ['f', 'my'],
      ['fo', 'mzxq'],
      ['foo', 'mzxw6'],
      ['foob', 'mzxw6yq'],
      ['fooba', 'mzxw6ytb'],
      ['foobar', 'mzxw6ytboi'],
    ];
    for (const [input, output] of cases) expect(base32(utf8(input))).toBe(output);
  });

  it('shows the first 20 bytes of SHA-256(public key) in 8 groups of 4', () => {
    const { publicKey } = testIdentity(1);
    const fp = fingerprint(publicKey);
    expect(fp).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){7}$/);
    expect(fp.replaceAll('-', '')).toBe(base32(sha256(publicKey).subarray(0, 20)));
    expect(fingerprint(testIdentity(2).publicKey)).not.toBe(fp);
  });

  it('compares fingerprints whatever their case, dashes and spaces', async () => {
    const fp = fingerprint(testIdentity(1).publicKey);
    expect(fingerprintsEqual(fp, fp.toUpperCase())).toBe(true);
    expect(fingerprintsEqual(fp, fp.replaceAll('-', ''))).toBe(true);
    expect(fingerprintsEqual(fp, ` ${fp.replaceAll('-', ' ')} `)).toBe(true);
    expect(fingerprintsEqual(fp, fingerprint(testIdentity(2).publicKey))).toBe(false);
    expect(fingerprintsEqual(fp, fp.slice(0, -1))).toBe(false);
    expect(fingerprintsEqual('', '')).toBe(false);
    expect(fingerprintsEqual('0'.repeat(32), '0'.repeat(32))).toBe(false);
    expect(normalizeFingerprint(fp.toUpperCase())).toBe(fp.replaceAll('-', ''));
    expect((await refusal(() => fingerprint(new Uint8Array(32)))).reason).toBe('bad-length');
  });
});

describe('identity storage', () => {
  it('round-trips a key pair through its versioned encoding', () => {
    const id = testIdentity(1);
    const bytes = encodeIdentity(id);
    expect(bytes.length).toBe(4 + 4 + 1952 + 4 + 4032);
    expect([...bytes.subarray(0, 4)]).toEqual([0x50, 0x51, 1, 4]);
    expect(decodeIdentity(bytes)).toEqual(id);
  });

  it('refuses every truncation, trailing bytes, a wrong header and a mismatched key pair', async () => {
    const bytes = encodeIdentity(testIdentity(1));
    for (const n of [0, 3, 4, 7, 8, 8 + 1952, 8 + 1952 + 3, 8 + 1952 + 4, bytes.length - 1]) {
      const e = await refusal(() => decodeIdentity(bytes.subarray(0, n)));
      expect(e.reason).toBe('bad-length');
    }
    expect((await refusal(() => decodeIdentity(concatBytes(bytes, Uint8Array.of(0))))).reason).toBe(
      'bad-length',
    );
    expect((await refusal(() => decodeIdentity(flipBit(bytes, 2)))).reason).toBe('malformed');
    const swapped = encodeIdentity({
      publicKey: testIdentity(2).publicKey,
      secretKey: testIdentity(1).secretKey,
    });
    const e = await refusal(() => decodeIdentity(swapped));
    expect(e.reason).toBe('malformed');
    expect(e.message).toContain('public key');
    expect((await refusal(() => decodeIdentity(flipBit(bytes, 8 + 10)))).reason).toBe('malformed');
  });
});

describe('signatures', () => {
  const id = testIdentity(1);
  const msg = utf8('a model update');

  it('signs and verifies under a context, deterministically on request', () => {
    const sig = sign(id.secretKey, msg, { context: SIGNATURE_CONTEXT.update });
    expect(sig.length).toBe(ML_DSA_65_SIZES.signature);
    expect(verify(id.publicKey, msg, sig, SIGNATURE_CONTEXT.update)).toBe(true);
    expect(verify(id.publicKey, msg, sig, SIGNATURE_CONTEXT.model)).toBe(false);
    expect(verify(id.publicKey, msg, sig)).toBe(false);
    expect(verify(testIdentity(2).publicKey, msg, sig, SIGNATURE_CONTEXT.update)).toBe(false);
    expect(verify(id.publicKey, utf8('another update'), sig, SIGNATURE_CONTEXT.update)).toBe(false);
    const d = sign(id.secretKey, msg, { deterministic: true });
    expect(sign(id.secretKey, msg, { deterministic: true })).toEqual(d);
    expect(verify(id.publicKey, msg, d)).toBe(true);
    expect(sign(id.secretKey, msg)).not.toEqual(sign(id.secretKey, msg));
  });

  it('never throws from verify: bad lengths and types are false', () => {
    const sig = sign(id.secretKey, msg);
    expect(verify(id.publicKey, msg, flipBit(sig, 100))).toBe(false);
    expect(verify(id.publicKey, msg, sig.subarray(1))).toBe(false);
    expect(verify(id.publicKey, msg, new Uint8Array(ML_DSA_65_SIZES.signature).fill(0xff))).toBe(false);
    expect(verify(id.publicKey.subarray(1), msg, sig)).toBe(false);
    expect(verify(new Uint8Array(ML_DSA_65_SIZES.publicKey), msg, sig)).toBe(false);
    expect(verify(undefined as unknown as Uint8Array, msg, sig)).toBe(false);
    expect(verify(id.publicKey, 'text' as unknown as Uint8Array, sig)).toBe(false);
  });

  it('refuses a secret key of the wrong length', async () => {
    expect((await refusal(() => sign(id.secretKey.subarray(1), msg))).reason).toBe('bad-length');
  });
});
