/**
 * Feature pipeline: fitted on training rows only, then applied to any rows.
 *
 * - Numeric columns: a signed log1p when the column is heavy-tailed on the training rows (largest absolute
 *   value above 100), then standardisation with the training mean and standard deviation. Values the
 *   dataset wrote as missing become 0 after scaling (the training mean).
 * - Categorical columns: the most frequent training values (up to LIMITS.maxCategories − 1) each get a slot;
 *   slot 0 is "other" (rare or unseen values). Each column's slots sit in one shared vocabulary, so the model
 *   embeds all categorical columns with one one-hot + matMul.
 * - Labels at the requested level: fine classes, categories (CICIoT2023's 8, Edge-IIoTset's 6) or binary.
 *
 * The fitted `Preprocessor` is plain JSON: it travels with a model so clients encode identically.
 */
import { LIMITS } from '../core/limits.ts';
import type { FlowTable } from './import.ts';
import { classesAt, type LabelLevel, labelAt } from './schema.ts';

export interface NumericTransform {
  name: string;
  log: boolean;
  mean: number;
  std: number;
}

export interface CategoricalVocabulary {
  name: string;
  /** values[0] is the "other" slot (shown as null). */
  values: (string | null)[];
}

export interface Preprocessor {
  dataset: string;
  release: string;
  level: LabelLevel;
  classes: string[];
  numeric: NumericTransform[];
  categorical: CategoricalVocabulary[];
}

/** Encoded rows, ready for the model. */
export interface EncodedData {
  n: number;
  /** n × numeric.length. */
  numeric: Float32Array;
  /** n × categorical.length; indices into the shared vocabulary (see `vocabOffsets`). */
  categorical: Int32Array;
  /** Class index at the preprocessor's level. */
  label: Int32Array;
  mos: Float32Array;
}

const slog = (v: number) => Math.sign(v) * Math.log1p(Math.abs(v));

export function fitPreprocessor(
  table: FlowTable,
  rows: Int32Array,
  level: LabelLevel = 'fine',
): Preprocessor {
  if (rows.length === 0) throw new RangeError('fitPreprocessor: needs at least one training row, got 0');
  const ln = table.numericNames.length;
  const numeric: NumericTransform[] = table.numericNames.map((name, j) => {
    let maxAbs = 0;
    for (const r of rows) {
      const v = table.numeric[r * ln + j]!;
      if (!Number.isNaN(v)) maxAbs = Math.max(maxAbs, Math.abs(v));
    }
    const log = maxAbs > 100;
    let n = 0;
    let mean = 0;
    let m2 = 0;
    for (const r of rows) {
      const raw = table.numeric[r * ln + j]!;
      if (Number.isNaN(raw)) continue;
      const v = log ? slog(raw) : raw;
      n++;
      const d = v - mean;
      mean += d / n;
      m2 += d * (v - mean);
    }
    const std = n > 1 ? Math.sqrt(m2 / (n - 1)) : 0;
    return { name, log, mean, std: std > 1e-12 ? std : 1 };
  });
  const lc = table.categoricalNames.length;
  const categorical: CategoricalVocabulary[] = table.categoricalNames.map((name, j) => {
    const counts = new Map<number, number>();
    for (const r of rows) {
      const c = table.categorical[r * lc + j]!;
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    const top = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, LIMITS.maxCategories - 1)
      .map(([code]) => table.dictionaries[j]![code]!);
    return { name, values: [null, ...top] };
  });
  return {
    dataset: table.schema.dataset,
    release: table.schema.release,
    level,
    classes: classesAt(table.schema, level),
    numeric,
    categorical,
  };
}

/** Start of each categorical column's slots in the shared vocabulary, and its total size. */
export function vocabOffsets(pre: Preprocessor): { offsets: number[]; size: number } {
  const offsets: number[] = [];
  let size = 0;
  for (const c of pre.categorical) {
    offsets.push(size);
    size += c.values.length;
  }
  return { offsets, size };
}

export function encode(table: FlowTable, rows: Int32Array, pre: Preprocessor): EncodedData {
  const ln = pre.numeric.length;
  const lc = pre.categorical.length;
  if (ln !== table.numericNames.length || lc !== table.categoricalNames.length) {
    throw new RangeError(
      `encode: preprocessor has ${ln}+${lc} columns, table has ${table.numericNames.length}+${table.categoricalNames.length}`,
    );
  }
  const n = rows.length;
  const numeric = new Float32Array(n * ln);
  const categorical = new Int32Array(n * lc);
  const label = new Int32Array(n);
  const mos = new Float32Array(n);
  const { offsets } = vocabOffsets(pre);
  // table dictionary code → slot, per column
  const slotOf = pre.categorical.map((c, j) => {
    const bySlot = new Map(c.values.map((v, s) => [v, s] as const));
    return table.dictionaries[j]!.map((v) => bySlot.get(v) ?? 0);
  });
  const classIndex = new Map(pre.classes.map((c, i) => [c, i]));
  const levelOf = table.schema.classes.map((fine) => classIndex.get(labelAt(table.schema, fine, pre.level))!);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    for (let j = 0; j < ln; j++) {
      const t = pre.numeric[j]!;
      const raw = table.numeric[r * ln + j]!;
      numeric[i * ln + j] = Number.isNaN(raw) ? 0 : ((t.log ? slog(raw) : raw) - t.mean) / t.std;
    }
    for (let j = 0; j < lc; j++) {
      categorical[i * lc + j] = offsets[j]! + slotOf[j]![table.categorical[r * lc + j]!]!;
    }
    label[i] = levelOf[table.label[r]!]!;
    mos[i] = table.mos[r]!;
  }
  return { n, numeric, categorical, label, mos };
}
