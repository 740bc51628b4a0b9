/**
 * How an experiment's training rows are chosen and cut into client shards, in one place for the aggregator
 * (which prepares every shard for `pqfed simulate`) and for a browser tab (which rebuilds only its own shard
 * from the embedded sample, so the rows never leave the tab): the grouped train/test split, an optional
 * seeded cap on the rows, then a seeded Dirichlet(α) or IID partition over the encoded training labels.
 * The same inputs give the same rows, bit for bit, on both sides.
 */
import { Rng } from '../core/random.ts';
import { type EncodedData, encode, type Preprocessor } from './features.ts';
import type { FlowTable } from './import.ts';
import { dirichletPartition, iidPartition } from './partition.ts';
import type { DatasetId } from './schema.ts';
import { groupedSplit } from './split.ts';

export type Partition = { kind: 'iid' } | { kind: 'dirichlet'; alpha: number };

/** What a browser needs to rebuild its shard of the training rows (sent in `welcome`'s experiment). */
export interface ShardSource {
  /** Same-origin URL of the data file (the embedded sample). */
  url: string;
  dataset: DatasetId;
  testFraction: number;
  maxTrainRows: number;
  seed: number;
  partition: Partition;
  /** Number of shards the training rows are cut into. */
  count: number;
}

/** `max` rows of `rows` picked with a seeded shuffle, in ascending order (all of them when max ≤ 0). */
export function sampleRows(rows: Int32Array, max: number, seed: number): Int32Array {
  if (max <= 0 || rows.length <= max) return rows;
  const picked = new Rng(seed).shuffle(Array.from(rows)).slice(0, max);
  return Int32Array.from(picked.sort((a, b) => a - b));
}

/** The experiment's training and test rows of one table (grouped split, then the seeded caps). */
export function splitRows(
  table: FlowTable,
  o: { testFraction: number; maxTrainRows: number; maxTestRows?: number; seed: number },
): { train: Int32Array; test: Int32Array } {
  const split = groupedSplit(table.groupKey, o.testFraction, o.seed);
  return {
    train: sampleRows(split.train, o.maxTrainRows, o.seed + 101),
    test: sampleRows(split.test, o.maxTestRows ?? 0, o.seed + 202),
  };
}

/** Row indices (into the encoded training rows) of each of `count` shards. */
export function shardIndices(
  trainLabels: Int32Array,
  numClasses: number,
  count: number,
  partition: Partition,
  seed: number,
): Int32Array[] {
  return partition.kind === 'iid'
    ? iidPartition(trainLabels.length, count, seed)
    : dirichletPartition(trainLabels, numClasses, count, partition.alpha, seed);
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

export class ShardError extends Error {
  override name = 'ShardError';
}

/**
 * Shard `index` of `source`, rebuilt from the imported data file with the experiment's preprocessor: the
 * same rows, encoded the same way, as the aggregator's `shards(count, partition)[index]`.
 */
export function buildShard(
  table: FlowTable,
  pre: Preprocessor,
  source: ShardSource,
  index: number,
): EncodedData {
  if (!Number.isInteger(index) || index < 0 || index >= source.count) {
    throw new ShardError(`shard: expected an index in [0, ${source.count}), got ${index}`);
  }
  if (table.schema.dataset !== source.dataset) {
    throw new ShardError(`shard: expected a ${source.dataset} table, got ${table.schema.dataset}`);
  }
  const { train } = splitRows(table, source);
  const encoded = encode(table, train, pre);
  const parts = shardIndices(encoded.label, pre.classes.length, source.count, source.partition, source.seed);
  return subset(encoded, parts[index]!);
}
