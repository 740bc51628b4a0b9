import { describe, expect, it } from 'vitest';
import type { ClientUpdate } from './strategy.ts';
import { TrimmedMean, trimCount } from './trimmed-mean.ts';

const f32 = (...xs: number[]) => Float32Array.of(...xs);

// Worked by hand: global = [0, 0, 0], five updates (numSamples differ and are ignored)
//   a: [   1,  10, −5]
//   b: [   2, −50,  0]
//   c: [   3,  20,  5]
//   d: [ 100,  30,  1]
//   e: [−100,   0,  2]
// β = 0.2 → t = ⌊0.2·5⌋ = 1: drop the smallest and the largest, average the middle 3
//   coord 0: −100, 1, 2, 3, 100 → (1 + 2 + 3)/3 = 2
//   coord 1: −50, 0, 10, 20, 30 → (0 + 10 + 20)/3 = 10
//   coord 2: −5, 0, 1, 2, 5     → (0 + 1 + 2)/3 = 1
//   new = [2, 10, 1]
// β = 0.1 (default) → t = ⌊0.5⌋ = 0: plain unweighted mean
//   coord 0: (1 + 2 + 3 + 100 − 100)/5 = 6/5 = 1.2
//   coord 1: (10 − 50 + 20 + 30 + 0)/5 = 10/5 = 2
//   coord 2: (−5 + 0 + 5 + 1 + 2)/5 = 3/5 = 0.6
// Four updates a, b, c, d with β = 0.25 → t = 1: mean of the middle two
//   coord 0: 1, 2, 3, 100 → 2.5;  coord 1: −50, 10, 20, 30 → 15;  coord 2: −5, 0, 1, 5 → 0.5
// global = [1, 1, 1] shifts each result by 1.
const UPDATES: readonly ClientUpdate[] = [
  { clientId: 'a', delta: f32(1, 10, -5), numSamples: 1 },
  { clientId: 'b', delta: f32(2, -50, 0), numSamples: 50 },
  { clientId: 'c', delta: f32(3, 20, 5), numSamples: 3 },
  { clientId: 'd', delta: f32(100, 30, 1), numSamples: 9999 },
  { clientId: 'e', delta: f32(-100, 0, 2), numSamples: 2 },
];

function run(s: TrimmedMean, updates: readonly ClientUpdate[], global = f32(0, 0, 0)): Float32Array {
  const r = s.begin(0, global);
  for (const u of updates) r.add(u);
  return r.finish();
}

describe('TrimmedMean', () => {
  it('drops ⌊β·n⌋ values at each end and averages the rest (hand-computed)', () => {
    expect(Array.from(run(new TrimmedMean({ trimFraction: 0.2 }), UPDATES))).toEqual([2, 10, 1]);
  });

  it('with the default β = 0.1 and 5 updates trims nothing: the unweighted mean', () => {
    const s = new TrimmedMean();
    expect(s.trimFraction).toBe(0.1);
    const out = run(s, UPDATES);
    expect(out[0]).toBeCloseTo(1.2, 6);
    expect(out[1]).toBe(2);
    expect(out[2]).toBeCloseTo(0.6, 6);
  });

  it('with 4 updates and β = 0.25 averages the middle two, added to global', () => {
    const out = run(new TrimmedMean({ trimFraction: 0.25 }), UPDATES.slice(0, 4), f32(1, 1, 1));
    expect(Array.from(out)).toEqual([3.5, 16, 1.5]);
  });

  it('trimCount is ⌊β·n⌋, robust to products landing just under an integer, and leaves ≥ 1 value', () => {
    expect(trimCount(0.1, 5)).toBe(0);
    expect(trimCount(0.1, 10)).toBe(1);
    expect(trimCount(0.2, 5)).toBe(1);
    expect(0.29 * 100).toBeLessThan(29);
    expect(trimCount(0.29, 100)).toBe(29);
    expect(trimCount(0.49, 3)).toBe(1);
    expect(trimCount(0.4999999999, 2)).toBe(0);
    expect(trimCount(0.3, 1)).toBe(0);
  });

  it('rejects a trimFraction outside [0, 0.5)', () => {
    expect(() => new TrimmedMean({ trimFraction: 0.5 })).toThrow(
      /trimmed-mean: trimFraction must be in \[0, 0.5\), got 0.5/,
    );
    expect(() => new TrimmedMean({ trimFraction: -0.1 })).toThrow(/got -0.1/);
    expect(() => new TrimmedMean({ trimFraction: Number.NaN })).toThrow(/got NaN/);
    expect(new TrimmedMean({ trimFraction: 0 }).trimFraction).toBe(0);
  });

  it('is stateless', () => {
    const s = new TrimmedMean();
    expect(s.name).toBe('trimmed-mean');
    expect(s.fitConfig(1)).toEqual({ proxMu: 0 });
    expect(s.exportState()).toEqual({});
  });
});
