/**
 * The local training settings of one round (`FitSettings` of the `round` frame), derived from the
 * experiment's configuration and the round number alone, so that every aggregator that runs the round
 * sends the same: the seed recipe, the cosine learning-rate decay, and the strategy's own terms (FedProx's
 * μ, FedDyn's α).
 *
 * Used by the aggregator's coordinator (src/aggregator/coordinator.ts) and the in-tab federation
 * (src/app/simulate/federation.ts). Pure: no clock, no randomness, no I/O.
 */
import type { FitSettings } from '../protocol.ts';
import type { FitConfig } from '../strategies/index.ts';

/** What `roundFitSettings` reads of an experiment's configuration (a subset of the aggregator's config). */
export interface FitPlan {
  rounds: number;
  localEpochs: number;
  batchSize: number;
  /** The first round's learning rate. */
  learningRate: number;
  /** 'cosine': decays to 5 % of `learningRate` by the last round; 'none': constant. */
  learningRateDecay: 'none' | 'cosine';
  seed: number;
}

/** The clients' learning rate in `round` of `rounds`: cosine decay from `lr` to 5 % of it. */
export function roundLearningRate(lr: number, round: number, rounds: number): number {
  const t = Math.min(1, (round - 1) / Math.max(1, rounds - 1));
  // 0.05 + 0.95 · ½(1 + cos πt): 1 at t = 0, 0.05 at t = 1 (written as literals: the rounding is part of the
  // contract, since checkpoints resume with the same rates).
  return lr * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/** The clients' training seed in `round`: one per round, the same for every client, in [0, 2³²). */
export function roundSeed(seed: number, round: number): number {
  return (seed * 31 + round) >>> 0;
}

/**
 * The fit settings of `round`; `strategy` is the strategy's `fitConfig(round)` (its μ, and α for FedDyn,
 * which is sent only when the strategy has one).
 */
export function roundFitSettings(config: FitPlan, round: number, strategy: FitConfig): FitSettings {
  return {
    epochs: config.localEpochs,
    batchSize: config.batchSize,
    learningRate:
      config.learningRateDecay === 'none'
        ? config.learningRate
        : roundLearningRate(config.learningRate, round, config.rounds),
    proxMu: strategy.proxMu,
    ...(strategy.dynAlpha !== undefined && { dynAlpha: strategy.dynAlpha }),
    seed: roundSeed(config.seed, round),
  };
}
