/**
 * FedAvgM — Hsu, Qi & Brown (2019), "Measuring the Effects of Non-Identical Data Distribution for Federated
 * Visual Classification" (arXiv:1909.06335): FedAvg with a server learning rate η and server momentum β.
 * The weighted mean client delta is the (negative) pseudo-gradient; the server keeps a heavy-ball buffer:
 *
 *   Δ_t = Σ n_k·Δ_k / Σ n_k                 (streaming weighted mean, as FedAvg)
 *   m_t = β·m_{t−1} + Δ_t                   (m_0 = 0, so m_1 = Δ_1)
 *   x_{t+1} = x_t + η·m_t
 *
 * With β = 0 and η = 1 this is FedAvg (up to one float32 rounding of the mean delta, stored as m); β = 0, η ≠ 1 is FedAvg with a server learning rate. The paper
 * writes the momentum on w_t − w_{t+1} = −Δ_t, which is the same rule with the sign flipped. Its effective
 * learning rate is η/(1 − β): at the defaults η = 1, β = 0.9 (the paper's momentum and Flower's FedAvgM
 * baseline) a steady direction moves 10× as far as FedAvg would; lower η when rounds overshoot.
 *
 * m persists across rounds; `exportState`/`importState` carry it (a Float32Array copy) and the number of
 * server steps, so a restarted aggregator continues exactly: m is stored as Float32 and the step is computed
 * from the stored value. Only the latest round begun may finish, as for the adaptive optimisers.
 *
 * Secure aggregation can carry it: the server step needs only the sum Σ n_k·Δ_k and Σ n_k.
 */

import { checkDecay, checkPositive, checkStateArray, checkStep } from './adaptive.ts';
import { WeightedMeanRound } from './fedavg.ts';
import {
  addToGlobal,
  checkGlobal,
  checkRound,
  type FitConfig,
  firstNonFinite,
  type Strategy,
  StrategyError,
  type StrategyName,
  type StrategyParams,
} from './strategy.ts';

export const FEDAVGM_DEFAULTS = { serverLearningRate: 1, serverMomentum: 0.9 } as const;

export class FedAvgM implements Strategy {
  readonly name: StrategyName = 'fedavgm';
  readonly serverLearningRate: number;
  readonly serverMomentum: number;
  private m = new Float32Array(0);
  private step = 0;
  /** Bumped by every `begin` and `importState`; a round may finish only while its epoch is current. */
  private epoch = 0;

  constructor(params: Pick<StrategyParams, 'serverLearningRate' | 'serverMomentum'> = {}) {
    this.serverLearningRate = checkPositive(
      this.name,
      'serverLearningRate',
      params.serverLearningRate ?? FEDAVGM_DEFAULTS.serverLearningRate,
    );
    this.serverMomentum = checkDecay(
      this.name,
      'serverMomentum',
      params.serverMomentum ?? FEDAVGM_DEFAULTS.serverMomentum,
    );
  }

  fitConfig(round: number): FitConfig {
    checkRound(this.name, round);
    return { proxMu: 0 };
  }

  begin(round: number, global: Float32Array): WeightedMeanRound {
    checkRound(this.name, round);
    checkGlobal(this.name, global);
    if (this.m.length > 0 && global.length !== this.m.length) {
      throw new StrategyError(
        `fedavgm: global weights must have ${this.m.length} values (the size of the server momentum), got ${global.length}`,
      );
    }
    const epoch = ++this.epoch;
    return new WeightedMeanRound(this.name, round, global, (mean, g) => this.apply(round, epoch, mean, g));
  }

  exportState(): Record<string, Float32Array | number> {
    return { m: this.m.slice(), step: this.step };
  }

  importState(state: Record<string, Float32Array | number>): void {
    const keys = Object.keys(state).sort();
    if (keys.join(',') !== 'm,step') {
      throw new StrategyError(
        `fedavgm: state must have exactly the keys m, step, got ${keys.join(', ') || 'none'}`,
      );
    }
    const { m, step } = state;
    if (!(m instanceof Float32Array)) throw new StrategyError('fedavgm: state.m must be a Float32Array');
    checkStateArray(this.name, 'm', m, this.m.length);
    checkStep(this.name, step, m.length);
    this.m = m.slice();
    this.step = step as number;
    this.epoch++;
  }

  /** The server step: m = β·m + Δ, returns global + η·m. */
  private apply(round: number, epoch: number, delta: Float64Array, global: Float32Array): Float32Array {
    if (epoch !== this.epoch) {
      throw new StrategyError(
        `fedavgm: only the latest round begun may finish, got round ${round}, superseded by a later begin() or importState()`,
      );
    }
    const n = global.length;
    const mPrev = this.m.length === n ? this.m : new Float32Array(n);
    const m = new Float32Array(n);
    const { serverLearningRate: eta, serverMomentum: beta } = this;
    const step = delta; // reused in place: delta[i] is read before step[i] is written
    for (let i = 0; i < n; i++) {
      m[i] = beta * mPrev[i]! + delta[i]!;
      step[i] = eta * m[i]!;
    }
    const bad = firstNonFinite(m);
    if (bad >= 0) {
      throw new StrategyError(`fedavgm: server momentum must fit in float32, got ${m[bad]} at index ${bad}`);
    }
    const out = addToGlobal(this.name, global, step);
    this.m = m;
    this.step++;
    return out;
  }
}
