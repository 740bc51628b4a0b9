/**
 * The pure half of the strategy sweep (bench/sweep.ts runs it): the plan of runs (strategy × partition ×
 * seed, plus one centralized reference per seed, which `pqfed train` trains on the same grouped split that
 * `pqfed simulate` uses for that seed and file), and the summary over seeds — mean, sample standard deviation
 * (n − 1), min and max of macro-F1 and accuracy, the mean per-class recall and the majority baseline — as
 * JSON and as a markdown table. No I/O here, so it is tested beside it.
 */
import { isStrategyName, type StrategyName, type StrategyParams } from '../core/strategies/strategy.ts';

export type SweepPartition = { kind: 'dirichlet'; alpha: number } | { kind: 'iid' };

export interface SweepPlan {
  federated: { strategy: StrategyName; partition: SweepPartition; seed: number }[];
  centralized: { seed: number }[];
}

/** What one run (federated or centralized) gave on the test rows. */
export interface RunResult {
  seed: number;
  accuracy: number;
  macroF1: number;
  perClassRecall: Record<string, number>;
  majorityBaseline: { accuracy: number; macroF1: number };
}

export interface Spread {
  mean: number;
  sd: number;
  min: number;
  max: number;
  n: number;
}

export interface SweepRow {
  /** "fedyogi α=0.1", "fedavg IID" or "centralized". */
  label: string;
  strategy: StrategyName | 'centralized';
  partition: SweepPartition | null;
  seeds: number[];
  macroF1: Spread;
  accuracy: Spread;
  perClassRecall: Record<string, number>;
  majorityBaseline: { accuracy: number; macroF1: number };
}

export class SweepError extends Error {
  override name = 'SweepError';
}

/** "0.1,0.5,iid" → partitions; each α a number > 0. */
export function parsePartitions(text: string): SweepPartition[] {
  return text.split(',').map((raw) => {
    const t = raw.trim().toLowerCase();
    if (t === 'iid') return { kind: 'iid' };
    const alpha = Number(t);
    if (t === '' || !(Number.isFinite(alpha) && alpha > 0)) {
      throw new SweepError(`--alphas: expected numbers > 0 or "iid", comma-separated, got "${raw}"`);
    }
    return { kind: 'dirichlet', alpha };
  });
}

export function parseStrategies(text: string): StrategyName[] {
  return text.split(',').map((raw) => {
    const t = raw.trim();
    if (!isStrategyName(t)) throw new SweepError(`--strategies: unknown strategy "${raw}"`);
    return t;
  });
}

export function parseSeeds(text: string): number[] {
  return text.split(',').map((raw) => {
    const s = Number(raw.trim());
    if (!(Number.isSafeInteger(s) && s >= 0 && s < 2 ** 31)) {
      throw new SweepError(`--seeds: expected integers 0..2^31−1, comma-separated, got "${raw}"`);
    }
    return s;
  });
}

/** Every federated run (strategy-major, then partition, then seed) and one centralized run per seed. */
export function sweepPlan(
  strategies: readonly StrategyName[],
  partitions: readonly SweepPartition[],
  seeds: readonly number[],
): SweepPlan {
  const federated: SweepPlan['federated'] = [];
  for (const strategy of strategies)
    for (const partition of partitions)
      for (const seed of seeds) federated.push({ strategy, partition, seed });
  return { federated, centralized: seeds.map((seed) => ({ seed })) };
}

export function partitionLabel(p: SweepPartition | null): string {
  if (p === null) return '';
  return p.kind === 'iid' ? 'IID' : `α=${p.alpha}`;
}

/** A file-name-safe key of one run: "fedyogi-a0.1-s2", "fedavg-iid-s1", "centralized-s3". */
export function runKey(
  strategy: StrategyName | 'centralized',
  partition: SweepPartition | null,
  seed: number,
) {
  const p = partition === null ? '' : partition.kind === 'iid' ? '-iid' : `-a${partition.alpha}`;
  return `${strategy}${p}-s${seed}`;
}

export function spread(xs: readonly number[]): Spread {
  if (xs.length === 0) throw new SweepError('spread: expected at least one value, got none');
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, min: Math.min(...xs), max: Math.max(...xs), n };
}

/** One row over the seeds of one configuration; per-class recall is the mean over the runs that have the class. */
export function summarise(
  strategy: StrategyName | 'centralized',
  partition: SweepPartition | null,
  runs: readonly RunResult[],
): SweepRow {
  const recall: Record<string, number[]> = {};
  for (const r of runs) {
    for (const [c, x] of Object.entries(r.perClassRecall)) {
      recall[c] = recall[c] ?? [];
      recall[c].push(x);
    }
  }
  return {
    label: strategy === 'centralized' ? 'centralized' : `${strategy} ${partitionLabel(partition)}`,
    strategy,
    partition,
    seeds: runs.map((r) => r.seed),
    macroF1: spread(runs.map((r) => r.macroF1)),
    accuracy: spread(runs.map((r) => r.accuracy)),
    perClassRecall: Object.fromEntries(
      Object.entries(recall).map(([c, xs]) => [c, xs.reduce((a, b) => a + b, 0) / xs.length]),
    ),
    majorityBaseline: {
      accuracy: spread(runs.map((r) => r.majorityBaseline.accuracy)).mean,
      macroF1: spread(runs.map((r) => r.majorityBaseline.macroF1)).mean,
    },
  };
}

const f3 = (x: number) => x.toFixed(3);

/** The markdown table: one row per configuration, then the per-class recall table. */
export function markdownTable(rows: readonly SweepRow[]): string {
  const out = [
    '| configuration | seeds | macro-F1 mean ± sd | (min – max) | accuracy mean ± sd | majority baseline acc / macro-F1 |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    out.push(
      `| ${r.label} | ${r.macroF1.n} | ${f3(r.macroF1.mean)} ± ${f3(r.macroF1.sd)} | ${f3(r.macroF1.min)} – ${f3(r.macroF1.max)} | ` +
        `${f3(r.accuracy.mean)} ± ${f3(r.accuracy.sd)} | ${f3(r.majorityBaseline.accuracy)} / ${f3(r.majorityBaseline.macroF1)} |`,
    );
  }
  const classes = [...new Set(rows.flatMap((r) => Object.keys(r.perClassRecall)))].sort();
  if (classes.length > 0) {
    out.push('', `| configuration | ${classes.join(' | ')} |`, `| --- |${' --- |'.repeat(classes.length)}`);
    for (const r of rows) {
      const cells = classes.map((c) => (c in r.perClassRecall ? f3(r.perClassRecall[c]!) : '–'));
      out.push(`| ${r.label} | ${cells.join(' | ')} |`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** `{"fedyogi": {"serverLearningRate": 0.03}}` → per-strategy params (the experiment file validates values). */
export function parseStrategyParams(text: string): Partial<Record<StrategyName, StrategyParams>> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new SweepError(
      `--params: expected JSON {"<strategy>": {…}}, got a parse error: ${(e as Error).message}`,
    );
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new SweepError('--params: expected a JSON object keyed by strategy name');
  }
  for (const [k, p] of Object.entries(v)) {
    if (!isStrategyName(k)) throw new SweepError(`--params: unknown strategy "${k}"`);
    if (typeof p !== 'object' || p === null || Array.isArray(p)) {
      throw new SweepError(`--params: the value of "${k}" must be an object of strategyParams`);
    }
  }
  return v as Partial<Record<StrategyName, StrategyParams>>;
}
