/**
 * Aggregation strategies: `createStrategy(name, params)` and re-exports. See strategy.ts for the round
 * protocol and each algorithm's file for its maths and references.
 */

import { FedAdagrad } from './fedadagrad.ts';
import { FedAdam } from './fedadam.ts';
import { FedAvg } from './fedavg.ts';
import { FedAvgM } from './fedavgm.ts';
import { FedDyn } from './feddyn.ts';
import { FedProx } from './fedprox.ts';
import { FedYogi } from './fedyogi.ts';
import { Krum } from './krum.ts';
import { Median } from './median.ts';
import {
  STRATEGY_NAMES,
  type Strategy,
  StrategyError,
  type StrategyName,
  type StrategyParams,
} from './strategy.ts';
import { TrimmedMean } from './trimmed-mean.ts';

export { AdaptiveServerOptimizer } from './adaptive.ts';
export { FEDADAGRAD_DEFAULTS, FedAdagrad } from './fedadagrad.ts';
export { FEDADAM_DEFAULTS, FedAdam } from './fedadam.ts';
export { FedAvg, WeightedMeanRound } from './fedavg.ts';
export { FEDAVGM_DEFAULTS, FedAvgM } from './fedavgm.ts';
export { DEFAULT_DYN_ALPHA, FedDyn } from './feddyn.ts';
export { DEFAULT_PROX_MU, FedProx } from './fedprox.ts';
export { FEDYOGI_DEFAULTS, FedYogi } from './fedyogi.ts';
export { DEFAULT_BYZANTINE, Krum, krumNeighbours, krumScores } from './krum.ts';
export { Median } from './median.ts';
export {
  type ClientFailure,
  type ClientUpdate,
  type FitConfig,
  isStrategyName,
  type RoundAggregator,
  STRATEGY_NAMES,
  type Strategy,
  StrategyError,
  type StrategyName,
  type StrategyParams,
} from './strategy.ts';
export { DEFAULT_TRIM_FRACTION, TrimmedMean } from './trimmed-mean.ts';

/**
 * A fresh strategy. Parameters that do not apply to `name` are ignored (one params object can serve every
 * strategy); those that apply are validated, with a StrategyError saying what was expected.
 */
export function createStrategy(name: StrategyName, params: StrategyParams = {}): Strategy {
  switch (name) {
    case 'fedavg':
      return new FedAvg();
    case 'fedprox':
      return new FedProx(params);
    case 'fedadam':
      return new FedAdam(params);
    case 'fedyogi':
      return new FedYogi(params);
    case 'fedadagrad':
      return new FedAdagrad(params);
    case 'fedavgm':
      return new FedAvgM(params);
    case 'feddyn':
      return new FedDyn(params);
    case 'median':
      return new Median();
    case 'trimmed-mean':
      return new TrimmedMean(params);
    case 'krum':
      return new Krum(false, params);
    case 'multi-krum':
      return new Krum(true, params);
    default:
      throw new StrategyError(
        `createStrategy: name must be one of ${STRATEGY_NAMES.join(', ')}, got ${JSON.stringify(String(name))}`,
      );
  }
}
