import { describe, expect, it } from 'vitest';
import {
  markdownTable,
  parsePartitions,
  parseSeeds,
  parseStrategies,
  parseStrategyParams,
  type RunResult,
  runKey,
  SweepError,
  spread,
  summarise,
  sweepPlan,
} from './sweep.ts';

const run = (seed: number, macroF1: number, accuracy: number, recall: Record<string, number>): RunResult => ({
  seed,
  macroF1,
  accuracy,
  perClassRecall: recall,
  majorityBaseline: { accuracy: 0.4 + seed / 100, macroF1: 0.05 },
});

describe('sweep plan and summary', () => {
  it('plans strategy × partition × seed federated runs and one centralized run per seed', () => {
    const plan = sweepPlan(['fedavg', 'fedyogi'], parsePartitions('0.1, iid'), [1, 2]);
    expect(plan.federated).toHaveLength(8);
    expect(plan.federated[0]).toEqual({
      strategy: 'fedavg',
      partition: { kind: 'dirichlet', alpha: 0.1 },
      seed: 1,
    });
    expect(plan.federated[7]).toEqual({ strategy: 'fedyogi', partition: { kind: 'iid' }, seed: 2 });
    expect(plan.centralized).toEqual([{ seed: 1 }, { seed: 2 }]);
    expect(runKey('fedyogi', { kind: 'dirichlet', alpha: 0.1 }, 2)).toBe('fedyogi-a0.1-s2');
    expect(runKey('centralized', null, 3)).toBe('centralized-s3');
  });

  it('computes mean, sample sd, min and max', () => {
    // [0.8, 0.9, 1.0]: mean 0.9; deviations ±0.1, 0 → Σ = 0.02, /(3 − 1) = 0.01, sd = 0.1
    const s = spread([0.8, 0.9, 1.0]);
    expect(s.mean).toBeCloseTo(0.9, 12);
    expect(s.sd).toBeCloseTo(0.1, 12);
    expect([s.min, s.max, s.n]).toEqual([0.8, 1.0, 3]);
    expect(spread([0.5]).sd).toBe(0);
    expect(() => spread([])).toThrow(SweepError);
  });

  it('summarises the seeds of one configuration, per-class recall over the runs that saw the class', () => {
    const row = summarise('fedavgm', { kind: 'dirichlet', alpha: 0.5 }, [
      run(1, 0.8, 0.9, { normal: 1, ddos: 0.5 }),
      run(2, 1.0, 0.95, { normal: 0.8 }),
    ]);
    expect(row.label).toBe('fedavgm α=0.5');
    expect(row.seeds).toEqual([1, 2]);
    expect(row.macroF1.mean).toBeCloseTo(0.9, 12);
    expect(row.macroF1.sd).toBeCloseTo(Math.SQRT2 * 0.1, 12); // deviations ±0.1 → sqrt(0.02 / 1)
    expect(row.perClassRecall).toEqual({ normal: 0.9, ddos: 0.5 });
    expect(row.majorityBaseline.accuracy).toBeCloseTo(0.415, 12); // (0.41 + 0.42) / 2
    const md = markdownTable([row, summarise('centralized', null, [run(1, 0.92, 0.97, { normal: 1 })])]);
    expect(md).toContain(
      '| fedavgm α=0.5 | 2 | 0.900 ± 0.141 | 0.800 – 1.000 | 0.925 ± 0.035 | 0.415 / 0.050 |',
    );
    expect(md).toContain('| configuration | ddos | normal |');
    expect(md).toContain('| centralized | – | 1.000 |');
  });

  it('names what is wrong in its arguments', () => {
    expect(() => parsePartitions('0.1,x')).toThrow(
      '--alphas: expected numbers > 0 or "iid", comma-separated, got "x"',
    );
    expect(() => parsePartitions('0')).toThrow(SweepError);
    expect(() => parseStrategies('fedavg,fedsgd')).toThrow('--strategies: unknown strategy "fedsgd"');
    expect(() => parseSeeds('1,-2')).toThrow(
      '--seeds: expected integers 0..2^31−1, comma-separated, got "-2"',
    );
    expect(parseStrategyParams('{"fedyogi": {"serverLearningRate": 0.03}}')).toEqual({
      fedyogi: { serverLearningRate: 0.03 },
    });
    expect(() => parseStrategyParams('{"bulyan": {}}')).toThrow('--params: unknown strategy "bulyan"');
    expect(() => parseStrategyParams('[')).toThrow(/--params: expected JSON/);
  });
});
