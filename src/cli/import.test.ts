import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { float32Text } from './import.ts';

describe('float32Text', () => {
  it('writes the shortest decimal that reads back as the same float32', () => {
    expect(float32Text(Math.fround(0.000297))).toBe('0.000297');
    expect(float32Text(Math.fround(0.001))).toBe('0.001');
    expect(float32Text(Math.fround(290.37155))).toBe('290.37155');
    expect(float32Text(42)).toBe('42');
    expect(float32Text(-0.5)).toBe('-0.5');
    expect(float32Text(Math.fround(1e-40))).toBe('1e-40'); // subnormal
  });

  it('round-trips every float32', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (f) => {
        const text = float32Text(f);
        expect(Math.fround(Number(text))).toBe(f === 0 ? 0 : f);
        const digits = text.replace(/^-|e.*$|\./g, '').replace(/^0+|0+$/g, '');
        expect(digits.length).toBeLessThanOrEqual(9);
      }),
      { numRuns: 2000 },
    );
  });
});
