import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../aggregator/config.ts';
import { type PreparedExperiment, prepareExperiment } from '../aggregator/experiment.ts';
import { loadTable } from '../cli/import.ts';
import type { FlowTable } from './import.ts';
import { buildShard, ShardError } from './shard.ts';

const EMBEDDED = new URL('../../public/data/ton_iot_network.sample.csv.gz', import.meta.url).pathname;

let table: FlowTable;
let exp: PreparedExperiment;

beforeAll(async () => {
  table = (await loadTable(EMBEDDED, 'toniot')).table;
  exp = prepareExperiment(
    parseConfig({ maxTrainRows: 3000, shards: 7, partition: { kind: 'dirichlet', alpha: 0.5 }, seed: 4 }),
    table,
  );
}, 60_000);

describe('buildShard', () => {
  it("rebuilds exactly the aggregator's shard, bit for bit, from the same file", () => {
    const source = exp.shardSource!;
    expect(source).toMatchObject({
      url: '/data/ton_iot_network.sample.csv.gz',
      count: 7,
      maxTrainRows: 3000,
    });
    const shards = exp.shards(source.count, source.partition);
    expect(shards.reduce((a, s) => a + s.n, 0)).toBe(3000);
    for (const k of [0, 3, 6]) {
      const mine = buildShard(table, exp.preprocessor, source, k);
      expect(mine.n).toBe(shards[k]!.n);
      expect(Buffer.from(mine.numeric.buffer).equals(Buffer.from(shards[k]!.numeric.buffer))).toBe(true);
      expect(mine.categorical).toEqual(shards[k]!.categorical);
      expect(mine.label).toEqual(shards[k]!.label);
      expect(mine.mos).toEqual(shards[k]!.mos);
    }
    // Another seed gives other rows: the source's fields matter.
    const other = buildShard(table, exp.preprocessor, { ...source, seed: 5 }, 3);
    expect(other.label).not.toEqual(shards[3]!.label);
  });

  it('refuses an index out of range and a table of another dataset', () => {
    const source = exp.shardSource!;
    expect(() => buildShard(table, exp.preprocessor, source, 7)).toThrow(ShardError);
    expect(() => buildShard(table, exp.preprocessor, source, -1)).toThrow(
      'expected an index in [0, 7), got -1',
    );
    expect(() => buildShard(table, exp.preprocessor, { ...source, dataset: 'edgeiiot' }, 0)).toThrow(
      'expected a edgeiiot table, got toniot',
    );
  });

  it('is offered only when the training data is the embedded sample', () => {
    const elsewhere = prepareExperiment(parseConfig({ maxTrainRows: 500, data: '/elsewhere.csv' }), table);
    expect(elsewhere.shardSource).toBeNull();
  });
});
