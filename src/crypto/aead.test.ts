import { describe, expect, it } from 'vitest';
import { makeNonce, open, seal } from './aead.ts';
import { fromHex, toHex } from './bytes.ts';
import { importAesKey } from './kdf.ts';
import { flipBit, refusal } from './test-support.ts';

// McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, 96-bit IV, with AAD).
const KAT = {
  key: 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
  iv: 'cafebabefacedbaddecaf888',
  plaintext:
    'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
  aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
  ciphertext:
    '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
  tag: '76fc6ece0f4e1768cddf8853bb2d551b',
};

describe('AES-256-GCM', () => {
  it('matches the GCM specification test case 16', async () => {
    const key = await importAesKey(fromHex(KAT.key));
    const sealed = await seal(key, fromHex(KAT.iv), fromHex(KAT.plaintext), fromHex(KAT.aad));
    expect(toHex(sealed)).toBe(KAT.ciphertext + KAT.tag);
    expect(toHex(await open(key, fromHex(KAT.iv), sealed, fromHex(KAT.aad)))).toBe(KAT.plaintext);
  });

  it('builds nonces from a direction byte and a 64-bit big-endian counter', async () => {
    expect(toHex(makeNonce('clientToServer', 0))).toBe('010000000000000000000000');
    expect(toHex(makeNonce('serverToClient', 258))).toBe('020000000000000000000102');
    expect(toHex(makeNonce('update', 2 ** 40))).toBe('030000000000010000000000');
    expect(makeNonce('clientToServer', 5)).not.toEqual(makeNonce('serverToClient', 5));
    expect((await refusal(() => makeNonce('update', -1))).reason).toBe('malformed');
  });

  it('refuses any changed bit of ciphertext, tag, associated data or nonce, and another key', async () => {
    const key = await importAesKey(fromHex(KAT.key));
    const other = await importAesKey(new Uint8Array(32));
    const nonce = makeNonce('update', 0);
    const ad = Uint8Array.of(1, 2, 3);
    const sealed = await seal(key, nonce, Uint8Array.of(9, 8, 7, 6), ad);
    expect(sealed.length).toBe(4 + 16);
    const cases: [string, () => Promise<Uint8Array>][] = [
      ['ciphertext', () => open(key, nonce, flipBit(sealed, 0), ad)],
      ['tag', () => open(key, nonce, flipBit(sealed, sealed.length - 1, 7), ad)],
      ['associated data', () => open(key, nonce, sealed, flipBit(ad, 2))],
      ['nonce', () => open(key, makeNonce('update', 1), sealed, ad)],
      ['key', () => open(other, nonce, sealed, ad)],
    ];
    for (const [, attempt] of cases) {
      const e = await refusal(attempt);
      expect(e.reason).toBe('tampered');
    }
    expect(await open(key, nonce, sealed, ad)).toEqual(Uint8Array.of(9, 8, 7, 6));
  });

  it('seals an empty plaintext and refuses short inputs, bad nonces and weak keys', async () => {
    const key = await importAesKey(new Uint8Array(32).fill(1));
    const nonce = makeNonce('clientToServer', 1);
    const sealed = await seal(key, nonce, new Uint8Array(0), new Uint8Array(0));
    expect(sealed.length).toBe(16);
    expect(await open(key, nonce, sealed, new Uint8Array(0))).toEqual(new Uint8Array(0));
    expect((await refusal(() => open(key, nonce, sealed.subarray(0, 15), new Uint8Array(0)))).reason).toBe(
      'bad-length',
    );
    expect((await refusal(() => seal(key, new Uint8Array(8), sealed, sealed))).reason).toBe('bad-length');
    const aes128 = await crypto.subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', false, ['encrypt']);
    const e = await refusal(() => seal(aes128, nonce, sealed, sealed));
    expect(e.reason).toBe('malformed');
    expect(e.message).toContain('256 bits, got AES-GCM of 128 bits');
  });
});
