import { describe, expect, it } from 'vitest';
import { type FitPlan, roundFitSettings, roundLearningRate, roundSeed } from './fit-settings.ts';

const PLAN: FitPlan = {
  rounds: 5,
  localEpochs: 2,
  batchSize: 32,
  learningRate: 0.01,
  learningRateDecay: 'cosine',
  seed: 7,
};

describe('roundLearningRate', () => {
  it('decays from the first rate to 5 % of it along half a cosine', () => {
    expect(roundLearningRate(0.01, 1, 5)).toBe(0.01);
    expect(roundLearningRate(0.01, 5, 5)).toBeCloseTo(0.0005, 15);
    expect(roundLearningRate(0.01, 3, 5)).toBe(0.01 * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * 0.5))));
    expect(roundLearningRate(0.01, 1, 1)).toBe(0.01);
    expect(roundLearningRate(0.01, 9, 5)).toBe(roundLearningRate(0.01, 5, 5));
  });
});

describe('roundSeed', () => {
  it('is seed·31 + round in [0, 2³²)', () => {
    expect(roundSeed(7, 3)).toBe(220);
    expect(roundSeed(2 ** 32 - 1, 40)).toBe(((2 ** 32 - 1) * 31 + 40) >>> 0);
    expect(roundSeed(2 ** 32 - 1, 40)).toBeLessThan(2 ** 32);
  });
});

describe('roundFitSettings', () => {
  it("takes the plan's epochs and batch, the decayed rate, the round's seed and the strategy's μ", () => {
    expect(roundFitSettings(PLAN, 3, { proxMu: 0.1 })).toEqual({
      epochs: 2,
      batchSize: 32,
      learningRate: roundLearningRate(0.01, 3, 5),
      proxMu: 0.1,
      seed: 220,
    });
  });

  it('keeps the rate constant without decay', () => {
    const fit = roundFitSettings({ ...PLAN, learningRateDecay: 'none' }, 5, { proxMu: 0 });
    expect(fit.learningRate).toBe(0.01);
  });

  it("sends FedDyn's α only when the strategy has one", () => {
    expect(roundFitSettings(PLAN, 1, { proxMu: 0 })).not.toHaveProperty('dynAlpha');
    expect(roundFitSettings(PLAN, 1, { proxMu: 0, dynAlpha: 0.01 }).dynAlpha).toBe(0.01);
  });
});
