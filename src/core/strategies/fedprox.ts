/**
 * FedProx — Li, Sahu, Zaheer, Sanjabi, Talwalkar & Smith (2020), "Federated Optimization in Heterogeneous
 * Networks" (MLSys). The change is on the client: local training minimises the loss plus the proximal term
 * (μ/2)·‖w − w_global‖², with μ sent in the fit config (the client side lives with the trainer). The server
 * side is FedAvg's weighted mean, reused here as is.
 */

import { fedAvgRound, type WeightedMeanRound } from './fedavg.ts';
import {
  checkRound,
  type FitConfig,
  importNoState,
  type Strategy,
  StrategyError,
  type StrategyName,
  type StrategyParams,
} from './strategy.ts';

export const DEFAULT_PROX_MU = 0.01;

export class FedProx implements Strategy {
  readonly name: StrategyName = 'fedprox';
  readonly proxMu: number;

  constructor(params: Pick<StrategyParams, 'proxMu'> = {}) {
    const mu = params.proxMu ?? DEFAULT_PROX_MU;
    if (!(Number.isFinite(mu) && mu >= 0)) {
      throw new StrategyError(`fedprox: proxMu must be a finite number ≥ 0, got ${mu}`);
    }
    this.proxMu = mu;
  }

  fitConfig(round: number): FitConfig {
    checkRound(this.name, round);
    return { proxMu: this.proxMu };
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
