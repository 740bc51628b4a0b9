import { describe, expect, it } from 'vitest';
import { FEDADAGRAD_DEFAULTS, FedAdagrad } from './fedadagrad.ts';
import type { ClientUpdate } from './strategy.ts';

const f32 = (...xs: number[]) => Float32Array.of(...xs);

function expectClose(actual: ArrayLike<number>, expected: readonly number[], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((x, i) => {
    expect(actual[i]).toBeCloseTo(x, digits);
  });
}

function round(s: FedAdagrad, r: number, global: Float32Array, updates: readonly ClientUpdate[]) {
  const agg = s.begin(r, global);
  for (const u of updates) agg.add(u);
  return agg.finish();
}

// Two rounds by hand with the defaults η = 0.1, β1 = 0.9, τ = 0.001, m0 = v0 = 0:
//
// Round 1: global = [1, 2, 3]; a: Δ = [0.1, −0.5, 0], n = 1; b: Δ = [0.5, −0.1, 0], n = 3
//   Δ1 = [0.4, −0.2, 0]
//   m1 = 0.1·Δ1 = [0.04, −0.02, 0]
//   v1 = 0 + Δ1² = [0.16, 0.04, 0]             √v1 = [0.4, 0.2, 0]
//   step = 0.1·m1 / (√v1 + 0.001) = [0.004/0.401, −0.002/0.201, 0/0.001] = [0.0099750623, −0.0099502488, 0]
//   new1 = [1.0099750623, 1.9900497512, 3]
//
// Round 2: c: Δ = [0.4, 0.2, 0.1], n = 5  →  Δ2 = [0.4, 0.2, 0.1]
//   m2 = 0.9·m1 + 0.1·Δ2 = [0.076, 0.002, 0.01]
//   v2 = v1 + Δ2² = [0.32, 0.08, 0.01]           √v2 = [0.5656854249, 0.2828427125, 0.1]
//   step = 0.1·m2 / (√v2 + 0.001) = [0.0076/0.5666854249, 0.0002/0.2838427125, 0.001/0.101]
//        = [0.0134113208, 0.0007046156, 0.0099009901]
//   new2 = [1.0233863831, 1.9907543668, 3.0099009901]
const R1 = [
  { clientId: 'a', delta: f32(0.1, -0.5, 0), numSamples: 1 },
  { clientId: 'b', delta: f32(0.5, -0.1, 0), numSamples: 3 },
];
const R2 = [{ clientId: 'c', delta: f32(0.4, 0.2, 0.1), numSamples: 5 }];

describe('FedAdagrad', () => {
  it('uses the defaults η = 0.1, β1 = 0.9, τ = 1e-3 and no proximal term', () => {
    const s = new FedAdagrad();
    expect(FEDADAGRAD_DEFAULTS).toEqual({ serverLearningRate: 0.1, beta1: 0.9, tau: 1e-3 });
    expect([s.name, s.serverLearningRate, s.beta1, s.tau]).toEqual(['fedadagrad', 0.1, 0.9, 1e-3]);
    expect(s.fitConfig(0)).toEqual({ proxMu: 0 });
    expect(s.exportState()).toEqual({ m: new Float32Array(0), v: new Float32Array(0), step: 0 });
  });

  it('matches two rounds worked by hand, moments included', () => {
    const s = new FedAdagrad();
    const new1 = round(s, 1, f32(1, 2, 3), R1);
    expectClose(new1, [1.0099750623, 1.9900497512, 3]);
    const st1 = s.exportState();
    expectClose(st1.m as Float32Array, [0.04, -0.02, 0], 8);
    expectClose(st1.v as Float32Array, [0.16, 0.04, 0], 7);

    const new2 = round(s, 2, new1, R2);
    expectClose(new2, [1.0233863831, 1.9907543668, 3.0099009901]);
    const st2 = s.exportState();
    expectClose(st2.m as Float32Array, [0.076, 0.002, 0.01], 8);
    expectClose(st2.v as Float32Array, [0.32, 0.08, 0.01], 7);
    expect(st2.step).toBe(2);
  });

  it('takes ever smaller steps for a constant delta (v only grows)', () => {
    // With β1 = 0, a constant Δ = 1 moves x by η·1/(√t + τ) in round t: 0.1/1.001, 0.1/(√2 + 0.001), …
    const s = new FedAdagrad({ beta1: 0 });
    let g: Float32Array = f32(0);
    const steps: number[] = [];
    for (let r = 1; r <= 4; r++) {
      const next = round(s, r, g, [{ clientId: 'a', delta: f32(1), numSamples: 1 }]);
      steps.push(next[0]! - g[0]!);
      g = next;
    }
    expectClose(steps, [0.1 / 1.001, 0.1 / (Math.SQRT2 + 0.001), 0.1 / (Math.sqrt(3) + 0.001), 0.1 / 2.001]);
  });

  it('validates its hyper-parameters', () => {
    expect(() => new FedAdagrad({ beta1: 1 })).toThrow(/fedadagrad: beta1 must be in \[0, 1\), got 1/);
    expect(() => new FedAdagrad({ serverLearningRate: 0 })).toThrow(
      /fedadagrad: serverLearningRate must be a finite number > 0, got 0/,
    );
    expect(() => new FedAdagrad({ tau: Number.NaN })).toThrow(
      /fedadagrad: tau must be a finite number > 0, got NaN/,
    );
  });
});
