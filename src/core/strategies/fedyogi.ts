/**
 * FedYogi — Reddi, Charles, Zaheer, Garrett, Rush, Konečný, Kumar & McMahan (2021), "Adaptive Federated
 * Optimization" (ICLR), Algorithm 2 with the Yogi server update (Zaheer, Reddi, Sachan, Kale & Kumar 2018,
 * "Adaptive Methods for Nonconvex Optimization", NeurIPS):
 *
 *   Δ_t = Σ n_k·Δ_k / Σ n_k                 (streaming weighted mean, as FedAvg)
 *   m_t = β1·m_{t−1} + (1 − β1)·Δ_t
 *   v_t = v_{t−1} − (1 − β2)·Δ_t²·sign(v_{t−1} − Δ_t²)
 *   x_{t+1} = x_t + η·m_t / (√v_t + τ)
 *
 * Unlike Adam's v, which forgets a large old Δ² geometrically, Yogi's v moves by at most (1 − β2)·Δ² per
 * round towards Δ², so one large round does not shrink the steps of many rounds after it — the paper's best
 * strategy on most of its non-IID tasks. v stays ≥ 0: when v > Δ², v − (1 − β2)·Δ² > v − Δ² > 0. sign(0) = 0
 * (as numpy's, which Flower uses).
 *
 * The shared step, its state (m, v, step) and checkpointing live in adaptive.ts. Defaults: β1 = 0.9,
 * β2 = 0.99, τ = 10⁻³ (the paper's fixed values) and η = 10⁻² (Flower's FedYogi; the paper tunes η per task).
 */

import { type AdaptiveParams, AdaptiveServerOptimizer, checkDecay } from './adaptive.ts';
import type { StrategyParams } from './strategy.ts';

export const FEDYOGI_DEFAULTS = { serverLearningRate: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 } as const;

export class FedYogi extends AdaptiveServerOptimizer {
  readonly beta2: number;

  constructor(params: AdaptiveParams & Pick<StrategyParams, 'beta2'> = {}) {
    super('fedyogi', params, FEDYOGI_DEFAULTS);
    this.beta2 = checkDecay(this.name, 'beta2', params.beta2 ?? FEDYOGI_DEFAULTS.beta2);
  }

  /** v_t = v_{t−1} − (1 − β2)·Δ²·sign(v_{t−1} − Δ²). */
  protected secondMoment(v: number, d: number): number {
    const d2 = d * d;
    return v - (1 - this.beta2) * d2 * Math.sign(v - d2);
  }
}
