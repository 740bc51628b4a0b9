/**
 * The admin token, stable across restarts: kept in `<data-dir>/admin-token` (mode 0600, written atomically),
 * made on the first start, read on the next ones, so a teacher's dashboard keeps working after a restart.
 * `PQFED_ADMIN_TOKEN` (passed in as `override`) still wins and is never written to disk. A server without a
 * data directory makes a fresh token per start.
 */
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';
import { newAdminToken } from './server.ts';

export const ADMIN_TOKEN_FILE = 'admin-token';

/** What a stored token must look like: base64url, 16 to 256 characters. */
const TOKEN = /^[A-Za-z0-9_-]{16,256}$/;

export class AdminTokenError extends Error {
  override name = 'AdminTokenError';
}

export interface AdminToken {
  token: string;
  /** Where it came from: the environment, the data directory's file, or made now (and stored when it could). */
  source: 'environment' | 'file' | 'new';
  /** The file that keeps it (null: not stored). */
  path: string | null;
}

export function adminTokenFor(dataDir: string | null, override?: string): AdminToken {
  if (override !== undefined && override !== '')
    return { token: override, source: 'environment', path: null };
  if (!dataDir) return { token: newAdminToken(), source: 'new', path: null };
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  if (existsSync(path)) {
    const token = readFileSync(path, 'utf8').trim();
    if (!TOKEN.test(token)) {
      throw new AdminTokenError(
        `${path}: expected one admin token of 16 to 256 characters A-Z a-z 0-9 _ -, got ${token.length} ` +
          'characters that are not one; delete the file and a new token is made at the next start',
      );
    }
    // Someone widened its mode: a token others can read is no secret.
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return { token, source: 'file', path };
  }
  const token = newAdminToken();
  writeFileAtomic(path, new TextEncoder().encode(`${token}\n`), 0o600);
  return { token, source: 'new', path };
}
