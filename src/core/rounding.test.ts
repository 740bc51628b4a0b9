import { describe, expect, it } from 'vitest';
import { csvNumber, shortNumber, significant } from './rounding.ts';

describe('rounding for people', () => {
  it('drops float noise: the figures of issue 11', () => {
    expect(shortNumber(-4.4e-8)).toBe('0');
    expect(csvNumber(0.27970710600000165)).toBe('0.279707');
    expect(significant(0.1 + 0.2)).toBe(0.3);
  });

  it('never writes a negative zero', () => {
    expect(Object.is(significant(-1e-9), 0)).toBe(true);
    expect(shortNumber(-0)).toBe('0');
    expect(csvNumber(-3e-12)).toBe('0');
  });

  it('keeps real small and large values, in exponent form at the ends', () => {
    expect(shortNumber(0.000_45)).toBe('4.50e-4');
    expect(shortNumber(12_345_678)).toBe('1.23e+7');
    expect(shortNumber(1234.5)).toBe('1230');
    expect(shortNumber(-0.123_456)).toBe('-0.123');
    expect(csvNumber(81_920)).toBe('81920');
  });

  it('leaves what is not a finite number to the caller', () => {
    expect(csvNumber(Number.NaN)).toBe('');
    expect(csvNumber(null)).toBe('');
    expect(shortNumber(Number.POSITIVE_INFINITY)).toBe('Infinity');
    expect(significant(Number.NaN)).toBeNaN();
  });
});
