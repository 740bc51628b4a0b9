/**
 * The sparse communication graph of SecAgg+ (Bell, Bonawitz, Gascón, Lepoint, Raykova, "Secure
 * Single-Server Aggregation with (Poly)Logarithmic Overhead", CCS 2020): a random Harary graph
 * H(n, k). The n members (indices 1..n) are put in a random order π drawn from the server's 32-byte round
 * seed (Fisher–Yates driven by ChaCha20 of the seed, rejection-sampled, so every order is equally likely);
 * each member is joined to the k/2 members before and the k/2 after it on that cycle. Each member's
 * secrets are Shamir-shared among its group: itself and its k neighbours (g = k + 1 holders), threshold t.
 *
 * Degree and threshold (`secAggDegree`), after the paper's analysis, with the security parameter σ
 * (privacy fails with probability ≤ 2^−σ), the correctness parameter η (an honest round fails with
 * probability ≤ 2^−η), at most a fraction γ of members corrupt (colluding with the server) and at most a
 * fraction δ dropping out, both fixed independently of the graph. In a random Harary graph a member's k
 * neighbours are a uniform k-subset of the other n − 1, so the number of corrupt neighbours X_c is
 * hypergeometric HG(n − 1, ⌈γn⌉, k) and the number of corrupt-or-dropped ones X_cd is HG(n − 1, ⌈γn⌉ +
 * ⌈δn⌉, k). With a union bound over the n members, the smallest even k is taken such that
 *   c = min{c : n · P[X_c ≥ c] ≤ 2^−σ},  t = ⌈(k + 1 + c) / 2⌉   (privacy: 2t > g + corrupt holders, so
 *       neither the corrupt holders alone nor any split of the honest holders' answers reach t twice), and
 *   n · P[X_cd > k − t] ≤ 2^−η                                       (correctness: t honest survivors answer).
 * If no k < n − 1 qualifies, the graph is complete (k = n − 1, g = n) with t = ⌊(n + ⌈γn⌉) / 2⌋ + 1,
 * Bonawitz et al.'s (CCS 2017) setting. k grows as O(log n + σ): with σ = 40, η = 30, γ = δ = 0.05 it is
 * 28, 92, 114, 136 for n = 10^2, 10^3, 10^4, 10^6.
 * @module
 */
import { chacha20 } from '@noble/ciphers/chacha.js';
import { SecAggError } from './errors.ts';

/** Security parameters of a round; announced by the server, checked by every client. */
export interface GraphParams {
  /** Statistical security σ (bits): privacy fails with probability ≤ 2^−σ. */
  sigma: number;
  /** Correctness η (bits): an honest round fails with probability ≤ 2^−η. */
  eta: number;
  /** Largest fraction of members that may be corrupt, in [0, 1/3). */
  gamma: number;
  /** Largest fraction of members that may drop out, in [0, 1/2). */
  delta: number;
}

/** The default: σ = 40, η = 30 as in the paper's tables, γ = δ = 5%. */
export const DEFAULT_GRAPH_PARAMS: Readonly<GraphParams> = Object.freeze({
  sigma: 40,
  eta: 30,
  gamma: 0.05,
  delta: 0.05,
});

/** Bounds a client accepts for the server's parameters (a server cannot weaken them below these). */
export const GRAPH_PARAM_BOUNDS = {
  sigma: { min: 40, max: 128 },
  eta: { min: 10, max: 128 },
  gamma: { min: 0, max: 0.33 },
  delta: { min: 0, max: 0.5 },
} as const;

export function checkGraphParams(p: GraphParams): GraphParams {
  for (const key of ['sigma', 'eta', 'gamma', 'delta'] as const) {
    const v = p[key];
    const { min, max } = GRAPH_PARAM_BOUNDS[key];
    if (typeof v !== 'number' || !(v >= min && v <= max)) {
      throw new SecAggError('bad-config', `graph parameter ${key}: expected ${min} to ${max}, got ${v}`);
    }
  }
  return p;
}

/** A round's degree k (neighbours of each member) and Shamir threshold t, for n members. */
export interface Degree {
  n: number;
  k: number;
  t: number;
  /** True when every member neighbours every other (k = n − 1). */
  complete: boolean;
}

const LANCZOS = [
  0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150391699919,
  12.507343278686905, -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7,
];

/** ln Γ(z) for z ≥ 0.5 (Lanczos, g = 7; relative error ≈ 1e−15). */
function lnGamma(z: number): number {
  const y = z - 1;
  let x = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) x += LANCZOS[i]! / (y + i);
  const t = y + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(x);
}

function lnChoose(a: number, b: number): number {
  if (b < 0 || b > a) return Number.NEGATIVE_INFINITY;
  return lnGamma(a + 1) - lnGamma(b + 1) - lnGamma(a - b + 1);
}

/** log2 P[X ≥ c] for X ~ Hypergeometric(population, successes, draws). */
export function log2HypergeometricTail(
  population: number,
  successes: number,
  draws: number,
  c: number,
): number {
  const hi = Math.min(successes, draws);
  const lo = Math.max(c, 0, draws - (population - successes));
  if (lo > hi) return Number.NEGATIVE_INFINITY;
  const den = lnChoose(population, draws);
  const terms: number[] = [];
  let max = Number.NEGATIVE_INFINITY;
  for (let x = lo; x <= hi; x++) {
    const v = lnChoose(successes, x) + lnChoose(population - successes, draws - x) - den;
    terms.push(v);
    if (v > max) max = v;
  }
  let s = 0;
  for (const v of terms) s += Math.exp(v - max);
  return Math.min(0, (max + Math.log(s)) / Math.LN2);
}

