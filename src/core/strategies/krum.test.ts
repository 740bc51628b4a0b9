import { describe, expect, it } from 'vitest';
import { Krum, krumNeighbours, krumOrder, krumScores } from './krum.ts';
import type { ClientUpdate } from './strategy.ts';

const f32 = (...xs: number[]) => Float32Array.of(...xs);

// Worked by hand: n = 5, f = 1 → k = n − f − 2 = 2 neighbours (n = 5 > 2f + 2 = 4: guarantee holds)
//   a = [0, 0, 0], b = [1, 0, 0], c = [0, 2, 0], d = [1, 1, 0], e = [10, 10, 0] (the outlier)
// Squared distances:
//   a–b 1   a–c 4   a–d 2   a–e 100 + 100 = 200
//   b–c 5   b–d 1   b–e 81 + 100 = 181
//   c–d 2   c–e 100 + 64 = 164
//   d–e 81 + 81 = 162
// Scores (sum of the 2 smallest distances to the others):
//   a: {1, 4, 2, 200}     → 1 + 2 = 3
//   b: {1, 5, 1, 181}     → 1 + 1 = 2
//   c: {4, 5, 2, 164}     → 2 + 4 = 6
//   d: {2, 1, 2, 162}     → 1 + 2 = 3
//   e: {200, 181, 164, 162} → 162 + 164 = 326
// Krum: lowest score b → new = global + b
// Multi-Krum, m = n − f = 4: b (2), a (3), d (3), c (6) → mean of a, b, c, d = [2/4, 3/4, 0] = [0.5, 0.75, 0]
// Multi-Krum, m = 2: b, then the tie a (3) / d (3) goes to the lower index a → mean of a, b = [0.5, 0, 0]
const DELTAS = [f32(0, 0, 0), f32(1, 0, 0), f32(0, 2, 0), f32(1, 1, 0), f32(10, 10, 0)];
const updates = (deltas: readonly Float32Array[]): ClientUpdate[] =>
  deltas.map((delta, i) => ({ clientId: `c${i}`, delta, numSamples: 1 + 100 * i }));

function run(s: Krum, us: readonly ClientUpdate[], global = f32(0, 0, 0)): number[] {
  const r = s.begin(0, global);
  for (const u of us) r.add(u);
  return Array.from(r.finish());
}

describe('krumScores', () => {
  it('sums the squared distances to the n − f − 2 nearest others (hand-computed)', () => {
    expect(Array.from(krumScores(DELTAS, 1))).toEqual([3, 2, 6, 3, 326]);
  });

  it('orders by score, ties by index', () => {
    expect(krumOrder(Float64Array.of(3, 2, 6, 3, 326))).toEqual([1, 0, 3, 2, 4]);
  });

  it('uses max(1, n − f − 2) neighbours, capped at n − 1', () => {
    expect(krumNeighbours(10, 1)).toBe(7);
    expect(krumNeighbours(5, 1)).toBe(2);
    expect(krumNeighbours(4, 1)).toBe(1);
    expect(krumNeighbours(3, 1)).toBe(1);
    expect(krumNeighbours(2, 1)).toBe(1);
    expect(krumNeighbours(1, 1)).toBe(0);
    expect(krumNeighbours(7, 0)).toBe(5);
  });
});

describe('Krum', () => {
  it('returns global + the lowest-scored delta (hand-computed)', () => {
    const s = new Krum(false);
    expect(s.name).toBe('krum');
    expect(s.byzantine).toBe(1);
    expect(run(s, updates(DELTAS), f32(1, 2, 3))).toEqual([2, 2, 3]);
  });

  it('breaks ties by the lowest index (order of arrival)', () => {
    // Unit square: every point has two neighbours at squared distance 1 → all scores 2 → the first added.
    const square = [f32(0, 0, 0), f32(1, 0, 0), f32(0, 1, 0), f32(1, 1, 0), f32(10, 10, 0)];
    expect(Array.from(krumScores(square, 1))).toEqual([2, 2, 2, 2, 162 + 181]);
    expect(run(new Krum(false), updates(square))).toEqual([0, 0, 0]);
    const reversed = [square[3]!, square[2]!, square[1]!, square[0]!, square[4]!];
    expect(run(new Krum(false), updates(reversed))).toEqual([1, 1, 0]);
  });

  it('below n > 2f + 2 still aggregates with k = max(1, n − f − 2) (no guarantee, documented)', () => {
    // n = 3, f = 1: k = 1. a = [0,0,0], b = [1,0,0], c = [5,0,0]; a–b 1, a–c 25, b–c 16
    // scores a 1, b 1, c 16 → tie a/b → a
    const three = [f32(0, 0, 0), f32(1, 0, 0), f32(5, 0, 0)];
    expect(Array.from(krumScores(three, 1))).toEqual([1, 1, 16]);
    expect(run(new Krum(false), updates(three))).toEqual([0, 0, 0]);
    // Multi-Krum, m = n − f = 2: mean of a and b
    expect(run(new Krum(true), updates(three))).toEqual([0.5, 0, 0]);
    // A single update: k = 0, score 0, it is the result.
    expect(run(new Krum(false), updates([f32(4, 5, 6)]))).toEqual([4, 5, 6]);
    expect(run(new Krum(true), updates([f32(4, 5, 6)]))).toEqual([4, 5, 6]);
  });

  it('validates byzantine and multiKrumSelect', () => {
    expect(() => new Krum(false, { byzantine: -1 })).toThrow(
      /krum: byzantine must be an integer ≥ 0, got -1/,
    );
    expect(() => new Krum(true, { byzantine: 1.5 })).toThrow(/multi-krum: byzantine .* got 1.5/);
    expect(() => new Krum(true, { multiKrumSelect: 0 })).toThrow(
      /multi-krum: multiKrumSelect must be an integer ≥ 1, got 0/,
    );
  });

  it('is stateless', () => {
    const s = new Krum(false);
    expect(s.fitConfig(2)).toEqual({ proxMu: 0 });
    expect(s.exportState()).toEqual({});
  });
});

describe('Multi-Krum', () => {
  it('averages the n − f lowest-scored deltas, unweighted (hand-computed)', () => {
    const s = new Krum(true);
    expect(s.name).toBe('multi-krum');
    expect(run(s, updates(DELTAS))).toEqual([0.5, 0.75, 0]);
  });

  it('averages the multiKrumSelect lowest-scored deltas, ties by index (hand-computed)', () => {
    expect(run(new Krum(true, { multiKrumSelect: 2 }), updates(DELTAS))).toEqual([0.5, 0, 0]);
    expect(run(new Krum(true, { multiKrumSelect: 1 }), updates(DELTAS))).toEqual([1, 0, 0]);
  });

  it('clamps multiKrumSelect to the number of updates (then it is the plain mean)', () => {
    // mean of all five = [12/5, 13/5, 0] = [2.4, 2.6, 0]
    const out = run(new Krum(true, { multiKrumSelect: 50 }), updates(DELTAS));
    expect(out[0]).toBeCloseTo(2.4, 6);
    expect(out[1]).toBeCloseTo(2.6, 6);
    expect(out[2]).toBe(0);
  });

  it('with f = 0 keeps all n by default', () => {
    const out = run(new Krum(true, { byzantine: 0 }), updates(DELTAS));
    expect(out[0]).toBeCloseTo(2.4, 6);
  });
});
