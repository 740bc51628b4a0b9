/**
 * Shamir secret sharing (Shamir 1979, "How to share a secret") of 32-byte secrets, as SecAgg+ needs it
 * for the self-mask seed b_i and the mask-key seed m_i (Bell et al., CCS 2020).
 *
 * Field: the prime p = 2^130 − 5 (Poly1305's prime, RFC 8439 §2.5). A 32-byte secret is split into two
 * 16-byte big-endian chunks, each an integer < 2^128 < p, and each chunk is shared with its own random
 * polynomial of degree t − 1 (coefficients uniform in [0, p), rejection-sampled from the platform CSPRNG).
 * A share for holder x (1 ≤ x < 2^32) is the two evaluations, each 17 bytes big-endian: 34 bytes. Any t
 * shares rebuild the secret by Lagrange interpolation at 0; fewer reveal nothing about it (each chunk is
 * perfectly hidden: every value of the chunk is consistent with any t − 1 evaluations).
 *
 * The field arithmetic is generic over the prime (tests check small fields by hand); interpolation
 * computes the Lagrange coefficients once per holder set and reuses them for both chunks.
 * @module
 */
import { randomBytes } from '../../crypto/random.ts';
import { SecAggError } from './errors.ts';

/** 2^130 − 5, prime (RFC 8439 §2.5). */
export const SHAMIR_PRIME = (1n << 130n) - 5n;
/** Bytes of one field element on the wire (130 bits → 17 bytes). */
export const FIELD_BYTES = 17;
/** Bytes of one secret chunk (each < 2^128 < p). */
export const CHUNK_BYTES = 16;
/** Bytes of a shared secret. */
export const SECRET_BYTES = 32;
/** Chunks per secret. */
export const CHUNKS = SECRET_BYTES / CHUNK_BYTES;
/** Bytes of one share: one field element per chunk. */
export const SHARE_BYTES = CHUNKS * FIELD_BYTES;

/** One holder's evaluation of a polynomial over GF(p). */
export interface FieldShare {
  x: bigint;
  y: bigint;
}

function mod(a: bigint, p: bigint): bigint {
  const r = a % p;
  return r < 0n ? r + p : r;
}

/** The inverse of `a` mod prime `p` (extended Euclid); `a` must not be 0 mod p. */
export function invMod(a: bigint, p: bigint): bigint {
  let [oldR, r] = [mod(a, p), p];
  let [oldS, s] = [1n, 0n];
  if (oldR === 0n)
    throw new SecAggError('bad-share', 'Shamir: expected a non-zero field element to invert, got 0');
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return mod(oldS, p);
}

/** p(x) = c0 + c1·x + … + c_{t−1}·x^{t−1} mod `prime`, by Horner's rule. */
export function evaluatePolynomial(coefficients: readonly bigint[], x: bigint, prime: bigint): bigint {
  let acc = 0n;
  for (let i = coefficients.length - 1; i >= 0; i--) acc = mod(acc * x + coefficients[i]!, prime);
  return acc;
}

/** A uniform element of [0, prime), by rejection sampling from the CSPRNG. */
export function randomFieldElement(prime: bigint): bigint {
  const bits = prime.toString(2).length;
  const bytes = Math.ceil(bits / 8);
  const excess = BigInt(bytes * 8 - bits);
  for (;;) {
    const r = bytesToBigint(randomBytes(bytes)) >> excess;
    if (r < prime) return r;
  }
}

function checkHolders(xs: readonly bigint[], prime: bigint, what: string): void {
  const seen = new Set<bigint>();
  for (const x of xs) {
    if (x <= 0n || x >= prime) {
      throw new SecAggError('bad-share', `${what}: expected holder points in [1, p), got ${x}`);
    }
    if (seen.has(x))
      throw new SecAggError('bad-share', `${what}: expected distinct holder points, got ${x} twice`);
    seen.add(x);
  }
}

/**
 * Shares `secret` (an element of GF(prime)) among the holders `xs` so that any `threshold` of them rebuild
 * it. `coefficients` (t − 1 of them) may be given for hand-checked tests; otherwise they are drawn fresh.
 */
export function splitSecret(
  secret: bigint,
  threshold: number,
  xs: readonly bigint[],
  prime: bigint = SHAMIR_PRIME,
  coefficients?: readonly bigint[],
): FieldShare[] {
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > xs.length) {
    throw new SecAggError(
      'bad-config',
      `Shamir: expected a threshold in [1, ${xs.length}], got ${threshold}`,
    );
  }
  if (secret < 0n || secret >= prime) {
    throw new SecAggError(
      'bad-input',
      `Shamir: expected a secret in [0, p), got one of ${secret.toString(2).length} bits`,
    );
  }
  checkHolders(xs, prime, 'Shamir split');
  const rest = coefficients ?? Array.from({ length: threshold - 1 }, () => randomFieldElement(prime));
  if (rest.length !== threshold - 1) {
    throw new SecAggError('bad-config', `Shamir: expected ${threshold - 1} coefficients, got ${rest.length}`);
  }
  const poly = [secret, ...rest];
  return xs.map((x) => ({ x, y: evaluatePolynomial(poly, x, prime) }));
}

