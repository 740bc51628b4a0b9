/**
 * The ring SecAgg+ sums in, and the fixed-point encoding of a weighted update into it.
 *
 * Ring: Z_{2^32} (`Uint32Array`, wrapping addition). A client holding `n_i` samples and update `w_i`
 * (length d) encodes d + 1 elements:
 *   v_i[j] = round(S · n_i · clip(w_i[j]))  (two's complement mod 2^32), j < d;  v_i[d] = n_i,
 * where clip(x) = max(−C, min(C, x)) and the scale is
 *   S = (2^31 − 1 − m) / (m · W · C)
 * for m members of the round, weight cap W (n_i ≤ W) and clip bound C. Then |v_i[j]| ≤ S·W·C + ½, so the
 * sum over any subset of the m members stays in (−2^31, 2^31): read as a signed 32-bit integer it is exact,
 * never wrapped; and Σ n_i ≤ m·W < 2^32 (checked) is exact too.
 *
 * Error bound: rounding moves each element by at most ½, so for the s contributing clients
 *   |Σ v_i[j] / S − Σ n_i · clip(w_i[j])| ≤ s / (2S),
 * and the weighted mean Σ n_i·clip(w_i) / Σ n_i is off by at most s / (2 · S · Σ n_i) ≤ 1 / (2S)
 * per coordinate (`meanErrorBound`). Clipping changes only coordinates beyond ±C: send update deltas
 * (small) rather than whole weights, or choose C above the largest |weight|.
 * A differential-privacy hook may add an integer noise vector (ring units, 1/S of a weighted value) before
 * masking; the bound above is then the bound without the noise.
 * @module
 */
import { SecAggError } from './errors.ts';

/** Bits of the ring Z_{2^32}. */
export const RING_BITS = 32;
/** Largest |sum| the signed reading allows. */
const HALF = 2 ** 31;

export interface RingParams {
  /** Clip bound C of every coordinate (> 0, finite). */
  clip: number;
  /** Weight cap W: the largest sample count one client may declare (integer ≥ 1). */
  maxWeight: number;
}

/** The fixed-point scale S for `members` clients; refuses parameters that leave no precision. */
export function ringScale(params: RingParams, members: number): number {
  const { clip, maxWeight } = params;
  if (!(clip > 0) || !Number.isFinite(clip)) {
    throw new SecAggError('bad-config', `ring: expected a finite clip bound > 0, got ${clip}`);
  }
  if (!Number.isSafeInteger(maxWeight) || maxWeight < 1) {
    throw new SecAggError('bad-config', `ring: expected a weight cap ≥ 1, got ${maxWeight}`);
  }
  if (!Number.isSafeInteger(members) || members < 1 || members * maxWeight > 2 ** 32 - 1) {
    throw new SecAggError(
      'bad-config',
      `ring: expected members · weight cap < 2^32, got ${members} · ${maxWeight}`,
    );
  }
  const scale = (HALF - 1 - members) / (members * maxWeight * clip);
  if (!(scale > 0)) {
    throw new SecAggError(
      'bad-config',
      `ring: ${members} members × weight cap ${maxWeight} × clip ${clip} leave no room in Z_2^32`,
    );
  }
  return scale;
}

/** Encodes `update` weighted by `numSamples` into d + 1 ring elements (see the module comment). */
export function encodeUpdate(
  update: Float32Array,
  numSamples: number,
  params: RingParams,
  scale: number,
): Uint32Array {
  if (!Number.isSafeInteger(numSamples) || numSamples < 1 || numSamples > params.maxWeight) {
    throw new SecAggError(
      'bad-input',
      `update: expected a sample count in [1, ${params.maxWeight}], got ${numSamples}`,
    );
  }
  const out = new Uint32Array(update.length + 1);
  const c = params.clip;
  const k = scale * numSamples;
  for (let j = 0; j < update.length; j++) {
    const x = update[j]!;
    if (!Number.isFinite(x))
      throw new SecAggError('bad-input', `update: expected finite values, got ${x} at ${j}`);
    out[j] = Math.round(k * (x > c ? c : x < -c ? -c : x)) >>> 0;
  }
  out[update.length] = numSamples;
  return out;
}

/** The unmasked ring sum read back: Σ n_i · clip(w_i) (float64) and Σ n_i. */
export interface DecodedSum {
  weightedSum: Float64Array;
  totalWeight: number;
}

export function decodeSum(sum: Uint32Array, scale: number): DecodedSum {
  const d = sum.length - 1;
  if (d < 0) throw new SecAggError('bad-length', 'sum: expected at least the weight element, got none');
  const weightedSum = new Float64Array(d);
  for (let j = 0; j < d; j++) weightedSum[j] = (sum[j]! | 0) / scale;
  return { weightedSum, totalWeight: sum[d]! };
}

/** Largest per-coordinate error of the weighted mean from `contributors` clients weighing `totalWeight`. */
export function meanErrorBound(scale: number, contributors: number, totalWeight: number): number {
  return contributors / (2 * scale * totalWeight);
}
