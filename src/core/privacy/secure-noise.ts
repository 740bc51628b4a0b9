/**
 * Distributed noise for differential privacy under secure aggregation (docs/differential-privacy.md, "Under
 * secure aggregation"). With SecAgg+ the server only ever sees the sum of the members' masked vectors, so it
 * cannot add the noise itself: it would see the un-noised sum first. Each member adds its own share of
 * Skellam noise (skellam.ts; Agarwal, Kairouz & Liu 2021, "The Skellam Mechanism for Differentially Private
 * Federated Learning") in the ring, after encoding and before masking; the server adds none.
 *
 * The plan (`planSecureNoise`) fixes, for one round:
 * - The ring. DP-FedAvg sums clipped updates with equal weight, so every member encodes weight 1
 *   (`maxWeight` 1) and clips to L2 norm C, which bounds every coordinate by C. The ring's per-coordinate clip
 *   C_r = k·C, k ≥ 1, never cuts an L2-clipped update: it only lowers the scale S(n) = (2³¹ − 1 − n)/(n·C_r)
 *   (src/core/secagg/ring.ts) to leave headroom for the noise. k is the smallest that keeps the sum from
 *   wrapping (below) and each share's variance within PRIVACY.maxIntegerNoiseVariance.
 * - The noise. The integer update has L2 sensitivity Δ(n) = S(n)·C + √d (the rounding moves it by less than
 *   √d; skellam.ts `integerSensitivity`). The round's sum carries the shares of its survivors only, at
 *   least `minSurvivors` of them (dropouts take their noise with them), so each share has variance
 *   v(n) = (z'·Δ(n))² / minSurvivors: any recoverable sum has noise of std ≥ z'·Δ(n), the central noise
 *   z'·C in model units, scaled. The shares are sized at the selection's m members (`shareVariance`, `scale`
 *   = S(m)); a member of a round that fewer clients joined (n < m, larger S(n)) multiplies the variance by
 *   (S(n)/S(m))² (`shareVarianceAt`), which keeps the noise multiplier at least z'.
 * - The accounting. The ledger charges `effectiveNoiseMultiplier` to its Gaussian RDP accountant. The sum of
 *   the shares is Skellam of variance V ≥ (z'Δ)², μ = V/2 on each side; its RDP (Agarwal et al. 2021,
 *   Theorem 3.5) is the Gaussian's αΔ²/(2V) plus a term of relative size at most
 *   r = (2αΔ₂² + 6Δ₁)/(4μαΔ₂²) (Δ₁ ≤ √d·Δ₂ the L1 sensitivity), largest at the smallest order. z' = z·√(1 + r)
 *   charges that term on top: the Gaussian curve of z dominates the Skellam curve of the planned noise at
 *   every order the accountant uses, so `effectiveNoiseMultiplier` = z, the multiplier asked for. Here r is
 *   below 10⁻⁶ (μ is in the hundreds of millions of ring units²), so Skellam and Gaussian agree to that.
 *   With subsampling (q < 1) the accountant's amplification (Mironov et al. 2019) is the Gaussian's, applied
 *   to the dominating Gaussian curve: an approximation, as in Agarwal et al.'s experiments.
 * - The wrap-around bound. A coordinate of the sum of n members holds at most n·(S(n)·C + ½) of signal and
 *   Skellam noise of variance V_n = n·v(n). It wraps only if the noise exceeds a = 2³¹ − 1 − n·(S(n)·C + ½);
 *   by Chernoff with the Skellam MGF exp(V(cosh λ − 1)), P(|X| ≥ a) ≤ 2·exp(−a·asinh(a/V) + V(√(1 + (a/V)²) − 1)).
 *   Over the d + 1 coordinates (the weight element gets no noise, so d) and every member count n from
 *   `minMembers` to m, the bound must stay below `maxWrapProbability` (default PRIVACY.maxRingWrapProbability),
 *   else the plan is refused (`SecureNoiseError`, reason 'ring-overflow').
 *
 * Pure: no I/O, no clock; `secureNoiseHook` draws from a RandomSource (the CSPRNG in production).
 */
