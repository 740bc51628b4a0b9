/**
 * Krum and Multi-Krum — Blanchard, El Mhamdi, Guerraoui & Stainer (2017), "Machine Learning with Adversaries:
 * Byzantine Tolerant Gradient Descent" (NeurIPS).
 *
 * With n deltas of which up to f (`byzantine`, default 1) may be Byzantine, the score of delta i is the sum of
 * the squared L2 distances to its k nearest other deltas, k = n − f − 2. Krum returns global + the delta with
 * the lowest score; Multi-Krum returns global + the unweighted mean of the m lowest-scored deltas
 * (`multiKrumSelect`, default n − f; clamped to 1..n). Scores are computed once, as in the paper. Sample
 * counts are ignored (a Byzantine client could claim any). Ties go to the lowest index, i.e. the update that
 * was added first, so the result is deterministic.
 *
 * The paper's guarantee needs n > 2f + 2. With fewer updates this implementation still aggregates (it does not
 * throw), with k = max(1, n − f − 2) neighbours (as Flower does), capped at the n − 1 that exist (k = 0, score
 * 0, for a single update): the round then behaves like a nearest-neighbour filter without the Byzantine
 * guarantee. The aggregator should run enough clients per round (n ≥ 2f + 3) when it relies on that guarantee.
 *
 * Not streaming: the scores need every pairwise distance, so the round buffers a copy of each delta until
 * `finish` (memory = clients × model size × 4 bytes; time O(n²·d)).
 */

import {
  addToGlobal,
  BufferedRound,
  checkRound,
  type FitConfig,
  importNoState,
  type Strategy,
  StrategyError,
  type StrategyName,
  type StrategyParams,
} from './strategy.ts';

export const DEFAULT_BYZANTINE = 1;

/** Neighbours counted in a score: max(1, n − f − 2), capped at n − 1. */
export function krumNeighbours(n: number, byzantine: number): number {
  return Math.min(Math.max(1, n - byzantine - 2), n - 1);
}

/** Krum score of every delta (Float64): the sum of its k smallest squared distances to the other deltas. */
export function krumScores(deltas: readonly Float32Array[], byzantine: number): Float64Array {
  const n = deltas.length;
  const k = krumNeighbours(n, byzantine);
  const dist = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const a = deltas[i]!;
    for (let j = i + 1; j < n; j++) {
      const b = deltas[j]!;
      let s = 0;
      for (let c = 0; c < a.length; c++) {
        const e = a[c]! - b[c]!;
        s += e * e;
      }
      dist[i * n + j] = s;
      dist[j * n + i] = s;
    }
  }
  const scores = new Float64Array(n);
  const others = new Float64Array(n - 1);
  for (let i = 0; i < n; i++) {
    let o = 0;
    for (let j = 0; j < n; j++) if (j !== i) others[o++] = dist[i * n + j]!;
    others.sort();
    let s = 0;
    for (let q = 0; q < k; q++) s += others[q]!;
    scores[i] = s;
  }
  return scores;
}

/** Indices 0..n−1 by ascending score, ties by ascending index. */
export function krumOrder(scores: Float64Array): number[] {
  return Array.from(scores.keys()).sort((a, b) => scores[a]! - scores[b]! || a - b);
}

class KrumRound extends BufferedRound {
  constructor(
    who: StrategyName,
    round: number,
    global: Float32Array,
    private readonly byzantine: number,
    /** How many lowest-scored deltas to average for n updates (1 for Krum). */
    private readonly select: (n: number) => number,
  ) {
    super(who, round, global);
  }

  protected compute(): Float32Array {
    const deltas = this.deltas;
    const n = deltas.length;
    const chosen = krumOrder(krumScores(deltas, this.byzantine)).slice(0, this.select(n));
    const mean = new Float64Array(this.global.length);
    for (const i of chosen) {
      const d = deltas[i]!;
      for (let c = 0; c < mean.length; c++) mean[c] = mean[c]! + d[c]!;
    }
    for (let c = 0; c < mean.length; c++) mean[c] = mean[c]! / chosen.length;
    return addToGlobal(this.who, this.global, mean);
  }
}

export class Krum implements Strategy {
  readonly name: StrategyName;
  readonly byzantine: number;
  /** Multi-Krum's m; undefined means n − f (and for Krum, which always picks 1). */
  readonly multiKrumSelect: number | undefined;

  constructor(multi: boolean, params: Pick<StrategyParams, 'byzantine' | 'multiKrumSelect'> = {}) {
    this.name = multi ? 'multi-krum' : 'krum';
    const f = params.byzantine ?? DEFAULT_BYZANTINE;
    if (!Number.isSafeInteger(f) || f < 0) {
      throw new StrategyError(`${this.name}: byzantine must be an integer ≥ 0, got ${f}`);
    }
    this.byzantine = f;
    const m = params.multiKrumSelect;
    if (m !== undefined && (!Number.isSafeInteger(m) || m < 1)) {
      throw new StrategyError(`${this.name}: multiKrumSelect must be an integer ≥ 1, got ${m}`);
    }
    this.multiKrumSelect = multi ? m : undefined;
  }

  fitConfig(round: number): FitConfig {
    checkRound(this.name, round);
    return { proxMu: 0 };
  }

  begin(round: number, global: Float32Array): BufferedRound {
    const f = this.byzantine;
    const m = this.multiKrumSelect;
    const select = this.name === 'krum' ? () => 1 : (n: number) => Math.min(n, Math.max(1, m ?? n - f));
    return new KrumRound(this.name, round, global, f, select);
  }

  exportState(): Record<string, Float32Array | number> {
    return {};
  }

  importState(state: Record<string, Float32Array | number>): void {
    importNoState(this.name, state);
  }
}
