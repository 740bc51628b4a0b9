/**
 * The data side of an experiment, prepared once by the aggregator: the table is imported (identifiers
 * dropped, deduplicated), split exactly like `pqfed train` (grouped, seeded), the feature pipeline is fitted
 * on the training rows only and shipped to every client, the test rows are encoded for the server's
 * evaluation, and the training rows are cut into seeded shards (Dirichlet(α) over classes, or IID).
 * The fitting, encoding and cutting are src/data/experiment-core.ts, which the in-tab federation shares.
 */
import { cutShards, encodeExperiment } from '../data/experiment-core.ts';
import type { EncodedData, Preprocessor } from '../data/features.ts';
import type { FlowTable } from '../data/import.ts';
import { type ShardSource, sampleRows, splitRows, subset } from '../data/shard.ts';
import { modelConfigFor, withoutOverlap } from '../model/centralized.ts';
import type { ModelConfig } from '../model/model.ts';
import { EMBEDDED_SAMPLE, type ExperimentConfig } from './config.ts';

/** URL under which the built app serves the embedded sample (vite's public/ folder). */
export const EMBEDDED_SAMPLE_URL = '/data/ton_iot_network.sample.csv.gz';

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
  /**
   * How a browser rebuilds its shard itself: only when the training data is the embedded sample, which the
   * app serves (null otherwise: clients then import their own CSV).
   */
  shardSource: ShardSource | null;
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
    trainRows = sampleRows(withoutOverlap(table, testTable).rows, config.maxTrainRows, config.seed + 101);
    testRows = sampleRows(
      Int32Array.from({ length: testTable.n }, (_, i) => i),
      config.maxTestRows,
      config.seed + 202,
    );
  } else {
    ({ train: trainRows, test: testRows } = splitRows(table, config));
  }
  const { preprocessor, train, test } = encodeExperiment(
    table,
    { train: trainRows, test: testRows },
    config.labels,
    testTable,
  );
  const model = modelConfigFor(preprocessor, config.model);
  const shardSource: ShardSource | null =
    !testTable && config.data === EMBEDDED_SAMPLE
      ? {
          url: EMBEDDED_SAMPLE_URL,
          dataset: config.dataset,
          testFraction: config.testFraction,
          maxTrainRows: config.maxTrainRows,
          seed: config.seed,
          partition: config.partition,
          count: config.shards,
        }
      : null;
  return {
    config,
    preprocessor,
    model,
    test,
    trainTargets: { label: train.label, mos: train.mos },
    trainRows: train.n,
    shards(parts, partition) {
      return cutShards(train, preprocessor.classes.length, parts, partition, config.seed);
    },
    shardSource,
  };
}

export { subset };
