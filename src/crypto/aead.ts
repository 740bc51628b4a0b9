/**
 * AES-256-GCM (NIST SP 800-38D) through WebCrypto, with 96-bit nonces built from a direction byte and a
 * 64-bit counter, never drawn at random: `direction ‖ 00 00 00 ‖ counter (8 bytes, big-endian)`. A key is
 * used with one direction and increasing counters only, so no nonce repeats under a key.
 * `open` throws CryptoError('tampered') on any authentication failure and returns nothing partial.
 * @module
 */
import { asBufferSource, checkLength, concatBytes, u64be } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { subtle } from './platform.ts';

export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

/** The first nonce byte: which way a key's frames travel. */
export const DIRECTION = {
  clientToServer: 0x01,
  serverToClient: 0x02,
  update: 0x03,
} as const;
export type Direction = keyof typeof DIRECTION;

/** The 12-byte nonce for frame `counter` in `direction`. */
export function makeNonce(direction: Direction, counter: number): Uint8Array {
  return concatBytes(Uint8Array.of(DIRECTION[direction], 0, 0, 0), u64be(counter));
}

function checkKey(key: CryptoKey): void {
  const algorithm = key?.algorithm as AesKeyAlgorithm | undefined;
  if (algorithm?.name !== 'AES-GCM' || algorithm.length !== 256) {
    throw new CryptoError(
      'malformed',
      `AEAD key: expected an AES-GCM key of 256 bits, got ${algorithm?.name ?? 'no key'}` +
        `${algorithm?.length ? ` of ${algorithm.length} bits` : ''}`,
    );
  }
}

/** Encrypts and authenticates `plaintext`, authenticates `associatedData`; returns ciphertext ‖ 16-byte tag. */
export async function seal(
  key: CryptoKey,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  associatedData: Uint8Array,
): Promise<Uint8Array> {
  checkKey(key);
  checkLength(nonce, NONCE_BYTES, 'AES-GCM nonce');
  const out = await subtle().encrypt(
    {
      name: 'AES-GCM',
      iv: asBufferSource(nonce),
      additionalData: asBufferSource(associatedData),
      tagLength: TAG_BYTES * 8,
    },
    key,
    asBufferSource(plaintext),
  );
  return new Uint8Array(out);
}

/** Verifies and decrypts ciphertext ‖ tag; throws CryptoError('tampered') if anything was changed. */
export async function open(
  key: CryptoKey,
  nonce: Uint8Array,
  sealed: Uint8Array,
  associatedData: Uint8Array,
): Promise<Uint8Array> {
  checkKey(key);
  checkLength(nonce, NONCE_BYTES, 'AES-GCM nonce');
  if (!(sealed instanceof Uint8Array) || sealed.length < TAG_BYTES) {
    throw new CryptoError(
      'bad-length',
      `AES-GCM ciphertext: expected at least the ${TAG_BYTES}-byte tag, got ${sealed?.length ?? 0} bytes`,
    );
  }
  let out: ArrayBuffer;
  try {
    out = await subtle().decrypt(
      {
        name: 'AES-GCM',
        iv: asBufferSource(nonce),
        additionalData: asBufferSource(associatedData),
        tagLength: TAG_BYTES * 8,
      },
      key,
      asBufferSource(sealed),
    );
  } catch (cause) {
    throw new CryptoError(
      'tampered',
      'AES-GCM: expected an authentic ciphertext, got one whose tag does not verify ' +
        '(ciphertext, tag, nonce, key or associated data changed)',
      { cause },
    );
  }
  return new Uint8Array(out);
}