/**
 * The smallest c with log2 P[X ≥ c] ≤ `log2Bound` for X ~ Hypergeometric(population, successes, draws), in
 * one pass over the support (tails summed from the top).
 */
export function hypergeometricQuantile(
  population: number,
  successes: number,
  draws: number,
  log2Bound: number,
): number {
  const hi = Math.min(successes, draws);
  const lo = Math.max(0, draws - (population - successes));
  const den = lnChoose(population, draws);
  const bound = log2Bound * Math.LN2;
  let acc = Number.NEGATIVE_INFINITY;
  for (let x = hi; x >= lo; x--) {
    const term = lnChoose(successes, x) + lnChoose(population - successes, draws - x) - den;
    const hiTerm = Math.max(acc, term);
    const next = hiTerm + Math.log(Math.exp(acc - hiTerm) + Math.exp(term - hiTerm));
    if (next > bound) return x + 1;
    acc = next;
  }
  return lo;
}

/** Most members a round may have. */
export const MAX_MEMBERS = 1 << 20;
/**
 * Largest degree the sparse search tries (it costs O(k) per candidate k): parameters that need more get the
 * complete graph. The defaults need 136 at 10^6 members.
 */
export const MAX_SPARSE_DEGREE = 1024;

/** The degree k and threshold t for `n` members under `params` (see the module comment). */
export function secAggDegree(n: number, params: GraphParams = DEFAULT_GRAPH_PARAMS): Degree {
  checkGraphParams(params);
  if (!Number.isSafeInteger(n) || n < 2 || n > MAX_MEMBERS) {
    throw new SecAggError('bad-config', `graph: expected 2 to ${MAX_MEMBERS} members, got ${n}`);
  }
  const corrupt = Math.ceil(params.gamma * n);
  const dropped = Math.ceil(params.delta * n);
  const privacy = -params.sigma - Math.log2(n);
  const correctness = -params.eta - Math.log2(n);
  for (let k = 2; k < n - 1 && k <= MAX_SPARSE_DEGREE; k += 2) {
    const c = hypergeometricQuantile(n - 1, corrupt, k, privacy);
    const t = Math.ceil((k + 1 + c) / 2);
    if (t > k) continue;
    if (log2HypergeometricTail(n - 1, corrupt + dropped, k, k - t + 1) <= correctness) {
      return { n, k, t, complete: false };
    }
  }
  return { n, k: n - 1, t: Math.min(n, Math.floor((n + corrupt) / 2) + 1), complete: true };
}

/** A uniformly random order of 1..n from `seed`: Fisher–Yates over ChaCha20 words, rejection-sampled. */
export function memberOrder(seed: Uint8Array, n: number): Uint32Array {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new SecAggError('bad-length', `graph seed: expected 32 bytes, got ${seed?.length}`);
  }
  const order = Uint32Array.from({ length: n }, (_, i) => i + 1);
  const nonce = Uint8Array.of(0x67, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0); // 'g'
  let words = new Uint32Array(0);
  let at = 0;
  let block = 0;
  const next = (): number => {
    if (at === words.length) {
      const bytes = chacha20(seed, nonce, new Uint8Array(4096), undefined, block);
      block += 4096 / 64;
      words = new Uint32Array(bytes.buffer, 0, 1024);
      at = 0;
    }
    return words[at++]!;
  };
  for (let i = n - 1; i > 0; i--) {
    const range = i + 1;
    const limit = 2 ** 32 - (2 ** 32 % range);
    let r = next();
    while (r >= limit) r = next();
    const j = r % range;
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }
  return order;
}

/** The neighbour graph of a round: who is joined to whom. */
export class NeighbourGraph {
  readonly n: number;
  readonly k: number;
  private readonly order: Uint32Array;
  private readonly position: Uint32Array;

  constructor(seed: Uint8Array, degree: Degree) {
    this.n = degree.n;
    this.k = degree.k;
    this.order = memberOrder(seed, degree.n);
    this.position = new Uint32Array(degree.n + 1);
    this.order.forEach((member, p) => {
      this.position[member] = p;
    });
  }

  /** The k neighbours of member `index` (1-based), ascending. */
  neighbours(index: number): number[] {
    if (!Number.isInteger(index) || index < 1 || index > this.n) {
      throw new SecAggError(
        'unknown-client',
        `graph: expected a member index in [1, ${this.n}], got ${index}`,
      );
    }
    if (this.k >= this.n - 1) {
      return Array.from({ length: this.n }, (_, i) => i + 1).filter((m) => m !== index);
    }
    const p = this.position[index]!;
    const out: number[] = [];
    for (let d = 1; d <= this.k / 2; d++) {
      out.push(this.order[(p + d) % this.n]!, this.order[(p - d + this.n) % this.n]!);
    }
    return out.sort((a, b) => a - b);
  }

  /** True when `a` and `b` are neighbours. */
  adjacent(a: number, b: number): boolean {
    if (a === b) return false;
    if (this.k >= this.n - 1) return true;
    const pa = this.position[a]!;
    const pb = this.position[b]!;
    const d = Math.abs(pa - pb);
    return Math.min(d, this.n - d) <= this.k / 2;
  }
}
