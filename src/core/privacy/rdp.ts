/**
 * Rényi differential privacy (Mironov 2017) of the Poisson-subsampled Gaussian mechanism, and its
 * conversion to (ε, δ)-DP.
 *
 * - RDP at order α of one round that includes each client independently with probability q and adds
 *   Gaussian noise of standard deviation z·C to a sum of updates clipped to L2 norm C (noise multiplier z):
 *   ε_α = log(A_α) / (α − 1), with A_α computed as in Mironov, Talwar & Zhang (2019), "Rényi Differential
 *   Privacy of the Sampled Gaussian Mechanism" (arXiv:1908.10530): the binomial sum (Sec. 3.2) for integer
 *   α, the two-sided series with erfc tails (Sec. 3.3) for fractional α. The algorithm, the default orders
 *   and the cut-offs are those of Google's dp-accounting (python/dp_accounting/dp_accounting/rdp/
 *   rdp_privacy_accountant.py: `_compute_log_a_int`, `_compute_log_a_frac`,
 *   `_compute_rdp_poisson_subsampled_gaussian`, `DEFAULT_RDP_ORDERS`), under its default neighbouring
 *   relation, add-or-remove-one (here: one client's whole contribution).
 * - RDP composes additively over rounds.
 * - RDP → (ε, δ): the improved conversion of Balle, Barthe, Gaboardi, Hsu & Sato (2020), "Hypothesis testing
 *   interpretations and Rényi differential privacy", Theorem 21, also Canonne, Kamath & Steinke (2020),
 *   Proposition 12: ε = min_α [ε_α + log((α−1)/α) − (log δ + log α)/(α − 1)], with dp-accounting's guards
 *   (orders ≤ 1.01 skipped, and ε = 0 when δ² > 1 − e^(−ε_α) by the KL bound). Opacus's `get_privacy_spent`
 *   uses the same formula.
 *
 * Checked against both references' published test values in rdp.test.ts. Pure: no I/O.
 */
import { logAdd, logComb, logErfc } from './special.ts';

/** dp-accounting's DEFAULT_RDP_ORDERS: 1.1 … 10.9 by 0.1, 11 … 63, 128, 256, 512, 1024. */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10),
  ...Array.from({ length: 53 }, (_, x) => 11 + x),
  128,
  256,
  512,
  1024,
]);

/** A privacy parameter out of its domain (a sampling rate outside [0, 1], a negative δ, …). */
export class PrivacyError extends RangeError {
  override name = 'PrivacyError';
}

/** log(A_α) for integer α ≥ 1 and 0 < q < 1 (Mironov et al. 2019, Sec. 3.2). */
function logAInt(q: number, sigma: number, alpha: number): number {
  let logA = Number.NEGATIVE_INFINITY;
  const logQ = Math.log(q);
  const log1mq = Math.log1p(-q);
  for (let i = 0; i <= alpha; i++) {
    const logCoef = logComb(alpha, i) + i * logQ + (alpha - i) * log1mq;
    logA = logAdd(logA, logCoef + (i * i - i) / (2 * sigma * sigma));
  }
  return logA;
}

/** dp-accounting's `_MAX_STEPS_LOG_A_FRAC`: a fractional order whose series has not converged is dropped. */
const MAX_STEPS_LOG_A_FRAC = 1000;

/** log(A_α) for fractional α > 1 and 0 < q < 1 (Mironov et al. 2019, Sec. 3.3); +∞ if the series stalls. */
function logAFrac(q: number, sigma: number, alpha: number): number {
  let logA0 = Number.NEGATIVE_INFINITY;
  let logA1 = Number.NEGATIVE_INFINITY;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const logQ = Math.log(q);
  const log1mq = Math.log1p(-q);
  const logHalf = Math.log(0.5);
  let lastS0 = Number.NEGATIVE_INFINITY;
  let lastS1 = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < MAX_STEPS_LOG_A_FRAC; i++) {
    const logCoef = logComb(alpha, i);
    const j = alpha - i;
    const logT0 = logCoef + i * logQ + j * log1mq;
    const logT1 = logCoef + j * logQ + i * log1mq;
    const logE0 = logHalf + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const logE1 = logHalf + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    logA0 = logAdd(logA0, logS0);
    logA1 = logAdd(logA1, logS1);
    const total = logAdd(logA0, logA1);
    // Stop once both terms decrease and are negligible next to the total.
    if (logS0 < lastS0 && logS1 < lastS1 && Math.max(logS0, logS1) < total - 30) return total;
    lastS0 = logS0;
    lastS1 = logS1;
  }
  return Number.POSITIVE_INFINITY;
}

