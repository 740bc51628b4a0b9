import { describe, expect, it } from 'vitest';
import { drawBytes, MAX_RANDOM_CHUNK, randomBytes } from './random.ts';
import { refusal, testSeed } from './test-support.ts';

describe('randomness', () => {
  it('fills more than one getRandomValues call allows', () => {
    const n = 3 * MAX_RANDOM_CHUNK + 5;
    const a = randomBytes(n);
    expect(a.length).toBe(n);
    // Every 64 KiB chunk was filled: no chunk is all zero.
    for (let at = 0; at < n; at += MAX_RANDOM_CHUNK) {
      expect(a.subarray(at, at + MAX_RANDOM_CHUNK).some((x) => x !== 0)).toBe(true);
    }
    expect(randomBytes(0).length).toBe(0);
    expect(randomBytes(32)).not.toEqual(randomBytes(32));
  });

  it('expands a seed deterministically, separated by purpose and context', () => {
    const s = testSeed(1);
    expect(drawBytes(s, 'a', 64)).toEqual(drawBytes(s, 'a', 64));
    expect(drawBytes(s, 'a', 32)).not.toEqual(drawBytes(s, 'b', 32));
    expect(drawBytes(s, 'a', 32)).not.toEqual(drawBytes(testSeed(2), 'a', 32));
    expect(drawBytes(s, 'a', 32, [Uint8Array.of(1)])).not.toEqual(drawBytes(s, 'a', 32, [Uint8Array.of(2)]));
    expect(drawBytes(undefined, 'a', 32)).not.toEqual(drawBytes(undefined, 'a', 32));
  });

  it('refuses short seeds and bad counts', async () => {
    expect((await refusal(() => drawBytes(new Uint8Array(31), 'a', 32))).reason).toBe('bad-length');
    expect((await refusal(() => drawBytes(testSeed(1), 'a', 255 * 32 + 1))).reason).toBe('bad-length');
    expect((await refusal(() => randomBytes(-1))).reason).toBe('bad-length');
  });
});
