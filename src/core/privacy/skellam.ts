/**
 * Integer noise for secure aggregation: the distributed Skellam mechanism of Agarwal, Kairouz & Liu (2021),
 * "The Skellam Mechanism for Differentially Private Federated Learning" (NeurIPS).
 *
 * With secure aggregation the server sees only the sum, so each client adds its own share of the noise, in
 * the integers (the ring SecAgg masks in) before masking. Skellam(μ, μ) = Poisson(μ) − Poisson(μ) has mean 0
 * and variance 2μ, and is closed under sums: n shares of variance v/n add up to exactly Skellam of variance v.
 * The Poisson variates are exact samplers (not a normal approximation): multiplication of uniforms for
 * μ < 10, Hörmann's transformed rejection PTRS (1993, "The transformed rejection method for generating
 * Poisson random variables", Insurance: Mathematics and Economics 12) above, as numpy does; uniforms with 53
 * random bits from a CSPRNG (random-source.ts).
 *
 * Accounting (an approximation, stated in docs/differential-privacy.md): the sum of the shares is treated as
 * the central mechanism, a Gaussian of the same variance v on the scaled integer sum, whose L2 sensitivity
 * is `integerSensitivity(scale, C, d)`; Agarwal et al. show the Skellam RDP tends to the Gaussian's as v
 * grows (their Theorem 3.5 adds a term of order 1/v²). Dropouts lower the noise: size the shares for the
 * fewest clients a round may aggregate (its quorum), so the sum has at least v.
 *
 * For src/core/secagg/: `integerNoiseShare(length, variance, source)`, then add it to the update scaled by
 * `scale` and rounded with `randomizedRound`, then mask.
 */
import { PRIVACY } from '../limits.ts';
import { Draws, type RandomSource } from './random-source.ts';
import { PrivacyError } from './rdp.ts';
import { logGamma } from './special.ts';

/** One Poisson(μ) variate, exact (multiplication below 10, PTRS above). */
export function poisson(mu: number, d: Draws): number {
  if (!(mu >= 0 && Number.isFinite(mu)))
    throw new PrivacyError(`Poisson: μ must be a finite number ≥ 0, got ${mu}`);
  if (mu === 0) return 0;
  if (mu < 10) {
    const limit = Math.exp(-mu);
    let k = 0;
    let p = d.uniform();
    while (p > limit) {
      k++;
      p *= d.uniform();
    }
    return k;
  }
  const slam = Math.sqrt(mu);
  const logMu = Math.log(mu);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = d.uniform() - 0.5;
    const v = d.open();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + mu + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (Math.log(v) + Math.log(invAlpha) - Math.log(a / (us * us) + b) <= -mu + k * logMu - logGamma(k + 1)) {
      return k;
    }
  }
}

/**
 * One client's share of the distributed Skellam noise: `length` independent Skellam variates of variance
 * `variance` (μ = variance/2 on each side), as int32. `variance` is the share's, i.e. the central variance
 * divided by the number of clients whose shares will be summed.
 */
export function integerNoiseShare(length: number, variance: number, source: RandomSource): Int32Array {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new PrivacyError(`integerNoiseShare: length must be an integer ≥ 0, got ${length}`);
  }
  if (!(variance >= 0 && variance <= PRIVACY.maxIntegerNoiseVariance)) {
    throw new PrivacyError(
      `integerNoiseShare: variance must be in [0, ${PRIVACY.maxIntegerNoiseVariance}], got ${variance}`,
    );
  }
  const out = new Int32Array(length);
  if (variance === 0) return out;
  const d = new Draws(source);
  const mu = variance / 2;
  for (let i = 0; i < length; i++) out[i] = poisson(mu, d) - poisson(mu, d);
  return out;
}

/**
 * `x · scale`, rounded to an integer up or down at random with the probabilities that keep it unbiased
 * (E[round(y)] = y). The rounding moves a vector by less than √d in L2, hence `integerSensitivity`.
 */
export function randomizedRound(x: ArrayLike<number>, scale: number, source: RandomSource): Int32Array {
  const d = new Draws(source);
  const out = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const y = x[i]! * scale;
    const f = Math.floor(y);
    const r = f + (d.uniform() < y - f ? 1 : 0);
    if (!(Math.abs(r) < 2 ** 31)) {
      throw new PrivacyError(`randomizedRound: ${x[i]} × ${scale} does not fit in int32 (at index ${i})`);
    }
    out[i] = r;
  }
  return out;
}

/** L2 sensitivity of one client's scaled, randomly rounded update clipped to `clipNorm` in `d` coordinates. */
export function integerSensitivity(scale: number, clipNorm: number, dimension: number): number {
  return scale * clipNorm + Math.sqrt(dimension);
}

/** The noise multiplier the accountant charges for a central integer variance over that sensitivity. */
export function integerNoiseMultiplier(variance: number, sensitivity: number): number {
  return Math.sqrt(variance) / sensitivity;
}

/**
 * The variance of each client's share so that the shares of at least `minClients` clients add up to a
 * central noise of multiplier `noiseMultiplier` over `sensitivity`: (z·Δ)² / n_min.
 */
export function shareVariance(noiseMultiplier: number, sensitivity: number, minClients: number): number {
  if (!Number.isSafeInteger(minClients) || minClients < 1) {
    throw new PrivacyError(
      `shareVariance: the fewest clients summed must be an integer ≥ 1, got ${minClients}`,
    );
  }
  return (noiseMultiplier * sensitivity) ** 2 / minClients;
}
