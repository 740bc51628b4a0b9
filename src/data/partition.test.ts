import { describe, expect, it } from 'vitest';
import {
  dirichletPartition,
  iidPartition,
  MAX_DIRICHLET_TRIES,
  PartitionError,
  partitionSummary,
} from './partition.ts';

/** Balanced labels: `perClass` rows of each of `k` classes, interleaved. */
function balancedLabels(k: number, perClass: number): Int32Array {
  return Int32Array.from({ length: k * perClass }, (_, i) => i % k);
}

function expectExactCover(parts: Int32Array[], n: number): void {
  const seen = new Uint8Array(n);
  let total = 0;
  for (const part of parts) {
    for (let j = 0; j < part.length; j++) {
      const i = part[j] as number;
      expect(i).toBeGreaterThanOrEqual(0);
      expect(i).toBeLessThan(n);
      seen[i] = (seen[i] as number) + 1;
      if (j > 0) expect(i).toBeGreaterThan(part[j - 1] as number); // sorted ascending, no repeats
    }
    total += part.length;
  }
  expect(total).toBe(n);
  expect(seen.every((s) => s === 1)).toBe(true);
}

/** Mean over clients of the share of the client's most frequent class. */
function meanMaxShare(parts: Int32Array[], labels: ArrayLike<number>, k: number): number {
  const { sizes, classCounts } = partitionSummary(parts, labels, k);
  let s = 0;
  classCounts.forEach((counts, c) => {
    s += Math.max(...counts) / (sizes[c] as number);
  });
  return s / parts.length;
}

