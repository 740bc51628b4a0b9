import { describe, expect, it } from 'vitest';
import { Rng } from './random.ts';

describe('Rng', () => {
  it('is reproducible for a seed and differs across seeds', () => {
    const a = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextU32()
      )(new Rng(42)),
    );
    const b = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextU32()
      )(new Rng(42)),
    );
    const c = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextU32()
      )(new Rng(43)),
    );
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('draws uniforms in [0,1) with mean ≈ 1/2 and normals with variance ≈ 1', () => {
    const r = new Rng(1);
    let s = 0;
    let s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const u = r.next();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      s += u;
      const z = r.normal();
      s2 += z * z;
    }
    expect(s / n).toBeCloseTo(0.5, 1);
    expect(s2 / n).toBeCloseTo(1, 1);
  });

  it('draws Gamma(a) with mean a, for a below and above 1', () => {
    for (const a of [0.3, 2.5]) {
      const r = new Rng(7);
      let s = 0;
      const n = 20000;
      for (let i = 0; i < n; i++) s += r.gamma(a);
      expect(Math.abs(s / n - a) / a).toBeLessThan(0.05);
    }
  });

  it('draws Dirichlet vectors that sum to 1', () => {
    const p = new Rng(3).dirichlet(0.5, 10);
    expect(p).toHaveLength(10);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(() => new Rng(3).gamma(0)).toThrow(RangeError);
  });
});
