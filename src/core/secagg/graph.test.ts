import { describe, expect, it } from 'vitest';
import { isSecAggError } from './errors.ts';
import {
  DEFAULT_GRAPH_PARAMS,
  hypergeometricQuantile,
  log2HypergeometricTail,
  memberOrder,
  NeighbourGraph,
  secAggDegree,
} from './graph.ts';

describe('the SecAgg+ neighbour graph', () => {
  it('computes hypergeometric tails: HG(10, 3, 2), P[X ≥ 1] = 1 − C(7,2)/C(10,2) = 24/45, P[X ≥ 2] = 3/45', () => {
    expect(2 ** log2HypergeometricTail(10, 3, 2, 1)).toBeCloseTo(24 / 45, 7);
    expect(2 ** log2HypergeometricTail(10, 3, 2, 2)).toBeCloseTo(3 / 45, 7);
    expect(log2HypergeometricTail(10, 3, 2, 3)).toBe(Number.NEGATIVE_INFINITY);
    expect(log2HypergeometricTail(10, 3, 2, 0)).toBeCloseTo(0, 7);
    // Quantiles: P[X ≥ 1] = 24/45 > 0.1, P[X ≥ 2] = 3/45 ≤ 0.1 → 2; nothing is ≤ 2^−50 before 3 → 3.
    expect(hypergeometricQuantile(10, 3, 2, Math.log2(0.1))).toBe(2);
    expect(hypergeometricQuantile(10, 3, 2, -50)).toBe(3);
    expect(hypergeometricQuantile(10, 0, 2, -50)).toBe(1);
  });

  it('answers quickly even for parameters no sparse graph meets (bounded search)', () => {
    const start = performance.now();
    const d = secAggDegree(10_000, { sigma: 128, eta: 128, gamma: 0.33, delta: 0.5 });
    expect(d.complete).toBe(true);
    // Not a timing assertion on the machine's speed: a guard against the O(n·k²) search, which took hours.
    expect(performance.now() - start).toBeLessThan(60_000);
  });

  it('grows the degree about logarithmically: ×1000 members (10^3 → 10^6) adds < 50% to k', () => {
    const ks = [100, 1000, 10_000, 100_000, 1_000_000].map((n) => secAggDegree(n, DEFAULT_GRAPH_PARAMS));
    for (const d of ks) {
      expect(d.k % 2).toBe(0);
      expect(d.complete).toBe(false);
      expect(d.t).toBeGreaterThan((d.k + 1) / 2);
      expect(d.t).toBeLessThanOrEqual(d.k);
    }
    expect(ks.map((d) => d.k)).toEqual([...ks.map((d) => d.k)].sort((a, b) => a - b));
    expect(ks[4]!.k / ks[1]!.k).toBeLessThan(1.5);
    expect(ks[4]!.k).toBeLessThan(200);
  });

  it('falls back to the complete graph for a few members, threshold ⌊(n + ⌈γn⌉)/2⌋ + 1', () => {
    const d = secAggDegree(10, { sigma: 40, eta: 30, gamma: 0.05, delta: 0.4 });
    expect(d).toEqual({ n: 10, k: 9, t: 6, complete: true });
  });

  it('draws a permutation from the seed, the same one for the same seed', () => {
    const seed = new Uint8Array(32).fill(5);
    const order = memberOrder(seed, 1000);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(memberOrder(seed, 1000)).toEqual(order);
    expect(memberOrder(new Uint8Array(32).fill(6), 1000)).not.toEqual(order);
  });

  it('joins each member to exactly k others, symmetrically', () => {
    const degree = secAggDegree(300, DEFAULT_GRAPH_PARAMS);
    const g = new NeighbourGraph(new Uint8Array(32).fill(1), degree);
    const all = Array.from({ length: 301 }, (_, i) =>
      i === 0 ? new Set<number>() : new Set(g.neighbours(i)),
    );
    for (let i = 1; i <= 300; i++) {
      const ns = [...all[i]!];
      expect(ns.length).toBe(degree.k);
      expect(new Set(ns).size).toBe(degree.k);
      expect(ns.includes(i)).toBe(false);
      expect(ns.every((j) => g.adjacent(i, j) && all[j]!.has(i))).toBe(true);
    }
  });

  it('refuses parameters below the bounds a client accepts', () => {
    try {
      secAggDegree(100, { ...DEFAULT_GRAPH_PARAMS, sigma: 20 });
      expect.unreachable();
    } catch (e) {
      expect(isSecAggError(e, 'bad-config')).toBe(true);
    }
  });
});
