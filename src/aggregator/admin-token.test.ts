import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN_FILE, AdminTokenError, adminTokenFor } from './admin-token.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'pqfed-token-'));

describe('the admin token kept in the data directory', () => {
  it('is made once, stored 0600, and read back on the next start', () => {
    const d = dir();
    const first = adminTokenFor(d);
    expect(first.source).toBe('new');
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const path = join(d, ADMIN_TOKEN_FILE);
    expect(first.path).toBe(path);
    expect(readFileSync(path, 'utf8')).toBe(`${first.token}\n`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const second = adminTokenFor(d);
    expect(second).toEqual({ token: first.token, source: 'file', path });
  });

  it('gives way to PQFED_ADMIN_TOKEN, which is never written to disk', () => {
    const d = dir();
    expect(adminTokenFor(d, 'from-the-environment')).toEqual({
      token: 'from-the-environment',
      source: 'environment',
      path: null,
    });
    expect(existsSync(join(d, ADMIN_TOKEN_FILE))).toBe(false);
  });

  it('narrows a widened file mode, and refuses a file that holds no token', () => {
    const d = dir();
    const path = join(d, ADMIN_TOKEN_FILE);
    writeFileSync(path, 'a-stable-token-of-enough-length\n');
    chmodSync(path, 0o644);
    expect(adminTokenFor(d).token).toBe('a-stable-token-of-enough-length');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    writeFileSync(path, 'short\n');
    expect(() => adminTokenFor(d)).toThrow(AdminTokenError);
    writeFileSync(path, 'has spaces and more than sixteen\n');
    expect(() => adminTokenFor(d)).toThrow(/delete the file/);
  });

  it('is fresh per start without a data directory', () => {
    const a = adminTokenFor(null);
    expect(a.path).toBeNull();
    expect(adminTokenFor(null).token).not.toBe(a.token);
  });
});
