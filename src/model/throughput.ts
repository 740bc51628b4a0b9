/**
 * Training throughput on synthetic rows shaped like a real dataset: the one measurement behind the worker's
 * benchmark, the browser benchmark and the Node figures, so every number is taken the same way (warm-up
 * steps first, the loss read back every 20 steps so a GPU queue cannot run ahead of the clock).
 */
import { type EncodedData, encode, fitPreprocessor, type Preprocessor } from '../data/features.ts';
import { importCsv } from '../data/import.ts';
import type { DatasetId, DatasetSchema } from '../data/schema.ts';
import { CICIOT_ORIGINAL } from '../data/schemas/ciciot2023.ts';
import { EDGEIIOT } from '../data/schemas/edgeiiot.ts';
import { TONIOT_TRAIN_TEST } from '../data/schemas/toniot.ts';
import { syntheticCsv, syntheticStream } from '../data/synthetic.ts';
import { modelConfigFor } from './centralized.ts';
import { initWeights, MultiTaskModel } from './model.ts';
import { tf } from './tf.ts';
import { makeBatch } from './train.ts';

/** The release whose synthetic rows stand for each dataset. */
export const SYNTHETIC_SCHEMA: Record<DatasetId, DatasetSchema> = {
  toniot: TONIOT_TRAIN_TEST,
  ciciot2023: CICIOT_ORIGINAL,
  edgeiiot: EDGEIIOT,
};

/** Synthetic rows of `dataset`, imported as synthetic, all of them encoded as training data. */
export async function syntheticTrainingData(
  dataset: DatasetId,
  rows: number,
  seed: number,
): Promise<{ pre: Preprocessor; data: EncodedData }> {
  const schema = SYNTHETIC_SCHEMA[dataset];
  if (!schema) throw new RangeError(`unknown dataset ${dataset}`);
  const { table } = await importCsv(syntheticStream(syntheticCsv(schema, rows, seed)), {
    dataset,
    synthetic: true,
  });
  const all = Int32Array.from({ length: table.n }, (_, i) => i);
  const pre = fitPreprocessor(table, all);
  return { pre, data: encode(table, all, pre) };
}

export interface BenchmarkOptions {
  batchSize: number;
  steps: number;
  warmup: number;
  rows?: number;
  seed?: number;
}

export interface BenchmarkResult {
  backend: string;
  batchSize: number;
  steps: number;
  samplesPerSec: number;
}

/** Samples/s of training the default TON_IoT-shaped model on the active backend. */
export async function measureTrainingThroughput(opts: BenchmarkOptions): Promise<BenchmarkResult> {
  const seed = opts.seed ?? 1;
  const { pre, data } = await syntheticTrainingData(
    'toniot',
    Math.max(opts.rows ?? 2000, opts.batchSize),
    seed,
  );
  if (data.n < opts.batchSize) throw new RangeError(`benchmark: ${data.n} rows < batch ${opts.batchSize}`);
  const config = modelConfigFor(pre);
  const model = new MultiTaskModel(config, initWeights(config, seed).weights);
  const optimizer = tf.train.adam(1e-3);
  const vars = Object.values(model.params);
  const order = Int32Array.from({ length: data.n }, (_, i) => i);
  const batches = Math.floor(data.n / opts.batchSize);
  const step = (s: number): tf.Scalar => {
    const start = (s % batches) * opts.batchSize;
    const b = makeBatch(data, order, start, start + opts.batchSize);
    const loss = optimizer.minimize(() => model.loss(b.batch, b.targets), true, vars)!;
    tf.dispose([b.batch.numeric, b.batch.categorical, b.targets.label, b.targets.mos]);
    return loss;
  };
  try {
    for (let s = 0; s < opts.warmup; s++) {
      const loss = step(s);
      await loss.data();
      loss.dispose();
    }
    const t0 = performance.now();
    for (let s = 0; s < opts.steps; s++) {
      const loss = step(opts.warmup + s);
      // Read back now and then, as train() does, so a GPU queue cannot run far ahead of the clock.
      if (s % 20 === 19 || s === opts.steps - 1) await loss.data();
      loss.dispose();
    }
    const seconds = (performance.now() - t0) / 1000;
    return {
      backend: tf.getBackend(),
      batchSize: opts.batchSize,
      steps: opts.steps,
      samplesPerSec: (opts.steps * opts.batchSize) / seconds,
    };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}
