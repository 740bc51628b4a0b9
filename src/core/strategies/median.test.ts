import { describe, expect, it } from 'vitest';
import { Median, sortedMedian } from './median.ts';
import type { ClientUpdate } from './strategy.ts';

const f32 = (...xs: number[]) => Float32Array.of(...xs);

// Worked by hand: global = [0, 10, −1]
//   a: [ 1,   5, −2]   (n = 1)
//   b: [ 3,  −1,  0]   (n = 1000: ignored, the median is unweighted)
//   c: [ 2, 100,  4]   (n = 1)
//   d: [−7,   0,  1]   (n = 1)
// Four updates (even): mean of the two middle values per coordinate
//   coord 0: −7, 1, 2, 3   → (1 + 2)/2 = 1.5
//   coord 1: −1, 0, 5, 100 → (0 + 5)/2 = 2.5
//   coord 2: −2, 0, 1, 4   → (0 + 1)/2 = 0.5
//   new = [0 + 1.5, 10 + 2.5, −1 + 0.5] = [1.5, 12.5, −0.5]
// Three updates a, b, c (odd): the middle value
//   coord 0: 1, 2, 3 → 2;  coord 1: −1, 5, 100 → 5;  coord 2: −2, 0, 4 → 0
//   new = [2, 15, −1]
const GLOBAL = f32(0, 10, -1);
const A = () => ({ clientId: 'a', delta: f32(1, 5, -2), numSamples: 1 });
const B = () => ({ clientId: 'b', delta: f32(3, -1, 0), numSamples: 1000 });
const C = () => ({ clientId: 'c', delta: f32(2, 100, 4), numSamples: 1 });
const D = () => ({ clientId: 'd', delta: f32(-7, 0, 1), numSamples: 1 });

function run(updates: readonly ClientUpdate[]): number[] {
  const r = new Median().begin(0, GLOBAL);
  for (const u of updates) r.add(u);
  return Array.from(r.finish());
}

describe('Median', () => {
  it('takes the mean of the two middle values for an even count (hand-computed)', () => {
    expect(run([A(), B(), C(), D()])).toEqual([1.5, 12.5, -0.5]);
  });

  it('takes the middle value for an odd count, ignoring numSamples (hand-computed)', () => {
    expect(run([A(), B(), C()])).toEqual([2, 15, -1]);
    expect(run([C(), A(), B()])).toEqual([2, 15, -1]);
  });

  it('returns global + the delta for a single update', () => {
    expect(run([C()])).toEqual([2, 110, 3]);
  });

  it('buffers copies: mutating the caller’s delta after add does not change the result', () => {
    const r = new Median().begin(0, GLOBAL);
    const updates = [A(), B(), C(), D()];
    for (const u of updates) r.add(u);
    for (const u of updates) u.delta.fill(1e6);
    expect(Array.from(r.finish())).toEqual([1.5, 12.5, -0.5]);
  });

  it('sortedMedian handles odd and even lengths', () => {
    expect(sortedMedian(Float64Array.of(4))).toBe(4);
    expect(sortedMedian(Float64Array.of(1, 2))).toBe(1.5);
    expect(sortedMedian(Float64Array.of(-3, 0, 8))).toBe(0);
  });

  it('is stateless', () => {
    const s = new Median();
    expect(s.name).toBe('median');
    expect(s.fitConfig(1)).toEqual({ proxMu: 0 });
    expect(s.exportState()).toEqual({});
  });
});
