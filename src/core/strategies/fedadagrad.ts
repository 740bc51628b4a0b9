/**
 * FedAdagrad — Reddi, Charles, Zaheer, Garrett, Rush, Konečný, Kumar & McMahan (2021), "Adaptive Federated
 * Optimization" (ICLR), Algorithm 2 with the Adagrad server update:
 *
 *   Δ_t = Σ n_k·Δ_k / Σ n_k                 (streaming weighted mean, as FedAvg)
 *   m_t = β1·m_{t−1} + (1 − β1)·Δ_t
 *   v_t = v_{t−1} + Δ_t²
 *   x_{t+1} = x_t + η·m_t / (√v_t + τ)
 *
 * v only grows, so the server's effective step size shrinks as 1/√t over the rounds: no β2.
 *
 * The shared step, its state (m, v, step) and checkpointing live in adaptive.ts. Defaults: β1 = 0.9 and
 * τ = 10⁻³ (the paper's Algorithm 2 keeps momentum for all three optimisers; Flower's FedAdagrad sets β1 = 0),
 * η = 10⁻¹ (Flower's FedAdagrad; with v growing as Σ Δ² a smaller η stalls after a few rounds — the paper
 * tunes η per task).
 */

import { type AdaptiveParams, AdaptiveServerOptimizer } from './adaptive.ts';

export const FEDADAGRAD_DEFAULTS = { serverLearningRate: 0.1, beta1: 0.9, tau: 1e-3 } as const;

export class FedAdagrad extends AdaptiveServerOptimizer {
  constructor(params: AdaptiveParams = {}) {
    super('fedadagrad', params, FEDADAGRAD_DEFAULTS);
  }

  /** v_t = v_{t−1} + Δ². */
  protected secondMoment(v: number, d: number): number {
    return v + d * d;
  }
}
