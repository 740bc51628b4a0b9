import { describe, expect, it } from 'vitest';
import { MOS_UNIMPAIRED, mosFromR, mosProxy, rFactor } from './qoe.ts';

describe('E-model MOS proxy', () => {
  it('gives R = 93.2 and MOS ≈ 4.41 with no impairment', () => {
    expect(rFactor({ delayMs: 0, jitterMs: 0, lossPct: 0 })).toBeCloseTo(93.2, 10);
    expect(MOS_UNIMPAIRED).toBeCloseTo(4.409, 3);
  });

  it('matches hand-computed points of G.107 Annex B', () => {
    // R = 50: 1 + 1.75 + 7e-6 * 50 * (-10) * 50 = 2.75 - 0.175 = 2.575
    expect(mosFromR(50)).toBeCloseTo(2.575, 10);
    // R = 80: 1 + 2.8 + 7e-6 * 80 * 20 * 20 = 3.8 + 0.224 = 4.024
    expect(mosFromR(80)).toBeCloseTo(4.024, 10);
    expect(mosFromR(-5)).toBe(1);
    expect(mosFromR(120)).toBe(4.5);
  });

  it('applies the delay impairment with its knee at 177.3 ms', () => {
    // Ta = 100: Id = 2.4 → R = 90.8
    expect(rFactor({ delayMs: 100, jitterMs: 0, lossPct: 0 })).toBeCloseTo(90.8, 10);
    // Ta = 300 (200 + 2·50): Id = 7.2 + 0.11·122.7 = 20.697 → R = 72.503
    expect(rFactor({ delayMs: 200, jitterMs: 50, lossPct: 0 })).toBeCloseTo(72.503, 10);
  });

  it('applies the loss impairment with Bpl = 25.1', () => {
    // Ppl = 25.1 → Ie,eff = 95/2 = 47.5 → R = 45.7
    expect(rFactor({ delayMs: 0, jitterMs: 0, lossPct: 25.1 })).toBeCloseTo(45.7, 10);
  });

  it('is monotone: more delay or more loss never raises the MOS', () => {
    let prev = Number.POSITIVE_INFINITY;
    for (let d = 0; d <= 1000; d += 50) {
      const m = mosProxy({ delayMs: d, jitterMs: 0, lossPct: 2 });
      expect(m).toBeLessThanOrEqual(prev);
      expect(m).toBeGreaterThanOrEqual(1);
      prev = m;
    }
  });
});
