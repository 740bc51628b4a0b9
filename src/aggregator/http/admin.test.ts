import { describe, expect, it } from 'vitest';
import { HISTORY_COLUMNS, historyCsv } from './admin.ts';

describe('history CSV', () => {
  it('rounds figures for people and keeps the columns (issue 11: cryptoSeconds 0.27970710600000165)', () => {
    const csv = historyCsv([
      {
        round: 1,
        participants: 2,
        accuracy: 0.1 + 0.2,
        macroF1: Number.NaN,
        mosMAE: 0.5,
        loss: 1.234_567_89,
        bytesUp: 123_456,
        bytesDown: 7,
        seconds: 2.000_000_000_1,
        outcome: 'aggregated',
        strategy: 'fedavg',
        cryptoSeconds: 0.279_707_106_000_001_65,
      },
    ]);
    const [head, line] = csv.trimEnd().split('\n');
    expect(head).toBe(HISTORY_COLUMNS.join(','));
    const row = Object.fromEntries(head!.split(',').map((k, i) => [k, line!.split(',')[i]]));
    expect(row).toMatchObject({
      accuracy: '0.3',
      macroF1: '',
      loss: '1.23457',
      bytesUp: '123456',
      seconds: '2',
      cryptoSeconds: '0.279707',
      outcome: 'aggregated',
    });
  });
});
