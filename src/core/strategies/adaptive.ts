/**
 * The adaptive server optimisers of Reddi, Charles, Zaheer, Garrett, Rush, Konečný, Kumar & McMahan (2021),
 * "Adaptive Federated Optimization" (ICLR), Algorithm 2: the server treats the mean client delta as a
 * pseudo-gradient and takes one Adam-, Yogi- or Adagrad-like step with it. This module holds the update rule
 * once; fedadam.ts, fedyogi.ts and fedadagrad.ts each supply only their second-moment rule:
 *
 *   Δ_t = Σ n_k·Δ_k / Σ n_k                 (streaming weighted mean, as FedAvg)
 *   m_t = β1·m_{t−1} + (1 − β1)·Δ_t
 *   v_t = rule(v_{t−1}, Δ_t)                (FedAdagrad: v + Δ²; FedAdam: β2·v + (1 − β2)·Δ²;
 *                                            FedYogi: v − (1 − β2)·Δ²·sign(v − Δ²))
 *   x_{t+1} = x_t + η·m_t / (√v_t + τ)      (element-wise; no bias correction, as in the paper)
 *
 * The paper averages the client deltas uniformly; here they are weighted by sample count, as FedAvg does and
 * as Flower's FedOpt strategies do. m and v start at 0 (the paper allows any v_{−1} ≥ τ²; 0 is Flower's
 * choice and makes the first step of all three about η·(1 − β1)·sign(Δ)·|Δ|/(√v + τ)).
 *
 * m and v persist across rounds; `exportState`/`importState` carry them (Float32Array copies) and the number
 * of server steps taken, so a restarted aggregator continues exactly. They are stored as Float32 and the step
 * is computed from the stored (rounded) values, in Float64, and rounded once: an exported and re-imported
 * state gives bit-identical results to an uninterrupted run. A round's `finish` updates the state
 * atomically; only the latest round begun may finish (an earlier one still open would apply a stale step, so
 * it throws).
 *
 * Secure aggregation can carry all three: the server step needs only the sum Σ n_k·Δ_k and Σ n_k.
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

export type AdaptiveParams = Pick<StrategyParams, 'serverLearningRate' | 'beta1' | 'tau'>;

/** The adaptive server step; a subclass supplies `secondMoment`, the one line where Adam, Yogi, Adagrad differ. */
export abstract class AdaptiveServerOptimizer implements Strategy {
  readonly serverLearningRate: number;
  readonly beta1: number;
  readonly tau: number;
  private m = new Float32Array(0);
  private v = new Float32Array(0);
  private step = 0;
  /** Bumped by every `begin` and `importState`; a round may finish only while its epoch is current. */
  private epoch = 0;

  protected constructor(
    readonly name: StrategyName,
    params: AdaptiveParams,
    defaults: Required<AdaptiveParams>,
  ) {
    this.serverLearningRate = checkPositive(
      name,
      'serverLearningRate',
      params.serverLearningRate ?? defaults.serverLearningRate,
    );
    this.beta1 = checkDecay(name, 'beta1', params.beta1 ?? defaults.beta1);
    this.tau = checkPositive(name, 'tau', params.tau ?? defaults.tau);
  }

  /** v_t from v_{t−1} (a Float32 value ≥ 0) and the mean delta d of this coordinate. */
  protected abstract secondMoment(v: number, d: number): number;

  fitConfig(round: number): FitConfig {
    checkRound(this.name, round);
    return { proxMu: 0 };
  }

  begin(round: number, global: Float32Array): WeightedMeanRound {
    checkRound(this.name, round);
    checkGlobal(this.name, global);
    if (this.m.length > 0 && global.length !== this.m.length) {
      throw new StrategyError(
        `${this.name}: global weights must have ${this.m.length} values (the size of the server moments), got ${global.length}`,
      );
    }
    const epoch = ++this.epoch;
    return new WeightedMeanRound(this.name, round, global, (mean, g) => this.apply(round, epoch, mean, g));
  }

  exportState(): Record<string, Float32Array | number> {
    return { m: this.m.slice(), v: this.v.slice(), step: this.step };
  }

