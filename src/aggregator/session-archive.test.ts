import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARCHIVE_DIR, ARCHIVE_FORMAT, archiveSession } from './session-archive.ts';

describe('session archives', () => {
  const at = new Date('2026-11-27T17:04:31.123Z');
  const session = { session: 'ab12', rounds: 1, strategy: 'fedavg', configDigest: 'd', history: [] };

  it('writes <session>-<date>.json, 0600, with the history and never over an earlier archive', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pqfed-archive-'));
    const first = archiveSession(dir, session, at);
    expect(basename(first)).toBe('ab12-2026-11-27T17-04-31.json');
    expect(statSync(first).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(first, 'utf8'))).toEqual({
      format: ARCHIVE_FORMAT,
      version: 1,
      archivedAt: at.toISOString(),
      ...session,
    });
    const second = archiveSession(dir, { ...session, rounds: 2 }, at);
    expect(basename(second)).toBe('ab12-2026-11-27T17-04-31-2.json');
    expect(readdirSync(join(dir, ARCHIVE_DIR)).sort()).toEqual([basename(first), basename(second)].sort());
    expect(JSON.parse(readFileSync(first, 'utf8')).rounds).toBe(1);
  });

  it('keeps a session id from naming a path outside the archive', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pqfed-archive-'));
    const path = archiveSession(dir, { ...session, session: '../../etc/x' }, at);
    expect(path.startsWith(join(dir, ARCHIVE_DIR))).toBe(true);
    expect(basename(path)).toBe('etcx-2026-11-27T17-04-31.json');
  });
});
