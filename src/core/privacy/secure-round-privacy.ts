/**
 * Differential privacy for one secure round (SecAgg+ with distributed Skellam noise; docs/differential-
 * privacy.md, "Under secure aggregation"): what the round runner (the aggregator's coordinator) needs from
 * the privacy ledger. The ring the members encode in (weight 1, headroom for the noise), what the round frame
 * tells every member about its noise share (`secagg.noiseVariance` and `noiseScale`), and the step the
 * secure round calls on the recovered sum (`onRecovered`: the ledger charges the round). The server adds no
 * noise: the strategy's own round takes the recovered mean.
 *
 * The fewest contributors a recoverable sum can have is SecAgg's threshold t, at the smallest member count
 * the round goes on with (`fewestSurvivors`): the shares are sized so that even that sum carries the noise.
 *
 * Transport-neutral and pure but for the ledger it charges.
 */
import type { SecureRoundInfo } from '../protocol.ts';
import { type GraphParams, secAggDegree } from '../secagg/graph.ts';
import type { RingParams } from '../secagg/ring.ts';
import { StrategyError } from '../strategies/strategy.ts';
import type { PrivacyLedger } from './ledger.ts';
import { PrivacyError } from './rdp.ts';
import type { SecureNoisePlan } from './secure-noise.ts';

/** The privacy side of one secure round. */
export interface SecureRoundPrivacy {
  /** The distributed noise (null when z = 0: clipping only, ε = ∞). */
  plan: SecureNoisePlan | null;
  /** The ring the members encode in: weight 1, per-coordinate clip with headroom for the noise. */
  ring: RingParams;
  /** What the round frame's `secagg` carries. */
  info: SecureRoundInfo;
  /** Called with the recovered sum before it reaches the strategy: charges the ledger (or refuses the sum). */
  onRecovered(result: { contributors: readonly string[] }): void;
}

/**
 * The fewest contributors whose masked inputs still give a sum in a round of `minMembers` to `members`
 * members: the smallest SecAgg threshold t over those member counts (src/core/secagg/graph.ts).
 */
export function fewestSurvivors(minMembers: number, members: number, graph: GraphParams): number {
  // Up to a few hundred ms for thousands of members: rounds of one experiment ask the same again.
  const key = `${minMembers}/${members}/${graph.sigma}/${graph.eta}/${graph.gamma}/${graph.delta}`;
  const known = FEWEST.get(key);
  if (known !== undefined) return known;
  let fewest = Number.POSITIVE_INFINITY;
  for (let n = Math.max(2, minMembers); n <= members; n++)
    fewest = Math.min(fewest, secAggDegree(n, graph).t);
  if (!Number.isFinite(fewest)) {
    throw new PrivacyError(
      `secure round: expected 2 ≤ minMembers ≤ members, got ${minMembers} and ${members}`,
    );
  }
  if (FEWEST.size >= 64) FEWEST.clear();
  FEWEST.set(key, fewest);
  return fewest;
}

const FEWEST = new Map<string, number>();

/**
 * The privacy side of a secure round that selects `selected` of `population` clients. Throws a PrivacyError
 * (SecureNoiseError) when the noise cannot be planned, e.g. with adaptive clipping or a ring overflow.
 */
export function secureRoundPrivacy(
  ledger: PrivacyLedger,
  selected: number,
  population: number,
  round: { dimension: number; minMembers: number; graph: GraphParams },
): SecureRoundPrivacy {
  const minMembers = Math.min(round.minMembers, selected);
  const minSurvivors = fewestSurvivors(minMembers, selected, round.graph);
  const plan = ledger.planSecure(selected, population, {
    dimension: round.dimension,
    minMembers,
    minSurvivors,
  });
  return {
    plan,
    ring: plan ? plan.ring : { clip: ledger.currentClipNorm, maxWeight: 1 },
    info: plan ? { noiseVariance: plan.shareVariance, noiseScale: plan.scale } : {},
    onRecovered: (result) => {
      try {
        ledger.chargeSecure(plan, selected, population, result.contributors.length);
      } catch (e) {
        if (e instanceof PrivacyError) throw new StrategyError(e.message);
        throw e;
      }
    },
  };
}
