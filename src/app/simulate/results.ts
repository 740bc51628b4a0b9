/**
 * What an in-tab federation run produced, as plain JSON (the page's `#sim-json` and
 * `window.__pqfedSimulate`), and the views of it the page draws: the comparison chart's data, the final
 * figures and the round-by-round table. Accuracy never appears without macro-F1 and the majority-class
 * baseline beside it. Pure; no DOM.
 */
import type { StrategyName } from '../../core/strategies/strategy.ts';
import type { Partition } from '../../data/shard.ts';
import { type ConfigSpec, configLabel } from './options.ts';

/** A client's update that the aggregator refused, and why. */
export interface Refusal {
  client: string;
  reason: string;
  message: string;
}

export interface RoundResult {
  round: number;
  /** Clients sent this round's model. */
  selected: number;
  /** Updates opened (decrypted, signature verified), parsed and aggregated. */
  participants: number;
  outcome: 'aggregated' | 'closed';
  /** Of the global model after the round, on the held-out rows (null when the round was closed unchanged). */
  accuracy: number | null;
  macroF1: number | null;
  mosMAE: number | null;
  loss: number | null;
  /** Mean of the clients' reported local training loss. */
  meanLocalLoss: number | null;
  refused: Refusal[];
  seconds: number;
  /** The aggregator's time on the round's cryptography: the round key and signatures, opening updates. */
  cryptoSeconds: number;
  /** Bytes through the clients' ports (what sockets would carry), up to and down from the aggregator. */
  bytesUp: number;
  bytesDown: number;
}

export type RunState = 'idle' | 'preparing' | 'running' | 'done' | 'stopped' | 'error';

export interface ConfigResult {
  label: string;
  strategy: StrategyName;
  /** Dirichlet α, or null for IID. */
  alpha: number | null;
  partition: Partition;
  state: 'pending' | 'running' | 'done' | 'stopped' | 'error';
  error: string | null;
  /** Training rows of each client's shard. */
  shardRows: number[];
  rounds: RoundResult[];
  /** Updates that opened and verified (= the sum of participants). */
  verifiedUpdates: number;
  /** Refused updates by reason. */
  refusals: Record<string, number>;
  seconds: number;
}

export interface Baseline {
  class: string;
  accuracy: number;
  macroF1: number;
}

export interface SimResult {
  state: RunState;
  error: string | null;
  clients: number;
  rounds: number;
  /** Worker threads that trained at once. */
  workers: number;
  backend: string | null;
  /** WASM threads per training worker (null for other backends, or before the workers started). */
  threads: number | null;
  suite: string;
  /** How clients and the aggregator talk: the handshake and the per-round envelope, over MessagePorts. */
  channel: string;
  model: { size: string; params: number | null };
  rows: { train: number; test: number } | null;
  classes: string[];
  /** Predicting the training rows' most frequent class for every held-out row. */
  majorityBaseline: Baseline | null;
  configs: ConfigResult[];
  verifiedUpdates: number;
  refusals: Record<string, number>;
  wallSeconds: number;
}

export function emptyConfig(spec: ConfigSpec): ConfigResult {
  return {
    label: configLabel(spec),
    strategy: spec.strategy,
    alpha: spec.partition.kind === 'iid' ? null : spec.partition.alpha,
    partition: spec.partition,
    state: 'pending',
    error: null,
    shardRows: [],
    rounds: [],
    verifiedUpdates: 0,
    refusals: {},
    seconds: 0,
  };
}

/** Adds a finished round to its configuration and the run's totals. */
export function addRound(result: SimResult, config: ConfigResult, round: RoundResult): void {
  config.rounds.push(round);
  config.verifiedUpdates += round.participants;
  result.verifiedUpdates += round.participants;
  for (const r of round.refused) {
    config.refusals[r.reason] = (config.refusals[r.reason] ?? 0) + 1;
    result.refusals[r.reason] = (result.refusals[r.reason] ?? 0) + 1;
  }
}

export type ChartMetric = 'macroF1' | 'accuracy';

export const METRIC_LABELS: Record<ChartMetric, string> = { macroF1: 'macro-F1', accuracy: 'accuracy' };

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  dashed: boolean;
}

export interface ComparisonChart {
  title: string;
  metric: ChartMetric;
  rounds: number[];
  series: ChartSeries[];
}

const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

/**
 * `metric` per round for every configuration (null where a configuration has no value for that round),
 * and the majority-class baseline as a dashed line. The x axis runs to the longest configuration.
 */
export function comparisonChart(result: SimResult, metric: ChartMetric): ComparisonChart {
  const last = result.configs.reduce((m, c) => Math.max(m, c.rounds.at(-1)?.round ?? 0), 0);
  const rounds = Array.from({ length: last }, (_, i) => i + 1);
  const series: ChartSeries[] = result.configs.map((c) => {
    const byRound = new Map(c.rounds.map((r) => [r.round, r[metric]]));
    return {
      label: c.label,
      values: rounds.map((r) => {
        const v = byRound.get(r);
        return finite(v) ? v : null;
      }),
      dashed: false,
    };
  });
  const base = result.majorityBaseline?.[metric];
  if (finite(base)) {
    series.push({ label: 'majority-class baseline', values: rounds.map(() => base), dashed: true });
  }
  return {
    title: `Global model ${METRIC_LABELS[metric]} per round, by configuration`,
    metric,
    rounds,
    series,
  };
}

/** A ratio with three decimals, or a dash. */
export function fmt(x: number | null | undefined, digits = 3): string {
  return finite(x) ? x.toFixed(digits) : '–';
}

/** "tampered 1, bad-signature 2", or "none". */
export function formatRefusals(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([reason, n]) => `${reason} ${n}`);
  return parts.length ? parts.join(', ') : 'none';
}

export interface FinalRow {
  label: string;
  rounds: string;
  accuracy: string;
  macroF1: string;
  mosMAE: string;
  verified: string;
  refused: string;
  seconds: string;
}

/** One row per configuration: its last evaluated round's figures. */
export function finalRows(result: SimResult): FinalRow[] {
  return result.configs.map((c) => {
    const last = [...c.rounds].reverse().find((r) => r.outcome === 'aggregated');
    return {
      label: c.label,
      rounds: `${c.rounds.length} of ${result.rounds}${c.state === 'done' || c.state === 'pending' ? '' : ` (${c.state})`}`,
      accuracy: fmt(last?.accuracy),
      macroF1: fmt(last?.macroF1),
      mosMAE: fmt(last?.mosMAE),
      verified: String(c.verifiedUpdates),
      refused: formatRefusals(c.refusals),
      seconds: c.seconds > 0 ? c.seconds.toFixed(1) : '–',
    };
  });
}

/** One sentence per configuration with its latest figures, and the baseline: the chart's text summary. */
export function chartSummary(result: SimResult): string {
  const parts = result.configs
    .filter((c) => c.rounds.length > 0)
    .map((c) => {
      const r = c.rounds.at(-1)!;
      return `${c.label}, round ${r.round}: accuracy ${fmt(r.accuracy)}, macro-F1 ${fmt(r.macroF1)}`;
    });
  if (parts.length === 0) return 'No round has finished yet.';
  const b = result.majorityBaseline;
  const base = b ? ` Majority-class baseline: accuracy ${fmt(b.accuracy)}, macro-F1 ${fmt(b.macroF1)}.` : '';
  return `${parts.join('; ')}.${base}`;
}

/** The run as JSON text (NaN and Infinity become null). */
export function resultJson(result: SimResult): string {
  return JSON.stringify(result, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
}
