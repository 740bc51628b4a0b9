/**
 * Per-update L2 clipping, fixed and adaptive.
 *
 * - Fixed: an update Δ is scaled by min(1, C/‖Δ‖₂), so that one client moves the sum by at most C (the
 *   sensitivity the Gaussian noise is calibrated to; McMahan, Ramage, Talwar & Zhang 2018, "Learning
 *   Differentially Private Recurrent Language Models", ICLR).
 * - Adaptive: Andrew, Thakkar, McMahan & Ramaswamy (2021), "Differentially Private Learning with Adaptive
 *   Clipping" (NeurIPS), Algorithm 1: each round counts the updates whose norm was at most C, privatises the
 *   count with Gaussian noise σ_b, and moves C geometrically toward the target quantile γ of the norms:
 *   C ← C · exp(−η_C · (b̄ − γ)), b̄ = (Σ 1[‖Δ_k‖ ≤ C] + N(0, σ_b²)) / m, m the expected number of clients.
 *   Releasing the count costs privacy too: with a total noise multiplier z, the updates get
 *   z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2) (their Theorem 1), so that the accountant charges a Gaussian of multiplier z.
 *
 * Pure maths over Float32Array/Float64Array; randomness comes in (random-source.ts).
 */
import type { Draws } from './random-source.ts';
import { PrivacyError } from './rdp.ts';

/** ‖x‖₂, accumulated in double precision. */
export function l2Norm(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s);
}

/** Scales `x` in place to L2 norm at most `clipNorm`; returns its norm before clipping. */
export function clipInPlace(x: Float32Array | Float64Array, clipNorm: number): number {
  if (!(clipNorm > 0 && Number.isFinite(clipNorm))) {
    throw new PrivacyError(`clip: the clip norm must be a finite number > 0, got ${clipNorm}`);
  }
  const norm = l2Norm(x);
  if (norm > clipNorm) {
    const f = clipNorm / norm;
    for (let i = 0; i < x.length; i++) x[i] = x[i]! * f;
  }
  return norm;
}

/** Settings of adaptive clipping (Andrew et al. 2021). */
export interface AdaptiveClipSettings {
  /** γ: the quantile of update norms the clip norm tracks (their default 0.5). */
  targetQuantile: number;
  /** η_C: the geometric learning rate of the clip norm (their default 0.2). */
  learningRate: number;
  /** σ_b as a fraction of the expected number of clients per round (their default m/20: 0.05). */
  countNoiseFraction: number;
}

export const ADAPTIVE_CLIP_DEFAULTS: AdaptiveClipSettings = {
  targetQuantile: 0.5,
  learningRate: 0.2,
  countNoiseFraction: 0.05,
};

/**
 * The noise multiplier left for the updates when the unclipped count is released with noise σ_b and the
 * whole round must cost a Gaussian of multiplier `z` (Andrew et al. 2021, Theorem 1). Throws when σ_b is too
 * small to leave any (2σ_b ≤ z).
 */
export function updateNoiseMultiplier(z: number, countNoiseStd: number): number {
  const rest = z ** -2 - (2 * countNoiseStd) ** -2;
  if (!(rest > 0)) {
    throw new PrivacyError(
      `adaptive clipping: the count's noise σ_b = ${countNoiseStd} must exceed z/2 = ${z / 2} ` +
        '(more clients per round, or a larger count noise)',
    );
  }
  return rest ** -0.5;
}

/**
 * The next clip norm after a round in which `unclipped` of the updates had norm ≤ `clipNorm`, with `expected`
 * clients expected and the count noised with σ_b = countNoiseFraction · expected.
 */
export function nextClipNorm(
  clipNorm: number,
  unclipped: number,
  expected: number,
  s: AdaptiveClipSettings,
  draws: Draws,
): number {
  const sigmaB = s.countNoiseFraction * expected;
  const b = (unclipped + sigmaB * draws.normal()) / expected;
  return clipNorm * Math.exp(-s.learningRate * (b - s.targetQuantile));
}
