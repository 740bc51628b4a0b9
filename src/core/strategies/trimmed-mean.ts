/**
 * Coordinate-wise β-trimmed mean — Yin, Chen, Ramchandran & Bartlett (2018), "Byzantine-Robust Distributed
 * Learning: Towards Optimal Statistical Rates" (ICML): for every coordinate, sort the n values, drop the
 * t = ⌊β·n⌋ smallest and the t largest, and average the remaining n − 2t (unweighted: a Byzantine client
 * could claim any sample count). β = `trimFraction`, default 0.1, in [0, 0.5) so at least one value stays;
 * with β·n < 1 nothing is trimmed and the result is the plain unweighted mean.
 *
 * Not streaming: sorting a coordinate needs all its values, so the round buffers a copy of each delta until
 * `finish` (memory = clients × model size × 4 bytes).
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

export const DEFAULT_TRIM_FRACTION = 0.1;

/**
 * Values trimmed from each end for n updates: ⌊β·n⌋ (a 1e-9 slack absorbs products such as 0.29·100 =
 * 28.999999999999996 landing a hair under an integer), never so many that nothing is left.
 */
export function trimCount(trimFraction: number, n: number): number {
  return Math.min(Math.floor(trimFraction * n + 1e-9), (n - 1) >> 1);
}

class TrimmedMeanRound extends BufferedRound {
  constructor(
    round: number,
    global: Float32Array,
    private readonly trimFraction: number,
  ) {
    super('trimmed-mean', round, global);
  }

  protected compute(): Float32Array {
    const n = this.deltas.length;
    const t = trimCount(this.trimFraction, n);
    const mean = this.reduceSortedColumns((sorted) => {
      let s = 0;
      for (let k = t; k < n - t; k++) s += sorted[k]!;
      return s / (n - 2 * t);
    });
    return addToGlobal(this.who, this.global, mean);
  }
}

export class TrimmedMean implements Strategy {
  readonly name: StrategyName = 'trimmed-mean';
  readonly trimFraction: number;

  constructor(params: Pick<StrategyParams, 'trimFraction'> = {}) {
    const beta = params.trimFraction ?? DEFAULT_TRIM_FRACTION;
    if (!(beta >= 0 && beta < 0.5)) {
      throw new StrategyError(`trimmed-mean: trimFraction must be in [0, 0.5), got ${beta}`);
    }
    this.trimFraction = beta;
  }

  fitConfig(round: number): FitConfig {
    checkRound(this.name, round);
    return { proxMu: 0 };
  }

  begin(round: number, global: Float32Array): BufferedRound {
    return new TrimmedMeanRound(round, global, this.trimFraction);
  }

  exportState(): Record<string, Float32Array | number> {
    return {};
  }

  importState(state: Record<string, Float32Array | number>): void {
    importNoState(this.name, state);
  }
}