/** The Lagrange basis values ℓ_j(0) = Π_{m≠j} x_m / (x_m − x_j) mod prime, for the holders `xs`. */
export function lagrangeAtZero(xs: readonly bigint[], prime: bigint = SHAMIR_PRIME): bigint[] {
  checkHolders(xs, prime, 'Shamir interpolation');
  return xs.map((xj, j) => {
    let num = 1n;
    let den = 1n;
    for (let m = 0; m < xs.length; m++) {
      if (m === j) continue;
      num = mod(num * xs[m]!, prime);
      den = mod(den * (xs[m]! - xj), prime);
    }
    return mod(num * invMod(den, prime), prime);
  });
}

/**
 * The secret (the polynomial at 0) from at least `threshold` shares; exactly the first `threshold` are used.
 * Fewer shares: SecAggError('too-many-dropouts').
 */
export function combineShares(
  shares: readonly FieldShare[],
  threshold: number,
  prime: bigint = SHAMIR_PRIME,
): bigint {
  if (shares.length < threshold) {
    throw new SecAggError(
      'too-many-dropouts',
      `Shamir: expected at least ${threshold} shares, got ${shares.length}`,
    );
  }
  const used = shares.slice(0, threshold);
  const coefficients = lagrangeAtZero(
    used.map((s) => s.x),
    prime,
  );
  let acc = 0n;
  for (let j = 0; j < used.length; j++) acc = mod(acc + used[j]!.y * coefficients[j]!, prime);
  return acc;
}

export function bytesToBigint(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

export function bigintToBytes(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n)
    throw new SecAggError('bad-length', `expected a value that fits ${length} bytes, got a larger one`);
  return out;
}

/**
 * Shares a 32-byte secret among holders `xs` (1-based member indices), threshold `t`: one 34-byte share per
 * holder, in the order of `xs`.
 */
export function shareSecret(secret: Uint8Array, threshold: number, xs: readonly number[]): Uint8Array[] {
  if (!(secret instanceof Uint8Array) || secret.length !== SECRET_BYTES) {
    throw new SecAggError(
      'bad-length',
      `shareSecret: expected a ${SECRET_BYTES}-byte secret, got ${secret?.length}`,
    );
  }
  const points = xs.map(BigInt);
  const out = xs.map(() => new Uint8Array(SHARE_BYTES));
  for (let c = 0; c < CHUNKS; c++) {
    const chunk = bytesToBigint(secret.subarray(c * CHUNK_BYTES, (c + 1) * CHUNK_BYTES));
    const shares = splitSecret(chunk, threshold, points);
    shares.forEach((s, i) => {
      out[i]!.set(bigintToBytes(s.y, FIELD_BYTES), c * FIELD_BYTES);
    });
  }
  return out;
}

/** Reads one field element of a share, refusing values ≥ p (`bad-share`). */
function shareChunk(share: Uint8Array, c: number): bigint {
  const y = bytesToBigint(share.subarray(c * FIELD_BYTES, (c + 1) * FIELD_BYTES));
  if (y >= SHAMIR_PRIME)
    throw new SecAggError('bad-share', 'Shamir share: expected field elements below 2^130 − 5');
  return y;
}

/**
 * The 32-byte secret from `threshold` or more 34-byte shares, given as (holder index, share) pairs; the first
 * `threshold` are used. A rebuilt chunk ≥ 2^128 cannot come from honest shares: SecAggError('bad-share').
 */
export function recoverSecret(
  shares: readonly { x: number; share: Uint8Array }[],
  threshold: number,
): Uint8Array {
  if (shares.length < threshold) {
    throw new SecAggError(
      'too-many-dropouts',
      `Shamir: expected at least ${threshold} shares, got ${shares.length}`,
    );
  }
  const used = shares.slice(0, threshold);
  for (const s of used) {
    if (s.share.length !== SHARE_BYTES) {
      throw new SecAggError(
        'bad-length',
        `Shamir share: expected ${SHARE_BYTES} bytes, got ${s.share.length}`,
      );
    }
  }
  const lagrange = lagrangeAtZero(used.map((s) => BigInt(s.x)));
  const out = new Uint8Array(SECRET_BYTES);
  for (let c = 0; c < CHUNKS; c++) {
    let acc = 0n;
    for (let j = 0; j < used.length; j++)
      acc = mod(acc + shareChunk(used[j]!.share, c) * lagrange[j]!, SHAMIR_PRIME);
    if (acc >> 128n !== 0n) {
      throw new SecAggError(
        'bad-share',
        'Shamir: the rebuilt chunk is not a 16-byte value (a share was altered)',
      );
    }
    out.set(bigintToBytes(acc, CHUNK_BYTES), c * CHUNK_BYTES);
  }
  return out;
}
