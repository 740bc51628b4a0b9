/**
 * The mask generator of SecAgg+: a 256-bit seed expanded with ChaCha20 (RFC 8439, @noble/ciphers) into a
 * vector of the ring Z_{2^32}. The full 32-byte seed is the ChaCha20 key (never folded to fewer bits, unlike
 * generators that feed a 32-bit seed to a Mersenne Twister); the 12-byte nonce names the purpose (self-mask or
 * pairwise mask) so that one seed could never give the same stream to two uses; the block counter starts at
 * 0. Keystream bytes are read as little-endian 32-bit words: element i is bytes 4i..4i+3.
 * Each seed masks one vector of one round, so a (key, nonce) pair is never reused.
 * @module
 */
import { chacha20 } from '@noble/ciphers/chacha.js';
import { SecAggError } from './errors.ts';

/** Purposes of a mask stream (the first nonce byte). */
export const MASK_NONCE = {
  self: Uint8Array.of(0x73, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), // 's'
  pairwise: Uint8Array.of(0x70, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), // 'p'
} as const;
export type MaskPurpose = keyof typeof MASK_NONCE;

/** Most elements one mask may have: ChaCha20's 32-bit block counter (2^32 blocks of 16 words) bounds it far above. */
export const MAX_MASK_ELEMENTS = 1 << 28;

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** The ChaCha20 keystream of `seed` for `purpose`, `length` elements of Z_{2^32}. */
export function expandMask(seed: Uint8Array, length: number, purpose: MaskPurpose): Uint32Array {
  return keystreamWords(seed, MASK_NONCE[purpose], length);
}

/** `length` little-endian words of the ChaCha20 keystream (key `seed`, `nonce`, block counter from 0). */
export function keystreamWords(seed: Uint8Array, nonce: Uint8Array, length: number): Uint32Array {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new SecAggError('bad-length', `mask seed: expected 32 bytes, got ${seed?.length}`);
  }
  if (!Number.isInteger(length) || length < 0 || length > MAX_MASK_ELEMENTS) {
    throw new SecAggError('bad-length', `mask: expected 0 to ${MAX_MASK_ELEMENTS} elements, got ${length}`);
  }
  const bytes = chacha20(seed, nonce, new Uint8Array(length * 4));
  if (LITTLE_ENDIAN) return new Uint32Array(bytes.buffer, bytes.byteOffset, length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return Uint32Array.from({ length }, (_, i) => view.getUint32(4 * i, true));
}

/** target += sign·mask (mod 2^32), in place. */
export function addMask(target: Uint32Array, mask: Uint32Array, sign: 1 | -1): void {
  if (target.length !== mask.length) {
    throw new SecAggError('bad-length', `mask: expected ${target.length} elements, got ${mask.length}`);
  }
  if (sign === 1) for (let i = 0; i < target.length; i++) target[i] = (target[i]! + mask[i]!) >>> 0;
  else for (let i = 0; i < target.length; i++) target[i] = (target[i]! - mask[i]!) >>> 0;
}

/** Adds the mask of `seed` to `target` with `sign`, in place (expanding it on the way). */
export function applyMask(target: Uint32Array, seed: Uint8Array, purpose: MaskPurpose, sign: 1 | -1): void {
  addMask(target, expandMask(seed, target.length, purpose), sign);
}
