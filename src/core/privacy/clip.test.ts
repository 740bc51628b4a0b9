import { describe, expect, it } from 'vitest';
import { ADAPTIVE_CLIP_DEFAULTS, clipInPlace, l2Norm, nextClipNorm, updateNoiseMultiplier } from './clip.ts';
import { Draws, seededRandomSource, testKey } from './random-source.ts';
import { PrivacyError } from './rdp.ts';

describe('L2 clipping', () => {
  it('scales an update above the clip norm onto it, and leaves one below alone (by hand)', () => {
    const x = new Float32Array([3, 4]); // ‖x‖ = 5
    expect(clipInPlace(x, 1)).toBe(5);
    expect(x[0]).toBeCloseTo(0.6, 7);
    expect(x[1]).toBeCloseTo(0.8, 7);
    const y = new Float64Array([0.3, -0.4]); // ‖y‖ = 0.5
    expect(clipInPlace(y, 1)).toBeCloseTo(0.5, 15);
    expect([...y]).toEqual([0.3, -0.4]);
    const z = new Float64Array([1, 1, 1, 1]); // ‖z‖ = 2 → ½ each at C = 1
    clipInPlace(z, 1);
    expect([...z]).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(l2Norm(z)).toBe(1);
    expect(() => clipInPlace(z, 0)).toThrow(PrivacyError);
  });

  it('moves the adaptive clip norm toward the target quantile (Andrew et al. 2021, by hand)', () => {
    const d = new Draws(seededRandomSource(testKey(1)));
    const quiet = { ...ADAPTIVE_CLIP_DEFAULTS, countNoiseFraction: 0 };
    // 8 of 10 updates fit under C = 1: b̄ = 0.8 > γ = 0.5, so C shrinks by e^(−0.2·0.3).
    expect(nextClipNorm(1, 8, 10, quiet, d)).toBeCloseTo(Math.exp(-0.06), 14);
    // 2 of 10: C grows by e^(0.2·0.3).
    expect(nextClipNorm(2, 2, 10, quiet, d)).toBeCloseTo(2 * Math.exp(0.06), 14);
    // With count noise σ_b = 0.05·10 the step is noisy but stays within 5σ_b of the noiseless one.
    const noisy = nextClipNorm(1, 5, 10, ADAPTIVE_CLIP_DEFAULTS, d);
    expect(Math.abs(Math.log(noisy))).toBeLessThanOrEqual((0.2 * (5 * 0.5)) / 10);
  });

  it('splits the noise between the count and the updates as Theorem 1 says', () => {
    // z = 1, σ_b = 5: z_Δ = (1 − 1/100)^(−½) = 1.00503782…
    expect(updateNoiseMultiplier(1, 5)).toBeCloseTo(1 / Math.sqrt(0.99), 12);
    expect(() => updateNoiseMultiplier(1, 0.5)).toThrow(/must exceed z\/2/);
  });
});