describe('iidPartition', () => {
  it('puts every index in exactly one client, sorted, with sizes differing by at most 1', () => {
    for (const [n, clients] of [
      [103, 10],
      [100, 10],
      [7, 7],
      [5, 1],
    ] as const) {
      const parts = iidPartition(n, clients, 11);
      expect(parts).toHaveLength(clients);
      expectExactCover(parts, n);
      const sizes = parts.map((p) => p.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('is deterministic for a seed, differs across seeds, and actually shuffles', () => {
    const a = iidPartition(50, 5, 3);
    expect(iidPartition(50, 5, 3)).toEqual(a);
    expect(iidPartition(50, 5, 4)).not.toEqual(a);
    // Not the identity dealing 0..9, 10..19, …
    expect(a[0]).not.toEqual(Int32Array.from({ length: 10 }, (_, i) => i));
  });

  it('rejects bad arguments', () => {
    expect(() => iidPartition(10, 0, 1)).toThrow(
      new RangeError('iidPartition: clients must be an integer ≥ 1, got 0'),
    );
    expect(() => iidPartition(10, 2.5, 1)).toThrow(/clients must be an integer ≥ 1, got 2\.5/);
    expect(() => iidPartition(3, 4, 1)).toThrow(/n must be an integer ≥ clients \(4\).*got 3/);
    expect(() => iidPartition(3.5, 2, 1)).toThrow(RangeError);
  });
});

describe('dirichletPartition', () => {
  const K = 10;
  const labels = balancedLabels(K, 200); // 2000 rows

  it('puts every index in exactly one client, sorted, including with an empty class', () => {
    expectExactCover(dirichletPartition(labels, K, 10, 0.5, 1), labels.length);
    const withGap = Int32Array.from({ length: 300 }, (_, i) => (i % 3) * 2); // classes 0, 2, 4 only
    const parts = dirichletPartition(withGap, 5, 4, 1, 2);
    expect(parts).toHaveLength(4);
    expectExactCover(parts, withGap.length);
    const { classCounts } = partitionSummary(parts, withGap, 5);
    expect(classCounts.reduce((s, c) => s + (c[1] as number) + (c[3] as number), 0)).toBe(0);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = dirichletPartition(labels, K, 8, 0.3, 42);
    expect(dirichletPartition(labels, K, 8, 0.3, 42)).toEqual(a);
    expect(dirichletPartition(labels, K, 8, 0.3, 43)).not.toEqual(a);
  });

  it('shuffles each class before cutting it, so a client does not get a run of consecutive rows', () => {
    const oneClass = new Int32Array(100); // all class 0
    const [first] = dirichletPartition(oneClass, 1, 2, 1, 7);
    expect(first).toBeDefined();
    const m = (first as Int32Array).length;
    expect(m).toBeGreaterThan(1);
    expect(first).not.toEqual(Int32Array.from({ length: m }, (_, i) => i));
  });

  it('gives skewed class mixes for small alpha and near-IID mixes for large alpha', () => {
    const skewed = meanMaxShare(dirichletPartition(labels, K, 10, 0.1, 5), labels, K);
    const flat = meanMaxShare(dirichletPartition(labels, K, 10, 100, 5), labels, K);
    // Uniform mix would be 0.1 per class.
    expect(skewed).toBeGreaterThan(0.5);
    expect(flat).toBeLessThan(0.2);
    expect(skewed).toBeGreaterThan(3 * flat);
  });

  it('approaches an IID split as alpha grows', () => {
    const parts = dirichletPartition(labels, K, 10, 1000, 9);
    const { sizes, classCounts } = partitionSummary(parts, labels, K);
    for (const [c, counts] of classCounts.entries()) {
      const size = sizes[c] as number;
      expect(Math.abs(size - 200)).toBeLessThan(40);
      // Total-variation distance between the client's class mix and the global uniform mix.
      const tv = counts.reduce((s, x) => s + Math.abs(x / size - 1 / K), 0) / 2;
      expect(tv).toBeLessThan(0.1);
    }
  });

  it('honours minPerClient by redrawing', () => {
    const small = balancedLabels(10, 20); // 200 rows, 10 clients → 20 per client on average
    let wouldViolate = false;
    for (let seed = 0; seed < 10; seed++) {
      const parts = dirichletPartition(small, 10, 10, 0.3, seed, 10);
      expectExactCover(parts, small.length);
      for (const p of parts) expect(p.length).toBeGreaterThanOrEqual(10);
      const unconstrained = dirichletPartition(small, 10, 10, 0.3, seed, 0);
      if (unconstrained.some((p) => p.length < 10)) wouldViolate = true;
    }
    // The constraint is not vacuous: without it some client falls below 10 rows.
    expect(wouldViolate).toBe(true);
  });

  it('throws a PartitionError when minPerClient cannot be met within the retry budget', () => {
    // 10 rows among 10 clients with alpha = 0.1: every client getting exactly one row is vanishingly rare.
    const tiny = balancedLabels(2, 5);
    let caught: unknown;
    try {
      dirichletPartition(tiny, 2, 10, 0.1, 1);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(PartitionError);
    expect(caught).toBeInstanceOf(Error);
    expect((caught as Error).name).toBe('PartitionError');
    expect((caught as Error).message).toMatch(
      new RegExp(
        `10 clients at least 1 rows in ${MAX_DIRICHLET_TRIES} Dirichlet draws \\(alpha = 0\\.1, 10 rows`,
      ),
    );
  });

  it('rejects bad arguments with expected-vs-got messages', () => {
    expect(() => dirichletPartition(labels, K, 0, 1, 1)).toThrow(
      new RangeError('dirichletPartition: clients must be an integer ≥ 1, got 0'),
    );
    expect(() => dirichletPartition(labels, K, 1.5, 1, 1)).toThrow(
      /clients must be an integer ≥ 1, got 1\.5/,
    );
    expect(() => dirichletPartition(labels, K, 4, 0, 1)).toThrow(/alpha must be a finite number > 0, got 0/);
    expect(() => dirichletPartition(labels, K, 4, -1, 1)).toThrow(/alpha.*got -1/);
    expect(() => dirichletPartition(labels, K, 4, Number.POSITIVE_INFINITY, 1)).toThrow(
      /alpha.*got Infinity/,
    );
    expect(() => dirichletPartition(labels, K, 4, Number.NaN, 1)).toThrow(/alpha.*got NaN/);
    expect(() => dirichletPartition([0, 1, 0], 2, 2, 1, 1, 2)).toThrow(
      /need at least clients × minPerClient = 2 × 2 = 4 rows, got 3/,
    );
    expect(() => dirichletPartition([0, 1], 2, 4, 1, 1)).toThrow(/= 4 rows, got 2/);
    expect(() => dirichletPartition(labels, K, 4, 1, 1, -1)).toThrow(
      /minPerClient must be an integer ≥ 0, got -1/,
    );
    expect(() => dirichletPartition([0, 2, 1], 2, 1, 1, 1)).toThrow(/labels\[1\].*\[0, 2\), got 2/);
    expect(() => dirichletPartition([0, 1], 0, 1, 1, 1)).toThrow(/k must be an integer ≥ 1, got 0/);
  });
});

describe('partitionSummary', () => {
  it('counts sizes and classes per client', () => {
    const labels = [0, 1, 1, 2, 0];
    const parts = [Int32Array.of(0, 1), Int32Array.of(2, 3, 4), Int32Array.of()];
    expect(partitionSummary(parts, labels, 3)).toEqual({
      sizes: [2, 3, 0],
      classCounts: [
        [1, 1, 0],
        [1, 1, 1],
        [0, 0, 0],
      ],
    });
  });

  it('rejects row indices and labels out of range', () => {
    expect(() => partitionSummary([Int32Array.of(5)], [0, 1], 2)).toThrow(
      /client 0 holds row 5, expected a row index in \[0, 2\)/,
    );
    expect(() => partitionSummary([Int32Array.of(1)], [0, 3], 2)).toThrow(/labels\[1\].*got 3/);
  });
});
