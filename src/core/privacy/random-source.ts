/**
 * Where privacy noise gets its randomness. Noise that protects people must be unpredictable to whoever sees
 * the model, so production noise comes from the platform CSPRNG (`crypto.getRandomValues`, in browsers,
 * workers and Node 20), drawn in chunks of at most 65,536 bytes (Web Crypto's per-call limit). Tests and
 * known-answer checks use `seededRandomSource`: a ChaCha20 keystream (RFC 8439, @noble/ciphers) under a
 * 32-byte key, never for real noise. The seeded `Rng` of src/core/random.ts (xoshiro) is not for noise.
 *
 * `Draws` turns a source into uniform doubles with 53 random bits, buffered.
 */
import { chacha20 } from '@noble/ciphers/chacha.js';

/** Fills a byte array with random bytes. */
export interface RandomSource {
  fill(bytes: Uint8Array): void;
}

/** Most bytes one `getRandomValues` call may fill. */
const MAX_CHUNK = 65_536;

/** The platform CSPRNG. */
export const cryptoRandomSource: RandomSource = {
  fill(bytes) {
    for (let at = 0; at < bytes.length; at += MAX_CHUNK) {
      const chunk = bytes.subarray(at, Math.min(bytes.length, at + MAX_CHUNK));
      globalThis.crypto.getRandomValues(chunk as Uint8Array<ArrayBuffer>);
    }
  },
};

/** A deterministic ChaCha20 keystream under `key` (32 bytes): for tests only, never for real noise. */
export function seededRandomSource(key: Uint8Array): RandomSource {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new RangeError(
      `seededRandomSource: expected a 32-byte key, got ${key?.length ?? typeof key} bytes`,
    );
  }
  const k = key.slice();
  let counter = 0;
  const nonce = new Uint8Array(12);
  return {
    fill(bytes) {
      // One 64-byte ChaCha block per counter step; each call starts at a fresh block.
      const out = chacha20(k, nonce, new Uint8Array(bytes.length), undefined, counter);
      counter += Math.ceil(bytes.length / 64);
      bytes.set(out);
    },
  };
}

/** A 32-byte test key from a small number (tests only). */
export function testKey(n: number): Uint8Array {
  const k = new Uint8Array(32);
  new DataView(k.buffer).setUint32(0, n >>> 0);
  return k;
}

const BUFFER_BYTES = 8192;
const TWO_POW_53 = 2 ** 53;

/** Uniform doubles from a RandomSource, 53 random bits each, read from a buffer refilled 8 KiB at a time. */
export class Draws {
  private readonly buf = new Uint8Array(BUFFER_BYTES);
  private readonly view = new DataView(this.buf.buffer);
  private at = BUFFER_BYTES;

  constructor(private readonly source: RandomSource) {}

  private u32(): number {
    if (this.at + 4 > BUFFER_BYTES) {
      this.source.fill(this.buf);
      this.at = 0;
    }
    const v = this.view.getUint32(this.at);
    this.at += 4;
    return v;
  }

  /** Uniform in [0, 1), a multiple of 2⁻⁵³. */
  uniform(): number {
    const hi = this.u32() >>> 5; // 27 bits
    const lo = this.u32() >>> 6; // 26 bits
    return (hi * 67_108_864 + lo) / TWO_POW_53;
  }

  /** Uniform in (0, 1): never 0, so its logarithm is finite. */
  open(): number {
    let u = 0;
    while (u === 0) u = this.uniform();
    return u;
  }

  /** A standard normal variate (Marsaglia's polar method). */
  normal(): number {
    for (;;) {
      const x = 2 * this.uniform() - 1;
      const y = 2 * this.uniform() - 1;
      const s = x * x + y * y;
      if (s > 0 && s < 1) return x * Math.sqrt((-2 * Math.log(s)) / s);
    }
  }
}
