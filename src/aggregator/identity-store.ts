/**
 * The aggregator's long-term ML-DSA-65 identity, kept in its data directory (file mode 0600) and created on
 * first start. Its fingerprint is printed at start-up and travels in the join link.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeIdentity, encodeIdentity, generateIdentity, type Identity } from '../crypto/identity.ts';
import { writeFileAtomic } from './atomic-file.ts';

export const IDENTITY_FILE = 'server-identity.key';

export class IdentityFileError extends Error {
  override name = 'IdentityFileError';
}

export function loadOrCreateServerIdentity(dataDir: string): { identity: Identity; created: boolean } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, IDENTITY_FILE);
  if (existsSync(path)) {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) {
      throw new IdentityFileError(`${path} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
    }
    try {
      return { identity: decodeIdentity(readFileSync(path)), created: false };
    } catch (e) {
      throw new IdentityFileError(`${path} is not a valid server identity: ${(e as Error).message}`);
    }
  }
  const identity = generateIdentity();
  writeFileAtomic(path, encodeIdentity(identity), 0o600);
  return { identity, created: true };
}
