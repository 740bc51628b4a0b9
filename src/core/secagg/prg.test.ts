import { describe, expect, it } from 'vitest';
import { isSecAggError } from './errors.ts';
import { addMask, applyMask, expandMask, keystreamWords } from './prg.ts';

describe('ChaCha20 mask generator', () => {
  it('is RFC 8439 ChaCha20: test vector A.1 #1 (zero key and nonce, counter 0), read as little-endian words', () => {
    const words = keystreamWords(new Uint8Array(32), new Uint8Array(12), 4);
    // Keystream bytes 76 b8 e0 ad | a0 f1 3d 90 | 40 5d 6a e5 | 53 86 bd 28 (RFC 8439 §A.1).
    expect([...words]).toEqual([0xade0b876, 0x903df1a0, 0xe56a5d40, 0x28bd8653]);
  });

  it('uses the whole 256-bit seed: changing only its last byte changes the stream', () => {
    const a = new Uint8Array(32).fill(9);
    const b = a.slice();
    b[31]! ^= 1;
    const ma = expandMask(a, 64, 'pairwise');
    const mb = expandMask(b, 64, 'pairwise');
    let same = 0;
    for (let i = 0; i < 64; i++) if (ma[i] === mb[i]) same++;
    expect(same).toBeLessThan(2);
  });

  it('gives different streams for the self and the pairwise purposes of one seed, and the same stream again', () => {
    const seed = new Uint8Array(32).fill(3);
    expect(expandMask(seed, 8, 'self')).not.toEqual(expandMask(seed, 8, 'pairwise'));
    expect(expandMask(seed, 8, 'self')).toEqual(expandMask(seed, 8, 'self'));
    // A longer mask starts with the shorter one (one stream, read further).
    expect(expandMask(seed, 100, 'self').subarray(0, 8)).toEqual(expandMask(seed, 8, 'self'));
  });

  it('adding a mask and taking it away again restores the vector in Z_2^32', () => {
    const v = Uint32Array.from([0, 1, 0xffffffff, 12345, 0x80000000]);
    const copy = v.slice();
    const seed = new Uint8Array(32).fill(1);
    applyMask(v, seed, 'pairwise', 1);
    expect(v).not.toEqual(copy);
    applyMask(v, seed, 'pairwise', -1);
    expect(v).toEqual(copy);
    // Hand case of the wrap: 0xffffffff + 2 = 1, 1 − 2 = 0xffffffff.
    const w = Uint32Array.of(0xffffffff, 1);
    addMask(w, Uint32Array.of(2, 2), 1);
    expect([...w]).toEqual([1, 3]);
    addMask(w, Uint32Array.of(2, 4), -1);
    expect([...w]).toEqual([0xffffffff, 0xffffffff]);
  });

  it('spreads its words evenly: the mean of 100,000 words is near 2^31 and every high nibble appears', () => {
    const m = expandMask(new Uint8Array(32).fill(0x42), 100_000, 'self');
    let sum = 0;
    const nibbles = new Array(16).fill(0);
    for (const w of m) {
      sum += w;
      nibbles[w >>> 28]++;
    }
    expect(Math.abs(sum / m.length / 2 ** 31 - 1)).toBeLessThan(0.01);
    for (const c of nibbles) expect(Math.abs(c / m.length - 1 / 16)).toBeLessThan(0.005);
  });

  it('refuses a seed that is not 32 bytes and a negative length', () => {
    for (const [seed, n] of [
      [new Uint8Array(16), 4],
      [new Uint8Array(32), -1],
    ] as const) {
      try {
        expandMask(seed, n, 'self');
        expect.unreachable();
      } catch (e) {
        expect(isSecAggError(e, 'bad-length')).toBe(true);
      }
    }
  });
});
