import { describe, expect, it } from 'vitest';
import { Rng } from '../random.ts';
import { createStrategy } from './index.ts';
import type { ClientUpdate, StrategyName } from './strategy.ts';

// 9 honest clients send honestMean + N(0, σ²) noise per coordinate (seeded); one Byzantine client sends a
// 100× scaled update. Model size d = 8, σ = 0.01, so an honest client's noise has norm ≈ σ√d ≈ 0.028 — the
// "noise scale" s below. ‖honestMean‖ ≈ 0.80.
//
// FedAvg (equal sample counts) lands near (9·μ + 100·u)/10: for u = μ that is ≈ 10.9·μ, for u = −μ ≈ −9.1·μ,
// i.e. ≈ 8 away from μ, hundreds of times s. We assert > 5·s, as a floor that cannot pass by luck.
//
// The robust rules must stay within 2·s of μ. Why that bound holds (f = 1 outlier among n = 10, n > 2f + 2):
// - median / trimmed mean (β = 0.1 → t = 1): whether or not the outlier is dropped, every value that is kept
//   lies within the honest values' range on that coordinate (asserted below), and the statistic sits near the
//   middle of 9 normal draws: a typical error of ≈ 0.4σ–0.6σ per coordinate, ≈ 0.5·s in norm.
// - Krum returns one honest delta (asserted), whose error is its own noise, ‖ε‖ ≈ s (and Krum picks the most
//   central one); Multi-Krum (m = n − f = 9) returns the mean of the 9 honest deltas (asserted), ≈ s/3.
// So 2·s leaves a margin of 2× over the worst expected case, while the attack moves FedAvg ≈ 280·s.
const D = 8;
const SIGMA = 0.01;
const NOISE_SCALE = SIGMA * Math.sqrt(D);
const HONEST_MEAN = [0.3, -0.2, 0.5, 0.1, -0.4, 0.25, -0.15, 0.05];
const GLOBAL = Float32Array.from([1, -1, 0.5, 2, 0, -0.5, 3, 1]);
const ROBUST = ['median', 'trimmed-mean', 'krum', 'multi-krum'] as const;
const ATTACKER_POSITION = 4; // in the middle of the arrivals, so ties by index do not help

function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

interface Scenario {
  label: string;
  updates: ClientUpdate[];
  honest: Float32Array[];
}

function scenario(label: string, seed: number, attack: (honest: Float32Array[]) => Float32Array): Scenario {
  const rng = new Rng(seed);
  const honest = Array.from({ length: 9 }, () =>
    Float32Array.from(HONEST_MEAN, (m) => m + SIGMA * rng.normal()),
  );
  const updates: ClientUpdate[] = honest.map((delta, k) => ({
    clientId: `honest-${k}`,
    delta,
    numSamples: 100,
  }));
  updates.splice(ATTACKER_POSITION, 0, { clientId: 'byzantine', delta: attack(honest), numSamples: 100 });
  return { label, updates, honest };
}

const SCENARIOS: Scenario[] = [
  scenario('100 × an honest delta', 2024, (h) => h[0]!.map((x) => 100 * x)),
  scenario('100 × a fixed adversarial direction (−honestMean)', 7, () =>
    Float32Array.from(HONEST_MEAN, (m) => -100 * m),
  ),
];

function aggregate(name: StrategyName, updates: readonly ClientUpdate[]): Float32Array {
  const r = createStrategy(name).begin(1, GLOBAL);
  for (const u of updates) r.add(u);
  return r.finish();
}

/** The delta a strategy applied: result − global. */
function applied(name: StrategyName, updates: readonly ClientUpdate[]): Float64Array {
  const out = aggregate(name, updates);
  return Float64Array.from(out, (x, i) => x - GLOBAL[i]!);
}

describe.each(SCENARIOS)('one Byzantine client among 10 sending $label', ({ updates, honest }) => {
  it('drags FedAvg (and FedProx) far from the honest mean', () => {
    for (const name of ['fedavg', 'fedprox'] as const) {
      const dist = distance(applied(name, updates), HONEST_MEAN);
      expect(dist).toBeGreaterThan(5 * NOISE_SCALE);
      expect(dist).toBeGreaterThan(5); // ≈ 8: more than six times the whole honest update
    }
  });

  it.each(ROBUST)('keeps %s within 2·σ√d of it', (name) => {
    const delta = applied(name, updates);
    expect(distance(delta, HONEST_MEAN)).toBeLessThan(2 * NOISE_SCALE);
  });

  it('median and trimmed mean stay within the honest range on every coordinate', () => {
    for (const name of ['median', 'trimmed-mean'] as const) {
      const delta = applied(name, updates);
      for (let j = 0; j < D; j++) {
        const column = honest.map((h) => h[j]!);
        // float32 rounding of global + delta and back: allow 1e-6.
        expect(delta[j]).toBeGreaterThanOrEqual(Math.min(...column) - 1e-6);
        expect(delta[j]).toBeLessThanOrEqual(Math.max(...column) + 1e-6);
      }
    }
  });

  it('Krum selects an honest delta and Multi-Krum averages exactly the 9 honest ones', () => {
    const krum = aggregate('krum', updates);
    const picked = honest.findIndex((h) => h.every((x, j) => Math.fround(GLOBAL[j]! + x) === krum[j]));
    expect(picked).toBeGreaterThanOrEqual(0);

    const multi = applied('multi-krum', updates);
    for (let j = 0; j < D; j++) {
      const mean = honest.reduce((s, h) => s + h[j]!, 0) / honest.length;
      expect(multi[j]).toBeCloseTo(mean, 6);
    }
  });
});
