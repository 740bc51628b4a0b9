import { describe, expect, it } from 'vitest';
import { isSecAggError } from './errors.ts';
import { decodeSum, encodeUpdate, meanErrorBound, ringScale } from './ring.ts';

describe('the Z_2^32 ring encoding', () => {
  it('computes S = (2^31 − 1 − m) / (m · W · C): 10 members, cap 100, clip 1 → (2^31 − 11) / 1000', () => {
    expect(ringScale({ clip: 1, maxWeight: 100 }, 10)).toBe((2 ** 31 - 11) / 1000);
  });

  it('encodes n·clip(w) at scale S in two’s complement, the weight last (hand case with S = 10)', () => {
    const v = encodeUpdate(Float32Array.of(0.25, -0.25, 3, -3), 2, { clip: 1, maxWeight: 4 }, 10);
    // round(10·2·0.25) = 5; round(−5) = −5 → 2^32 − 5; clip 3 → 1 → 20; −20 → 2^32 − 20; weight 2.
    expect([...v]).toEqual([5, 2 ** 32 - 5, 20, 2 ** 32 - 20, 2]);
    const { weightedSum, totalWeight } = decodeSum(v, 10);
    expect([...weightedSum]).toEqual([0.5, -0.5, 2, -2]);
    expect(totalWeight).toBe(2);
  });

  it('never wraps: m members at the weight cap and ±clip sum to exactly m·W·C', () => {
    const ring = { clip: 0.5, maxWeight: 1000 };
    const m = 200;
    const s = ringScale(ring, m);
    for (const sign of [1, -1]) {
      const sum = new Uint32Array(2);
      const one = encodeUpdate(Float32Array.of(sign * 7), ring.maxWeight, ring, s);
      for (let i = 0; i < m; i++) for (let j = 0; j < 2; j++) sum[j] = (sum[j]! + one[j]!) >>> 0;
      const { weightedSum, totalWeight } = decodeSum(sum, s);
      expect(Math.abs(weightedSum[0]! - sign * m * ring.maxWeight * ring.clip)).toBeLessThanOrEqual(
        m / (2 * s),
      );
      expect(totalWeight).toBe(m * ring.maxWeight);
    }
  });

  it('keeps the weighted mean within the stated bound s / (2·S·Σn) for random updates', () => {
    const ring = { clip: 1, maxWeight: 5000 };
    const m = 50;
    const s = ringScale(ring, m);
    const d = 500;
    const sum = new Uint32Array(d + 1);
    const exact = new Float64Array(d);
    let weight = 0;
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < m; i++) {
      const n = 1 + Math.floor(rand() * ring.maxWeight);
      const w = Float32Array.from({ length: d }, () => (rand() * 2 - 1) * 1.2);
      weight += n;
      for (let j = 0; j < d; j++) exact[j]! += n * Math.max(-1, Math.min(1, w[j]!));
      const v = encodeUpdate(w, n, ring, s);
      for (let j = 0; j <= d; j++) sum[j] = (sum[j]! + v[j]!) >>> 0;
    }
    const { weightedSum, totalWeight } = decodeSum(sum, s);
    expect(totalWeight).toBe(weight);
    const bound = meanErrorBound(s, m, weight);
    let worst = 0;
    for (let j = 0; j < d; j++)
      worst = Math.max(worst, Math.abs(weightedSum[j]! / weight - exact[j]! / weight));
    expect(worst).toBeLessThanOrEqual(bound);
    expect(worst).toBeGreaterThan(0);
  });

  it('refuses NaN, a sample count above the cap, and parameters that leave no room', () => {
    const ring = { clip: 1, maxWeight: 10 };
    for (const f of [
      () => encodeUpdate(Float32Array.of(Number.NaN), 1, ring, 1),
      () => encodeUpdate(Float32Array.of(0), 11, ring, 1),
      () => encodeUpdate(Float32Array.of(0), 0, ring, 1),
    ]) {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(isSecAggError(e, 'bad-input')).toBe(true);
      }
    }
    expect(() => ringScale({ clip: 1, maxWeight: 2 ** 31 }, 4)).toThrow(/members · weight cap < 2\^32/);
    expect(() => ringScale({ clip: 0, maxWeight: 1 }, 4)).toThrow(/clip bound > 0/);
  });
});
