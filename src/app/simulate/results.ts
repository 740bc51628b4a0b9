/**
 * What an in-tab federation run produced, as plain JSON (the page's `#sim-json` and
 * `window.__pqfedSimulate`), and the views of it the page draws: the comparison chart's data, the final
 * figures and the round-by-round table. Accuracy never appears without macro-F1 and the majority-class
 * baseline beside it. Pure; no DOM.
 */

import { csvNumber } from '../../core/rounding.ts';
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
  /** Class name → recall on the held-out rows (null when the round was closed unchanged). */
  perClassRecall: Record<string, number> | null;
  /** Mean of the clients' reported local training loss. */
  meanLocalLoss: number | null;
  refused: Refusal[];
  seconds: number;
  /** The aggregator's time on the round's cryptography: the round key and signatures, opening updates. */
  cryptoSeconds: number;
  /** Bytes through the clients' ports (what sockets would carry), up to and down from the aggregator. */
  bytesUp: number;
  bytesDown: number;
  /** With DP: ε spent after this round at the run's δ (null: no finite guarantee, no noise); absent: DP off. */
  epsilon?: number | null;
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
  /** Why the privacy budget stopped this configuration early (null: it did not). */
  budgetStop?: string | null;
}

export interface Baseline {
  class: string;
  accuracy: number;
  macroF1: number;
}

/** A run's differential privacy: who adds the noise, and the δ at which ε is spent. */
export interface PrivacySummary {
  delta: number;
  /** 'server': the in-tab aggregator adds Gaussian noise to the sum; 'distributed': each client adds its
   * Skellam share in the ring before masking (secure aggregation), the aggregator adds none. */
  noise: 'server' | 'distributed';
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
  /**
   * The clients' training engine (tfjs, fused-wasm, fused-webgpu), its device as the page shows it
   * ("engine × device"), and why tfjs trains when a fused engine was asked for and could not run (null
   * before the workers started, or when nothing fell back).
   */
  engine: string | null;
  engineDevice: string | null;
  engineFallback: string | null;
  suite: string;
  /** How clients and the aggregator talk: the handshake and the per-round envelope, over MessagePorts. */
  channel: string;
  model: { size: string; params: number | null };
  rows: { train: number; test: number } | null;
  classes: string[];
  /** Predicting the training rows' most frequent class for every held-out row. */
  majorityBaseline: Baseline | null;
  configs: ConfigResult[];
  /** Differential privacy of the run (null: off). */
  privacy: PrivacySummary | null;
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
  /** ε spent after the last round ('–' without DP, '∞' with DP and no noise). */
  epsilon: string;
  verified: string;
  refused: string;
  seconds: string;
}

/** One row per configuration: its last evaluated round's figures. */
export function finalRows(result: SimResult): FinalRow[] {
  return result.configs.map((c) => {
    const last = lastAggregated(c);
    return {
      label: c.label,
      rounds: `${c.rounds.length} of ${result.rounds}${c.budgetStop ? ' (privacy budget)' : c.state === 'done' || c.state === 'pending' ? '' : ` (${c.state})`}`,
      accuracy: fmt(last?.accuracy),
      macroF1: fmt(last?.macroF1),
      mosMAE: fmt(last?.mosMAE),
      epsilon: fmtEpsilon(c.rounds.at(-1)?.epsilon),
      verified: String(c.verifiedUpdates),
      refused: formatRefusals(c.refusals),
      seconds: c.seconds > 0 ? c.seconds.toFixed(1) : '–',
    };
  });
}

/**
 * The page's sentence on differential privacy: ε spent so far at δ (the last round's of each configuration)
 * and who adds the noise. Empty without DP.
 */
export function privacyNote(result: SimResult): string {
  const p = result.privacy;
  if (!p) return '';
  const spent = result.configs
    .filter((c) => c.rounds.length > 0)
    .map(
      (c) => `${c.label}: ε = ${fmtEpsilon(c.rounds.at(-1)!.epsilon)} after round ${c.rounds.at(-1)!.round}`,
    );
  const head =
    `Differential privacy: ε spent at δ = ${p.delta} ` +
    (spent.length
      ? `(${spent.join('; ')}; per round in the ε column).`
      : '(after each round, in the ε column).');
  const noise =
    p.noise === 'distributed'
      ? ' The noise is distributed: each client adds its share of Skellam noise to its update before masking, ' +
        'the aggregator adds none and never sees an un-noised sum (secure aggregation).'
      : ' The aggregator adds Gaussian noise to the sum of the clipped updates.';
  return head + noise;
}

