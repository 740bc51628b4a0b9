import { describe, expect, it } from 'vitest';
import { Rng } from '../random.ts';
import { FedAvg } from './fedavg.ts';
import { FEDAVGM_DEFAULTS, FedAvgM } from './fedavgm.ts';
import type { ClientUpdate } from './strategy.ts';

const f32 = (...xs: number[]) => Float32Array.of(...xs);

function expectClose(actual: ArrayLike<number>, expected: readonly number[], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((x, i) => {
    expect(actual[i]).toBeCloseTo(x, digits);
  });
}

function round(s: FedAvgM | FedAvg, r: number, global: Float32Array, updates: readonly ClientUpdate[]) {
  const agg = s.begin(r, global);
  for (const u of updates) agg.add(u);
  return agg.finish();
}

// Round 1: global = [1, 2, 3]; a: Δ = [0.1, −0.5, 0], n = 1; b: Δ = [0.5, −0.1, 0], n = 3
//   Δ1 = ([0.1, −0.5, 0] + 3·[0.5, −0.1, 0]) / 4 = [0.4, −0.2, 0]
// Round 2: c: Δ = [0.4, 0.2, 0.1], n = 5  →  Δ2 = [0.4, 0.2, 0.1]
//
// Defaults η = 1, β = 0.9:
//   m1 = Δ1 = [0.4, −0.2, 0]                   new1 = [1, 2, 3] + m1 = [1.4, 1.8, 3]
//   m2 = 0.9·m1 + Δ2 = [0.36 + 0.4, −0.18 + 0.2, 0 + 0.1] = [0.76, 0.02, 0.1]
//   new2 = new1 + m2 = [2.16, 1.82, 3.1]
// η = 0.5, β = 0.5:
//   m1 = [0.4, −0.2, 0]                        new1 = [1, 2, 3] + 0.5·m1 = [1.2, 1.9, 3]
//   m2 = 0.5·m1 + Δ2 = [0.6, 0.1, 0.1]         new2 = new1 + 0.5·m2 = [1.5, 1.95, 3.05]
const R1 = [
  { clientId: 'a', delta: f32(0.1, -0.5, 0), numSamples: 1 },
  { clientId: 'b', delta: f32(0.5, -0.1, 0), numSamples: 3 },
];
const R2 = [{ clientId: 'c', delta: f32(0.4, 0.2, 0.1), numSamples: 5 }];

