import { describe, expect, it } from 'vitest';
import type { Explanation } from '../../model/explain.ts';
import {
  bars,
  displayValue,
  parseRow,
  shortNumber,
  signed,
  suggestionLabel,
  summarySentence,
} from './explain-panel.ts';

const explanation = (over: Partial<Explanation> = {}): Explanation => ({
  row: 7,
  predicted: { classIndex: 1, className: 'ddos', probability: 0.9731 },
  actual: { classIndex: 1, className: 'ddos' },
  mos: { predicted: 2.5, actual: 2.25 },
  target: 'ddos',
  targetIndex: 1,
  logit: 3.2,
  method: 'gradient × input',
  features: [
    { name: 'src_bytes', kind: 'numeric', value: 1.5, raw: 12345.678, attribution: -0.8 },
    { name: 'conn_state', kind: 'categorical', value: 'S0', attribution: 0.4 },
    { name: 'proto', kind: 'categorical', value: 'tcp', attribution: 0.2 },
    { name: 'duration', kind: 'numeric', value: 0, raw: 0.25, attribution: 0 },
  ],
  ...over,
});

describe('explain panel', () => {
  it('labels a suggestion with its row, prediction, confidence and truth', () => {
    expect(
      suggestionLabel({
        row: 123,
        predicted: { classIndex: 2, className: 'ddos', probability: 0.968 },
        actual: { classIndex: 2, className: 'ddos' },
        correct: true,
      }),
    ).toBe('row 123 — predicted ddos (97%), actually ddos');
  });

  it('scales bars to the largest attribution and puts negative ones on the away side', () => {
    const b = bars(explanation());
    expect(b.map((x) => [x.name, x.share, x.side])).toEqual([
      ['src_bytes', 1, 'away'],
      ['conn_state', 0.5, 'toward'],
      ['proto', 0.25, 'toward'],
      ['duration', 0, 'toward'],
    ]);
    expect(bars(explanation(), 2)).toHaveLength(2);
    expect(bars(explanation({ features: [] }))).toEqual([]);
  });

  it('writes values, signs and numbers for people', () => {
    expect(displayValue(explanation().features[0]!)).toBe('12300');
    expect(displayValue(explanation().features[1]!)).toBe('S0');
    expect(shortNumber(0.000012)).toBe('1.20e-5');
    expect(shortNumber(2.5e7)).toBe('2.50e+7');
    expect(signed(-0.8)).toBe('−0.800');
    expect(signed(0.0004)).toBe('+4.0e-4');
    expect(signed(0)).toBe('+0.000');
    // Float noise of the inverse transform reads as 0, not -4.40e-8 (issue 11).
    expect(shortNumber(-4.4e-8)).toBe('0');
    expect(signed(-3e-9)).toBe('+0.000');
  });

  it('says why a flow was flagged, naming the features that pushed toward the class', () => {
    expect(summarySentence(explanation())).toBe(
      'Flagged as ddos (p = 97%). The features that pushed the model most toward this class: conn_state (S0), proto (tcp). It is actually ddos: correct.',
    );
    const normal = explanation({
      predicted: { classIndex: 0, className: 'normal', probability: 0.6 },
      target: 'normal',
      features: [{ name: 'x', kind: 'numeric', value: 1, raw: 2, attribution: -1 }],
    });
    expect(summarySentence(normal)).toBe(
      'Classified as normal (p = 60%). No feature pushed the model toward this class. It is actually ddos: a mistake.',
    );
  });

  it('accepts only whole row numbers in range', () => {
    expect(parseRow(' 12 ', 100)).toEqual({ row: 12 });
    expect(parseRow('0', 1)).toEqual({ row: 0 });
    expect(parseRow('100', 100)).toEqual({ error: 'There are 100 held-out rows: enter a row from 0 to 99.' });
    for (const bad of ['', '-1', '1.5', 'abc', '01', '1e2'])
      expect(parseRow(bad, 100)).toHaveProperty('error');
    expect(parseRow('5000', null)).toEqual({ row: 5000 });
  });
});
