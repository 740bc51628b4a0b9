/**
 * Helpers for the tests of `src/crypto/` (not part of the library; index.ts does not export them).
 * @module
 */
import { CryptoError } from './errors.ts';
import { generateIdentity, type Identity } from './identity.ts';

/** A 32-byte test seed filled with `n`. */
export function testSeed(n: number): Uint8Array {
  return new Uint8Array(32).fill(n);
}

/** A 16-byte session id filled with `n`. */
export function testSession(n: number): Uint8Array {
  return new Uint8Array(16).fill(n);
}

const identities = new Map<number, Identity>();

/** A deterministic identity per number, generated once per test file. */
export function testIdentity(n: number): Identity {
  let id = identities.get(n);
  if (!id) {
    id = generateIdentity(testSeed(n));
    identities.set(n, id);
  }
  return id;
}

/** A copy of `bytes` with one bit flipped. */
export function flipBit(bytes: Uint8Array, index: number, bit = 0): Uint8Array {
  const out = bytes.slice();
  out[index] = out[index]! ^ (1 << bit);
  return out;
}

/**
 * Runs `fn` and returns the CryptoError it threw or rejected with; fails the test on success or on any
 * other error (a TypeError or RangeError leaking out is a bug).
 */
export async function refusal(fn: () => unknown): Promise<CryptoError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof CryptoError) return e;
    throw new Error(
      `expected a CryptoError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
    );
  }
  throw new Error('expected a CryptoError, got success');
}

/** A recognisable payload: byte i is (7i + 3) mod 256. */
export function testPayload(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 7 + 3) & 0xff;
  return out;
}

/** Byte equality as a boolean (Vitest's deep equality is slow on megabyte arrays). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
