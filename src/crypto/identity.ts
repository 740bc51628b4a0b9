/**
 * ML-DSA-65 identities (FIPS 204): key pairs, human-readable fingerprints, a storage encoding, and
 * domain-separated signing. Every signature uses FIPS 204's context string, one per protocol message, so a
 * signature made for one purpose never verifies for another.
 * Fingerprint: the first 20 bytes (160 bits) of SHA-256(public key) in lower-case base32 (RFC 4648
 * alphabet, no padding), in 8 groups of 4 joined by '-': `abcd-efgh-ijkl-mnop-qrst-uvwx-yz23-4567`.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { bytesEqual, checkLength, Reader, utf8, Writer } from './bytes.ts';
import { CryptoError, errorText } from './errors.ts';
import { drawBytes } from './random.ts';
import { ML_DSA_65_SIZES } from './suites.ts';

/** An ML-DSA-65 key pair. */
export interface Identity {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** The FIPS 204 context strings of the protocol: one per signed message kind. */
export const SIGNATURE_CONTEXT = {
  serverHello: 'pqfed/v1/server-hello',
  clientHello: 'pqfed/v1/client-hello',
  update: 'pqfed/v1/update',
  model: 'pqfed/v1/model',
  roundKey: 'pqfed/v1/round-key',
  message: 'pqfed/v1/message',
  /** Secure aggregation (src/core/secagg/): one context per signed SecAgg+ message. */
  secaggAdvertise: 'pqfed/v1/secagg/advertise',
  secaggShares: 'pqfed/v1/secagg/shares',
  secaggInput: 'pqfed/v1/secagg/input',
  secaggSurvivors: 'pqfed/v1/secagg/survivors',
  secaggUnmask: 'pqfed/v1/secagg/unmask',
} as const;
export type SignatureContext = (typeof SIGNATURE_CONTEXT)[keyof typeof SIGNATURE_CONTEXT];

export interface SignOptions {
  /** Domain separation; default 'pqfed/v1/message', which no protocol message uses. */
  context?: SignatureContext;
  /**
   * Deterministic ML-DSA (no fresh randomness in the signature), for known-answer vectors. Default: hedged
   * (randomized) signing.
   */
  deterministic?: boolean;
}

/** Bytes of SHA-256(public key) shown in a fingerprint. */
export const FINGERPRINT_BYTES = 20;
/** Base32 characters in a fingerprint (without dashes). */
export const FINGERPRINT_CHARS = 32;
const BASE32_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** A fresh identity; with `seed` (≥ 32 bytes; tests, or re-deriving a stored identity) a deterministic one. */
export function generateIdentity(seed?: Uint8Array): Identity {
  const { publicKey, secretKey } = ml_dsa65.keygen(drawBytes(seed, 'identity', ML_DSA_65_SIZES.seed));
  return { publicKey, secretKey };
}

/** Lower-case RFC 4648 base32 without padding. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** The fingerprint of an ML-DSA-65 public key, e.g. `q3xo-…` (8 groups of 4). */
export function fingerprint(publicKey: Uint8Array): string {
  checkLength(publicKey, ML_DSA_65_SIZES.publicKey, 'ML-DSA-65 public key');
  const chars = base32(sha256(publicKey).subarray(0, FINGERPRINT_BYTES));
  return chars.match(/.{4}/g)!.join('-');
}

/**
 * The canonical form of a fingerprint someone typed or pasted: lower case, without dashes or spaces; null
 * when it is not 32 base32 characters.
 */
export function normalizeFingerprint(text: string): string | null {
  if (typeof text !== 'string') return null;
  const s = text.toLowerCase().replace(/[\s-]/g, '');
  return s.length === FINGERPRINT_CHARS && /^[a-z2-7]+$/.test(s) ? s : null;
}

/** True when both are valid fingerprints of the same key, whatever their case and dashes. */
export function fingerprintsEqual(a: string, b: string): boolean {
  const x = normalizeFingerprint(a);
  const y = normalizeFingerprint(b);
  return x !== null && x === y;
}

/**
 * Stores an identity as bytes: `'PQ' 01 04 ‖ len ‖ public key (1952) ‖ len ‖ secret key (4032)`
 * (lengths 4-byte big-endian), 5,996 bytes. The secret key is in the clear: protect the storage.
 */
export function encodeIdentity(identity: Identity): Uint8Array {
  checkLength(identity.publicKey, ML_DSA_65_SIZES.publicKey, 'ML-DSA-65 public key');
  checkLength(identity.secretKey, ML_DSA_65_SIZES.secretKey, 'ML-DSA-65 secret key');
  return new Writer('identity').field(identity.publicKey).field(identity.secretKey).finish();
}

/** Reads an encoded identity; refuses a wrong layout and a public key that does not match the secret key. */
export function decodeIdentity(bytes: Uint8Array): Identity {
  const r = new Reader(bytes, 'identity', 'identity');
  const publicKey = r.field('public key', ML_DSA_65_SIZES.publicKey).slice();
  const secretKey = r.field('secret key', ML_DSA_65_SIZES.secretKey).slice();
  r.end();
  let derived: Uint8Array;
  try {
    derived = ml_dsa65.getPublicKey(secretKey);
  } catch (cause) {
    throw new CryptoError(
      'malformed',
      `identity: expected a valid ML-DSA-65 secret key (${errorText(cause)})`,
      {
        cause,
      },
    );
  }
  if (!bytesEqual(derived, publicKey)) {
    throw new CryptoError(
      'malformed',
      'identity: expected the public key of the stored secret key, got a different public key',
    );
  }
  return { publicKey, secretKey };
}

/** An ML-DSA-65 signature (3,309 bytes) over `message` under `options.context`. */
export function sign(secretKey: Uint8Array, message: Uint8Array, options: SignOptions = {}): Uint8Array {
  checkLength(secretKey, ML_DSA_65_SIZES.secretKey, 'ML-DSA-65 secret key');
  const context = utf8(options.context ?? SIGNATURE_CONTEXT.message);
  return options.deterministic
    ? ml_dsa65.sign(message, secretKey, { context, extraEntropy: false })
    : ml_dsa65.sign(message, secretKey, { context });
}

/**
 * True when `signature` is a valid ML-DSA-65 signature of `message` under `publicKey` and `context`.
 * Never throws: wrong lengths and wrong types return false.
 */
export function verify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  context: SignatureContext = SIGNATURE_CONTEXT.message,
): boolean {
  if (
    !(publicKey instanceof Uint8Array) ||
    !(message instanceof Uint8Array) ||
    !(signature instanceof Uint8Array) ||
    publicKey.length !== ML_DSA_65_SIZES.publicKey ||
    signature.length !== ML_DSA_65_SIZES.signature
  ) {
    return false;
  }
  try {
    return ml_dsa65.verify(signature, message, publicKey, { context: utf8(context) });
  } catch {
    return false;
  }
}
