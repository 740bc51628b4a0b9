/**
 * The privacy budget of one federated session run with client-level differential privacy and server-side
 * noise (no secure aggregation): the clip norm (fixed, or adaptive after Andrew et al. 2021), the noise
 * multiplier (given, or calibrated at the first round so that the planned rounds spend at most the target
 * ε), and the RDP accountant (accountant.ts), advanced once per aggregate released with the round's sampling
 * rate q = clients selected / clients the selection drew from.
 *
 * With a target ε, `refusal` says whether the next round may start: a round that would take ε above the
 * target does not start, and the ledger remembers why. The state (spent RDP, clip norm, noise multiplier,
 * the stop) is plain JSON for the checkpoint, so a restart resumes the budget exactly.
 *
 * Transport-neutral: used by the aggregator's coordinator; pure but for the noise's randomness (a
 * RandomSource, the platform CSPRNG by default).
 */
import { PRIVACY } from '../limits.ts';
import type { RoundAggregator, Strategy, StrategyName } from '../strategies/strategy.ts';
import { type AccountantState, noiseForTargetEpsilon, RdpAccountant } from './accountant.ts';
import {
  ADAPTIVE_CLIP_DEFAULTS,
  type AdaptiveClipSettings,
  nextClipNorm,
  updateNoiseMultiplier,
} from './clip.ts';
import { cryptoRandomSource, Draws, type RandomSource } from './random-source.ts';
import { PrivacyError } from './rdp.ts';
import { planSecureNoise, SecureNoiseError, type SecureNoisePlan } from './secure-noise.ts';
import { PrivateRound } from './server-noise.ts';

/**
 * The strategies that can take DP-FedAvg's noisy mean as their one update: FedAvg, FedProx (FedAvg on the
 * server), and the server optimizers. The robust ones (median, trimmed mean, Krum) need every update apart.
 */
export const PRIVATE_STRATEGIES = [
  'fedavg',
  'fedprox',
  'fedadam',
  'fedyogi',
  'fedadagrad',
  'fedavgm',
] as const satisfies readonly StrategyName[];

/**
 * Why `strategy` cannot run with privacy (null when it can): the one sentence the experiment check and the
 * in-tab federation both give, after "strategy".
 */
export function privateStrategyProblem(strategy: string): string | null {
  return (PRIVATE_STRATEGIES as readonly string[]).includes(strategy)
    ? null
    : `("${strategy}") cannot run with privacy: the server noises the mean of clipped updates, so one of ${PRIVATE_STRATEGIES.join(', ')}`;
}

/**
 * The round aggregator of `round`: the ledger's private round around `strategy`'s when DP is on, the
 * strategy's own otherwise (the coordinator and the in-tab federation alike).
 */
export function beginRound(
  privacy: PrivacyLedger | null,
  strategy: Strategy,
  round: number,
  global: Float32Array,
  selected: number,
  population: number,
): RoundAggregator {
  return privacy
    ? privacy.begin(strategy, round, global, selected, population)
    : strategy.begin(round, global);
}

/** The fit settings with the ledger's clip norm for the clients (unchanged when DP is off). */
export function withClipNorm<F extends object>(
  fit: F,
  privacy: PrivacyLedger | null,
): F & { clipNorm?: number } {
  return privacy ? { ...fit, clipNorm: privacy.currentClipNorm } : fit;
}

/** ε for JSON: an infinite ε (no noise) is null, "no finite guarantee". */
export const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** The ranges of the `privacy` key's numbers: the experiment schema's and the in-tab page's. */
export const PRIVACY_KEY_BOUNDS = {
  clipNorm: { min: 1e-6, max: 1e6 },
  noiseMultiplier: { min: 0, max: 1e4 },
  targetEpsilon: { min: 0.01, max: PRIVACY.maxTargetEpsilon },
  delta: { min: PRIVACY.minDelta, max: 0.1 },
} as const;

/** δ when the experiment names none. */
export const DEFAULT_DELTA = 1e-5;

/** The experiment file's `privacy` key (validated: a clip norm, and a noise multiplier or a target ε). */
export interface PrivacyKey {
  clipNorm?: number | undefined;
  noiseMultiplier?: number | undefined;
  targetEpsilon?: number | undefined;
  delta?: number | undefined;
  clipQuantile?: number | undefined;
  clipLearningRate?: number | undefined;
}

/** The ledger's settings from the experiment's `privacy` key, with the defaults filled in. */
export function privacySettings(p: PrivacyKey): PrivacySettings {
  if (p.clipNorm === undefined) throw new PrivacyError('privacy: needs a clip norm, got none');
  return {
    clipNorm: p.clipNorm,
    noiseMultiplier: p.noiseMultiplier ?? null,
    targetEpsilon: p.targetEpsilon ?? null,
    delta: p.delta ?? DEFAULT_DELTA,
    adaptiveClipping:
      p.clipQuantile === undefined
        ? null
        : {
            ...ADAPTIVE_CLIP_DEFAULTS,
            targetQuantile: p.clipQuantile,
            learningRate: p.clipLearningRate ?? ADAPTIVE_CLIP_DEFAULTS.learningRate,
          },
  };
}

