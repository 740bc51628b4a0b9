import { describe, expect, it } from 'vitest';
import { Rng } from '../random.ts';
import { DEFAULT_DYN_ALPHA, FedDyn } from './feddyn.ts';
import type { ClientUpdate } from './strategy.ts';

const f32 = (...xs: number[]) => Float32Array.of(...xs);

function expectClose(actual: ArrayLike<number>, expected: readonly number[], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((x, i) => {
    expect(actual[i]).toBeCloseTo(x, digits);
  });
}

function round(s: FedDyn, r: number, global: Float32Array, updates: readonly ClientUpdate[]): Float32Array {
  const agg = s.begin(r, global);
  for (const u of updates) agg.add(u);
  return agg.finish();
}

// Two rounds by hand with α = 0.1 and m = 4 clients in the federation, h0 = 0:
//
// Round 1: global = [1, 2]; a: Δ = [0.2, −0.4] (n = 1), b: Δ = [0.4, 0] (n = 100: the mean is unweighted)
//   ΣΔ = [0.6, −0.4], |P| = 2
//   h1 = h0 − α·ΣΔ/m = −0.1·[0.6, −0.4]/4 = [−0.015, 0.01]
//   step = ΣΔ/|P| − h1/α = [0.3, −0.2] − [−0.15, 0.1] = [0.45, −0.3]
//   new1 = [1.45, 1.7]
// Round 2: c: Δ = [−0.2, 0.2], |P| = 1
//   h2 = h1 − 0.1·[−0.2, 0.2]/4 = [−0.015 + 0.005, 0.01 − 0.005] = [−0.01, 0.005]
//   step = [−0.2, 0.2] − [−0.1, 0.05] = [−0.1, 0.15]
//   new2 = [1.35, 1.85]
const R1 = [
  { clientId: 'a', delta: f32(0.2, -0.4), numSamples: 1 },
  { clientId: 'b', delta: f32(0.4, 0), numSamples: 100 },
];
const R2 = [{ clientId: 'c', delta: f32(-0.2, 0.2), numSamples: 5 }];

describe('FedDyn', () => {
  it('uses α = 0.01 by default and sends it to the clients', () => {
    const s = new FedDyn();
    expect(DEFAULT_DYN_ALPHA).toBe(0.01);
    expect(s.dynAlpha).toBe(0.01);
    expect(s.fitConfig(1)).toEqual({ proxMu: 0, dynAlpha: 0.01 });
    expect(s.exportState()).toEqual({ h: new Float32Array(0), population: 0, step: 0 });
  });

  it('matches two rounds worked by hand (unweighted mean, h over the population)', () => {
    const s = new FedDyn({ dynAlpha: 0.1 });
    s.setPopulation(4);
    const new1 = round(s, 1, f32(1, 2), R1);
    expectClose(new1, [1.45, 1.7]);
    expectClose(s.exportState().h as Float32Array, [-0.015, 0.01], 8);
    const new2 = round(s, 2, new1, R2);
    expectClose(new2, [1.35, 1.85]);
    const st = s.exportState();
    expectClose(st.h as Float32Array, [-0.01, 0.005], 8);
    expect([st.population, st.step]).toEqual([4, 2]);
  });

  it('takes m ≥ the round’s participants and never lets the population shrink', () => {
    // No population told: m = |P| = 2, so h1 = −0.1·[0.6, −0.4]/2 = [−0.03, 0.02],
    // step = [0.3, −0.2] + [0.3, −0.2] = [0.6, −0.4] → [1.6, 1.6].
    const s = new FedDyn({ dynAlpha: 0.1 });
    expectClose(round(s, 1, f32(1, 2), R1), [1.6, 1.6]);
    expect(s.exportState().population).toBe(2);
    s.setPopulation(1);
    expect(s.exportState().population).toBe(2);
    expect(() => s.setPopulation(-1)).toThrow('feddyn: population must be an integer ≥ 0, got -1');
  });

  it('after export → import into a new instance, later rounds are bit-identical to an uninterrupted run', () => {
    const rng = new Rng(9);
    const d = 48;
    const updates = () =>
      Array.from({ length: 3 }, (_, k) => ({
        clientId: `c${k}`,
        delta: Float32Array.from({ length: d }, () => 0.1 * rng.normal()),
        numSamples: 1 + k,
      }));
    const rs = [updates(), updates(), updates()];
    const g0 = Float32Array.from({ length: d }, () => rng.normal());
    const a = new FedDyn({ dynAlpha: 0.05 });
    a.setPopulation(7);
    const g1 = round(a, 1, g0, rs[0]!);
    const saved = a.exportState();
    const g2a = round(a, 2, g1, rs[1]!);
    const g3a = round(a, 3, g2a, rs[2]!);
    const b = new FedDyn({ dynAlpha: 0.05 });
    b.importState(saved);
    const g2b = round(b, 2, g1, rs[1]!);
    expect(Array.from(g2b)).toEqual(Array.from(g2a));
    expect(Array.from(round(b, 3, g2b, rs[2]!))).toEqual(Array.from(g3a));
    expect(b.exportState()).toEqual(a.exportState());
    const fresh = new FedDyn({ dynAlpha: 0.05 });
    fresh.setPopulation(7);
    expect(Array.from(round(fresh, 2, g1, rs[1]!))).not.toEqual(Array.from(g2a));
  });

  it('checks the imported state, and lets only the latest round finish', () => {
    const s = new FedDyn();
    expect(() => s.importState({ h: f32(1), step: 1 })).toThrow(
      'feddyn: state must have exactly the keys h, population, step, got h, step',
    );
    expect(() => s.importState({ h: 1, population: 1, step: 1 })).toThrow(
      'feddyn: state.h must be a Float32Array',
    );
    expect(() => s.importState({ h: f32(Number.NaN), population: 1, step: 1 })).toThrow(
      'feddyn: state.h must be finite, got NaN at index 0',
    );
    expect(() => s.importState({ h: f32(1), population: 0, step: 1 })).toThrow(
      'feddyn: state.population must be an integer ≥ 1, got 0',
    );
    expect(() => s.importState({ h: f32(1), population: 2, step: 0 })).toThrow(
      /step must be 0 exactly when the moments are empty/,
    );
    s.importState({ h: f32(0, 0), population: 2, step: 1 });
    expect(() => s.begin(2, f32(1))).toThrow(
      'feddyn: global weights must have 2 values (the size of the server state h), got 1',
    );
    const stale = s.begin(2, f32(0, 0));
    const latest = s.begin(3, f32(0, 0));
    stale.add({ clientId: 'a', delta: f32(1, 1), numSamples: 1 });
    latest.add({ clientId: 'a', delta: f32(1, 1), numSamples: 1 });
    expect(() => stale.finish()).toThrow('feddyn: only the latest round begun may finish, got round 2');
    latest.finish();
    expect(s.exportState().step).toBe(2);
  });

  it('validates α', () => {
    expect(() => new FedDyn({ dynAlpha: 0 })).toThrow('feddyn: dynAlpha must be a finite number > 0, got 0');
    expect(() => new FedDyn({ dynAlpha: Number.NaN })).toThrow(/got NaN/);
  });
});
