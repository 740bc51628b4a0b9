/**
 * FedAvg — McMahan, Moore, Ramage, Hampson & Agüera y Arcas (2017), "Communication-Efficient Learning of
 * Deep Networks from Decentralized Data" (AISTATS): the new global weights are the sample-weighted mean of
 * the clients' models, i.e.  new = global + Σ n_k·Δ_k / Σ n_k.
 *
 * Streaming: each `add` folds n_k·Δ_k into one Float64Array running sum and drops the delta, so memory grows
 * with the model size, not with the number of clients, and the caller's array is never kept.
 */

import {
  addToGlobal,
  type ClientUpdate,
  checkRound,
  type FitConfig,
  importNoState,
  RoundBase,
  type Strategy,
  type StrategyName,
} from './strategy.ts';

/**
 * A streaming round that keeps Σ n_k·Δ_k and Σ n_k, then hands the weighted mean delta (Float64) to `step`,
 * which turns it into the new global weights. Shared by FedAvg/FedProx (step = global + mean) and FedAdam.
 */
export class WeightedMeanRound extends RoundBase {
  private readonly sum: Float64Array;
  private totalSamples = 0;

  constructor(
    who: string,
    round: number,
    global: Float32Array,
    private readonly step: (meanDelta: Float64Array, global: Float32Array) => Float32Array,
  ) {
    super(who, round, global);
    this.sum = new Float64Array(global.length);
  }

  protected fold(update: ClientUpdate): void {
    const { delta, numSamples } = update;
    const sum = this.sum;
    for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + numSamples * delta[i]!;
    this.totalSamples += numSamples;
  }

  protected compute(): Float32Array {
    const mean = this.sum;
    const inv = 1 / this.totalSamples;
    for (let i = 0; i < mean.length; i++) mean[i] = mean[i]! * inv;
    return this.step(mean, this.global);
  }
}

export class FedAvg implements Strategy {
  readonly name: StrategyName = 'fedavg';

  fitConfig(round: number): FitConfig {
    checkRound(this.name, round);
    return { proxMu: 0 };
  }

  begin(round: number, global: Float32Array): WeightedMeanRound {
    return fedAvgRound(this.name, round, global);
  }

  exportState(): Record<string, Float32Array | number> {
    return {};
  }

  importState(state: Record<string, Float32Array | number>): void {
    importNoState(this.name, state);
  }
}

/** A FedAvg round (new = global + weighted mean delta), reported under the strategy name `who`. */
export function fedAvgRound(who: string, round: number, global: Float32Array): WeightedMeanRound {
  return new WeightedMeanRound(who, round, global, (mean, g) => addToGlobal(who, g, mean));
}
