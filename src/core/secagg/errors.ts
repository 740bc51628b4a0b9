/**
 * The one error class of `src/core/secagg/`. Every refusal carries a machine-readable `reason` (count it,
 * log it, map it to a protocol refusal) and a message saying what was expected and what came. A refused
 * message changes no state: the state machines validate everything before they store anything.
 * @module
 */

/**
 * Why a secure-aggregation input or step was refused; written once, the type derived from it.
 * - `malformed`: not a SecAgg message of the expected kind and version, or a field's content is invalid.
 * - `bad-length`: a message, field, key or vector has the wrong size (truncated, oversized, trailing bytes).
 * - `bad-signature`: an ML-DSA-65 signature does not verify under the sender's advertised identity key.
 * - `wrong-round`: a message for another session or round (a replay from an earlier round included).
 * - `wrong-phase`: a message the current phase does not expect (too early, too late, or after the end).
 * - `replay`: a second message of the same phase from the same client.
 * - `unknown-client`: a sender or subject that is not a member of the round (or not a neighbour).
 * - `inconsistent-survivors`: survivor lists that disagree, ask for both secrets of one client, or carry
 *   too few matching signatures.
 * - `too-many-dropouts`: fewer clients than the threshold remain; the round ends without a sum.
 * - `bad-share`: a Shamir share or reconstructed secret that does not match the key it must rebuild.
 * - `bad-input`: the caller's own input (update vector, sample count, noise) cannot be encoded.
 * - `bad-config`: round parameters that are out of range or infeasible.
 */
export const SECAGG_REFUSALS = [
  'malformed',
  'bad-length',
  'bad-signature',
  'wrong-round',
  'wrong-phase',
  'replay',
  'unknown-client',
  'inconsistent-survivors',
  'too-many-dropouts',
  'bad-share',
  'bad-input',
  'bad-config',
] as const;
export type SecAggRefusal = (typeof SECAGG_REFUSALS)[number];

/** A refused secure-aggregation message or step. */
export class SecAggError extends Error {
  override readonly name = 'SecAggError';
  readonly reason: SecAggRefusal;

  constructor(reason: SecAggRefusal, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/** True when `e` is a SecAggError, and when `reason` is given, one refused for that reason. */
export function isSecAggError(e: unknown, reason?: SecAggRefusal): e is SecAggError {
  return e instanceof SecAggError && (reason === undefined || e.reason === reason);
}
