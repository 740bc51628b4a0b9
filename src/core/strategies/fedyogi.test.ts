import { describe, expect, it } from 'vitest';
import { FedAdam } from './fedadam.ts';
import { FEDYOGI_DEFAULTS, FedYogi } from './fedyogi.ts';
import type { ClientUpdate } from './strategy.ts';

const f32 = (...xs: number[]) => Float32Array.of(...xs);

function expectClose(actual: ArrayLike<number>, expected: readonly number[], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((x, i) => {
    expect(actual[i]).toBeCloseTo(x, digits);
  });
}

function round(s: FedYogi | FedAdam, r: number, global: Float32Array, updates: readonly ClientUpdate[]) {
  const agg = s.begin(r, global);
  for (const u of updates) agg.add(u);
  return agg.finish();
}

// Three rounds by hand with the defaults η = 0.01, β1 = 0.9, β2 = 0.99, τ = 0.001, m0 = v0 = 0
// (the same updates as fedadam.test.ts, plus a third round):
//
// Round 1: global = [1, 2, 3]; a: Δ = [0.1, −0.5, 0], n = 1; b: Δ = [0.5, −0.1, 0], n = 3
//   Δ1 = [0.4, −0.2, 0]                        Δ1² = [0.16, 0.04, 0]
//   m1 = 0.1·Δ1 = [0.04, −0.02, 0]
//   sign(v0 − Δ1²) = [−1, −1, 0]  →  v1 = 0 + 0.01·Δ1² = [0.0016, 0.0004, 0]   (as Adam's, from v0 = 0)
//   new1 = [1.0097560976, 1.9904761905, 3]     (as FedAdam's first step)
//
// Round 2: c: Δ = [0.4, 0.2, 0.1], n = 5  →  Δ2 = [0.4, 0.2, 0.1], Δ2² = [0.16, 0.04, 0.01]
//   m2 = 0.9·m1 + 0.1·Δ2 = [0.076, 0.002, 0.01]
//   v1 − Δ2² < 0 everywhere  →  v2 = v1 + 0.01·Δ2² = [0.0032, 0.0008, 0.0001]
//     (Adam: 0.99·v1 + 0.01·Δ2² = [0.003184, 0.000796, 0.0001]: Yogi does not decay v1)
//   √v2 = [0.0565685425, 0.0282842712, 0.01]
//   step = 0.01·m2 / (√v2 + 0.001) = [0.00076/0.0575685425, 0.00002/0.0292842712, 0.0001/0.011]
//        = [0.0132016544, 0.0006829605, 0.0090909091]
//   new2 = [1.0229577520, 1.9911591510, 3.0090909091]
//
// Round 3: d: Δ = [0.01, 0, 0.2], n = 2  →  Δ3² = [0.0001, 0, 0.04]
//   m3 = 0.9·m2 + 0.1·Δ3 = [0.0684 + 0.001, 0.0018, 0.009 + 0.02] = [0.0694, 0.0018, 0.029]
//   v2 − Δ3² = [0.0031 > 0, 0.0008 > 0, −0.0399 < 0]  →  signs [+1, +1, −1]
//   v3 = [0.0032 − 0.01·0.0001, 0.0008 − 0.01·0, 0.0001 + 0.01·0.04] = [0.003199, 0.0008, 0.0005]
//     (v shrinks by (1 − β2)·Δ² where Δ² < v, not by a factor β2)
//   √v3 = [0.0565597030, 0.0282842712, 0.0223606798]
//   step = 0.01·m3 / (√v3 + 0.001) = [0.000694/0.0575597030, 0.000018/0.0292842712, 0.00029/0.0233606798]
//        = [0.0120570462, 0.0006146644, 0.0124140223]
//   new3 = [1.0350147982, 1.9917738154, 3.0215049314]
const R1 = [
  { clientId: 'a', delta: f32(0.1, -0.5, 0), numSamples: 1 },
  { clientId: 'b', delta: f32(0.5, -0.1, 0), numSamples: 3 },
];
const R2 = [{ clientId: 'c', delta: f32(0.4, 0.2, 0.1), numSamples: 5 }];
const R3 = [{ clientId: 'd', delta: f32(0.01, 0, 0.2), numSamples: 2 }];
const NEW1 = [1.0097560976, 1.9904761905, 3];
const NEW2 = [1.022957752, 1.991159151, 3.0090909091];
const NEW3 = [1.0350147982, 1.9917738154, 3.0215049314];

describe('FedYogi', () => {
  it('uses the defaults η = 0.01, β1 = 0.9, β2 = 0.99, τ = 1e-3 and no proximal term', () => {
    const s = new FedYogi();
    expect(FEDYOGI_DEFAULTS).toEqual({ serverLearningRate: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
    expect([s.name, s.serverLearningRate, s.beta1, s.beta2, s.tau]).toEqual([
      'fedyogi',
      0.01,
      0.9,
      0.99,
      1e-3,
    ]);
    expect(s.fitConfig(0)).toEqual({ proxMu: 0 });
    expect(s.exportState()).toEqual({ m: new Float32Array(0), v: new Float32Array(0), step: 0 });
  });

  it('matches three rounds worked by hand, moments included, both signs of v − Δ²', () => {
    const s = new FedYogi();
    const new1 = round(s, 1, f32(1, 2, 3), R1);
    expectClose(new1, NEW1);
    expectClose(s.exportState().v as Float32Array, [0.0016, 0.0004, 0], 8);

    const new2 = round(s, 2, new1, R2);
    expectClose(new2, NEW2);
    const st2 = s.exportState();
    expectClose(st2.m as Float32Array, [0.076, 0.002, 0.01], 8);
    expectClose(st2.v as Float32Array, [0.0032, 0.0008, 0.0001], 8);

    const new3 = round(s, 3, new2, R3);
    expectClose(new3, NEW3);
    const st3 = s.exportState();
    expectClose(st3.m as Float32Array, [0.0694, 0.0018, 0.029], 8);
    expectClose(st3.v as Float32Array, [0.003199, 0.0008, 0.0005], 8);
    expect(st3.step).toBe(3);
  });

  it('differs from FedAdam from the second round on (its v does not decay by β2)', () => {
    const yogi = new FedYogi();
    const adam = new FedAdam();
    const y1 = round(yogi, 1, f32(1, 2, 3), R1);
    const a1 = round(adam, 1, f32(1, 2, 3), R1);
    expect(Array.from(y1)).toEqual(Array.from(a1));
    const y2 = round(yogi, 2, y1, R2);
    const a2 = round(adam, 2, a1, R2);
    expect(y2[0]).not.toBeCloseTo(a2[0]!, 5); // 1.0229578 vs FedAdam's 1.0229903
    expect(Array.from(yogi.exportState().v as Float32Array)).not.toEqual(
      Array.from(adam.exportState().v as Float32Array),
    );
  });

  it('validates its hyper-parameters', () => {
    expect(() => new FedYogi({ beta2: 1 })).toThrow(/fedyogi: beta2 must be in \[0, 1\), got 1/);
    expect(() => new FedYogi({ beta1: -0.5 })).toThrow(/fedyogi: beta1 must be in \[0, 1\), got -0.5/);
    expect(() => new FedYogi({ serverLearningRate: Number.POSITIVE_INFINITY })).toThrow(
      /fedyogi: serverLearningRate must be a finite number > 0, got Infinity/,
    );
    expect(() => new FedYogi({ tau: -1 })).toThrow(/fedyogi: tau must be a finite number > 0, got -1/);
  });
});
