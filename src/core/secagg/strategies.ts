/**
 * Which aggregation strategies (src/core/strategies/) SecAgg+ can carry. The server learns only
 * Σ n_i · clip(Δ_i) and Σ n_i over the round's contributors (server.ts `SecAggResult`), so a strategy that
 * needs nothing but that sum runs unchanged; one that looks at single updates cannot run at all.
 * - `weighted-sum`: FedAvg, FedProx (the proximal term is client-side), FedAvgM and the adaptive server
 *   optimisers FedAdam, FedYogi, FedAdagrad (their state is updated from the mean delta).
 * - `unweighted-sum`: FedDyn averages deltas uniformly over the participants: clients declare a weight of 1,
 *   and the weight element of the sum is then the participant count |P_t|.
 * - `refused`: median, trimmed mean, Krum and Multi-Krum rank or compare individual updates, which secure
 *   aggregation exists to hide.
 * @module
 */
import type { StrategyName } from '../strategies/index.ts';

export type SecAggSupport = 'weighted-sum' | 'unweighted-sum' | 'refused';

export const SECAGG_SUPPORT: Readonly<Record<StrategyName, SecAggSupport>> = Object.freeze({
  fedavg: 'weighted-sum',
  fedprox: 'weighted-sum',
  fedadam: 'weighted-sum',
  fedyogi: 'weighted-sum',
  fedadagrad: 'weighted-sum',
  fedavgm: 'weighted-sum',
  feddyn: 'unweighted-sum',
  median: 'refused',
  'trimmed-mean': 'refused',
  krum: 'refused',
  'multi-krum': 'refused',
});

/** Why `strategy` cannot run under secure aggregation, or null when it can. */
export function secAggRefusal(strategy: StrategyName): string | null {
  return SECAGG_SUPPORT[strategy] === 'refused'
    ? `${strategy} compares single client updates; secure aggregation reveals only their sum (use fedavg, fedprox, fedavgm, fedadam, fedyogi, fedadagrad or feddyn)`
    : null;
}
