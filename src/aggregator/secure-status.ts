/**
 * What the aggregator derives for a secure round (SecAgg+, docs/secure-aggregation.md) from its experiment:
 * the ring (clip bound, weight cap), and the report of the last secure round that `/api/status` shows under
 * `secureAggregation.lastRound`. Under secure aggregation the server never sees a client's update, its
 * sample count or its training metrics: the report says only who took part, who survived and who left.
 */
import { PROTOCOL, SECAGG } from '../core/limits.ts';
import type { SecureRound, SecureRoundOutcome } from '../core/round/secure-round.ts';
import type { RingParams } from '../core/secagg/ring.ts';
import type { SecureAggregationSettings } from './config.ts';

/**
 * The ring of a secure round: the experiment's clip bound, and as weight cap W the largest shard the server
 * assigns (the rows a client can train on), or PROTOCOL.maxSamplesPerClient when clients bring their data.
 * A client declares min(its samples, W): under SecAgg the server cannot cap a weight it never sees.
 */
export function secureRing(settings: SecureAggregationSettings, shardRows?: readonly number[]): RingParams {
  const largest = shardRows?.length ? Math.max(...shardRows) : 0;
  return { clip: settings.clip, maxWeight: largest > 0 ? largest : PROTOCOL.maxSamplesPerClient };
}

/** The fewest members a secure round goes on with after the advertisements: SecAgg's floor or the quorum. */
export function secureMinMembers(quorum: number): number {
  return Math.max(SECAGG.minMembers, quorum);
}

/** The last secure round as `/api/status` shows it. */
export interface SecureRoundReport {
  round: number;
  /** Clients selected (sent the round's config). */
  selected: number;
  /** Clients that advertised keys: the SecAgg members. */
  members: number;
  /** Members whose masked input is in the sum (U3). */
  survivors: number;
  /** Members that shared keys but sent no masked input (their masks were removed). */
  dropped: number;
  /** Members whose connection closed during the round (after or before their input). */
  departed: number;
  /** The degree k and threshold t of the neighbour graph. */
  degree: number | null;
  threshold: number | null;
  outcome: 'recovered' | 'failed';
  /** Why it failed (null when the sum was recovered). */
  failure: string | null;
  /** The largest per-element quantization error of the mean (null when failed). */
  errorBound: number | null;
}

export function secureRoundReport(
  round: number,
  selected: number,
  secure: SecureRound,
  outcome: SecureRoundOutcome,
): SecureRoundReport {
  const degree = secure.degree;
  return {
    round,
    selected,
    members: secure.advertisers.length,
    survivors: outcome.ok ? outcome.result.contributors.length : 0,
    dropped: outcome.ok ? outcome.result.dropped.length : 0,
    departed: secure.departed.length,
    degree: degree?.k ?? null,
    threshold: degree?.t ?? null,
    outcome: outcome.ok ? 'recovered' : 'failed',
    failure: outcome.ok ? null : `${outcome.reason} in phase ${outcome.phase}: ${outcome.message}`,
    errorBound: outcome.ok ? outcome.result.errorBound : null,
  };
}