/** Client-level DP of an experiment (the `privacy` key of the experiment file, resolved). */
export interface PrivacySettings {
  /** C: the L2 norm every update is clipped to (the first round's, with adaptive clipping). */
  clipNorm: number;
  /** z: noise std / C. null: calibrated from `targetEpsilon` at the first round. */
  noiseMultiplier: number | null;
  /** Stop before ε at `delta` would exceed this; null: no stop (ε is still reported). */
  targetEpsilon: number | null;
  delta: number;
  /** Adaptive clipping (Andrew et al. 2021); null: C stays fixed. */
  adaptiveClipping: AdaptiveClipSettings | null;
}

/** What a checkpoint keeps of the ledger. */
export interface PrivacyState {
  accountant: AccountantState;
  clipNorm: number;
  noiseMultiplier: number | null;
  /** Why the budget stopped the session (null: it did not). */
  stopped: string | null;
}

/** What `/api/status` shows under `privacy`. */
export interface PrivacyStatus {
  /** True once a secure round was charged: the clients add the noise (Skellam shares), not the server. */
  secureAggregation: boolean;
  mechanism: 'gaussian' | 'skellam';
  /** ε spent so far at `delta` (0 before the first aggregate). */
  epsilon: number;
  delta: number;
  targetEpsilon: number | null;
  noiseMultiplier: number | null;
  clipNorm: number;
  adaptiveClipping: boolean;
  /** Aggregates released (rounds charged to the budget). */
  rounds: number;
  /** The last round's sampling rate q (null before the first). */
  samplingRate: number | null;
  stopped: string | null;
}

export class PrivacyLedger {
  private readonly accountant: RdpAccountant;
  private clipNorm: number;
  private z: number | null;
  private stopped: string | null;
  private lastQ: number | null = null;
  private secure = false;
  private readonly draws: Draws;

  constructor(
    readonly settings: PrivacySettings,
    /** Rounds the session plans (to calibrate z from a target ε). */
    private readonly plannedRounds: () => number,
    state: PrivacyState | null = null,
    source: RandomSource = cryptoRandomSource,
  ) {
    this.accountant = state ? RdpAccountant.fromState(state.accountant) : new RdpAccountant();
    this.clipNorm = state?.clipNorm ?? settings.clipNorm;
    this.z = state?.noiseMultiplier ?? settings.noiseMultiplier;
    this.stopped = state?.stopped ?? null;
    this.draws = new Draws(source);
    if (!(this.clipNorm > 0 && Number.isFinite(this.clipNorm))) {
      throw new PrivacyError(`privacy: the clip norm must be a finite number > 0, got ${this.clipNorm}`);
    }
  }

  /** ε spent so far at the settings' δ. */
  get epsilon(): number {
    return this.accountant.epsilon(this.settings.delta);
  }

  /** The clip norm the clients get in their fit settings this round. */
  get currentClipNorm(): number {
    return this.clipNorm;
  }

  /**
   * Null when a round that selects `selected` of `population` clients may start; otherwise why not (it would
   * take ε above the target), remembered for the status and the checkpoint.
   */
  refusal(selected: number, population: number): string | null {
    const q = samplingRate(selected, population);
    let z: number;
    try {
      z = this.noiseMultiplier(q);
    } catch (e) {
      // A target no noise can reach: the session cannot run privately, so it does not run.
      if (!(e instanceof PrivacyError)) throw e;
      this.stopped = `privacy budget: ${e.message}; the session stopped before round ${this.accountant.rounds + 1}`;
      return this.stopped;
    }
    const target = this.settings.targetEpsilon;
    const next = target === null ? 0 : this.accountant.epsilonAfter(q, z, this.settings.delta);
    if (target === null || next <= target) {
      this.stopped = null;
      return null;
    }
    this.stopped =
      `privacy budget: round ${this.accountant.rounds + 1} would take ε from ${fmt(this.epsilon)} to ` +
      `${fmt(next)} at δ = ${this.settings.delta}, above the target ε = ${target}; the session stopped before it`;
    return this.stopped;
  }

  /** z for this round: the configured one, or calibrated once (at the first round's q) from the target. */
  private noiseMultiplier(q: number): number {
    if (this.z !== null) return this.z;
    const target = this.settings.targetEpsilon;
    if (target === null)
      throw new PrivacyError('privacy: needs a noise multiplier or a target ε, got neither');
    const rounds = Math.max(1, this.plannedRounds() - this.accountant.rounds);
    this.z = noiseForTargetEpsilon({ epsilon: target, delta: this.settings.delta, q, rounds });
    return this.z;
  }

