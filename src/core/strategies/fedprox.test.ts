import { describe, expect, it } from 'vitest';
import { FedProx } from './fedprox.ts';

const f32 = (...xs: number[]) => Float32Array.of(...xs);

// Server side = FedAvg. Worked by hand (as in fedavg.test.ts):
//   global = [1, 2, 3, 4]; a: Δ = [6, 0, −6, 1.5], n = 1; b: Δ = [0, 3, 6, 1.5], n = 2; c: Δ = [2, −1, 0, 1.5], n = 3
//   Σ n·Δ / Σ n = [12, 3, 6, 9] / 6 = [2, 0.5, 1, 1.5]  →  new = [3, 2.5, 4, 5.5]
const GLOBAL = f32(1, 2, 3, 4);
const A = () => ({ clientId: 'a', delta: f32(6, 0, -6, 1.5), numSamples: 1 });
const B = () => ({ clientId: 'b', delta: f32(0, 3, 6, 1.5), numSamples: 2 });
const C = () => ({ clientId: 'c', delta: f32(2, -1, 0, 1.5), numSamples: 3 });

describe('FedProx', () => {
  it('sends μ to the clients: default 0.01, or the configured value', () => {
    expect(new FedProx().fitConfig(0)).toEqual({ proxMu: 0.01 });
    expect(new FedProx({ proxMu: 0.5 }).fitConfig(7)).toEqual({ proxMu: 0.5 });
    expect(new FedProx({ proxMu: 0 }).fitConfig(1)).toEqual({ proxMu: 0 });
  });

  it('aggregates exactly as FedAvg on the server', () => {
    const s = new FedProx({ proxMu: 0.1 });
    expect(s.name).toBe('fedprox');
    const r = s.begin(0, GLOBAL);
    r.add(A());
    r.add(B());
    r.add(C());
    expect(Array.from(r.finish())).toEqual([3, 2.5, 4, 5.5]);
    expect(s.exportState()).toEqual({});
  });

  it('rejects a negative or non-finite μ', () => {
    expect(() => new FedProx({ proxMu: -0.1 })).toThrow(/proxMu must be a finite number ≥ 0, got -0.1/);
    expect(() => new FedProx({ proxMu: Number.NaN })).toThrow(/got NaN/);
    expect(() => new FedProx({ proxMu: Number.POSITIVE_INFINITY })).toThrow(/got Infinity/);
  });
});
