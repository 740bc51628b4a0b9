/**
 * FedAdam — Reddi, Charles, Zaheer, Garrett, Rush, Konečný, Kumar & McMahan (2021), "Adaptive Federated
 * Optimization" (ICLR), Algorithm 2 with the Adam server update:
 *
 *   Δ_t = Σ n_k·Δ_k / Σ n_k                 (streaming weighted mean, as FedAvg)
 *   m_t = β1·m_{t−1} + (1 − β1)·Δ_t
 *   v_t = β2·v_{t−1} + (1 − β2)·Δ_t²
 *   x_{t+1} = x_t + η·m_t / (√v_t + τ)      (element-wise; no bias correction, as in the paper)
 *
 * The paper averages the client deltas uniformly; here they are weighted by sample count, as FedAvg does and
 * as Flower's FedAdam does. Defaults: β1 = 0.9, β2 = 0.99 and τ = 10⁻³, the values the paper fixes for its
 * experiments (its best settings); η = 10⁻² as server learning rate, which the paper tunes per task over a
 * grid — tune it for a new task.
 *
 * m and v start at 0 and persist across rounds; `exportState`/`importState` carry them (Float32Array copies)
 * and the number of server steps taken, so a restarted aggregator continues exactly. They are stored as
 * Float32 (each step is computed in Float64 and rounded once), so an exported and re-imported state gives
 * bit-identical results to an uninterrupted run. A round's `finish` updates the state atomically; only the
 * latest round begun may finish (an earlier one still open would apply a stale step, so it throws).
 */

import { LIMITS } from '../limits.ts';
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

export const FEDADAM_DEFAULTS = { serverLearningRate: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 } as const;

type FedAdamParams = Pick<StrategyParams, 'serverLearningRate' | 'beta1' | 'beta2' | 'tau'>;

export class FedAdam implements Strategy {
  readonly name: StrategyName = 'fedadam';
  readonly serverLearningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly tau: number;
  private m = new Float32Array(0);
  private v = new Float32Array(0);
  private step = 0;
  /** Bumped by every `begin` and `importState`; a round may finish only while its epoch is current. */
  private epoch = 0;

  constructor(params: FedAdamParams = {}) {
    this.serverLearningRate = positive(
      'serverLearningRate',
      params.serverLearningRate ?? FEDADAM_DEFAULTS.serverLearningRate,
    );
    this.beta1 = decay('beta1', params.beta1 ?? FEDADAM_DEFAULTS.beta1);
    this.beta2 = decay('beta2', params.beta2 ?? FEDADAM_DEFAULTS.beta2);
    this.tau = positive('tau', params.tau ?? FEDADAM_DEFAULTS.tau);
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
        `fedadam: global weights must have ${this.m.length} values (the size of the server moments), got ${global.length}`,
      );
    }
    const epoch = ++this.epoch;
    return new WeightedMeanRound(this.name, round, global, (mean, g) => this.apply(round, epoch, mean, g));
  }

  exportState(): Record<string, Float32Array | number> {
    return { m: this.m.slice(), v: this.v.slice(), step: this.step };
  }

  importState(state: Record<string, Float32Array | number>): void {
    const keys = Object.keys(state).sort();
    if (keys.join(',') !== 'm,step,v') {
      throw new StrategyError(
        `fedadam: state must have exactly the keys m, v, step, got ${keys.join(', ') || 'none'}`,
      );
    }
    const { m, v, step } = state;
    if (!(m instanceof Float32Array) || !(v instanceof Float32Array)) {
      throw new StrategyError('fedadam: state.m and state.v must be Float32Arrays');
    }
    if (m.length !== v.length) {
      throw new StrategyError(
        `fedadam: state.v must have as many values as state.m (${m.length}), got ${v.length}`,
      );
    }
    if (m.length > LIMITS.maxModelParams) {
      throw new StrategyError(
        `fedadam: state.m must have at most ${LIMITS.maxModelParams} values, got ${m.length}`,
      );
    }
    if (this.m.length > 0 && m.length !== this.m.length) {
      throw new StrategyError(
        `fedadam: state.m must have ${this.m.length} values (the model this instance aggregates), got ${m.length}`,
      );
    }
    if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) {
      throw new StrategyError(`fedadam: state.step must be an integer ≥ 0, got ${String(step)}`);
    }
    if ((step === 0) !== (m.length === 0)) {
      throw new StrategyError(
        `fedadam: state.step must be 0 exactly when the moments are empty, got step ${step} with ${m.length} values`,
      );
    }
    const badM = firstNonFinite(m);
    if (badM >= 0)
      throw new StrategyError(`fedadam: state.m must be finite, got ${m[badM]} at index ${badM}`);
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (!(x >= 0 && x < Number.POSITIVE_INFINITY)) {
        throw new StrategyError(`fedadam: state.v must be finite and ≥ 0, got ${x} at index ${i}`);
      }
    }
    this.m = m.slice();
    this.v = v.slice();
    this.step = step;
    this.epoch++;
  }

  /** The server step: updates m and v from the mean delta and returns global + η·m/(√v + τ). */
  private apply(round: number, epoch: number, delta: Float64Array, global: Float32Array): Float32Array {
    if (epoch !== this.epoch) {
      throw new StrategyError(
        `fedadam: only the latest round begun may finish, got round ${round}, superseded by a later begin() or importState()`,
      );
    }
    const n = global.length;
    const mPrev = this.m.length === n ? this.m : new Float32Array(n);
    const vPrev = this.v.length === n ? this.v : new Float32Array(n);
    const m = new Float32Array(n);
    const v = new Float32Array(n);
    const { serverLearningRate: eta, beta1, beta2, tau } = this;
    const step = delta; // reused in place: delta[i] is read before step[i] is written
    for (let i = 0; i < n; i++) {
      const d = delta[i]!;
      m[i] = beta1 * mPrev[i]! + (1 - beta1) * d;
      v[i] = beta2 * vPrev[i]! + (1 - beta2) * d * d;
      step[i] = (eta * m[i]!) / (Math.sqrt(v[i]!) + tau);
    }
    const bad = Math.max(firstNonFinite(m), firstNonFinite(v));
    if (bad >= 0) {
      throw new StrategyError(
        `fedadam: server moments must fit in float32, got m ${m[bad]}, v ${v[bad]} at index ${bad}`,
      );
    }
    const out = addToGlobal(this.name, global, step);
    this.m = m;
    this.v = v;
    this.step++;
    return out;
  }
}

function positive(key: string, x: number): number {
  if (!(Number.isFinite(x) && x > 0))
    throw new StrategyError(`fedadam: ${key} must be a finite number > 0, got ${x}`);
  return x;
}

function decay(key: string, x: number): number {
  if (!(x >= 0 && x < 1)) throw new StrategyError(`fedadam: ${key} must be in [0, 1), got ${x}`);
  return x;
}
