/**
 * The special functions the RDP accountant needs, in double precision and in log space: log Γ (Lanczos,
 * g = 7, n = 9, with the reflection formula below ½), log erfc (a series below 2.5, a continued fraction
 * above, so that log erfc(40) is −1,604.4 and not log 0), and log-space addition and subtraction.
 *
 * They replace scipy's `gammaln` and `log_ndtr`, which Google's dp-accounting
 * (python/dp_accounting/dp_accounting/rdp/rdp_privacy_accountant.py) calls; checked against scipy 1.17 in
 * special.test.ts. Pure: no I/O.
 */

const LANCZOS_G = 7;
/** Lanczos coefficients for g = 7, n = 9 (Godfrey; as in Numerical Recipes and many libraries). */
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
] as const;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** log |Γ(x)| for real x (not a pole: x ∉ {0, −1, −2, …}, where it is +∞). */
export function logGamma(x: number): number {
  if (x <= 0 && Number.isInteger(x)) return Number.POSITIVE_INFINITY;
  if (x < 0.5) {
    // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
    const s = Math.sin(Math.PI * x);
    return Math.log(Math.PI / Math.abs(s)) - logGamma(1 - x);
  }
  const z = x - 1;
  let a = LANCZOS[0];
  const t = z + LANCZOS_G + 0.5;
  for (let i = 1; i < LANCZOS.length; i++) a += LANCZOS[i]! / (z + i);
  return LOG_SQRT_2PI + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** log |C(n, k)| for real n, k (the generalised binomial coefficient through Γ). */
export function logComb(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);

/**
 * erf(x) for |x| ≤ 3 by the series erf x = (2/√π)·e^(−x²)·Σ (2x²)ⁿ·x / (1·3·…·(2n+1)), whose terms are all
 * positive (no cancellation).
 */
function erfSeries(x: number): number {
  const ax = Math.abs(x);
  const x2 = 2 * ax * ax;
  let term = ax;
  let sum = ax;
  for (let n = 1; n < 200; n++) {
    term *= x2 / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  const r = TWO_OVER_SQRT_PI * Math.exp(-ax * ax) * sum;
  return x < 0 ? -r : r;
}

/**
 * log(√π · e^(x²) · erfc x) for x ≥ 2.5, by the continued fraction
 * √π·e^(x²)·erfc x = 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated from its tail (converged to
 * double precision for x ≥ 2.5 with 120 terms).
 */
function logScaledErfcTail(x: number): number {
  let f = x;
  for (let n = 120; n >= 1; n--) f = x + n / 2 / f;
  return -Math.log(f);
}

/** log erfc(x), accurate in its far tail (x up to ~1e150) where erfc underflows. */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x === Number.POSITIVE_INFINITY) return Number.NEGATIVE_INFINITY;
  if (x < 2.5) {
    // erfc = 1 − erf: for x < 0 it is in (1, 2], no cancellation; up to 2.5 at most ~4 digits are lost.
    return Math.log(1 - erfSeries(Math.max(x, -6)));
  }
  return logScaledErfcTail(x) - LOG_SQRT_PI - x * x;
}

/** log(eˣ + eʸ). */
export function logAdd(x: number, y: number): number {
  const a = Math.min(x, y);
  const b = Math.max(x, y);
  if (a === Number.NEGATIVE_INFINITY) return b;
  return Math.log1p(Math.exp(a - b)) + b;
}
