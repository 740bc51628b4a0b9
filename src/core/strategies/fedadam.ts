/**
 * FedAdam — Reddi, Charles, Zaheer, Garrett, Rush, Konečný, Kumar & McMahan (2021), "Adaptive Federated
 * Optimization" (ICLR), Algorithm 2 with the Adam server update:
 *
 *   Δ_t = Σ n_k·Δ_k / Σ n_k                 (streaming weighted mean, as FedAvg)
 *   m_t = β1·m_{t−1} + (1 − β1)·Δ_t
 *   v_t = β2·v_{t−1} + (1 − β2)·Δ_t²
 *   x_{t+1} = x_t + η·m_t / (√v_t + τ)      (element-wise; no bias correction, as in the paper)
 *
 * The shared step, its state (m, v, step) and checkpointing live in adaptive.ts; this file holds the Adam
 * second moment. Defaults: β1 = 0.9, β2 = 0.99 and τ = 10⁻³, the values the paper fixes for its experiments
 * (its best settings); η = 10⁻² as server learning rate, which the paper tunes per task over a grid — tune it
 * for a new task.
 */

import { type AdaptiveParams, AdaptiveServerOptimizer, checkDecay } from './adaptive.ts';
import type { StrategyParams } from './strategy.ts';

export const FEDADAM_DEFAULTS = { serverLearningRate: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 } as const;

export class FedAdam extends AdaptiveServerOptimizer {
  readonly beta2: number;

  constructor(params: AdaptiveParams & Pick<StrategyParams, 'beta2'> = {}) {
    super('fedadam', params, FEDADAM_DEFAULTS);
    this.beta2 = checkDecay(this.name, 'beta2', params.beta2 ?? FEDADAM_DEFAULTS.beta2);
  }

  /** v_t = β2·v_{t−1} + (1 − β2)·Δ². */
  protected secondMoment(v: number, d: number): number {
    return this.beta2 * v + (1 - this.beta2) * d * d;
  }
}
