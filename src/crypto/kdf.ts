/**
 * Key derivation: HKDF-SHA256 (RFC 5869) over a KEM shared secret, with the salt bound to the transcript of
 * the exchange, and the import of the resulting raw keys as AES-256-GCM keys: non-extractable WebCrypto keys,
 * or where the platform has no WebCrypto, JsAesKeys for @noble/ciphers.
 * @module
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { type AesKey, type AesKeyUsage, JsAesKey } from './aead.ts';
import { asBufferSource, checkLength, u32be, utf8 } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { webCrypto } from './platform.ts';

/** Length of every key derived here (AES-256). */
export const KEY_BYTES = 32;
/** Length of a KEM shared secret (X-Wing and ML-KEM-768 alike). */
export const SHARED_SECRET_BYTES = 32;
/** Labels (HKDF `info`) used by the protocol. */
export const KDF_INFO = {
  clientToServer: 'pqfed/v1/c2s',
  serverToClient: 'pqfed/v1/s2c',
  update: 'pqfed/v1/update',
} as const;

/**
 * SHA-256 over `u32be(len(part)) ‖ part` for every part, so that no two different part lists hash the same
 * bytes (["ab", "c"] and ["a", "bc"] differ).
 */
export function transcriptSalt(transcript: readonly Uint8Array[]): Uint8Array {
  const h = sha256.create();
  for (const part of transcript) {
    if (!(part instanceof Uint8Array)) {
      throw new CryptoError('malformed', `transcript: expected Uint8Array parts, got ${typeof part}`);
    }
    h.update(u32be(part.length));
    h.update(part);
  }
  return h.digest();
}

/**
 * `count` independent 32-byte keys: HKDF-SHA256(ikm = sharedSecret, salt = transcriptSalt(transcript),
 * info = info, length = 32·count), split in order.
 */
export function deriveKeys(
  sharedSecret: Uint8Array,
  transcript: readonly Uint8Array[],
  info: string,
  count = 1,
): Uint8Array[] {
  checkLength(sharedSecret, SHARED_SECRET_BYTES, 'shared secret');
  if (!Number.isInteger(count) || count < 1 || count > 255) {
    throw new CryptoError('bad-length', `deriveKeys: expected a key count in [1, 255], got ${count}`);
  }
  if (info.length === 0)
    throw new CryptoError('malformed', 'deriveKeys: expected a non-empty info label, got ""');
  const okm = hkdf(sha256, sharedSecret, transcriptSalt(transcript), utf8(info), KEY_BYTES * count);
  return Array.from({ length: count }, (_, i) => okm.slice(i * KEY_BYTES, (i + 1) * KEY_BYTES));
}

/**
 * Imports a raw 32-byte key for AES-256-GCM: a non-extractable WebCrypto CryptoKey where `crypto.subtle`
 * exists, else a JsAesKey holding a copy of the bytes (@noble/ciphers; see platform.ts). Either way the caller
 * may, and should, wipe `raw` afterwards.
 */
export async function importAesKey(
  raw: Uint8Array,
  usages: readonly AesKeyUsage[] = ['encrypt', 'decrypt'],
): Promise<AesKey> {
  checkLength(raw, KEY_BYTES, 'AES-256 key');
  const platform = webCrypto();
  if (!platform) return new JsAesKey(raw, usages);
  return platform.importKey('raw', asBufferSource(raw), { name: 'AES-GCM' }, false, [...usages]);
}