describe('FedAvgM', () => {
  it('uses the defaults η = 1, β = 0.9 and no proximal term', () => {
    const s = new FedAvgM();
    expect(FEDAVGM_DEFAULTS).toEqual({ serverLearningRate: 1, serverMomentum: 0.9 });
    expect([s.name, s.serverLearningRate, s.serverMomentum]).toEqual(['fedavgm', 1, 0.9]);
    expect(s.fitConfig(0)).toEqual({ proxMu: 0 });
    expect(s.exportState()).toEqual({ m: new Float32Array(0), step: 0 });
  });

  it('matches two rounds worked by hand at the defaults, momentum included', () => {
    const s = new FedAvgM();
    const new1 = round(s, 1, f32(1, 2, 3), R1);
    expectClose(new1, [1.4, 1.8, 3]);
    expectClose(s.exportState().m as Float32Array, [0.4, -0.2, 0], 7);
    const new2 = round(s, 2, new1, R2);
    expectClose(new2, [2.16, 1.82, 3.1]);
    expectClose(s.exportState().m as Float32Array, [0.76, 0.02, 0.1], 7);
    expect(s.exportState().step).toBe(2);
  });

  it('matches two rounds worked by hand with η = 0.5, β = 0.5', () => {
    const s = new FedAvgM({ serverLearningRate: 0.5, serverMomentum: 0.5 });
    const new1 = round(s, 1, f32(1, 2, 3), R1);
    expectClose(new1, [1.2, 1.9, 3]);
    expectClose(round(s, 2, new1, R2), [1.5, 1.95, 3.05]);
    expectClose(s.exportState().m as Float32Array, [0.6, 0.1, 0.1], 7);
  });

  it('is FedAvg at η = 1, β = 0 (to one float32 rounding)', () => {
    const s = new FedAvgM({ serverMomentum: 0 });
    const a = new FedAvg();
    let gs: Float32Array = f32(1, 2, 3);
    let ga: Float32Array = f32(1, 2, 3);
    for (const [r, u] of [R1, R2, R1].entries()) {
      gs = round(s, r, gs, u);
      ga = round(a, r, ga, u);
      expectClose(gs, Array.from(ga), 6);
    }
  });

  it('after export → import into a new instance, later rounds are bit-identical to an uninterrupted run', () => {
    const rng = new Rng(5);
    const d = 40;
    const updates = () =>
      Array.from({ length: 3 }, (_, k) => ({
        clientId: `c${k}`,
        delta: Float32Array.from({ length: d }, () => 0.1 * rng.normal()),
        numSamples: 3 + k,
      }));
    const rs = [updates(), updates(), updates()];
    const g0 = Float32Array.from({ length: d }, () => rng.normal());
    const a = new FedAvgM({ serverLearningRate: 0.7 });
    const g1 = round(a, 1, g0, rs[0]!);
    const saved = a.exportState();
    const g2a = round(a, 2, g1, rs[1]!);
    const g3a = round(a, 3, g2a, rs[2]!);
    const b = new FedAvgM({ serverLearningRate: 0.7 });
    b.importState(saved);
    const g2b = round(b, 2, g1, rs[1]!);
    expect(Array.from(g2b)).toEqual(Array.from(g2a));
    expect(Array.from(round(b, 3, g2b, rs[2]!))).toEqual(Array.from(g3a));
    expect(b.exportState()).toEqual(a.exportState());
    expect(Array.from(round(new FedAvgM({ serverLearningRate: 0.7 }), 2, g1, rs[1]!))).not.toEqual(
      Array.from(g2a),
    );
  });

  it('checks the imported state, keeps copies, and lets only the latest round finish', () => {
    const s = new FedAvgM();
    expect(() => s.importState({ m: f32(1), v: f32(1), step: 1 })).toThrow(
      'fedavgm: state must have exactly the keys m, step, got m, step, v',
    );
    expect(() => s.importState({ m: 1, step: 1 })).toThrow('fedavgm: state.m must be a Float32Array');
    expect(() => s.importState({ m: f32(Number.NaN), step: 1 })).toThrow(
      'fedavgm: state.m must be finite, got NaN at index 0',
    );
    expect(() => s.importState({ m: f32(1), step: -2 })).toThrow(
      'fedavgm: state.step must be an integer ≥ 0, got -2',
    );
    expect(() => s.importState({ m: f32(1), step: 0 })).toThrow(
      /step must be 0 exactly when the moments are empty/,
    );
    const m = f32(0.5, 0.5);
    s.importState({ m, step: 1 });
    m.fill(9);
    expect(Array.from(s.exportState().m as Float32Array)).toEqual([0.5, 0.5]);
    expect(() => s.begin(2, f32(1))).toThrow(
      'fedavgm: global weights must have 2 values (the size of the server momentum), got 1',
    );
    expect(() => s.importState({ m: f32(1), step: 1 })).toThrow(
      'fedavgm: state.m must have 2 values (the model this instance aggregates), got 1',
    );

    const stale = s.begin(2, f32(0, 0));
    const latest = s.begin(3, f32(0, 0));
    stale.add({ clientId: 'a', delta: f32(1, 1), numSamples: 1 });
    latest.add({ clientId: 'a', delta: f32(1, 1), numSamples: 1 });
    expect(() => stale.finish()).toThrow('fedavgm: only the latest round begun may finish, got round 2');
    expectClose(latest.finish(), [0.9 * 0.5 + 1, 0.9 * 0.5 + 1]);
  });

  it('leaves its state unchanged when the momentum overflows float32', () => {
    const s = new FedAvgM();
    s.importState({ m: f32(3e38), step: 1 });
    const r = s.begin(2, f32(0));
    r.add({ clientId: 'a', delta: f32(3e38), numSamples: 1 }); // 0.9·3e38 + 3e38 > 3.4e38
    expect(() => r.finish()).toThrow('fedavgm: server momentum must fit in float32');
    expect(s.exportState()).toEqual({ m: f32(3e38), step: 1 });
  });

  it('validates its hyper-parameters', () => {
    expect(() => new FedAvgM({ serverMomentum: 1 })).toThrow(
      'fedavgm: serverMomentum must be in [0, 1), got 1',
    );
    expect(() => new FedAvgM({ serverMomentum: -0.1 })).toThrow(/got -0.1/);
    expect(() => new FedAvgM({ serverLearningRate: 0 })).toThrow(
      'fedavgm: serverLearningRate must be a finite number > 0, got 0',
    );
  });
});
