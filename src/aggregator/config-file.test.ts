import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_EXPERIMENT,
  EXPERIMENT_SCHEMA_PATH,
  experimentJsonSchemaText,
  parseConfig,
} from './config.ts';
import { parseExperimentText, resolveExperiment } from './config-file.ts';

/** The problems of a bad file, as `line:col "key" message` strings. */
function problems(text: string): string[] {
  try {
    parseExperimentText(text, 'exp.json');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems.map((p) => `${p.line}:${p.column} ${p.path.join('.')}: ${p.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('experiment file', () => {
  it('reports every problem at once, each at its line and column', () => {
    const text = [
      '{',
      '  "rounds": 0,',
      '  "strategy": "fedsgd",',
      '  "partition": { "kind": "dirichlet", "alpha": -1 },',
      '  "epocs": 3,',
      '  "model": { "dModel": "x", "foo": 1 },',
      '  "clientsPerRound": { "fraction": 2 }',
      '}',
    ].join('\n');
    expect(problems(text)).toEqual([
      '2:13 rounds: must be an integer from 1 to 1e6, got 0',
      '3:15 strategy: must be one of fedavg, fedprox, fedadam, fedyogi, fedadagrad, fedavgm, feddyn, median, trimmed-mean, krum, multi-krum, got "fedsgd"',
      '4:48 partition.alpha: must be a number > 0, got -1',
      '5:3 epocs: unknown key (known: dataset, data, test, labels, testFraction, maxTrainRows, maxTestRows, model, strategy, strategyParams, rounds, clientsPerRound, quorum, roundDeadlineSeconds, onQuorumMiss, localEpochs, batchSize, learningRate, learningRateDecay, proxMu, seed, partition, shards, clients, suite, autoStart, joinToken, allowedOrigins, privacy, secureAggregation)',
      '6:24 model.dModel: must be an integer from 2 to 1024, got "x"',
      '6:29 model.foo: unknown key (known: dModel, heads, ffDim, convLayers, mosWeight)',
      '7:36 clientsPerRound.fraction: must be a number from 0.001 to 1, got 2',
    ]);
  });

  it('suggests the key a typo meant', () => {
    expect(problems('{"rouds": 3}')).toEqual(['1:2 rouds: unknown key; did you mean "rounds"?']);
  });

  it('gives JSON syntax errors a line and column, not a byte position', () => {
    expect(problems('{\n  "rounds": 3,\n  "seed": 1,\n}')).toEqual([
      '3:12 : trailing comma (JSON allows none)',
    ]);
    expect(problems('{\n  "rounds": 3\n  "seed": 1\n}')).toEqual(['3:3 : expected ","']);
    expect(problems('{\n  // a comment\n  "rounds": 3\n}')).toEqual(['2:3 : JSON allows no comments']);
    expect(problems('')).toEqual(['undefined:undefined : the file is empty: expected a JSON object']);
    expect(problems('[1]')).toEqual(['1:1 : must be a JSON object, got [1]']);
  });

  it('refuses a duplicate key, which JSON.parse would silently drop', () => {
    expect(problems('{\n  "rounds": 3,\n  "rounds": 4\n}')).toEqual([
      '3:3 rounds: duplicate key (first at line 2, column 3)',
    ]);
  });

  it('says when a required key is missing', () => {
    expect(problems('{"partition": {"alpha": 2}}')).toEqual([
      '1:15 partition.kind: is missing: it must be one of dirichlet, iid',
    ]);
  });

  it('accepts "$schema", resolves data paths against its folder, and flags override it', () => {
    const file = parseExperimentText(
      JSON.stringify({
        $schema: '../docs/experiment.schema.json',
        data: 'rows.csv',
        test: null,
        strategy: 'median',
        partition: { kind: 'iid' },
        clientsPerRound: { min: 3 },
        clients: 4,
      }),
      '/exp/dir/exp.json',
    );
    expect(file.values.data).toBe('/exp/dir/rows.csv');
    const c = resolveExperiment(DEFAULT_EXPERIMENT, file, { rounds: 7, partition: { kind: 'dirichlet' } });
    expect(c).toMatchObject({
      data: '/exp/dir/rows.csv',
      strategy: 'median',
      rounds: 7,
      partition: { kind: 'dirichlet', alpha: 0.5 },
      clientsPerRound: { fraction: 1, min: 3, max: 100 },
      shards: 4,
    });
    // keys the file leaves out keep the defaults
    expect(c.model).toEqual(DEFAULT_EXPERIMENT.model);
  });

  it('checks keys against each other after the flags, and points at the key in the file', () => {
    const file = parseExperimentText('{\n  "quorum": 5\n}', 'exp.json');
    expect(() => resolveExperiment(DEFAULT_EXPERIMENT, file, { clientsPerRound: { max: 4 } })).toThrow(
      /exp\.json:2:13: "quorum" \(5\) can never be met with at most 4 clients per round/,
    );
  });
});

describe('parseConfig (the admin API and tests)', () => {
  it('puts every problem on one line', () => {
    expect(() => parseConfig({ strategy: 'no-such', rounds: -1 })).toThrow(
      'config: "strategy" must be one of fedavg, fedprox, fedadam, fedyogi, fedadagrad, fedavgm, feddyn, median, trimmed-mean, krum, multi-krum, got "no-such"; "rounds" must be an integer from 1 to 1e6, got -1',
    );
    expect(() => parseConfig({ model: { dModel: 30, heads: 4 } })).toThrow(
      'config: "model.dModel" (30) must be a multiple of model.heads (4)',
    );
  });
});

describe('the published JSON Schema', () => {
  it('docs/experiment.example.json is a valid experiment whose data file exists', () => {
    const path = new URL('../../docs/experiment.example.json', import.meta.url).pathname;
    const file = parseExperimentText(readFileSync(path, 'utf8'), path);
    expect(file.values.$schema).toBe('./experiment.schema.json');
    expect(existsSync(file.values.data!)).toBe(true);
  });

  it(`${EXPERIMENT_SCHEMA_PATH} is the one generated from the zod schema (npx tsx scripts/experiment-schema.ts --write)`, () => {
    const committed = JSON.parse(
      readFileSync(new URL(`../../${EXPERIMENT_SCHEMA_PATH}`, import.meta.url), 'utf8'),
    );
    expect(committed).toEqual(JSON.parse(experimentJsonSchemaText()));
    expect(committed.additionalProperties).toBe(false);
    expect(Object.keys(committed.properties)).toContain('$schema');
  });
});
