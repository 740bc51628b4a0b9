import { describe, expect, it } from 'vitest';
import { Rng } from '../random.ts';
import { FEDADAM_DEFAULTS, FedAdam } from './fedadam.ts';
import type { ClientUpdate } from './strategy.ts';

const f32 = (...xs: number[]) => Float32Array.of(...xs);

function expectClose(actual: ArrayLike<number>, expected: readonly number[], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((x, i) => {
    expect(actual[i]).toBeCloseTo(x, digits);
  });
}

// Two rounds by hand with the defaults η = 0.01, β1 = 0.9, β2 = 0.99, τ = 0.001, m0 = v0 = 0:
//
// Round 1: global = [1, 2, 3]
//   a: Δ = [0.1, −0.5, 0], n = 1;  b: Δ = [0.5, −0.1, 0], n = 3
//   Δ1 = ([0.1, −0.5, 0] + 3·[0.5, −0.1, 0]) / 4 = [1.6, −0.8, 0] / 4 = [0.4, −0.2, 0]
//   m1 = 0.1·Δ1 = [0.04, −0.02, 0]
//   v1 = 0.01·Δ1² = [0.0016, 0.0004, 0]           √v1 = [0.04, 0.02, 0]
//   step = 0.01·m1 / (√v1 + 0.001) = [0.0004/0.041, −0.0002/0.021, 0/0.001]
//        = [0.0097560976, −0.0095238095, 0]
//   new1 = [1.0097560976, 1.9904761905, 3]
//
// Round 2: global = new1
//   c: Δ = [0.4, 0.2, 0.1], n = 5  →  Δ2 = [0.4, 0.2, 0.1]
//   m2 = 0.9·m1 + 0.1·Δ2 = [0.036 + 0.04, −0.018 + 0.02, 0 + 0.01] = [0.076, 0.002, 0.01]
//   v2 = 0.99·v1 + 0.01·Δ2² = [0.001584 + 0.0016, 0.000396 + 0.0004, 0 + 0.0001] = [0.003184, 0.000796, 0.0001]
//   √v2 = [0.0564269439, 0.0282134720, 0.01]
//   step = 0.01·m2 / (√v2 + 0.001) = [0.00076/0.0574269439, 0.00002/0.0292134720, 0.0001/0.011]
//        = [0.0132342059, 0.0006846156, 0.0090909091]
//   new2 = [1.0229903035, 1.9911608061, 3.0090909091]
const R1 = [
  { clientId: 'a', delta: f32(0.1, -0.5, 0), numSamples: 1 },
  { clientId: 'b', delta: f32(0.5, -0.1, 0), numSamples: 3 },
];
const R2 = [{ clientId: 'c', delta: f32(0.4, 0.2, 0.1), numSamples: 5 }];
const NEW1 = [1.0097560976, 1.9904761905, 3];
const NEW2 = [1.0229903035, 1.9911608061, 3.0090909091];

function round(s: FedAdam, r: number, global: Float32Array, updates: readonly ClientUpdate[]): Float32Array {
  const agg = s.begin(r, global);
  for (const u of updates) agg.add(u);
  return agg.finish();
}

