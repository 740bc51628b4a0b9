import { describe, expect, it } from 'vitest';
import { status } from './test-support.ts';
import { buildTimeline } from './timeline.ts';

describe('buildTimeline', () => {
  it('has a row per client ever seen (those who left kept) and a column per round', () => {
    const names = new Map([['c-a', 'Ada']]);
    const t = buildTimeline(status(), names);
    expect(t.rounds.map((r) => [r.round, r.outcome])).toEqual([
      [1, 'aggregated'],
      [2, 'closed'],
      [3, 'aggregated'],
    ]);
    expect(t.rows.map((r) => [r.id, r.name, r.present])).toEqual([
      ['c-a', 'Ada', false],
      ['c-b', 'Bea', true],
      ['c-c', 'Cem', true],
    ]);
    expect(names.get('c-c')).toBe('Cem');
  });

  it('marks contributed, failed with its reason, selected in a closed round, and not selected', () => {
    const t = buildTimeline(status());
    const [a, b, c] = t.rows;
    expect(a!.cells.map((x) => x.kind)).toEqual(['contributed', 'failed', 'contributed']);
    expect(a!.cells[1]!.title).toBe('Round 2: selected, failed: missed the deadline');
    expect(a!.cells[0]!.title).toBe('Round 1: contributed (local loss 1.000, 100 samples)');
    expect(b!.cells.map((x) => x.kind)).toEqual(['contributed', 'selected', 'contributed']);
    expect(b!.cells[1]!.title).toMatch(/closed without aggregating/);
    expect(c!.cells.map((x) => x.kind)).toEqual(['not-selected', 'not-selected', 'not-selected']);
  });

  it('adds the round in progress as a last column', () => {
    const t = buildTimeline(
      status({
        currentRound: {
          round: 4,
          attempt: 0,
          selected: ['c-b', 'c-c'],
          submitted: ['c-b'],
          failed: [],
          deadlineAt: '2026-01-01T00:00:00Z',
        },
      }),
    );
    expect(t.rounds.at(-1)).toEqual({ round: 4, outcome: 'in progress' });
    expect(t.rows.map((r) => r.cells.at(-1)!.kind)).toEqual(['not-selected', 'submitted', 'training']);
  });

  it('is empty before anyone joined', () => {
    const t = buildTimeline(status({ history: [], clientList: [] }));
    expect(t).toEqual({ rounds: [], rows: [] });
  });
});