/** ε with three decimals; '∞' for DP without a finite guarantee (no noise); '–' without DP. */
export function fmtEpsilon(e: number | null | undefined): string {
  return e === undefined ? '–' : e === null ? '∞' : e.toFixed(3);
}

/** The last round of `c` that produced a new global model. */
function lastAggregated(c: ConfigResult): RoundResult | undefined {
  return [...c.rounds].reverse().find((r) => r.outcome === 'aggregated');
}

export interface RecallTable {
  /** The configurations' labels, in order: the columns. */
  configs: string[];
  /** One row per class: its name and each configuration's recall. */
  rows: { className: string; recall: string[] }[];
}

/**
 * Per-class recall of each configuration's last aggregated round, one row per class in the experiment's
 * order (every class, also those a configuration never predicts): what accuracy alone hides.
 */
export function recallTable(result: SimResult): RecallTable {
  const last = result.configs.map(lastAggregated);
  const names = result.classes.length
    ? result.classes
    : [...new Set(last.flatMap((r) => Object.keys(r?.perClassRecall ?? {})))];
  return {
    configs: result.configs.map((c) => c.label),
    rows: names.map((className) => ({
      className,
      recall: last.map((r) => fmt(r?.perClassRecall?.[className])),
    })),
  };
}

const CSV_COLUMNS = [
  'configuration',
  'strategy',
  'alpha',
  'round',
  'selected',
  'participants',
  'outcome',
  'accuracy',
  'macroF1',
  'mosMAE',
  'loss',
  'refused',
  'seconds',
  'bytesUp',
  'bytesDown',
  'epsilon',
] as const;

/** A CSV field (numbers to 6 significant digits, src/core/rounding.ts): quoted when it holds a comma, a quote or a line break. */
function csvField(v: string | number | null): string {
  const s = v === null ? '' : typeof v === 'number' ? csvNumber(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * Every round of every configuration as CSV (one header line, then a line per round), with one
 * `recall:<class>` column per class and the majority-class baseline's accuracy and macro-F1 on every line.
 */
export function roundsCsv(result: SimResult): string {
  const b = result.majorityBaseline;
  const header = [
    ...CSV_COLUMNS,
    ...result.classes.map((c) => `recall:${c}`),
    'baselineAccuracy',
    'baselineMacroF1',
  ];
  const lines = result.configs.flatMap((c) =>
    c.rounds.map((r) =>
      [
        c.label,
        c.strategy,
        c.alpha,
        r.round,
        r.selected,
        r.participants,
        r.outcome,
        r.accuracy,
        r.macroF1,
        r.mosMAE,
        r.loss,
        r.refused.map((x) => `${x.client}:${x.reason}`).join(' '),
        Number(r.seconds.toFixed(3)),
        r.bytesUp,
        r.bytesDown,
        r.epsilon ?? null,
        ...result.classes.map((name) => r.perClassRecall?.[name] ?? null),
        b?.accuracy ?? null,
        b?.macroF1 ?? null,
      ]
        .map(csvField)
        .join(','),
    ),
  );
  return `${[header.map(csvField).join(','), ...lines].join('\n')}\n`;
}

/** One sentence per configuration with its latest figures, and the baseline: the chart's text summary. */
export function chartSummary(result: SimResult): string {
  const parts = result.configs
    .filter((c) => c.rounds.length > 0)
    .map((c) => {
      const r = c.rounds.at(-1)!;
      const eps = r.epsilon === undefined ? '' : `, ε ${fmtEpsilon(r.epsilon)}`;
      return `${c.label}, round ${r.round}: accuracy ${fmt(r.accuracy)}, macro-F1 ${fmt(r.macroF1)}${eps}`;
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