  /**
   * The round aggregator of a private round: clips, sums, adds noise, divides by `selected`, and hands the
   * noisy mean to `strategy`'s own round (FedAvg's step when `strategy` is FedAvg). Charges the accountant
   * when the aggregate is made.
   */
  begin(
    strategy: Strategy,
    round: number,
    global: Float32Array,
    selected: number,
    population: number,
  ): RoundAggregator {
    const q = samplingRate(selected, population);
    const z = this.noiseMultiplier(q);
    const adaptive = this.settings.adaptiveClipping;
    // The count's noise: Andrew et al.'s σ_b = m/20, raised to z when that is too small to leave noise for the
    // updates (then at most 15 % of the noise goes to the count: z_Δ ≤ z/√(3/4)).
    const sigmaB = adaptive ? Math.max(adaptive.countNoiseFraction * selected, z) : 0;
    const zUpdates = adaptive && z > 0 ? updateNoiseMultiplier(z, sigmaB) : z;
    const clipNorm = this.clipNorm;
    return new PrivateRound(round, global, {
      clipNorm,
      noiseStd: zUpdates * clipNorm,
      expectedClients: selected,
      draws: this.draws,
      inner: strategy.name === 'fedavg' ? null : () => strategy.begin(round, global),
      onRelease: ({ unclipped }) => {
        this.accountant.compose(q, z);
        this.lastQ = q;
        if (adaptive) {
          this.clipNorm = nextClipNorm(
            clipNorm,
            unclipped,
            selected,
            { ...adaptive, countNoiseFraction: sigmaB / selected },
            this.draws,
          );
        }
      },
    });
  }

  /**
   * The distributed noise of a secure round that selects `selected` of `population` clients
   * (secure-noise.ts): the ring the members encode in and each one's Skellam share, for the round's z
   * (configured, or calibrated as for a server-noised round). Null when z = 0 (no noise, ε = ∞). The server
   * adds no noise in such a round; `chargeSecure` charges it once its sum is recovered.
   */
  planSecure(
    selected: number,
    population: number,
    round: { dimension: number; minMembers: number; minSurvivors: number },
  ): SecureNoisePlan | null {
    if (this.settings.adaptiveClipping) {
      throw new SecureNoiseError(
        'bad-plan',
        'privacy: adaptive clipping needs the count of unclipped updates, which secure aggregation hides; ' +
          'use a fixed clip norm with secure aggregation',
      );
    }
    const z = this.noiseMultiplier(samplingRate(selected, population));
    this.secure = true;
    if (z === 0) return null;
    return planSecureNoise({
      clipNorm: this.clipNorm,
      noiseMultiplier: z,
      dimension: round.dimension,
      members: selected,
      minMembers: round.minMembers,
      minSurvivors: round.minSurvivors,
    });
  }

  /**
   * Charges a secure round whose sum came back from `contributors` members: the accountant composes the
   * plan's effective multiplier at q = selected / population. Throws (and charges nothing) when fewer
   * contributors than planned are in the sum: its noise would be below the plan.
   */
  chargeSecure(
    plan: SecureNoisePlan | null,
    selected: number,
    population: number,
    contributors: number,
  ): void {
    const q = samplingRate(selected, population);
    if (plan && contributors < plan.minSurvivors) {
      throw new SecureNoiseError(
        'too-few-survivors',
        `privacy: the noise was planned for at least ${plan.minSurvivors} contributors, the sum has ${contributors}`,
      );
    }
    this.accountant.compose(q, plan ? plan.effectiveNoiseMultiplier : 0);
    this.lastQ = q;
    this.secure = true;
  }

  status(): PrivacyStatus {
    return {
      secureAggregation: this.secure,
      mechanism: this.secure ? 'skellam' : 'gaussian',
      epsilon: this.epsilon,
      delta: this.settings.delta,
      targetEpsilon: this.settings.targetEpsilon,
      noiseMultiplier: this.z,
      clipNorm: this.clipNorm,
      adaptiveClipping: this.settings.adaptiveClipping !== null,
      rounds: this.accountant.rounds,
      samplingRate: this.lastQ,
      stopped: this.stopped,
    };
  }

  exportState(): PrivacyState {
    return {
      accountant: this.accountant.exportState(),
      clipNorm: this.clipNorm,
      noiseMultiplier: this.z,
      stopped: this.stopped,
    };
  }
}

/** q = selected / population, in (0, 1]. */
export function samplingRate(selected: number, population: number): number {
  if (
    !(
      Number.isSafeInteger(selected) &&
      Number.isSafeInteger(population) &&
      selected >= 1 &&
      selected <= population
    )
  ) {
    throw new PrivacyError(
      `privacy: expected 1 ≤ selected ≤ population (integers), got ${selected} of ${population}`,
    );
  }
  return selected / population;
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '∞');
