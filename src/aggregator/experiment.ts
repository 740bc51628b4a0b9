/**
 * The data side of an experiment, prepared once by the aggregator: the table is imported (identifiers
 * dropped, deduplicated), split exactly like `pqfed train` (grouped, seeded), the feature pipeline is fitted
 * on the training rows only and shipped to every client, the test rows are encoded for the server's
 * evaluation, and the training rows are cut into seeded shards (Dirichlet(α) over classes, or IID).
 */
import { Rng } from '../core/random.ts';
import { type EncodedData, encode, fitPreprocessor, type Preprocessor } from '../data/features.ts';
import type { FlowTable } from '../data/import.ts';
import { dirichletPartition, iidPartition } from '../data/partition.ts';
import { groupedSplit } from '../data/split.ts';
import { modelConfigFor, withoutOverlap } from '../model/centralized.ts';
import type { ModelConfig } from '../model/model.ts';
import type { ExperimentConfig } from './config.ts';

export interface PreparedExperiment {
  config: ExperimentConfig;
  preprocessor: Preprocessor;
  model: ModelConfig;
  /** Encoded held-out rows the aggregator evaluates every global model on. */
  test: EncodedData;
  /** Labels and MOS of the training rows (for the majority and mean baselines). */
  trainTargets: { label: Int32Array; mos: Float32Array };
  trainRows: number;
  /** `parts` shards of the training rows, each encoded. */
  shards(parts: number, partition: ExperimentConfig['partition']): EncodedData[];
}

function sample(rows: Int32Array, max: number, seed: number): Int32Array {
  if (max <= 0 || rows.length <= max) return rows;
  const picked = new Rng(seed).shuffle(Array.from(rows)).slice(0, max);
  return Int32Array.from(picked.sort((a, b) => a - b));
}

/** Prepares an experiment from an imported table (and an optional separate test table). */
export function prepareExperiment(
  config: ExperimentConfig,
  table: FlowTable,
  testTable?: FlowTable,
): PreparedExperiment {
  let trainRows: Int32Array;
  let testRows: Int32Array;
  if (testTable) {
    trainRows = withoutOverlap(table, testTable).rows;
    testRows = Int32Array.from({ length: testTable.n }, (_, i) => i);
  } else {
    const split = groupedSplit(table.groupKey, config.testFraction, config.seed);
    trainRows = split.train;
    testRows = split.test;
  }
  trainRows = sample(trainRows, config.maxTrainRows, config.seed + 101);
  testRows = sample(testRows, config.maxTestRows, config.seed + 202);
  const preprocessor = fitPreprocessor(table, trainRows, config.labels);
  const train = encode(table, trainRows, preprocessor);
  const test = encode(testTable ?? table, testRows, preprocessor);
  const model = modelConfigFor(preprocessor, config.model);
  return {
    config,
    preprocessor,
    model,
    test,
    trainTargets: { label: train.label, mos: train.mos },
    trainRows: train.n,
    shards(parts, partition) {
      const idx =
        partition.kind === 'iid'
          ? iidPartition(train.n, parts, config.seed)
          : dirichletPartition(train.label, preprocessor.classes.length, parts, partition.alpha, config.seed);
      return idx.map((rows) => subset(train, rows));
    },
  };
}

/** The rows `rows` of encoded data. */
export function subset(data: EncodedData, rows: Int32Array): EncodedData {
  const ln = data.n > 0 ? data.numeric.length / data.n : 0;
  const lc = data.n > 0 ? data.categorical.length / data.n : 0;
  const out: EncodedData = {
    n: rows.length,
    numeric: new Float32Array(rows.length * ln),
    categorical: new Int32Array(rows.length * lc),
    label: new Int32Array(rows.length),
    mos: new Float32Array(rows.length),
  };
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    out.numeric.set(data.numeric.subarray(r * ln, (r + 1) * ln), i * ln);
    out.categorical.set(data.categorical.subarray(r * lc, (r + 1) * lc), i * lc);
    out.label[i] = data.label[r]!;
    out.mos[i] = data.mos[r]!;
  }
  return out;
}
