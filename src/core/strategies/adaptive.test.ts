import { describe, expect, it } from 'vitest';
import { Rng } from '../random.ts';
import type { AdaptiveServerOptimizer } from './adaptive.ts';
import { FedAdagrad } from './fedadagrad.ts';
import { FedAdam } from './fedadam.ts';
import { FedYogi } from './fedyogi.ts';
import type { ClientUpdate } from './strategy.ts';

// The state handling shared by the three adaptive optimisers (adaptive.ts); each one's maths is worked by
// hand in its own test file.

const f32 = (...xs: number[]) => Float32Array.of(...xs);

function round(
  s: AdaptiveServerOptimizer,
  r: number,
  global: Float32Array,
  updates: readonly ClientUpdate[],
) {
  const agg = s.begin(r, global);
  for (const u of updates) agg.add(u);
  return agg.finish();
}

const MAKE = {
  fedadam: (p = {}) => new FedAdam(p),
  fedyogi: (p = {}) => new FedYogi(p),
  fedadagrad: (p = {}) => new FedAdagrad(p),
} as const;

describe.each(Object.entries(MAKE))('%s (adaptive.ts)', (name, make) => {
  it('after export → import into a new instance, later rounds are bit-identical to an uninterrupted run', () => {
    const rng = new Rng(11);
    const d = 64;
    const updates = (r: number) =>
      Array.from({ length: 3 }, (_, k) => ({
        clientId: `c${k}`,
        delta: Float32Array.from({ length: d }, () => 0.05 * rng.normal() + 0.01 * r),
        numSamples: 5 + k * 11,
      }));
    const global0 = Float32Array.from({ length: d }, () => rng.normal());
    const rs = [1, 2, 3, 4].map(updates);

    const a = make({ serverLearningRate: 0.05 });
    const g1 = round(a, 1, global0, rs[0]!);
    const g2 = round(a, 2, g1, rs[1]!);
    const saved = a.exportState();
    const g3a = round(a, 3, g2, rs[2]!);
    const g4a = round(a, 4, g3a, rs[3]!);

    const b = make({ serverLearningRate: 0.05 });
    b.importState(saved);
    const g3b = round(b, 3, g2, rs[2]!);
    const g4b = round(b, 4, g3b, rs[3]!);
    expect(Array.from(g3b)).toEqual(Array.from(g3a));
    expect(Array.from(g4b)).toEqual(Array.from(g4a));
    expect(b.exportState()).toEqual(a.exportState());
    // …and the state mattered: a fresh instance gives another third round.
    expect(Array.from(round(make({ serverLearningRate: 0.05 }), 3, g2, rs[2]!))).not.toEqual(Array.from(g3a));
  });

  it('exports and imports copies', () => {
    const s = make();
    round(s, 1, f32(1, 2), [{ clientId: 'a', delta: f32(0.5, -0.5), numSamples: 1 }]);
    const st = s.exportState();
    (st.m as Float32Array).fill(99);
    expect(Array.from(s.exportState().m as Float32Array)).toEqual([Math.fround(0.05), Math.fround(-0.05)]);
    const m = f32(1, 1);
    const t = make();
    t.importState({ m, v: f32(1, 1), step: 1 });
    m.fill(7);
    expect(Array.from(t.exportState().m as Float32Array)).toEqual([1, 1]);
  });

  it('checks the imported state and keeps its own on a refusal', () => {
    const s = make();
    const m = f32(0, 0, 0);
    const v = f32(0, 0, 0);
    expect(() => s.importState({ m, v: f32(0, 0), step: 1 })).toThrow(
      `${name}: state.v must have as many values as state.m (3), got 2`,
    );
    expect(() => s.importState({ m, v })).toThrow(
      `${name}: state must have exactly the keys m, v, step, got m, v`,
    );
    expect(() => s.importState({ m, v, step: 0 })).toThrow(
      /step must be 0 exactly when the moments are empty/,
    );
    expect(() => s.importState({ m: f32(0, Number.NaN, 0), v, step: 1 })).toThrow(
      `${name}: state.m must be finite, got NaN at index 1`,
    );
    expect(() => s.importState({ m, v: f32(0, -1, 0), step: 1 })).toThrow(
      `${name}: state.v must be finite and ≥ 0, got -1 at index 1`,
    );
    expect(s.exportState().step).toBe(0);
    s.importState({ m, v, step: 2 });
    expect(() => s.begin(3, f32(1, 2))).toThrow(
      `${name}: global weights must have 3 values (the size of the server moments), got 2`,
    );
  });

  it('lets only the latest round begun finish', () => {
    const s = make();
    const stale = s.begin(1, f32(1));
    const latest = s.begin(2, f32(1));
    stale.add({ clientId: 'a', delta: f32(1), numSamples: 1 });
    latest.add({ clientId: 'a', delta: f32(1), numSamples: 1 });
    expect(() => stale.finish()).toThrow(`${name}: only the latest round begun may finish, got round 1`);
    latest.finish();
    expect(s.exportState().step).toBe(1);
  });

  it('leaves its state unchanged when the moments overflow float32', () => {
    const s = make();
    const r = s.begin(1, f32(0, 0));
    r.add({ clientId: 'huge', delta: f32(1e30, 0), numSamples: 1 }); // Δ² = 1e60 > 3.4e38
    expect(() => r.finish()).toThrow(`${name}: server moments must fit in float32`);
    expect(s.exportState()).toEqual({ m: new Float32Array(0), v: new Float32Array(0), step: 0 });
  });
});
