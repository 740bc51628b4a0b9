/**
 * DP-FedAvg's server step without secure aggregation (McMahan, Ramage, Talwar & Zhang 2018, "Learning
 * Differentially Private Recurrent Language Models", ICLR, Algorithm 1 with the fixed-denominator estimator):
 * every update is clipped to L2 norm C (again, whatever the client did), the clipped updates are summed with
 * equal weight, Gaussian noise N(0, (z·C)²) is added to every coordinate of the sum, and the sum is divided by
 * the expected number of clients m (the round's selection), not by the number that answered, so that the
 * divisor reveals nothing either. The noisy mean then goes through the experiment's strategy as the round's
 * one update: FedAvg adds it to the model, FedAdam/FedYogi/FedAdagrad/FedAvgM use it as their pseudo-gradient
 * (post-processing, which costs no privacy).
 *
 * Streaming: one Float64 running sum, no per-client copy kept beyond the update being clipped.
 */

import { addToGlobal, type ClientUpdate, type RoundAggregator, RoundBase } from '../strategies/strategy.ts';
import { l2Norm } from './clip.ts';
import { addGaussianNoise } from './gaussian.ts';
import type { Draws } from './random-source.ts';

/**
 * An update whose norm is below C·(1 − UNCLIPPED_MARGIN) counts as unclipped for adaptive clipping: clients
 * clip to C themselves, so a clipped update arrives with norm C up to float32 rounding (relative ~1e-7).
 */
export const UNCLIPPED_MARGIN = 1e-5;

/** What one private round needs. */
export interface PrivateRoundPlan {
  /** C: every update is clipped to this L2 norm. */
  clipNorm: number;
  /** Standard deviation of the noise added to each coordinate of the sum (z_Δ · C). */
  noiseStd: number;
  /** m: the divisor of the noisy sum (the number of clients selected). */
  expectedClients: number;
  draws: Draws;
  /** Starts the strategy's own round that takes the noisy mean (null: add it to the model, as FedAvg). */
  inner: (() => RoundAggregator) | null;
  /** Told once, when the noisy aggregate is made: how many updates were at or below C before clipping. */
  onRelease: (release: { unclipped: number; accepted: number }) => void;
}

export class PrivateRound extends RoundBase {
  private readonly sum: Float64Array;
  private unclipped = 0;

  constructor(
    round: number,
    global: Float32Array,
    private readonly plan: PrivateRoundPlan,
  ) {
    super('dp-fedavg', round, global);
    this.sum = new Float64Array(global.length);
  }

  protected fold(update: ClientUpdate): void {
    const { clipNorm } = this.plan;
    const norm = l2Norm(update.delta);
    const f = norm > clipNorm ? clipNorm / norm : 1;
    if (norm < clipNorm * (1 - UNCLIPPED_MARGIN)) this.unclipped++;
    const d = update.delta;
    for (let i = 0; i < this.sum.length; i++) this.sum[i] = this.sum[i]! + f * d[i]!;
  }

  protected compute(): Float32Array {
    const { plan } = this;
    const sum = this.sum;
    addGaussianNoise(sum, plan.noiseStd, plan.draws);
    const inv = 1 / plan.expectedClients;
    for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! * inv;
    plan.onRelease({ unclipped: this.unclipped, accepted: this.accepted });
    if (!plan.inner) return addToGlobal(this.who, this.global, sum);
    const inner = plan.inner();
    inner.add({ clientId: 'dp-noisy-mean', delta: Float32Array.from(sum), numSamples: 1 });
    return inner.finish();
  }
}
