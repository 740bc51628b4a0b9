import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../aggregator/config.ts';
import { prepareExperiment } from '../aggregator/experiment.ts';
import { loadTable } from '../cli/import.ts';
import { cutShards, splitExperiment } from './experiment-core.ts';
import type { FlowTable } from './import.ts';

const EMBEDDED = new URL('../../public/data/ton_iot_network.sample.csv.gz', import.meta.url).pathname;

let table: FlowTable;

beforeAll(async () => {
  table = (await loadTable(EMBEDDED, 'toniot')).table;
}, 60_000);

describe('splitExperiment / cutShards (what the in-tab federation prepares in its worker)', () => {
  it("gives the aggregator's preprocessor, test rows and shards for the same settings", () => {
    const settings = {
      labels: 'fine',
      testFraction: 0.2,
      maxTrainRows: 2000,
      maxTestRows: 300,
      seed: 3,
    } as const;
    const partition = { kind: 'dirichlet', alpha: 0.3 } as const;
    const exp = prepareExperiment(parseConfig({ ...settings, partition, shards: 5 }), table);
    const mine = splitExperiment(table, settings);
    expect(mine.preprocessor).toEqual(exp.preprocessor);
    expect(mine.train.n).toBe(2000);
    expect(mine.test.n).toBe(300);
    expect(mine.test.label).toEqual(exp.test.label);
    expect(Buffer.from(mine.test.numeric.buffer).equals(Buffer.from(exp.test.numeric.buffer))).toBe(true);
    expect(mine.train.label).toEqual(exp.trainTargets.label);
    const theirs = exp.shards(5, partition);
    const ours = cutShards(mine.train, mine.preprocessor.classes.length, 5, partition, settings.seed);
    expect(ours.map((s) => s.n)).toEqual(theirs.map((s) => s.n));
    for (let k = 0; k < 5; k++) {
      expect(ours[k]!.label).toEqual(theirs[k]!.label);
      expect(ours[k]!.categorical).toEqual(theirs[k]!.categorical);
    }
    // IID shards of the same rows differ from the Dirichlet ones, and cover every row once.
    const iid = cutShards(mine.train, mine.preprocessor.classes.length, 5, { kind: 'iid' }, settings.seed);
    expect(iid.reduce((a, s) => a + s.n, 0)).toBe(2000);
    expect(iid.map((s) => s.n)).not.toEqual(ours.map((s) => s.n));
  });
});
