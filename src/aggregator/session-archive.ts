/**
 * "New class": before the coordinator starts a fresh session, the finished one's history goes to
 * `<data-dir>/archive/<session>-<UTC date and time>.json`, written atomically (atomic-file.ts), never over
 * an earlier archive. The archive is JSON, as `GET /api/admin/export` gives it (NaN, a metric that could not
 * be computed, becomes null).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';
import type { RoundRecord } from './checkpoint.ts';

export const ARCHIVE_DIR = 'archive';
export const ARCHIVE_FORMAT = 'pqfed-session-archive';

export interface SessionArchive {
  format: typeof ARCHIVE_FORMAT;
  version: 1;
  session: string;
  archivedAt: string;
  /** Rounds completed in the session. */
  rounds: number;
  strategy: string;
  configDigest: string;
  history: RoundRecord[];
}

/** Writes the archive; returns its path. */
export function archiveSession(
  dataDir: string,
  s: Omit<SessionArchive, 'format' | 'version' | 'archivedAt'>,
  now: Date = new Date(),
): string {
  const dir = join(dataDir, ARCHIVE_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stamp = now.toISOString().slice(0, 19).replace(/:/g, '-');
  const safe = s.session.replace(/[^0-9a-zA-Z]/g, '').slice(0, 32) || 'session';
  let path = join(dir, `${safe}-${stamp}.json`);
  for (let i = 2; existsSync(path); i++) path = join(dir, `${safe}-${stamp}-${i}.json`);
  const archive: SessionArchive = {
    format: ARCHIVE_FORMAT,
    version: 1,
    archivedAt: now.toISOString(),
    ...s,
  };
  writeFileAtomic(path, new TextEncoder().encode(`${JSON.stringify(archive, null, 1)}\n`), 0o600);
  return path;
}
