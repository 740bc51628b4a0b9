/**
 * FedDyn — Acar, Zhao, Navarro, Mattina, Whatmough & Saligrama (2021), "Federated Learning Based on Dynamic
 * Regularization" (ICLR), Algorithm 1. With α > 0, m clients in all and the participants P_t of round t:
 *
 *   client k ∈ P_t:  θ_k = argmin_θ L_k(θ) − ⟨g_k, θ⟩ + (α/2)·‖θ − θ^{t−1}‖²,
 *                    then g_k ← g_k − α·(θ_k − θ^{t−1})          (g_k starts at 0; the client keeps it)
 *   server:          h^t = h^{t−1} − α·(1/m)·Σ_{k∈P_t} Δ_k        (Δ_k = θ_k − θ^{t−1}; h starts at 0)
 *                    θ^t = θ^{t−1} + (1/|P_t|)·Σ_{k∈P_t} Δ_k − (1/α)·h^t
 *
 * The linear term makes each client's local optimum consistent with the global one, so client drift on
 * non-IID shards does not bias the fixed point. The client side (the loss term and g_k) lives with the
 * trainer (src/model/model.ts `loss`, src/client/model-trainer.ts); the fit settings carry α as `dynAlpha`.
 *
 * The mean over participants is unweighted, as in the paper (h estimates the mean of the clients' gradients
 * over all m clients). m is the population the aggregator tells the strategy (`setPopulation`: the clients
 * registered so far), and never less than the participants of the round. h, m and the step count persist
 * across rounds in `exportState` (h as Float32; the step is computed from the stored h), so a restarted
 * aggregator continues bit-identically. Only the latest round begun may finish.
 *
 * Default α = 0.01 (the paper tunes α over {0.1, 0.01, 0.001}). Secure aggregation can carry it: the server
 * step needs only Σ Δ_k and |P_t|.
 */

import { checkPositive, checkStateArray, checkStep } from './adaptive.ts';
import {
  addToGlobal,
  type ClientUpdate,
  checkGlobal,
  checkRound,
  type FitConfig,
  firstNonFinite,
  RoundBase,
  type Strategy,
  StrategyError,
  type StrategyName,
  type StrategyParams,
} from './strategy.ts';

export const DEFAULT_DYN_ALPHA = 0.01;

/** A streaming round that keeps the unweighted Σ Δ_k and the count, then hands both to `step`. */
class UniformSumRound extends RoundBase {
  private readonly sum: Float64Array;
  private count = 0;

  constructor(
    who: string,
    round: number,
    global: Float32Array,
    private readonly step: (sum: Float64Array, count: number, global: Float32Array) => Float32Array,
  ) {
    super(who, round, global);
    this.sum = new Float64Array(global.length);
  }

  protected fold(update: ClientUpdate): void {
    const { delta } = update;
    const sum = this.sum;
    for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + delta[i]!;
    this.count++;
  }

  protected compute(): Float32Array {
    return this.step(this.sum, this.count, this.global);
  }
}

export class FedDyn implements Strategy {
  readonly name: StrategyName = 'feddyn';
  readonly dynAlpha: number;
  private h = new Float32Array(0);
  private population = 0;
  private step = 0;
  /** Bumped by every `begin` and `importState`; a round may finish only while its epoch is current. */
  private epoch = 0;

  constructor(params: Pick<StrategyParams, 'dynAlpha'> = {}) {
    this.dynAlpha = checkPositive(this.name, 'dynAlpha', params.dynAlpha ?? DEFAULT_DYN_ALPHA);
  }

  /** The number of clients m in the federation (the aggregator's registered clients); it never shrinks. */
  setPopulation(clients: number): void {
    if (!(Number.isSafeInteger(clients) && clients >= 0)) {
      throw new StrategyError(`feddyn: population must be an integer ≥ 0, got ${clients}`);
    }
    this.population = Math.max(this.population, clients);
  }

  fitConfig(round: number): FitConfig {
    checkRound(this.name, round);
    return { proxMu: 0, dynAlpha: this.dynAlpha };
  }

  begin(round: number, global: Float32Array): RoundBase {
    checkRound(this.name, round);
    checkGlobal(this.name, global);
    if (this.h.length > 0 && global.length !== this.h.length) {
      throw new StrategyError(
        `feddyn: global weights must have ${this.h.length} values (the size of the server state h), got ${global.length}`,
      );
    }
    const epoch = ++this.epoch;
    return new UniformSumRound(this.name, round, global, (sum, count, g) =>
      this.apply(round, epoch, sum, count, g),
    );
  }

  exportState(): Record<string, Float32Array | number> {
    return { h: this.h.slice(), population: this.population, step: this.step };
  }

  importState(state: Record<string, Float32Array | number>): void {
    const keys = Object.keys(state).sort();
    if (keys.join(',') !== 'h,population,step') {
      throw new StrategyError(
        `feddyn: state must have exactly the keys h, population, step, got ${keys.join(', ') || 'none'}`,
      );
    }
    const { h, population, step } = state;
    if (!(h instanceof Float32Array)) throw new StrategyError('feddyn: state.h must be a Float32Array');
    checkStateArray(this.name, 'h', h, this.h.length);
    checkStep(this.name, step, h.length);
    if (
      typeof population !== 'number' ||
      !Number.isSafeInteger(population) ||
      population < (h.length > 0 ? 1 : 0)
    ) {
      throw new StrategyError(
        `feddyn: state.population must be an integer ≥ ${h.length > 0 ? 1 : 0}, got ${String(population)}`,
      );
    }
    this.h = h.slice();
    this.population = population;
    this.step = step as number;
    this.epoch++;
  }

  /** The server step: h −= α·ΣΔ/m, returns global + ΣΔ/n − h/α. */
  private apply(
    round: number,
    epoch: number,
    sum: Float64Array,
    count: number,
    global: Float32Array,
  ): Float32Array {
    if (epoch !== this.epoch) {
      throw new StrategyError(
        `feddyn: only the latest round begun may finish, got round ${round}, superseded by a later begin() or importState()`,
      );
    }
    const n = global.length;
    const m = Math.max(this.population, count);
    const alpha = this.dynAlpha;
    const hPrev = this.h.length === n ? this.h : new Float32Array(n);
    const h = new Float32Array(n);
    const step = sum; // reused in place: sum[i] is read before step[i] is written
    for (let i = 0; i < n; i++) {
      const s = sum[i]!;
      h[i] = hPrev[i]! - (alpha * s) / m;
      step[i] = s / count - h[i]! / alpha;
    }
    const bad = firstNonFinite(h);
    if (bad >= 0)
      throw new StrategyError(`feddyn: server state h must fit in float32, got ${h[bad]} at index ${bad}`);
    const out = addToGlobal(this.name, global, step);
    this.h = h;
    this.population = m;
    this.step++;
    return out;
  }
}
