import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { concatBytes, u32be, utf8 } from './bytes.ts';
import { deriveKeys, importAesKey, KDF_INFO, transcriptSalt } from './kdf.ts';
import { refusal } from './test-support.ts';

const secret = Uint8Array.from({ length: 32 }, (_, i) => i);
const transcript = [Uint8Array.of(1, 2, 3), Uint8Array.of(4)];

describe('deriveKeys', () => {
  it('salts with SHA-256 of the length-prefixed transcript', () => {
    const expected = sha256(concatBytes(u32be(3), Uint8Array.of(1, 2, 3), u32be(1), Uint8Array.of(4)));
    expect(transcriptSalt(transcript)).toEqual(expected);
    // Boundaries matter: ["ab","c"] and ["a","bc"] differ.
    const ab = transcriptSalt([Uint8Array.of(0x61, 0x62), Uint8Array.of(0x63)]);
    const bc = transcriptSalt([Uint8Array.of(0x61), Uint8Array.of(0x62, 0x63)]);
    expect(ab).not.toEqual(bc);
  });

  it('agrees with WebCrypto HKDF-SHA256 (an independent implementation)', async () => {
    const [key] = deriveKeys(secret, transcript, KDF_INFO.clientToServer);
    const base = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits']);
    const bits = await crypto.subtle.deriveBits(
      {
        name: 'HKDF',
        hash: 'SHA-256',
        salt: new Uint8Array(transcriptSalt(transcript)),
        info: new Uint8Array(utf8('pqfed/v1/c2s')),
      },
      base,
      256,
    );
    expect(key).toEqual(new Uint8Array(bits));
  });

  it('separates by secret, transcript and info, and returns as many keys as asked', () => {
    const [a] = deriveKeys(secret, transcript, 'x');
    expect(a!.length).toBe(32);
    expect(deriveKeys(secret, transcript, 'x')[0]).toEqual(a);
    expect(deriveKeys(secret, transcript, 'y')[0]).not.toEqual(a);
    expect(deriveKeys(secret, [Uint8Array.of(1, 2, 3, 4)], 'x')[0]).not.toEqual(a);
    expect(
      deriveKeys(
        secret.map((b) => b ^ 1),
        transcript,
        'x',
      )[0],
    ).not.toEqual(a);
    const three = deriveKeys(secret, transcript, 'x', 3);
    expect(three).toHaveLength(3);
    expect(three[0]).toEqual(a); // HKDF-Expand: a longer output extends a shorter one
    expect(new Set(three.map((k) => k.join())).size).toBe(3);
  });

  it('refuses a wrong shared-secret length, a bad count and an empty label', async () => {
    expect((await refusal(() => deriveKeys(new Uint8Array(31), [], 'x'))).reason).toBe('bad-length');
    expect((await refusal(() => deriveKeys(secret, [], 'x', 0))).reason).toBe('bad-length');
    expect((await refusal(() => deriveKeys(secret, [], ''))).reason).toBe('malformed');
  });
});

describe('importAesKey', () => {
  it('imports a non-extractable AES-256-GCM key', async () => {
    const key = await importAesKey(secret);
    expect(key.extractable).toBe(false);
    expect(key.algorithm).toMatchObject({ name: 'AES-GCM', length: 256 });
    expect([...key.usages].sort()).toEqual(['decrypt', 'encrypt']);
    await expect(crypto.subtle.exportKey('raw', key as CryptoKey)).rejects.toThrow();
    expect((await importAesKey(secret, ['decrypt'])).usages).toEqual(['decrypt']);
    expect((await refusal(() => importAesKey(new Uint8Array(16)))).reason).toBe('bad-length');
  });
});
