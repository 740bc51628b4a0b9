import { describe, expect, it } from 'vitest';
import { FedAdam } from '../strategies/fedadam.ts';
import { FedAvg } from '../strategies/fedavg.ts';
import { RdpAccountant } from './accountant.ts';
import { ADAPTIVE_CLIP_DEFAULTS } from './clip.ts';
import { PrivacyLedger, type PrivacySettings } from './ledger.ts';
import { seededRandomSource, testKey } from './random-source.ts';

const base: PrivacySettings = {
  clipNorm: 1,
  noiseMultiplier: 1,
  targetEpsilon: null,
  delta: 1e-5,
  adaptiveClipping: null,
};
const ledger = (s: Partial<PrivacySettings>, rounds = 10, key = 1) =>
  new PrivacyLedger({ ...base, ...s }, () => rounds, null, seededRandomSource(testKey(key)));

describe('server-side DP-FedAvg round', () => {
  it('clips every update to C, sums with equal weight and divides by the selection (by hand, no noise)', () => {
    const l = ledger({ noiseMultiplier: 0 });
    const r = l.begin(new FedAvg(), 1, new Float32Array([1, 1]), 3, 3);
    r.add({ clientId: 'a', delta: new Float32Array([3, 4]), numSamples: 500 }); // → [0.6, 0.8]
    r.add({ clientId: 'b', delta: new Float32Array([0.1, 0]), numSamples: 1 }); // kept
    // Three selected, two answered: the divisor is 3, whatever the sample counts.
    const next = r.finish();
    expect(next[0]).toBeCloseTo(1 + 0.7 / 3, 6);
    expect(next[1]).toBeCloseTo(1 + 0.8 / 3, 6);
    expect(l.status()).toMatchObject({ rounds: 1, samplingRate: 1, epsilon: Number.POSITIVE_INFINITY });
  });

  it('adds N(0, (zC)²) to the sum: the mean of one zero update has std zC/m', () => {
    const l = ledger({ noiseMultiplier: 2, clipNorm: 0.5 });
    const r = l.begin(new FedAvg(), 1, new Float32Array(40_000), 4, 8);
    r.add({ clientId: 'a', delta: new Float32Array(40_000), numSamples: 1 });
    const next = r.finish();
    let s2 = 0;
    for (const x of next) s2 += x * x;
    const std = Math.sqrt(s2 / next.length);
    expect(Math.abs(std - (2 * 0.5) / 4) / 0.25).toBeLessThan(0.03);
    // And the accountant advanced once at q = 4/8.
    const ref = new RdpAccountant();
    ref.compose(0.5, 2);
    expect(l.epsilon).toBe(ref.epsilon(1e-5));
  });

  it('hands the noisy mean to the strategy as its one update (FedAdam uses it as its pseudo-gradient)', () => {
    const l = ledger({ noiseMultiplier: 0 });
    const adam = new FedAdam({ serverLearningRate: 0.1 });
    const r = l.begin(adam, 1, new Float32Array([0, 0]), 1, 1);
    r.add({ clientId: 'a', delta: new Float32Array([0.5, -0.5]), numSamples: 1 });
    const a = r.finish();
    const plain = new FedAdam({ serverLearningRate: 0.1 }).begin(1, new Float32Array([0, 0]));
    plain.add({ clientId: 'x', delta: new Float32Array([0.5, -0.5]), numSamples: 1 });
    expect([...a]).toEqual([...plain.finish()]);
  });
});

describe('privacy ledger', () => {
  it('grows ε every round and refuses the round that would cross the target', () => {
    const l = ledger({ noiseMultiplier: 3, targetEpsilon: 3 });
    const seen: number[] = [];
    let rounds = 0;
    while (l.refusal(2, 4) === null) {
      const r = l.begin(new FedAvg(), ++rounds, new Float32Array(3), 2, 4);
      r.add({ clientId: 'a', delta: new Float32Array([0.1, 0.2, 0.3]), numSamples: 1 });
      r.finish();
      seen.push(l.epsilon);
      if (rounds > 100) break;
    }
    expect(rounds).toBeGreaterThan(1);
    expect(rounds).toBeLessThan(100);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    expect(l.epsilon).toBeLessThanOrEqual(3);
    const ref = new RdpAccountant();
    ref.compose(0.5, 3, rounds + 1);
    expect(ref.epsilon(1e-5)).toBeGreaterThan(3);
    expect(l.status().stopped).toMatch(
      new RegExp(`round ${rounds + 1} would take ε from .* above the target ε = 3`),
    );
  });

  it('calibrates z from the target so that the planned rounds fit, and runs them all', () => {
    const l = ledger({ noiseMultiplier: null, targetEpsilon: 2 }, 6);
    for (let round = 1; round <= 6; round++) {
      expect(l.refusal(1, 3), `round ${round}`).toBeNull();
      const r = l.begin(new FedAvg(), round, new Float32Array(2), 1, 3);
      r.add({ clientId: 'a', delta: new Float32Array([0, 0]), numSamples: 1 });
      r.finish();
    }
    expect(l.epsilon).toBeLessThanOrEqual(2);
    expect(l.epsilon).toBeGreaterThan(1.99);
    expect(l.refusal(1, 3)).toMatch(/above the target/);
  });

  it('resumes from its checkpointed state: the same ε, clip norm and noise multiplier', () => {
    const adaptive = { ...base, adaptiveClipping: ADAPTIVE_CLIP_DEFAULTS, noiseMultiplier: 0.8 };
    const l = new PrivacyLedger(adaptive, () => 10, null, seededRandomSource(testKey(5)));
    for (let round = 1; round <= 3; round++) {
      const r = l.begin(new FedAvg(), round, new Float32Array(4), 10, 20);
      for (let c = 0; c < 10; c++)
        r.add({ clientId: `c${c}`, delta: new Float32Array([0.01, 0, 0, 0]), numSamples: 1 });
      r.finish();
    }
    // Every update was far below C: the clip norm shrank toward the median norm.
    expect(l.currentClipNorm).toBeLessThan(0.85);
    const saved = JSON.parse(JSON.stringify(l.exportState()));
    const back = new PrivacyLedger(adaptive, () => 10, saved);
    expect(back.epsilon).toBe(l.epsilon);
    expect(back.currentClipNorm).toBe(l.currentClipNorm);
    const { samplingRate: _q, ...rest } = l.status();
    expect(back.status()).toMatchObject(rest);
  });
});
