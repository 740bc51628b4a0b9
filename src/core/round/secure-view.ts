/**
 * What the server sees in a secure round, for the class (issue 13, "For the class"): a few elements of ONE
 * member's masked input y_i exactly as the server received it, beside the same elements of the sum it
 * recovers, plus two figures over the whole vectors that say in numbers what a student sees in the chart —
 * how much of the ring each spans, and their correlation.
 *
 * It is the server's own view and nothing more (docs/secure-aggregation.md, "What the class sees"): the
 * masked vector is a message the server holds anyway, the sum is the model update it publishes anyway, and
 * neither a client id nor a single client's true update is in it (the server never has one). The masked
 * elements are read as signed 32-bit integers and divided by the ring scale S, so they are in the same units
 * as the sum (a weighted update n·Δ); on their own they are uniform over the whole ring (±2^31 / S).
 *
 * Pure and bounded: at most `SECAGG.viewElements` elements of each kind, whatever the model size.
 * @module
 */
import { SECAGG } from '../limits.ts';
import { SecAggError } from '../secagg/errors.ts';
import type { SecAggResult } from '../secagg/server.ts';

/** The server's view of the last recovered secure round (`/api/status` → `secureAggregation.view`). */
export interface SecureRoundView {
  round: number;
  /** d: the model's length; the samples are its first `masked.length` elements. */
  length: number;
  /** Members whose masked input is in the sum. */
  contributors: number;
  /** Σ nᵢ over them. */
  totalWeight: number;
  /** The ring scale S (ring units per weighted-update unit). */
  scale: number;
  /** 2^31 / S: the largest |value| one ring element can read as, in weighted-update units. */
  ringBound: number;
  /** One member's masked input yᵢ[0..m), as signed ring integers / S (no client id: not said whose). */
  masked: number[];
  /** The recovered Σ nᵢ·clip(Δᵢ)[0..m), same units. */
  sum: number[];
  /** sum / Σ nᵢ: the mean update the model takes. */
  mean: number[];
  /** Over all d elements: (max − min) / 2^32 of the masked input and of the recovered sum, as ring integers. */
  maskedRingShare: number;
  sumRingShare: number;
  /** Pearson r of the masked input and the recovered sum over all d elements (null: the sum is constant). */
  correlation: number | null;
  /** The largest quantization error of `mean` per element. */
  errorBound: number;
}

const RING = 2 ** 32;

/**
 * The view of a recovered round from one member's masked input `maskedInput` (d + 1 ring elements, as
 * received) and the round's `result`. Refuses a vector of another length than the sum's.
 */
export function secureRoundView(
  round: number,
  maskedInput: Uint32Array,
  result: SecAggResult,
  elements: number = SECAGG.viewElements,
): SecureRoundView {
  const d = result.weightedSum.length;
  if (maskedInput.length !== d + 1) {
    throw new SecAggError(
      'bad-length',
      `secure view: expected a masked input of ${d + 1} elements, got ${maskedInput.length}`,
    );
  }
  const s = result.scale;
  if (!(s > 0) || !Number.isFinite(s)) {
    throw new SecAggError('bad-config', `secure view: expected a ring scale > 0, got ${s}`);
  }
  const m = Math.max(0, Math.min(Math.floor(elements), SECAGG.viewElements, d));
  const masked: number[] = [];
  const sum: number[] = [];
  const mean: number[] = [];
  for (let j = 0; j < m; j++) {
    masked.push((maskedInput[j]! | 0) / s);
    sum.push(result.weightedSum[j]!);
    mean.push(result.mean[j]!);
  }
  // Over the whole vectors: spans on the ring, and the correlation (one pass, float64).
  let yMin = Infinity;
  let yMax = -Infinity;
  let sMin = Infinity;
  let sMax = -Infinity;
  let sy = 0;
  let ss = 0;
  for (let j = 0; j < d; j++) {
    const y = maskedInput[j]! | 0;
    const v = result.weightedSum[j]!;
    if (y < yMin) yMin = y;
    if (y > yMax) yMax = y;
    if (v < sMin) sMin = v;
    if (v > sMax) sMax = v;
    sy += y;
    ss += v;
  }
  const my = sy / d;
  const ms = ss / d;
  let cov = 0;
  let vy = 0;
  let vs = 0;
  for (let j = 0; j < d; j++) {
    const a = (maskedInput[j]! | 0) - my;
    const b = result.weightedSum[j]! - ms;
    cov += a * b;
    vy += a * a;
    vs += b * b;
  }
  const r = vy > 0 && vs > 0 ? cov / Math.sqrt(vy * vs) : null;
  return {
    round,
    length: d,
    contributors: result.contributors.length,
    totalWeight: result.totalWeight,
    scale: s,
    ringBound: 2 ** 31 / s,
    masked,
    sum,
    mean,
    maskedRingShare: d > 0 ? (yMax - yMin) / RING : 0,
    sumRingShare: d > 0 ? ((sMax - sMin) * s) / RING : 0,
    correlation: r === null ? null : Math.max(-1, Math.min(1, r)),
    errorBound: result.errorBound,
  };
}
