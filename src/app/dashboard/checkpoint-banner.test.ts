import { describe, expect, it } from 'vitest';
import { checkpointWarning } from './checkpoint-banner.ts';

describe('checkpointWarning', () => {
  it('says nothing while writes work or on older servers', () => {
    expect(checkpointWarning(undefined)).toBeNull();
    expect(checkpointWarning({ ok: true, error: null, failedSince: null, lastSavedRound: 3 })).toBeNull();
  });

  it('names the error, since when, and the last round saved', () => {
    const w = checkpointWarning({
      ok: false,
      error: 'ENOSPC: no space left on device',
      failedSince: '2026-11-27T17:30:05.000Z',
      lastSavedRound: 4,
    });
    expect(w).toContain('ENOSPC: no space left on device');
    expect(w).toContain('since 17:30:05 UTC');
    expect(w).toContain('the last saved round is 4');
  });
});