import { PRIVACY } from '../limits.ts';
import type { RingParams } from '../secagg/ring.ts';
import type { RandomSource } from './random-source.ts';
import { PrivacyError } from './rdp.ts';
import { integerNoiseShare, integerSensitivity } from './skellam.ts';

/** Why a secure noise plan was refused. */
export type SecureNoiseRefusal = 'bad-plan' | 'ring-overflow' | 'no-precision' | 'too-few-survivors';

/** A distributed-noise plan that cannot be kept (its reason says which part failed). */
export class SecureNoiseError extends PrivacyError {
  override name = 'SecureNoiseError';
  constructor(
    readonly reason: SecureNoiseRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** What the plan starts from. */
export interface SecureNoiseInput {
  /** C: the L2 norm every update is clipped to (model units). */
  clipNorm: number;
  /** z: the central noise multiplier the accountant is to charge (the ledger's). */
  noiseMultiplier: number;
  /** d: coordinates of one update (the model size; the weight element is extra). */
  dimension: number;
  /** m: the members selected for the round (the most it can have). */
  members: number;
  /** The fewest members the round goes on with after the advertisements (SecAgg's `minMembers`). */
  minMembers: number;
  /** The fewest contributors whose masked inputs can still end in a recovered sum. */
  minSurvivors: number;
  /** A ring to check instead of choosing one (it must have `maxWeight` 1 and a clip ≥ C). */
  ring?: RingParams;
  /** Largest accepted probability that any coordinate of the sum wraps (default PRIVACY.maxRingWrapProbability). */
  maxWrapProbability?: number;
}

/** The round's distributed noise. */
export interface SecureNoisePlan {
  /** The ring the members encode in: clip C_r ≥ C per coordinate, weight 1. */
  ring: RingParams;
  /** S(m): ring units per model unit when all m members advertise. */
  scale: number;
  /** Δ(m) = S(m)·C + √d: one member's L2 sensitivity in ring units. */
  sensitivity: number;
  /** v(m): the variance (ring units²) of each member's Skellam share at scale S(m). */
  shareVariance: number;
  /** minSurvivors · v(m): the least noise variance any recoverable sum carries (ring units², at S(m)). */
  centralVariance: number;
  /** z: the multiplier asked for. */
  noiseMultiplier: number;
  /** What the accountant charges: the Gaussian multiplier whose RDP dominates the planned Skellam noise. */
  effectiveNoiseMultiplier: number;
  /** The bound on the probability that some coordinate of the sum wraps, worst over the member counts. */
  wrapProbability: number;
  members: number;
  minMembers: number;
  minSurvivors: number;
  dimension: number;
  clipNorm: number;
}

const HALF = 2 ** 31;

/** S(n) of ring.ts for `n` members of weight 1 and per-coordinate clip `ringClip`. */
const scaleAt = (ringClip: number, n: number) => (HALF - 1 - n) / (n * ringClip);

/** log P(X ≥ a) ≤ −a·asinh(a/V) + V(√(1 + (a/V)²) − 1) for X ~ Skellam of variance V (Chernoff). */
function logSkellamTail(a: number, variance: number): number {
  if (a <= 0) return 0;
  if (variance === 0) return Number.NEGATIVE_INFINITY;
  const x = a / variance;
  // V(√(1+x²) − 1) written as V·x²/(√(1+x²) + 1) to keep precision for small x.
  return -a * Math.asinh(x) + (variance * x * x) / (Math.sqrt(1 + x * x) + 1);
}

/** The Skellam term's relative excess over the Gaussian RDP at the smallest order (see the module comment). */
function skellamExcess(sensitivity: number, dimension: number, variance: number): number {
  const mu = variance / 2;
  const l2 = sensitivity;
  const l1 = Math.sqrt(dimension) * sensitivity;
  const alpha = 1.01; // below every order the accountant uses, where the relative term is largest
  return (2 * alpha * l2 * l2 + 6 * l1) / (4 * mu * alpha * l2 * l2);
}

function check(input: SecureNoiseInput): void {
  const { clipNorm, noiseMultiplier, dimension, members, minMembers, minSurvivors } = input;
  const bad = (what: string, got: unknown) => {
    throw new SecureNoiseError('bad-plan', `secure noise: expected ${what}, got ${String(got)}`);
  };
  if (!(clipNorm > 0 && Number.isFinite(clipNorm))) bad('a clip norm C > 0', clipNorm);
  if (!(noiseMultiplier > 0 && Number.isFinite(noiseMultiplier)))
    bad('a noise multiplier z > 0', noiseMultiplier);
  if (!Number.isSafeInteger(dimension) || dimension < 1) bad('a dimension d ≥ 1', dimension);
  if (!Number.isSafeInteger(members) || members < 2 || members >= HALF / 2) bad('members m ≥ 2', members);
  if (!Number.isSafeInteger(minMembers) || minMembers < 2 || minMembers > members) {
    bad(`2 ≤ minMembers ≤ m = ${members}`, minMembers);
  }
  if (!Number.isSafeInteger(minSurvivors) || minSurvivors < 1 || minSurvivors > members) {
    bad(`1 ≤ minSurvivors ≤ m = ${members}`, minSurvivors);
  }
  const p = input.maxWrapProbability;
  if (p !== undefined && !(p > 0 && p < 1)) bad('a wrap probability in (0, 1)', p);
  const ring = input.ring;
  if (ring && ring.maxWeight !== 1)
    bad('a ring of weight cap 1 (DP-FedAvg sums with equal weight)', ring.maxWeight);
  if (ring && !(ring.clip >= clipNorm && Number.isFinite(ring.clip))) {
    bad(`a ring clip ≥ C = ${clipNorm} (it must not cut an L2-clipped update)`, ring.clip);
  }
}

/** The share variance of the plan for a ring clip, at m members (the iteration fixes z' against r). */
function varianceFor(input: SecureNoiseInput, ringClip: number) {
  const S = scaleAt(ringClip, input.members);
  const delta = integerSensitivity(S, input.clipNorm, input.dimension);
  const z = input.noiseMultiplier;
  let central = (z * delta) ** 2;
  // z' = z·√(1 + r(V)); r shrinks as V grows, so two steps settle it (r ≪ 1).
  for (let i = 0; i < 2; i++) {
    central = (z * delta) ** 2 * (1 + skellamExcess(delta, input.dimension, central));
  }
  return { scale: S, sensitivity: delta, shareVariance: central / input.minSurvivors };
}

/** log of the wrap bound, worst over n ∈ [minMembers, m], and the largest share variance any n asks for. */
function wrapAndPeak(input: SecureNoiseInput, ringClip: number, shareVariance: number, scale: number) {
  let logP = Number.NEGATIVE_INFINITY;
  let peak = 0;
  const coords = Math.log(2 * input.dimension);
  for (let n = input.minMembers; n <= input.members; n++) {
    const Sn = scaleAt(ringClip, n);
    const vn = shareVariance * (Sn / scale) ** 2;
    peak = Math.max(peak, vn);
    const a = HALF - 1 - n * (Sn * input.clipNorm + 0.5);
    logP = Math.max(logP, coords + logSkellamTail(a, n * vn));
  }
  return { logP, peak };
}

/**
 * The plan for one round (see the module comment): the ring, each member's share variance and what the
 * accountant charges. Throws a SecureNoiseError when it cannot be kept: 'ring-overflow' (the given ring, or
 * any ring with enough precision, would let the sum wrap), 'no-precision' (the headroom the noise needs
 * leaves S·C below √d, the rounding), 'bad-plan' (an argument out of range).
 */
export function planSecureNoise(input: SecureNoiseInput): SecureNoisePlan {
  check(input);
  const maxLogP = Math.log(input.maxWrapProbability ?? PRIVACY.maxRingWrapProbability);
  const fits = (ringClip: number) => {
    const v = varianceFor(input, ringClip);
    const w = wrapAndPeak(input, ringClip, v.shareVariance, v.scale);
    return { ...v, ...w, ok: w.logP <= maxLogP && w.peak <= PRIVACY.maxIntegerNoiseVariance };
  };
  let ringClip: number;
  if (input.ring) {
    ringClip = input.ring.clip;
    const f = fits(ringClip);
    if (!f.ok) {
      throw new SecureNoiseError(
        'ring-overflow',
        `secure noise: the ring (clip ${ringClip}, ${input.members} members) leaves too little headroom for ` +
          `noise of multiplier ${input.noiseMultiplier}: the sum wraps with probability up to ` +
          `${Math.exp(f.logP).toPrecision(3)} (accepted ${Math.exp(maxLogP).toPrecision(3)}), largest share ` +
          `variance ${f.peak.toPrecision(3)} (accepted ${PRIVACY.maxIntegerNoiseVariance})`,
      );
    }
  } else {
    // The smallest k = C_r / C that fits: double to a bracket, then bisect (both constraints are monotone).
    let lo = input.clipNorm;
    let hi = input.clipNorm;
    while (!fits(hi).ok) {
      lo = hi;
      hi *= 2;
      const S = scaleAt(hi, input.members);
      if (S * input.clipNorm < Math.sqrt(input.dimension)) {
        throw new SecureNoiseError(
          'no-precision',
          `secure noise: noise of multiplier ${input.noiseMultiplier} for ${input.members} members needs a ` +
            `scale below √d = ${Math.sqrt(input.dimension).toFixed(1)} ring units per C: the rounding would ` +
            'outweigh the update',
        );
      }
    }
    if (hi > lo) {
      for (let i = 0; i < 40 && hi - lo > 1e-9 * hi; i++) {
        const mid = (lo + hi) / 2;
        if (fits(mid).ok) hi = mid;
        else lo = mid;
      }
    }
    ringClip = hi;
  }
  const f = fits(ringClip);
  const central = f.shareVariance * input.minSurvivors;
  const effective =
    Math.sqrt(central) /
    f.sensitivity /
    Math.sqrt(1 + skellamExcess(f.sensitivity, input.dimension, central));
  return {
    ring: { clip: ringClip, maxWeight: 1 },
    scale: f.scale,
    sensitivity: f.sensitivity,
    shareVariance: f.shareVariance,
    centralVariance: central,
    noiseMultiplier: input.noiseMultiplier,
    // The iteration leaves it within rounding of z; never report more than was asked for.
    effectiveNoiseMultiplier: Math.min(input.noiseMultiplier, effective),
    wrapProbability: Math.exp(f.logP),
    members: input.members,
    minMembers: input.minMembers,
    minSurvivors: input.minSurvivors,
    dimension: input.dimension,
    clipNorm: input.clipNorm,
  };
}

/**
 * The share variance a member uses when the round's scale is `scale` (S(n), n members advertised) for a
 * share planned as `plannedVariance` at `plannedScale` (S(m)): v·(S(n)/S(m))², never less than planned.
 */
export function shareVarianceAt(plannedVariance: number, plannedScale: number, scale: number): number {
  if (!(plannedVariance >= 0 && plannedScale > 0 && scale > 0)) {
    throw new SecureNoiseError(
      'bad-plan',
      `secure noise: expected a variance ≥ 0 and scales > 0, got ${plannedVariance}, ${plannedScale}, ${scale}`,
    );
  }
  return plannedVariance * Math.max(1, scale / plannedScale) ** 2;
}

/** What SecAggClient's `noise` hook is asked for (src/core/secagg/client.ts `NoiseRequest`). */
export interface NoiseRequestLike {
  scale: number;
  /** d + 1: the update's coordinates and the weight element. */
  length: number;
}

/**
 * SecAggClient's `noise` hook for a member: its Skellam share over the d update coordinates (the weight
 * element, the last, gets none: the count of contributors is public in SecAgg anyway), with the planned
 * variance rescaled to the round's actual scale (as is when the plan's scale is not given).
 */
export function secureNoiseHook(
  planned: { variance: number; scale?: number | undefined },
  source: RandomSource,
): (request: NoiseRequestLike) => Int32Array {
  return (request) => {
    const v =
      planned.scale === undefined
        ? planned.variance
        : shareVarianceAt(planned.variance, planned.scale, request.scale);
    const out = new Int32Array(request.length);
    if (request.length > 1) out.set(integerNoiseShare(request.length - 1, v, source));
    return out;
  };
}
