import { describe, expect, it } from 'vitest';
import { buildCharts, clientLossSeries, formatValue, summary } from './series.ts';
import { round, status } from './test-support.ts';

describe('chart data', () => {
  it('never shows accuracy without macro-F1 and the dashed majority baseline', () => {
    const charts = buildCharts(status().history);
    const quality = charts.find((c) => c.id === 'quality')!;
    expect(quality.rounds).toEqual([1, 2, 3]);
    expect(quality.series.map((s) => [s.label, s.dashed ?? false])).toEqual([
      ['accuracy', false],
      ['macro-F1', false],
      ['majority baseline accuracy', true],
      ['majority baseline macro-F1', true],
    ]);
    // A closed round has no evaluation of its own: a gap, not a zero.
    expect(quality.series[0]!.values).toEqual([0.6, null, 0.8]);
    expect(charts.map((c) => c.id)).toEqual(['quality', 'loss', 'mos', 'client-loss', 'bytes', 'crypto']);
    expect(charts.find((c) => c.id === 'crypto')!.series[0]!.values).toEqual([0.01, 0.02, 0.03]);
  });

  it('has one local-loss series per client, with gaps where it did not train', () => {
    const s = clientLossSeries(status().history);
    expect(s.map((x) => x.label)).toEqual(['c-a', 'c-b']);
    expect(s[0]!.values).toEqual([1, null, 1 / 3]);
    expect(s[1]!.values).toEqual([1.5, 0.8, 0.5]);
  });

  it('treats a missing cryptoSeconds (an older server) as no value', () => {
    const { cryptoSeconds: _, ...old } = round(1);
    const crypto = buildCharts([old]).find((c) => c.id === 'crypto')!;
    expect(crypto.series[0]!.values).toEqual([null]);
  });

  it('summarises the latest values in words', () => {
    const charts = buildCharts(status().history);
    expect(summary(charts[0]!)).toBe(
      'Round 3: accuracy 0.800, macro-F1 0.500, majority baseline accuracy 0.250, majority baseline macro-F1 0.040.',
    );
    expect(summary(buildCharts([])[0]!)).toBe('No round has finished yet.');
    expect(formatValue('bytes', 2048)).toBe('2.0 KiB');
    expect(formatValue('seconds', 0.0123)).toBe('12 ms');
  });
});
