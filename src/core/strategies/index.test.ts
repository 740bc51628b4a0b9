import { describe, expect, it } from 'vitest';
import {
  createStrategy,
  FedAdagrad,
  FedAdam,
  FedAvg,
  FedAvgM,
  FedDyn,
  FedProx,
  FedYogi,
  Krum,
  Median,
  STRATEGY_NAMES,
  StrategyError,
  type StrategyName,
  TrimmedMean,
} from './index.ts';

describe('createStrategy', () => {
  it('builds each strategy under its name', () => {
    const classes = {
      fedavg: FedAvg,
      fedprox: FedProx,
      fedadam: FedAdam,
      fedyogi: FedYogi,
      fedadagrad: FedAdagrad,
      fedavgm: FedAvgM,
      feddyn: FedDyn,
      median: Median,
      'trimmed-mean': TrimmedMean,
      krum: Krum,
      'multi-krum': Krum,
    } as const;
    for (const name of STRATEGY_NAMES) {
      const s = createStrategy(name);
      expect(s).toBeInstanceOf(classes[name]);
      expect(s.name).toBe(name);
    }
  });

  it('passes the parameters that apply and ignores the rest', () => {
    const params = {
      proxMu: 0.2,
      serverLearningRate: 0.5,
      beta1: 0.8,
      beta2: 0.9,
      tau: 1e-4,
      serverMomentum: 0.7,
      dynAlpha: 0.05,
      trimFraction: 0.3,
      byzantine: 2,
      multiKrumSelect: 3,
    };
    expect(createStrategy('fedavg', params).fitConfig(0)).toEqual({ proxMu: 0 });
    expect(createStrategy('fedprox', params).fitConfig(0)).toEqual({ proxMu: 0.2 });
    const adam = createStrategy('fedadam', params) as FedAdam;
    expect([adam.serverLearningRate, adam.beta1, adam.beta2, adam.tau]).toEqual([0.5, 0.8, 0.9, 1e-4]);
    const yogi = createStrategy('fedyogi', params) as FedYogi;
    expect([yogi.serverLearningRate, yogi.beta1, yogi.beta2, yogi.tau]).toEqual([0.5, 0.8, 0.9, 1e-4]);
    const adagrad = createStrategy('fedadagrad', params) as FedAdagrad;
    expect([adagrad.serverLearningRate, adagrad.beta1, adagrad.tau]).toEqual([0.5, 0.8, 1e-4]);
    const avgm = createStrategy('fedavgm', params) as FedAvgM;
    expect([avgm.serverLearningRate, avgm.serverMomentum]).toEqual([0.5, 0.7]);
    expect(createStrategy('feddyn', params).fitConfig(0)).toEqual({ proxMu: 0, dynAlpha: 0.05 });
    expect((createStrategy('trimmed-mean', params) as TrimmedMean).trimFraction).toBe(0.3);
    const krum = createStrategy('krum', params) as Krum;
    expect([krum.byzantine, krum.multiKrumSelect]).toEqual([2, undefined]);
    const multi = createStrategy('multi-krum', params) as Krum;
    expect([multi.byzantine, multi.multiKrumSelect]).toEqual([2, 3]);
  });

  it('rejects an invalid parameter with a StrategyError', () => {
    expect(() => createStrategy('trimmed-mean', { trimFraction: 0.7 })).toThrow(StrategyError);
    expect(() => createStrategy('fedadam', { beta2: 1 })).toThrow(StrategyError);
    expect(() => createStrategy('fedyogi', { beta2: 1 })).toThrow(StrategyError);
    expect(() => createStrategy('fedadagrad', { tau: 0 })).toThrow(StrategyError);
    expect(() => createStrategy('fedavgm', { serverMomentum: 1 })).toThrow(StrategyError);
    expect(() => createStrategy('fedprox', { proxMu: -1 })).toThrow(StrategyError);
    expect(() => createStrategy('multi-krum', { byzantine: -1 })).toThrow(StrategyError);
  });

  it('rejects an unknown name (from untyped input)', () => {
    expect(() => createStrategy('bulyan' as StrategyName)).toThrow(
      /createStrategy: name must be one of fedavg, fedprox, fedadam, fedyogi, fedadagrad, fedavgm, feddyn, median, trimmed-mean, krum, multi-krum, got "bulyan"/,
    );
  });
});
