/**
 * The data side of an experiment with no platform dependency, shared by the aggregator
 * (src/aggregator/experiment.ts, Node) and the in-tab federation's worker (workers/federation.worker.ts):
 * the feature pipeline is fitted on the training rows only, training and test rows are encoded with it, and
 * the encoded training rows are cut into seeded shards (Dirichlet(α) over classes, or IID). Which rows train
 * and which test is decided before (`splitRows` in shard.ts, or a separate test table).
 */
import { type EncodedData, encode, fitPreprocessor, type Preprocessor } from './features.ts';
import type { FlowTable } from './import.ts';
import type { LabelLevel } from './schema.ts';
import { type Partition, shardIndices, splitRows, subset } from './shard.ts';

export interface EncodedExperiment {
  preprocessor: Preprocessor;
  /** Encoded training rows (what the shards are cut from). */
  train: EncodedData;
  /** Encoded held-out rows the global model is evaluated on. */
  test: EncodedData;
}

/**
 * Fits the preprocessor on `rows.train` of `table` and encodes the training rows and the test rows
 * (`rows.test` of `testTable` when given, else of `table`).
 */
export function encodeExperiment(
  table: FlowTable,
  rows: { train: Int32Array; test: Int32Array },
  labels: LabelLevel,
  testTable?: FlowTable,
): EncodedExperiment {
  const preprocessor = fitPreprocessor(table, rows.train, labels);
  return {
    preprocessor,
    train: encode(table, rows.train, preprocessor),
    test: encode(testTable ?? table, rows.test, preprocessor),
  };
}

/** What `splitExperiment` needs: the split and caps of `pqfed train` / the aggregator's experiment. */
export interface SplitSettings {
  labels: LabelLevel;
  testFraction: number;
  /** At most this many training / test rows (seeded sample); 0 = all. */
  maxTrainRows: number;
  maxTestRows: number;
  seed: number;
}

/** One table, split grouped and seeded (no input vector on both sides), then fitted and encoded. */
export function splitExperiment(table: FlowTable, o: SplitSettings): EncodedExperiment {
  return encodeExperiment(table, splitRows(table, o), o.labels);
}

/** `parts` seeded shards of the encoded training rows. */
export function cutShards(
  train: EncodedData,
  numClasses: number,
  parts: number,
  partition: Partition,
  seed: number,
): EncodedData[] {
  return shardIndices(train.label, numClasses, parts, partition, seed).map((rows) => subset(train, rows));
}