describe('FedAdam', () => {
  it('uses the defaults η = 0.01, β1 = 0.9, β2 = 0.99, τ = 1e-3 and no proximal term', () => {
    const s = new FedAdam();
    expect(FEDADAM_DEFAULTS).toEqual({ serverLearningRate: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
    expect([s.serverLearningRate, s.beta1, s.beta2, s.tau]).toEqual([0.01, 0.9, 0.99, 1e-3]);
    expect(s.fitConfig(0)).toEqual({ proxMu: 0 });
    expect(s.exportState()).toEqual({ m: new Float32Array(0), v: new Float32Array(0), step: 0 });
  });

  it('matches two rounds worked by hand, moments included', () => {
    const s = new FedAdam();
    const new1 = round(s, 1, f32(1, 2, 3), R1);
    expect(new1).toBeInstanceOf(Float32Array);
    expectClose(new1, NEW1);
    const st1 = s.exportState();
    expectClose(st1.m as Float32Array, [0.04, -0.02, 0], 8);
    expectClose(st1.v as Float32Array, [0.0016, 0.0004, 0], 8);
    expect(st1.step).toBe(1);

    const new2 = round(s, 2, new1, R2);
    expectClose(new2, NEW2);
    const st2 = s.exportState();
    expectClose(st2.m as Float32Array, [0.076, 0.002, 0.01], 8);
    expectClose(st2.v as Float32Array, [0.003184, 0.000796, 0.0001], 8);
    expect(st2.step).toBe(2);
  });

  it('carries its moments across rounds (a fresh instance gives a different second step)', () => {
    const s = new FedAdam();
    const new1 = round(s, 1, f32(1, 2, 3), R1);
    const fresh = round(new FedAdam(), 2, new1, R2);
    // From m = v = 0, Δ2 alone: step = 0.01·0.1·Δ2 / (0.1·|Δ2| + 0.001) = [0.0097561, 0.0095238, 0.0090909]
    expectClose(fresh, [NEW1[0]! + 0.0097560976, NEW1[1]! + 0.0095238095, 3 + 0.0090909091]);
    expect(fresh[0]).not.toBeCloseTo(NEW2[0]!, 4);
  });

  it('after export → import into a new instance, the next round is bit-identical to an uninterrupted run', () => {
    const rng = new Rng(7);
    const d = 50;
    const updates = (r: number) =>
      Array.from({ length: 4 }, (_, k) => ({
        clientId: `c${k}`,
        delta: Float32Array.from({ length: d }, () => 0.05 * rng.normal() + 0.01 * r),
        numSamples: 10 + k * 7,
      }));
    const global0 = Float32Array.from({ length: d }, () => rng.normal());
    const r1 = updates(1);
    const r2 = updates(2);
    const r3 = updates(3);

    const a = new FedAdam({ serverLearningRate: 0.1 });
    const g1 = round(a, 1, global0, r1);
    const saved = a.exportState();
    const g2a = round(a, 2, g1, r2);
    const g3a = round(a, 3, g2a, r3);

    const b = new FedAdam({ serverLearningRate: 0.1 });
    b.importState(saved);
    const g2b = round(b, 2, g1, r2);
    const g3b = round(b, 3, g2b, r3);

    expect(Array.from(g2b)).toEqual(Array.from(g2a));
    expect(Array.from(g3b)).toEqual(Array.from(g3a));
    expect(b.exportState()).toEqual(a.exportState());
  });

  it('exports and imports copies', () => {
    const s = new FedAdam();
    round(s, 1, f32(1, 2, 3), R1);
    const st = s.exportState();
    (st.m as Float32Array).fill(99);
    expectClose(s.exportState().m as Float32Array, [0.04, -0.02, 0], 8);

    const m = f32(0.04, -0.02, 0);
    const t = new FedAdam();
    t.importState({ m, v: f32(0.0016, 0.0004, 0), step: 1 });
    m.fill(99);
    expectClose(round(t, 2, Float32Array.from(NEW1), R2), NEW2);
  });

  it('checks the imported state', () => {
    const s = new FedAdam();
    const m = f32(0, 0, 0);
    const v = f32(0, 0, 0);
    expect(() => s.importState({ m, v: f32(0, 0), step: 1 })).toThrow(
      /state.v must have as many values as state.m \(3\), got 2/,
    );
    expect(() => s.importState({ m, v })).toThrow(/exactly the keys m, v, step, got m, v/);
    expect(() => s.importState({ m, v, step: 1, extra: 1 })).toThrow(/got extra, m, step, v/);
    expect(() => s.importState({ m: 1, v, step: 1 })).toThrow(/must be Float32Arrays/);
    expect(() => s.importState({ m, v, step: -1 })).toThrow(/step must be an integer ≥ 0, got -1/);
    expect(() => s.importState({ m, v, step: 1.5 })).toThrow(/got 1.5/);
    expect(() => s.importState({ m, v, step: 0 })).toThrow(
      /step must be 0 exactly when the moments are empty/,
    );
    expect(() => s.importState({ m: f32(0, Number.NaN, 0), v, step: 1 })).toThrow(
      /state.m must be finite, got NaN at index 1/,
    );
    expect(() => s.importState({ m, v: f32(0, 0, -0.5), step: 1 })).toThrow(
      /state.v must be finite and ≥ 0, got -0.5 at index 2/,
    );
    expect(() => s.importState({ m, v: f32(0, Number.POSITIVE_INFINITY, 0), step: 1 })).toThrow(
      /got Infinity at index 1/,
    );
    expect(s.exportState().step).toBe(0); // nothing was taken from the failed imports

    // The moments' length is the model's: a round on another model size is refused, and so is a state for
    // another model size once this instance has moments.
    s.importState({ m, v, step: 4 });
    expect(() => s.begin(5, f32(1, 2))).toThrow(
      /global weights must have 3 values \(the size of the server moments\), got 2/,
    );
    expect(() => s.importState({ m: f32(0, 0), v: f32(0, 0), step: 1 })).toThrow(
      /state.m must have 3 values \(the model this instance aggregates\), got 2/,
    );
  });

  it('lets only the latest round begun finish', () => {
    const s = new FedAdam();
    const stale = s.begin(1, f32(1, 2, 3));
    const latest = s.begin(2, f32(1, 2, 3));
    for (const u of R1) {
      stale.add(u);
      latest.add(u);
    }
    expect(() => stale.finish()).toThrow(/only the latest round begun may finish, got round 1/);
    expectClose(latest.finish(), NEW1);
    expect(s.exportState().step).toBe(1);
  });

  it('leaves its state unchanged when a step overflows float32', () => {
    const s = new FedAdam();
    const r = s.begin(1, f32(0, 0));
    r.add({ clientId: 'huge', delta: f32(1e30, 0), numSamples: 1 }); // v = 0.01·1e60 > 3.4e38
    expect(() => r.finish()).toThrow(/server moments must fit in float32/);
    expect(s.exportState()).toEqual({ m: new Float32Array(0), v: new Float32Array(0), step: 0 });
  });

  it('validates its hyper-parameters', () => {
    expect(() => new FedAdam({ serverLearningRate: 0 })).toThrow(
      /serverLearningRate must be a finite number > 0, got 0/,
    );
    expect(() => new FedAdam({ beta1: 1 })).toThrow(/beta1 must be in \[0, 1\), got 1/);
    expect(() => new FedAdam({ beta2: -0.1 })).toThrow(/beta2 must be in \[0, 1\), got -0.1/);
    expect(() => new FedAdam({ tau: 0 })).toThrow(/tau must be a finite number > 0, got 0/);
    expect(() => new FedAdam({ tau: Number.NaN })).toThrow(/got NaN/);
  });
});