  importState(state: Record<string, Float32Array | number>): void {
    const who = this.name;
    const keys = Object.keys(state).sort();
    if (keys.join(',') !== 'm,step,v') {
      throw new StrategyError(
        `${who}: state must have exactly the keys m, v, step, got ${keys.join(', ') || 'none'}`,
      );
    }
    const { m, v, step } = state;
    if (!(m instanceof Float32Array) || !(v instanceof Float32Array)) {
      throw new StrategyError(`${who}: state.m and state.v must be Float32Arrays`);
    }
    if (m.length !== v.length) {
      throw new StrategyError(
        `${who}: state.v must have as many values as state.m (${m.length}), got ${v.length}`,
      );
    }
    checkStateArray(who, 'm', m, this.m.length);
    checkStep(who, step, m.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (!(x >= 0 && x < Number.POSITIVE_INFINITY)) {
        throw new StrategyError(`${who}: state.v must be finite and ≥ 0, got ${x} at index ${i}`);
      }
    }
    this.m = m.slice();
    this.v = v.slice();
    this.step = step as number;
    this.epoch++;
  }

  /** The server step: updates m and v from the mean delta and returns global + η·m/(√v + τ). */
  private apply(round: number, epoch: number, delta: Float64Array, global: Float32Array): Float32Array {
    if (epoch !== this.epoch) {
      throw new StrategyError(
        `${this.name}: only the latest round begun may finish, got round ${round}, superseded by a later begin() or importState()`,
      );
    }
    const n = global.length;
    const mPrev = this.m.length === n ? this.m : new Float32Array(n);
    const vPrev = this.v.length === n ? this.v : new Float32Array(n);
    const m = new Float32Array(n);
    const v = new Float32Array(n);
    const { serverLearningRate: eta, beta1, tau } = this;
    const step = delta; // reused in place: delta[i] is read before step[i] is written
    for (let i = 0; i < n; i++) {
      const d = delta[i]!;
      m[i] = beta1 * mPrev[i]! + (1 - beta1) * d;
      v[i] = this.secondMoment(vPrev[i]!, d);
      step[i] = (eta * m[i]!) / (Math.sqrt(v[i]!) + tau);
    }
    const bad = Math.max(firstNonFinite(m), firstNonFinite(v));
    if (bad >= 0) {
      throw new StrategyError(
        `${this.name}: server moments must fit in float32, got m ${m[bad]}, v ${v[bad]} at index ${bad}`,
      );
    }
    const out = addToGlobal(this.name, global, step);
    this.m = m;
    this.v = v;
    this.step++;
    return out;
  }
}

/** A hyper-parameter that must be finite and > 0 (learning rates, τ). */
export function checkPositive(who: string, key: string, x: number): number {
  if (!(Number.isFinite(x) && x > 0))
    throw new StrategyError(`${who}: ${key} must be a finite number > 0, got ${x}`);
  return x;
}

/** A decay rate or momentum in [0, 1). */
export function checkDecay(who: string, key: string, x: number): number {
  if (!(x >= 0 && x < 1)) throw new StrategyError(`${who}: ${key} must be in [0, 1), got ${x}`);
  return x;
}

/**
 * An imported server-state vector: at most LIMITS.maxModelParams finite values, and as many as the model
 * this instance already aggregates (`current`, 0 while it has no state).
 */
export function checkStateArray(who: string, key: string, xs: Float32Array, current: number): void {
  if (xs.length > LIMITS.maxModelParams) {
    throw new StrategyError(
      `${who}: state.${key} must have at most ${LIMITS.maxModelParams} values, got ${xs.length}`,
    );
  }
  if (current > 0 && xs.length !== current) {
    throw new StrategyError(
      `${who}: state.${key} must have ${current} values (the model this instance aggregates), got ${xs.length}`,
    );
  }
  const bad = firstNonFinite(xs);
  if (bad >= 0)
    throw new StrategyError(`${who}: state.${key} must be finite, got ${xs[bad]} at index ${bad}`);
}

/** The imported server step count: an integer ≥ 0, 0 exactly when the state vectors are empty. */
export function checkStep(who: string, step: unknown, size: number): void {
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) {
    throw new StrategyError(`${who}: state.step must be an integer ≥ 0, got ${String(step)}`);
  }
  if ((step === 0) !== (size === 0)) {
    throw new StrategyError(
      `${who}: state.step must be 0 exactly when the moments are empty, got step ${step} with ${size} values`,
    );
  }
}
