import { describe, expect, it } from 'vitest';
import { crossProblems, DEFAULT_EXPERIMENT } from '../../aggregator/config.ts';
import { privacySettings } from '../../core/privacy/ledger.ts';
import {
  checkPrivacyNumber,
  configLabel,
  DEFAULT_OPTIONS,
  formatConfigSpec,
  OptionError,
  optionsFromQuery,
  parseConfigList,
  parseConfigSpec,
  poolSize,
  privacyProblems,
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
      'clients=4&rounds=3&configs=fedavg:0.1,median:iid&model=small&train-rows=2000&test-rows=400&lr=0.01&tamper=1&engine=tfjs',
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
      engine: 'tfjs',
      batchSize: DEFAULT_OPTIONS.batchSize,
    });
    expect(options.configs.map(formatConfigSpec)).toEqual(['fedavg:0.1', 'median:iid']);
    const again = optionsFromQuery(new URLSearchParams(queryFor(options).slice(1))).options;
    expect(again).toEqual(options);
    expect(queryFor(DEFAULT_OPTIONS)).toBe('');
  });

  it('reports bad parameters and keeps their defaults', () => {
    const { options, errors } = optionsFromQuery(
      new URLSearchParams('clients=0&rounds=2.5&backend=tpu&engine=fused&configs=nope&lr=-1&run=1'),
    );
    expect(errors).toEqual([
      'clients: expected an integer in [1, 64], got 0',
      'rounds: expected an integer in [1, 200], got 2.5',
      'lr: expected a number in [0.00001, 1], got -1',
      expect.stringContaining('configuration "nope"'),
      'backend: expected one of wasm, cpu, webgpu, got "tpu"',
      'engine: expected one of auto, tfjs, fused-wasm, fused-webgpu, got "fused"',
    ]);
    expect(options.engine).toBe('auto');
    expect(options.clients).toBe(DEFAULT_OPTIONS.clients);
    expect(options.rounds).toBe(DEFAULT_OPTIONS.rounds);
    expect(options.backend).toBe('wasm');
    expect(options.autorun).toBe(true);
  });
});

describe('differential privacy settings', () => {
  it("is off by default, on with the CLI flags' names, and round-trips through queryFor", () => {
    expect(DEFAULT_OPTIONS.privacy).toBeNull();
    expect(optionsFromQuery(new URLSearchParams('')).options.privacy).toBeNull();
    const q = new URLSearchParams('dp-clip=0.5&dp-noise=1.1&target-epsilon=8&delta=1e-6');
    const { options, errors } = optionsFromQuery(q);
    expect(errors).toEqual([]);
    expect(options.privacy).toEqual({ clipNorm: 0.5, noiseMultiplier: 1.1, targetEpsilon: 8, delta: 1e-6 });
    expect(optionsFromQuery(new URLSearchParams(queryFor(options).slice(1))).options.privacy).toEqual(
      options.privacy,
    );
    // δ left out: the ledger's default (1e-5, as pqfed serve's) applies; a target alone is enough.
    const t = optionsFromQuery(new URLSearchParams('dp-clip=1&target-epsilon=4'));
    expect(t.errors).toEqual([]);
    expect(t.options.privacy).toEqual({ clipNorm: 1, targetEpsilon: 4 });
    expect(privacySettings(t.options.privacy!)).toMatchObject({ delta: 1e-5, noiseMultiplier: null });
  });

  it('checks ranges and what DP needs, as the experiment check does', () => {
    expect(() => checkPrivacyNumber('clipNorm', '0')).toThrow(
      'dp-clip: expected a number in [0.000001, 1000000], got 0',
    );
    expect(() => checkPrivacyNumber('delta', '0.5')).toThrow('delta: expected a number in');
    expect(() => checkPrivacyNumber('targetEpsilon', '5000')).toThrow(OptionError);
    expect(() => checkPrivacyNumber('noiseMultiplier', 'x')).toThrow(OptionError);
    expect(checkPrivacyNumber('noiseMultiplier', '0')).toBe(0);
    const { errors } = optionsFromQuery(
      new URLSearchParams('dp-noise=-1&configs=fedavg:iid,median:iid,krum:iid'),
    );
    expect(errors).toEqual([
      'dp-noise: expected a number in [0, 10000], got -1',
      'dp-clip: differential privacy needs a clip norm C, got none',
      'dp-noise / target-epsilon: differential privacy needs a noise multiplier or a target ε (or both), got neither',
      expect.stringMatching(/^"strategy" \("median"\) cannot run with privacy/),
      expect.stringMatching(/^"strategy" \("krum"\) cannot run with privacy/),
    ]);
    // The same sentence as the aggregator's experiment check.
    const check = crossProblems({
      ...DEFAULT_EXPERIMENT,
      strategy: 'feddyn',
      privacy: { clipNorm: 1, noiseMultiplier: 1 },
    }).find((p) => p.path[0] === 'strategy')!;
    expect(privacyProblems({ clipNorm: 1, noiseMultiplier: 1 }, [parseConfigSpec('feddyn')])).toEqual([
      `"strategy" ${check.message}`,
    ]);
    expect(privacyProblems({ clipNorm: 1, noiseMultiplier: 1 }, [parseConfigSpec('fedyogi')])).toEqual([]);
    expect(privacyProblems(null, [parseConfigSpec('median')])).toEqual([]);
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
