import { describe, expect, it } from 'vitest';
import { FedAvg } from './fedavg.ts';

const f32 = (...xs: number[]) => Float32Array.of(...xs);

// Worked by hand (3 clients × 4 coordinates):
//   global = [1, 2, 3, 4]
//   a: Δ = [ 6,  0, -6, 1.5], n = 1
//   b: Δ = [ 0,  3,  6, 1.5], n = 2
//   c: Δ = [ 2, -1,  0, 1.5], n = 3
//   Σ n·Δ = [6 + 0 + 6, 0 + 6 − 3, −6 + 12 + 0, 1.5 + 3 + 4.5] = [12, 3, 6, 9];  Σ n = 6
//   mean Δ = [2, 0.5, 1, 1.5]  →  new = [3, 2.5, 4, 5.5]
//   (the unweighted mean would be [8/3, 2/3, 0, 1.5] → [3.667, 2.667, 3, 5.5], so weights matter)
const GLOBAL = f32(1, 2, 3, 4);
const A = () => ({ clientId: 'a', delta: f32(6, 0, -6, 1.5), numSamples: 1 });
const B = () => ({ clientId: 'b', delta: f32(0, 3, 6, 1.5), numSamples: 2 });
const C = () => ({ clientId: 'c', delta: f32(2, -1, 0, 1.5), numSamples: 3 });

describe('FedAvg', () => {
  it('returns global + the sample-weighted mean delta (hand-computed)', () => {
    const r = new FedAvg().begin(0, GLOBAL);
    r.add(A());
    r.add(B());
    r.add(C());
    expect(r.accepted).toBe(3);
    const out = r.finish();
    expect(out).toBeInstanceOf(Float32Array);
    expect(Array.from(out)).toEqual([3, 2.5, 4, 5.5]);
  });

  it('weights by numSamples: equal counts give the plain mean', () => {
    const r = new FedAvg().begin(0, GLOBAL);
    for (const u of [A(), B(), C()]) r.add({ ...u, numSamples: 7 });
    // mean Δ = [8/3, 2/3, 0, 1.5]
    const out = r.finish();
    expect(out[0]).toBeCloseTo(1 + 8 / 3, 6);
    expect(out[1]).toBeCloseTo(2 + 2 / 3, 6);
    expect(out[2]).toBe(3);
    expect(out[3]).toBe(5.5);
  });

  it('does not depend on the order of arrival', () => {
    const r = new FedAvg().begin(0, GLOBAL);
    r.add(C());
    r.add(A());
    r.add(B());
    expect(Array.from(r.finish())).toEqual([3, 2.5, 4, 5.5]);
  });

  it('streams: mutating or reusing the caller’s delta after add does not change the result', () => {
    const r = new FedAvg().begin(0, GLOBAL);
    const buf = f32(6, 0, -6, 1.5);
    r.add({ clientId: 'a', delta: buf, numSamples: 1 });
    // The transport reuses its buffer for the next client: if the round had kept a reference to `buf`, the
    // result would count b twice and a never.
    buf.set([0, 3, 6, 1.5]);
    r.add({ clientId: 'b', delta: buf, numSamples: 2 });
    buf.set([2, -1, 0, 1.5]);
    r.add({ clientId: 'c', delta: buf, numSamples: 3 });
    buf.fill(1e6);
    expect(Array.from(r.finish())).toEqual([3, 2.5, 4, 5.5]);
  });

  it('returns a new array and neither modifies nor keeps the global weights', () => {
    const global = f32(1, 2, 3, 4);
    const r = new FedAvg().begin(0, global);
    global.fill(-100); // the caller reuses its array during the round
    r.add(A());
    r.add(B());
    r.add(C());
    const out = r.finish();
    expect(out).not.toBe(global);
    expect(Array.from(out)).toEqual([3, 2.5, 4, 5.5]);
    expect(Array.from(global)).toEqual([-100, -100, -100, -100]);
  });

  it('accumulates in Float64 and returns Float32', () => {
    // In Float32, 1e8 + 1 rounds back to 1e8 (spacing 8 there), so a Float32 running sum would give
    // (1e8 + 1 − 1e8)/3 = 0. In Float64 the sum is exactly 1, so the mean is 1/3.
    const r = new FedAvg().begin(0, f32(0));
    r.add({ clientId: 'big', delta: f32(1e8), numSamples: 1 });
    r.add({ clientId: 'one', delta: f32(1), numSamples: 1 });
    r.add({ clientId: 'minus-big', delta: f32(-1e8), numSamples: 1 });
    const out = r.finish();
    expect(out).toBeInstanceOf(Float32Array);
    expect(out[0]).toBe(Math.fround(1 / 3));
  });

  it('is stateless and asks clients for no proximal term', () => {
    const s = new FedAvg();
    expect(s.name).toBe('fedavg');
    expect(s.fitConfig(3)).toEqual({ proxMu: 0 });
    expect(s.exportState()).toEqual({});
  });
});
