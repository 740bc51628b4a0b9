/**
 * Randomness for `src/crypto/`: the platform CSPRNG (`crypto.getRandomValues`, in browsers, workers and
 * Node 20), drawn in chunks because implementations refuse more than 65,536 bytes per call; and, for tests
 * and known-answer vectors only, a deterministic source expanded from a caller's seed with HKDF-SHA256
 * (RFC 5869), one label per purpose so that one seed never feeds two uses with the same bytes.
 * @module
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8 } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { transcriptSalt } from './kdf.ts';
import { getRandomValues } from './platform.ts';

/** Most bytes one `getRandomValues` call may fill (Web Crypto's QuotaExceededError limit). */
export const MAX_RANDOM_CHUNK = 65_536;
/** Shortest seed accepted: 256 bits. */
export const MIN_SEED_BYTES = 32;
/** Longest HKDF-SHA256 output: 255 blocks. */
const MAX_SEED_OUTPUT = 255 * 32;

/** `n` bytes from the platform CSPRNG, any size. */
export function randomBytes(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new CryptoError('bad-length', `randomBytes: expected a byte count ≥ 0, got ${n}`);
  }
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += MAX_RANDOM_CHUNK) {
    getRandomValues(out.subarray(at, Math.min(n, at + MAX_RANDOM_CHUNK)));
  }
  return out;
}

/**
 * `length` bytes for `purpose`: fresh randomness when `seed` is undefined; otherwise
 * HKDF-SHA256(ikm = seed, salt = SHA-256 of the length-prefixed `context`, info = "pqfed/v1/seed/" ‖ purpose).
 * Binding the context (the message being built) means that even a reused test seed yields different
 * randomness for different messages. Seeds are for tests and vectors: never reuse one in production.
 */
export function drawBytes(
  seed: Uint8Array | undefined,
  purpose: string,
  length: number,
  context: Uint8Array[] = [],
): Uint8Array {
  if (seed === undefined) return randomBytes(length);
  if (!(seed instanceof Uint8Array) || seed.length < MIN_SEED_BYTES) {
    throw new CryptoError(
      'bad-length',
      `seed: expected at least ${MIN_SEED_BYTES} bytes, got ${seed instanceof Uint8Array ? seed.length : typeof seed}`,
    );
  }
  if (length > MAX_SEED_OUTPUT) {
    throw new CryptoError(
      'bad-length',
      `seeded draw: expected at most ${MAX_SEED_OUTPUT} bytes, got ${length}`,
    );
  }
  return hkdf(sha256, seed, transcriptSalt(context), utf8(`pqfed/v1/seed/${purpose}`), length);
}
