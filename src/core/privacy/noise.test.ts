/**
 * The noise samplers over bounded, seeded samples: means and variances within a few standard errors of the
 * distribution's (bounds wide enough that a correct sampler passes for any seed with overwhelming
 * probability, tight enough that a wrong scale or a biased sampler fails).
 */
import { describe, expect, it } from 'vitest';
import { addGaussianNoise } from './gaussian.ts';
import { Draws, seededRandomSource, testKey } from './random-source.ts';
import {
  integerNoiseMultiplier,
  integerNoiseShare,
  integerSensitivity,
  poisson,
  randomizedRound,
  shareVariance,
} from './skellam.ts';

function moments(xs: ArrayLike<number>): { mean: number; variance: number } {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  const mean = s / xs.length;
  let v = 0;
  for (let i = 0; i < xs.length; i++) v += (xs[i]! - mean) ** 2;
  return { mean, variance: v / (xs.length - 1) };
}

/** Mean within 5 standard errors of `mean`, variance within 5·√(2/n)·(1 + kurtosis slack) of `variance`. */
function expectMoments(xs: ArrayLike<number>, mean: number, variance: number): void {
  const m = moments(xs);
  const n = xs.length;
  expect(Math.abs(m.mean - mean), `mean ${m.mean}`).toBeLessThan(5 * Math.sqrt(variance / n));
  expect(Math.abs(m.variance - variance) / variance, `variance ${m.variance}`).toBeLessThan(
    6 * Math.sqrt(2 / n),
  );
}

describe('noise samplers', () => {
  it('Gaussian noise has mean 0 and variance std²', () => {
    const x = new Float64Array(100_000);
    addGaussianNoise(x, 3, seededRandomSource(testKey(7)));
    expectMoments(x, 0, 9);
    const y = new Float64Array(10).fill(1);
    addGaussianNoise(y, 0, seededRandomSource(testKey(7)));
    expect([...y]).toEqual(new Array(10).fill(1));
  });

  it('Poisson variates have mean and variance μ, below 10 (multiplication) and above (PTRS)', () => {
    const d = new Draws(seededRandomSource(testKey(8)));
    for (const mu of [0.7, 3, 42, 5000]) {
      const xs = Float64Array.from({ length: 40_000 }, () => poisson(mu, d));
      expect(xs.every((k) => Number.isInteger(k) && k >= 0)).toBe(true);
      expectMoments(xs, mu, mu);
    }
  });

  it('a Skellam share is integer with mean 0 and the variance asked for; n shares sum to n times it', () => {
    const share = integerNoiseShare(60_000, 1000, seededRandomSource(testKey(9)));
    expect(share).toBeInstanceOf(Int32Array);
    expectMoments(share, 0, 1000);
    const small = integerNoiseShare(60_000, 3, seededRandomSource(testKey(10)));
    expectMoments(small, 0, 3);
    // Ten clients, each v/10: the sum has variance v (closure under sums).
    const sum = new Float64Array(30_000);
    for (let c = 0; c < 10; c++) {
      const s = integerNoiseShare(sum.length, 20, seededRandomSource(testKey(100 + c)));
      for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + s[i]!;
    }
    expectMoments(sum, 0, 200);
    expect(() => integerNoiseShare(4, -1, seededRandomSource(testKey(1)))).toThrow(/variance must be in/);
    expect(() => integerNoiseShare(4, 2 ** 41, seededRandomSource(testKey(1)))).toThrow(
      /variance must be in/,
    );
  });

  it('the same key gives the same noise, another key other noise', () => {
    const a = integerNoiseShare(64, 50, seededRandomSource(testKey(3)));
    const b = integerNoiseShare(64, 50, seededRandomSource(testKey(3)));
    const c = integerNoiseShare(64, 50, seededRandomSource(testKey(4)));
    expect([...a]).toEqual([...b]);
    expect([...a]).not.toEqual([...c]);
  });

  it('randomized rounding is unbiased and moves the vector by less than √d', () => {
    const x = new Float64Array(50_000).fill(0.3);
    const r = randomizedRound(x, 10, seededRandomSource(testKey(11))); // 3.0 exactly: always 3
    expect(r.every((v) => v === 3)).toBe(true);
    const y = new Float64Array(50_000).fill(0.25);
    const q = randomizedRound(y, 1, seededRandomSource(testKey(12)));
    expect(q.every((v) => v === 0 || v === 1)).toBe(true);
    expectMoments(q, 0.25, 0.25 * 0.75);
    expect(integerSensitivity(256, 1, 10_000)).toBe(356);
  });

  it('sizes the shares so that the fewest clients summed reach the central noise multiplier', () => {
    const delta = integerSensitivity(1024, 0.5, 400); // 512 + 20
    const v = shareVariance(1.2, delta, 5);
    expect(v).toBeCloseTo((1.2 * 532) ** 2 / 5, 6);
    expect(integerNoiseMultiplier(5 * v, delta)).toBeCloseTo(1.2, 12);
    expect(() => shareVariance(1, 1, 0)).toThrow(/integer ≥ 1/);
  });
});
