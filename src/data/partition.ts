/**
 * Seeded partitioners that split row indices among federated clients.
 *
 * - `iidPartition`: shuffle 0..n-1, then deal contiguous chunks so client sizes differ by at most 1.
 * - `dirichletPartition`: label-skewed non-IID split controlled by a concentration α. Dirichlet label skew
 *   was popularised for FL benchmarks by Hsu, Qi & Brown (2019), "Measuring the Effects of Non-Identical
 *   Data Distribution for Federated Visual Classification" (arXiv:1909.06335). The scheme implemented here
 *   is the per-class variant of Yurochkin et al. (2019, arXiv:1905.12022) that Flower's
 *   `DirichletPartitioner` uses (without its optional self-balancing): for every class, shuffle that class's
 *   rows, draw p ~ Dir(α, …, α) over clients, and cut the class at the floored cumulative proportions
 *   ⌊(p₁+…+p_j)·n_c⌋. If any client ends up with fewer than `minPerClient` rows, the whole draw is repeated
 *   from the same seeded stream (at most 100 tries, then a `PartitionError`). Small α (e.g. 0.1) gives
 *   clients dominated by one or two classes; large α (e.g. 100) approaches an IID split.
 *
 * Every row lands in exactly one client, each returned Int32Array is sorted ascending, and the same
 * arguments and seed give an identical partition.
 */

import { Rng } from '../core/random.ts';

/** Thrown when the Dirichlet sampler cannot meet `minPerClient` within its retry budget. */
export class PartitionError extends Error {
  override name = 'PartitionError';
}

export const MAX_DIRICHLET_TRIES = 100;

function checkClients(fn: string, clients: number): void {
  if (!Number.isInteger(clients) || clients < 1) {
    throw new RangeError(`${fn}: clients must be an integer ≥ 1, got ${clients}`);
  }
}

function sortedInt32(xs: ArrayLike<number>): Int32Array {
  return Int32Array.from(xs).sort();
}

/** Shuffle row indices 0..n-1 with `seed`, then deal them into `clients` parts whose sizes differ by ≤ 1. */
export function iidPartition(n: number, clients: number, seed: number): Int32Array[] {
  const fn = 'iidPartition';
  checkClients(fn, clients);
  if (!Number.isInteger(n) || n < clients) {
    throw new RangeError(
      `${fn}: n must be an integer ≥ clients (${clients}) so no client is empty, got ${n}`,
    );
  }
  const order = new Rng(seed).shuffle(Int32Array.from({ length: n }, (_, i) => i));
  const base = Math.floor(n / clients);
  const extra = n % clients;
  const parts: Int32Array[] = [];
  let start = 0;
  for (let c = 0; c < clients; c++) {
    const size = base + (c < extra ? 1 : 0);
    parts.push(order.slice(start, start + size).sort());
    start += size;
  }
  return parts;
}

/**
 * Label-skewed split of rows 0..labels.length-1 among `clients`: each class is divided among clients by an
 * independent Dir(α) draw (see the module docblock). Redraws, up to 100 times, until every client has at
 * least `minPerClient` rows (default 1); otherwise throws a `PartitionError`.
 */
export function dirichletPartition(
  labels: ArrayLike<number>,
  k: number,
  clients: number,
  alpha: number,
  seed: number,
  minPerClient = 1,
): Int32Array[] {
  const fn = 'dirichletPartition';
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`${fn}: k must be an integer ≥ 1, got ${k}`);
  checkClients(fn, clients);
  if (!(Number.isFinite(alpha) && alpha > 0)) {
    throw new RangeError(`${fn}: alpha must be a finite number > 0, got ${alpha}`);
  }
  if (!Number.isInteger(minPerClient) || minPerClient < 0) {
    throw new RangeError(`${fn}: minPerClient must be an integer ≥ 0, got ${minPerClient}`);
  }
  const n = labels.length;
  if (n < clients * minPerClient) {
    throw new RangeError(
      `${fn}: need at least clients × minPerClient = ${clients} × ${minPerClient} = ${clients * minPerClient} rows, got ${n}`,
    );
  }
  const byClass: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    if (!Number.isInteger(y) || y < 0 || y >= k) {
      throw new RangeError(`${fn}: labels[${i}] must be an integer class index in [0, ${k}), got ${y}`);
    }
    (byClass[y] as number[]).push(i);
  }

  const rng = new Rng(seed);
  let smallest = 0;
  for (let attempt = 1; attempt <= MAX_DIRICHLET_TRIES; attempt++) {
    const parts: number[][] = Array.from({ length: clients }, () => []);
    for (const rows of byClass) {
      if (rows.length === 0) continue;
      const idx = rng.shuffle(rows.slice());
      const p = rng.dirichlet(alpha, clients);
      let cum = 0;
      let start = 0;
      for (let c = 0; c < clients; c++) {
        cum += p[c] as number;
        const end = c === clients - 1 ? idx.length : Math.min(idx.length, Math.floor(cum * idx.length));
        const part = parts[c] as number[];
        for (let j = start; j < end; j++) part.push(idx[j] as number);
        start = Math.max(start, end);
      }
    }
    smallest = parts.reduce((m, p) => Math.min(m, p.length), n);
    if (smallest >= minPerClient) return parts.map(sortedInt32);
  }
  throw new PartitionError(
    `${fn}: could not give every one of ${clients} clients at least ${minPerClient} rows in ` +
      `${MAX_DIRICHLET_TRIES} Dirichlet draws (alpha = ${alpha}, ${n} rows; the last draw's smallest client ` +
      `had ${smallest}). Increase alpha, or lower minPerClient or the number of clients.`,
  );
}

/** Per-client sizes and class counts: `classCounts[client][class]`. */
export function partitionSummary(
  parts: Int32Array[],
  labels: ArrayLike<number>,
  k: number,
): { sizes: number[]; classCounts: number[][] } {
  const fn = 'partitionSummary';
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`${fn}: k must be an integer ≥ 1, got ${k}`);
  const classCounts = parts.map((part, c) => {
    const counts = new Array<number>(k).fill(0);
    for (const i of part) {
      if (i < 0 || i >= labels.length) {
        throw new RangeError(
          `${fn}: client ${c} holds row ${i}, expected a row index in [0, ${labels.length})`,
        );
      }
      const y = labels[i] as number;
      if (!Number.isInteger(y) || y < 0 || y >= k) {
        throw new RangeError(`${fn}: labels[${i}] must be an integer class index in [0, ${k}), got ${y}`);
      }
      counts[y] = (counts[y] as number) + 1;
    }
    return counts;
  });
  return { sizes: parts.map((p) => p.length), classCounts };
}
