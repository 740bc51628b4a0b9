import { describe, expect, it } from 'vitest';
import { classSummary, classView, shareLine } from './class-view.ts';
import { round } from './dashboard/test-support.ts';

describe("the class view of a student's tab", () => {
  const history = [
    round(1),
    round(2, {
      contributed: ['c-b'],
      clientMetrics: [{ clientId: 'c-b', loss: 1, numSamples: 200, seconds: 1, samplesPerSec: 200 }],
      participants: 1,
    }),
    round(3, { accuracy: 0.1 + 0.7, macroF1: null }),
  ];

  it("lists the class model per round and this tab's contributions", () => {
    const v = classView(history, 'c-a');
    expect(v.rounds.map((r) => [r.round, r.mine])).toEqual([
      [1, true],
      [2, false],
      [3, true],
    ]);
    expect(v.contributed).toBe(2);
    // Round 3: c-a gave 100 of the 300 samples aggregated.
    expect(v.lastShare).toEqual({ round: 3, samples: 100, total: 300 });
    expect(shareLine(v, true)).toBe(
      'This tab contributed to 2 of 3 rounds; in round 3 it gave 33.3 % of the samples (100 of 300).',
    );
    expect(classSummary(v)).toBe('After round 3: accuracy 0.800, macro-F1 –.');
  });

  it('says so before the first round and before the tab joined', () => {
    expect(classSummary(classView([], null))).toMatch(/No round has finished yet/);
    expect(shareLine(classView(history, null), false)).toMatch(/not joined yet/);
    const outsider = classView(history, 'c-zzz');
    expect(outsider.contributed).toBe(0);
    expect(shareLine(outsider, true)).toBe('This tab contributed to 0 of 3 rounds.');
  });

  it('counts only aggregated updates in the share', () => {
    const h = round(1, {
      contributed: ['c-a'],
      clientMetrics: [
        { clientId: 'c-a', loss: 1, numSamples: 100, seconds: 1, samplesPerSec: 1 },
        { clientId: 'c-b', loss: 1, numSamples: 900, seconds: 1, samplesPerSec: 1 },
      ],
    });
    expect(classView([h], 'c-a').lastShare).toEqual({ round: 1, samples: 100, total: 100 });
  });
});
