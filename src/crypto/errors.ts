/**
 * The one error class of `src/crypto/`. Every refusal carries a machine-readable `reason` (log it, count it,
 * show it) and a message saying what was expected and what came. Nothing unauthenticated is ever returned
 * alongside it.
 * @module
 */

/**
 * Why an input was refused.
 * - `bad-length`: a message, field or key has the wrong size (truncated, oversized, trailing bytes).
 * - `malformed`: not a PQFed message of the expected kind and version, or a field's content is invalid.
 * - `bad-signature`: the ML-DSA-65 signature does not verify under the expected public key.
 * - `fingerprint-mismatch`: the server's identity is not the one pinned by the join link.
 * - `downgrade`: a weaker key-exchange suite than required, or a suite other than the one offered.
 * - `tampered`: AES-256-GCM authentication failed (ciphertext, tag, nonce, key or associated data changed).
 * - `replay`: a channel frame out of sequence (replayed, reordered, dropped) or a handshake used twice.
 * - `stale-round`: an update for another session or round.
 * - `wrong-context`: an update from another client id or for another model version.
 */
export type CryptoRefusal =
  | 'bad-length'
  | 'malformed'
  | 'bad-signature'
  | 'fingerprint-mismatch'
  | 'downgrade'
  | 'tampered'
  | 'replay'
  | 'stale-round'
  | 'wrong-context';

/** Every reason, for exhaustive tests and for counting refusals in logs. */
export const CRYPTO_REFUSALS: readonly CryptoRefusal[] = [
  'bad-length',
  'malformed',
  'bad-signature',
  'fingerprint-mismatch',
  'downgrade',
  'tampered',
  'replay',
  'stale-round',
  'wrong-context',
];

/** A refused cryptographic input or operation. */
export class CryptoError extends Error {
  override readonly name = 'CryptoError';
  readonly reason: CryptoRefusal;

  constructor(reason: CryptoRefusal, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/** True when `e` is a CryptoError, and when `reason` is given, one refused for that reason. */
export function isCryptoError(e: unknown, reason?: CryptoRefusal): e is CryptoError {
  return e instanceof CryptoError && (reason === undefined || e.reason === reason);
}

/** The message of a caught value, for wrapping errors from libraries. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
