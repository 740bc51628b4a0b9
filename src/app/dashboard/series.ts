/**
 * The dashboard's charts as data, from the round history: x is the round, each series a named list of
 * values aligned with it (null where a round has none, e.g. a client that was not selected). Accuracy is
 * never drawn alone: macro-F1 and the majority-class baseline (dashed) come with it. Pure; no DOM.
 */
import { bytes, duration, num } from './format.ts';
import type { Metric, RoundJson } from './status.ts';

export interface Series {
  label: string;
  values: Metric[];
  /** Drawn dashed (baselines). */
  dashed?: boolean;
  /** How the hidden data table and the summary write a value. */
  kind: 'ratio' | 'number' | 'bytes' | 'seconds';
}

export interface ChartData {
  id: string;
  title: string;
  /** Axis label. */
  unit: string;
  /** Fixed y range, else automatic. */
  range?: [number, number];
  rounds: number[];
  series: Series[];
}

const val = (x: Metric | undefined): Metric => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** `names`: client id → display name, for the legend of the clients' losses. */
export function buildCharts(
  history: RoundJson[],
  names: ReadonlyMap<string, string> = new Map(),
): ChartData[] {
  const rounds = history.map((h) => h.round);
  const pick = (f: (h: RoundJson) => Metric | undefined) => history.map((h) => val(f(h)));
  return [
    {
      id: 'quality',
      title: 'Global model: accuracy and macro-F1, with the majority-class baseline (dashed)',
      unit: 'score (0–1)',
      range: [0, 1],
      rounds,
      series: [
        { label: 'accuracy', values: pick((h) => h.accuracy), kind: 'ratio' },
        { label: 'macro-F1', values: pick((h) => h.macroF1), kind: 'ratio' },
        {
          label: 'majority baseline accuracy',
          values: pick((h) => h.majorityBaseline?.accuracy),
          dashed: true,
          kind: 'ratio',
        },
        {
          label: 'majority baseline macro-F1',
          values: pick((h) => h.majorityBaseline?.macroF1),
          dashed: true,
          kind: 'ratio',
        },
      ],
    },
    {
      id: 'loss',
      title: 'Global model: loss on the held-out rows',
      unit: 'loss',
      rounds,
      series: [{ label: 'loss', values: pick((h) => h.loss), kind: 'number' }],
    },
    {
      id: 'mos',
      title: 'Global model: MOS error (proxy QoE target, mean absolute error)',
      unit: 'MOS MAE',
      rounds,
      series: [{ label: 'MOS MAE', values: pick((h) => h.mosMAE), kind: 'number' }],
    },
    {
      id: 'client-loss',
      title: "Each client's local training loss",
      unit: 'local loss',
      rounds,
      series: clientLossSeries(history, names),
    },
    {
      id: 'bytes',
      title: 'Bytes on the wire per round (sealed)',
      unit: 'bytes',
      rounds,
      series: [
        { label: 'up (clients → server)', values: pick((h) => h.bytesUp), kind: 'bytes' },
        { label: 'down (server → clients)', values: pick((h) => h.bytesDown), kind: 'bytes' },
      ],
    },
    {
      id: 'crypto',
      title: 'Server crypto time per round (round key + opening sealed updates)',
      unit: 'seconds',
      rounds,
      series: [{ label: 'crypto time', values: pick((h) => h.cryptoSeconds), kind: 'seconds' }],
    },
  ];
}

/** One series per client that reported a local loss, in order of first report, labelled with its name. */
export function clientLossSeries(
  history: RoundJson[],
  names: ReadonlyMap<string, string> = new Map(),
): Series[] {
  const ids: string[] = [];
  for (const h of history)
    for (const m of h.clientMetrics) if (!ids.includes(m.clientId)) ids.push(m.clientId);
  return ids.map((id) => ({
    label: names.get(id) || id,
    values: history.map((h) => val(h.clientMetrics.find((m) => m.clientId === id)?.loss)),
    kind: 'number' as const,
  }));
}

/** The last non-null value of a series, with its round. */
export function latest(chart: ChartData, s: Series): { round: number; value: number } | null {
  for (let i = s.values.length - 1; i >= 0; i--) {
    const v = s.values[i];
    if (v !== null && v !== undefined) return { round: chart.rounds[i]!, value: v };
  }
  return null;
}

export function formatValue(kind: Series['kind'], v: Metric | undefined): string {
  if (kind === 'bytes') return bytes(v);
  if (kind === 'seconds') return duration(v);
  return num(v, 3);
}

/** "Round 3: accuracy 0.812, macro-F1 0.401, …": the latest value of every series. */
export function summary(c: ChartData): string {
  if (c.rounds.length === 0) return 'No round has finished yet.';
  const parts: string[] = [];
  for (const s of c.series) {
    const l = latest(c, s);
    if (l) parts.push(`${s.label} ${formatValue(s.kind, l.value)}`);
  }
  const last = c.rounds.at(-1);
  return parts.length ? `Round ${last}: ${parts.join(', ')}.` : `Round ${last}: no values yet.`;
}
