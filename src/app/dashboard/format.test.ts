import { describe, expect, it } from 'vitest';
import {
  bytes,
  DASH,
  duration,
  exportName,
  fingerprintGroups,
  joinLink,
  num,
  pct,
  phaseLine,
  shortAddress,
} from './format.ts';
import { status } from './test-support.ts';

describe('format', () => {
  it('writes metrics, shares, sizes and durations, with a dash for a missing value', () => {
    expect(num(0.12345)).toBe('0.123');
    expect(num(null)).toBe(DASH);
    expect(num(Number.NaN)).toBe(DASH);
    expect(pct(0.8123)).toBe('81.2 %');
    expect(pct(undefined)).toBe(DASH);
    expect([bytes(512), bytes(86_852), bytes(3 * 1024 * 1024)]).toEqual(['512 B', '84.8 KiB', '3.00 MiB']);
    expect([duration(0.004), duration(2.25), duration(185)]).toEqual(['4 ms', '2.3 s', '3 min 5 s']);
  });

  it("uses the server's join link, else this origin with the fingerprint in the fragment", () => {
    const fp = 'q3xo-abcd';
    expect(
      joinLink({ join: 'http://192.168.1.5:8080/?autojoin=1#fp=q3xo-abcd', serverKeyFingerprint: fp }, 'x'),
    ).toBe('http://192.168.1.5:8080/?autojoin=1#fp=q3xo-abcd');
    expect(joinLink({ join: null, serverKeyFingerprint: fp }, 'http://127.0.0.1:4173')).toBe(
      'http://127.0.0.1:4173/?autojoin=1#fp=q3xo-abcd',
    );
    expect(shortAddress('http://192.168.1.5:8080/?autojoin=1#fp=q3xo-abcd')).toBe(
      '192.168.1.5:8080/?autojoin=1',
    );
    expect(shortAddress('https://[fe80::1]:8443/?autojoin=1#fp=q3xo')).toBe('[fe80::1]:8443/?autojoin=1');
    expect(fingerprintGroups(fp)).toEqual(['q3xo', 'abcd']);
    expect(fingerprintGroups(null)).toEqual([]);
  });

  it('says where the experiment is', () => {
    expect(phaseLine(status())).toBe('Waiting for clients. 3 of 10 rounds done. 2 clients connected.');
    const s = status({
      phase: 'training',
      clients: 1,
      currentRound: {
        round: 4,
        attempt: 1,
        selected: ['a', 'b'],
        submitted: ['a'],
        failed: [],
        deadlineAt: '',
      },
    });
    expect(phaseLine(s)).toBe('Training round 4 of 10 (retry 1): 1 of 2 updates in. 1 client connected.');
    // With many clients the lists hold only the listed ones; the counts are the whole round's.
    const many = status({
      phase: 'training',
      clients: 1000,
      currentRound: {
        round: 1,
        attempt: 0,
        selected: ['a', 'b'],
        submitted: ['a'],
        failed: [],
        selectedCount: 1000,
        submittedCount: 640,
        failedCount: 0,
        deadlineAt: '',
      },
    });
    expect(phaseLine(many)).toBe('Training round 1 of 10: 640 of 1000 updates in. 1000 clients connected.');
  });

  it('names downloads after the session and round, with safe characters only', () => {
    expect(exportName('history', 'ab12cd34ef56', 3, 'csv')).toBe('pqfed-history-ab12cd34-r3.csv');
    expect(exportName('model', '../..', 0, 'json')).toBe('pqfed-model-session-r0.json');
  });
});