/**
 * RDP of one round of the Poisson-subsampled Gaussian mechanism with sampling rate `q` and noise multiplier
 * `z`, at each of `orders` (each > 1; +∞ is allowed and gives +∞). q = 0 costs nothing; z = 0 costs +∞.
 */
export function subsampledGaussianRdp(q: number, z: number, orders: readonly number[]): Float64Array {
  if (!(q >= 0 && q <= 1)) throw new PrivacyError(`RDP: sampling rate q must be in [0, 1], got ${q}`);
  if (!(z >= 0) || z === Number.POSITIVE_INFINITY) {
    throw new PrivacyError(`RDP: noise multiplier must be a finite number ≥ 0, got ${z}`);
  }
  const out = new Float64Array(orders.length);
  orders.forEach((alpha, k) => {
    if (!(alpha > 1)) throw new PrivacyError(`RDP: every order must be > 1, got ${alpha}`);
    if (q === 0) out[k] = 0;
    else if (alpha === Number.POSITIVE_INFINITY || z === 0) out[k] = Number.POSITIVE_INFINITY;
    else if (q === 1) out[k] = alpha / (2 * z * z);
    else {
      const logA = Number.isInteger(alpha) ? logAInt(q, z, alpha) : logAFrac(q, z, alpha);
      out[k] = logA / (alpha - 1);
    }
  });
  return out;
}

/**
 * The smallest ε such that every (α, ε_α) pair implies (ε, δ)-DP, and the order that gives it
 * (dp-accounting `compute_epsilon`). δ = 0 gives 0 when nothing was spent, else +∞.
 */
export function epsilonFromRdp(
  orders: readonly number[],
  rdp: ArrayLike<number>,
  delta: number,
): { epsilon: number; order: number } {
  if (!(delta >= 0 && delta <= 1)) throw new PrivacyError(`RDP → ε: δ must be in [0, 1], got ${delta}`);
  if (orders.length !== rdp.length || orders.length === 0) {
    throw new PrivacyError(
      `RDP → ε: expected as many RDP values as orders (≥ 1), got ${rdp.length} for ${orders.length}`,
    );
  }
  if (delta === 0) {
    const none = Array.from(rdp).every((r) => r === 0);
    return { epsilon: none ? 0 : Number.POSITIVE_INFINITY, order: 0 };
  }
  let best = Number.POSITIVE_INFINITY;
  let bestOrder = orders[0]!;
  for (let k = 0; k < orders.length; k++) {
    const a = orders[k]!;
    const r = rdp[k]!;
    let eps: number;
    if (r < 0) eps = 0;
    else if (delta * delta + Math.expm1(-r) > 0)
      eps = 0; // the KL bound: δ ≤ √(1 − e^(−KL))
    else if (a > 1.01) eps = r + Math.log1p(-1 / a) - Math.log(delta * a) / (a - 1);
    else eps = Number.POSITIVE_INFINITY;
    if (eps < best) {
      best = eps;
      bestOrder = a;
    }
  }
  return { epsilon: Math.max(0, best), order: bestOrder };
}

/** The smallest δ for which the RDP curve implies (ε, δ)-DP (dp-accounting `compute_delta`). */
export function deltaFromRdp(orders: readonly number[], rdp: ArrayLike<number>, epsilon: number): number {
  if (!(epsilon >= 0)) throw new PrivacyError(`RDP → δ: ε must be ≥ 0, got ${epsilon}`);
  let best = Number.POSITIVE_INFINITY;
  for (let k = 0; k < orders.length; k++) {
    const a = orders[k]!;
    const r = rdp[k]!;
    let logDelta = r <= 0 ? Number.NEGATIVE_INFINITY : 0.5 * Math.log1p(-Math.exp(-r));
    if (a > 1.01) {
      logDelta = Math.min(logDelta, (a - 1) * (r - epsilon + Math.log1p(-1 / a)) - Math.log(a));
    }
    best = Math.min(best, logDelta);
  }
  return Math.min(Math.exp(best), 1);
}
