/**
 * Coordinate-wise median — Yin, Chen, Ramchandran & Bartlett (2018), "Byzantine-Robust Distributed Learning:
 * Towards Optimal Statistical Rates" (ICML): for every coordinate j, new[j] = global[j] + median_k Δ_k[j],
 * unweighted (a Byzantine client could claim any sample count); with an even number of updates the median is
 * the mean of the two middle values.
 *
 * Not streaming: the median needs every value of a coordinate at once, so the round buffers a copy of each
 * delta until `finish` (memory = clients × model size × 4 bytes).
 */

import {
  addToGlobal,
  BufferedRound,
  checkRound,
  type FitConfig,
  importNoState,
  type Strategy,
  type StrategyName,
} from './strategy.ts';

/** Median of an ascending array (length ≥ 1). */
export function sortedMedian(sorted: Float64Array): number {
  const n = sorted.length;
  const h = n >> 1;
  return n % 2 === 1 ? sorted[h]! : (sorted[h - 1]! + sorted[h]!) / 2;
}

class MedianRound extends BufferedRound {
  constructor(round: number, global: Float32Array) {
    super('median', round, global);
  }

  protected compute(): Float32Array {
    return addToGlobal(this.who, this.global, this.reduceSortedColumns(sortedMedian));
  }
}

export class Median implements Strategy {
  readonly name: StrategyName = 'median';

  fitConfig(round: number): FitConfig {
    checkRound(this.name, round);
    return { proxMu: 0 };
  }

  begin(round: number, global: Float32Array): BufferedRound {
    return new MedianRound(round, global);
  }

  exportState(): Record<string, Float32Array | number> {
    return {};
  }

  importState(state: Record<string, Float32Array | number>): void {
    importNoState(this.name, state);
  }
}
