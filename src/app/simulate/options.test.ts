import { describe, expect, it } from 'vitest';
import {
  configLabel,
  DEFAULT_OPTIONS,
  formatConfigSpec,
  OptionError,
  optionsFromQuery,
  parseConfigList,
  parseConfigSpec,
  poolSize,
  queryFor,
  roundLearningRate,
  slotOf,
} from './options.ts';

describe('configurations', () => {
  it('parses and writes strategy:alpha and strategy:iid', () => {
    expect(parseConfigSpec('fedavg:0.1')).toEqual({
      strategy: 'fedavg',
      partition: { kind: 'dirichlet', alpha: 0.1 },
    });
    expect(parseConfigSpec(' Median:IID ')).toEqual({ strategy: 'median', partition: { kind: 'iid' } });
    expect(parseConfigSpec('trimmed-mean')).toEqual({
      strategy: 'trimmed-mean',
      partition: { kind: 'dirichlet', alpha: 0.5 },
    });
    for (const text of ['fedavg:0.1', 'median:iid', 'multi-krum:2']) {
      expect(formatConfigSpec(parseConfigSpec(text))).toBe(text);
    }
    expect(configLabel(parseConfigSpec('fedadam:1'))).toBe('FedAdam α=1');
    expect(configLabel(parseConfigSpec('fedyogi:0.1'))).toBe('FedYogi α=0.1');
    expect(configLabel(parseConfigSpec('fedadagrad:iid'))).toBe('FedAdagrad IID');
    expect(configLabel(parseConfigSpec('fedavgm'))).toBe('FedAvgM α=0.5');
    expect(configLabel(parseConfigSpec('krum:iid'))).toBe('Krum IID');
  });

  it('names what is wrong', () => {
    expect(() => parseConfigSpec('fedsgd:0.1')).toThrow(/strategy must be one of fedavg, .*got "fedsgd"/);
    expect(() => parseConfigSpec('fedavg:0')).toThrow('α must be a number in [0.001, 1000], got 0');
    expect(() => parseConfigSpec('fedavg:x')).toThrow(OptionError);
    expect(() => parseConfigSpec('fedavg:1:2')).toThrow('expected strategy:alpha or strategy:iid');
    expect(() => parseConfigList(' , ')).toThrow('expected at least one');
    expect(() => parseConfigList(new Array(9).fill('fedavg').join(','))).toThrow('at most 8, got 9');
    expect(parseConfigList('fedavg:0.1, fedavg:1,median:0.1')).toHaveLength(3);
  });
});

describe('URL settings', () => {
  it('reads every setting, keeps defaults for the rest and round-trips through queryFor', () => {
    const q = new URLSearchParams(
      'clients=4&rounds=3&configs=fedavg:0.1,median:iid&model=small&train-rows=2000&test-rows=400&lr=0.01&tamper=1',
    );
    const { options, errors } = optionsFromQuery(q);
    expect(errors).toEqual([]);
    expect(options).toMatchObject({
      clients: 4,
      rounds: 3,
      model: 'small',
      maxTrainRows: 2000,
      maxTestRows: 400,
      learningRate: 0.01,
      tamper: true,
      autorun: false,
      backend: 'wasm',
      batchSize: DEFAULT_OPTIONS.batchSize,
    });
    expect(options.configs.map(formatConfigSpec)).toEqual(['fedavg:0.1', 'median:iid']);
    const again = optionsFromQuery(new URLSearchParams(queryFor(options).slice(1))).options;
    expect(again).toEqual(options);
    expect(queryFor(DEFAULT_OPTIONS)).toBe('');
  });

  it('reports bad parameters and keeps their defaults', () => {
    const { options, errors } = optionsFromQuery(
      new URLSearchParams('clients=0&rounds=2.5&backend=tpu&configs=nope&lr=-1&run=1'),
    );
    expect(errors).toEqual([
      'clients: expected an integer in [1, 64], got 0',
      'rounds: expected an integer in [1, 200], got 2.5',
      'lr: expected a number in [0.00001, 1], got -1',
      expect.stringContaining('configuration "nope"'),
      'backend: expected one of wasm, cpu, webgpu, got "tpu"',
    ]);
    expect(options.clients).toBe(DEFAULT_OPTIONS.clients);
    expect(options.rounds).toBe(DEFAULT_OPTIONS.rounds);
    expect(options.backend).toBe('wasm');
    expect(options.autorun).toBe(true);
  });
});

describe('scheduling and the learning rate', () => {
  it('trains at most one client per logical core, and spreads clients round-robin', () => {
    expect(poolSize(4, 2)).toBe(2);
    expect(poolSize(3, 16)).toBe(3);
    expect(poolSize(10, undefined)).toBe(2);
    expect(poolSize(1, 0)).toBe(1);
    expect([0, 1, 2, 3, 4].map((c) => slotOf(c, 2))).toEqual([0, 1, 0, 1, 0]);
  });

  it('decays the rate on a cosine to 5 % by the last round', () => {
    expect(roundLearningRate(0.01, 1, 5)).toBeCloseTo(0.01);
    expect(roundLearningRate(0.01, 5, 5)).toBeCloseTo(0.0005);
    expect(roundLearningRate(0.01, 3, 5)).toBeCloseTo(0.01 * (0.05 + 0.95 * 0.5));
    expect(roundLearningRate(0.01, 1, 1)).toBeCloseTo(0.01);
  });
});
