/**
 * The key-encapsulation suites of PQFed and the ML-DSA-65 sizes.
 * - `xwing`: X-Wing, the hybrid of ML-KEM-768 and X25519 (draft-connolly-cfrg-xwing-kem;
 *   `ml_kem768_x25519` in noble): secure while either component is. The default.
 * - `mlkem768`: ML-KEM-768 alone (FIPS 203), for peers that want a pure post-quantum exchange.
 * Strength order: xwing > mlkem768 (the hybrid adds X25519's classical security on top of ML-KEM-768).
 * Every input length is checked here before noble sees it (CryptoError 'bad-length').
 * @module
 */
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { checkLength } from './bytes.ts';
import { CryptoError, errorText } from './errors.ts';
import { drawBytes } from './random.ts';

export type KemSuite = 'xwing' | 'mlkem768';

/** Every suite, strongest first. */
export const KEM_SUITES: readonly KemSuite[] = ['xwing', 'mlkem768'];
/** The suite used when nothing else is asked for. */
export const DEFAULT_SUITE: KemSuite = 'xwing';

/** Higher is stronger. */
export const SUITE_STRENGTH: Readonly<Record<KemSuite, number>> = { xwing: 2, mlkem768: 1 };

/** The byte that names a suite on the wire. */
export const SUITE_BYTE: Readonly<Record<KemSuite, number>> = { xwing: 0x01, mlkem768: 0x02 };

/** Byte sizes of one suite's keys and messages. */
export interface KemSizes {
  readonly publicKey: number;
  readonly secretKey: number;
  readonly cipherText: number;
  readonly sharedSecret: number;
  /** Key-generation randomness noble takes. */
  readonly keygenSeed: number;
  /** Encapsulation randomness noble takes. */
  readonly encapsulationSeed: number;
}

export const KEM_SIZES: Readonly<Record<KemSuite, KemSizes>> = {
  // X-Wing: pk = ML-KEM-768 pk (1184) ‖ X25519 pk (32); sk = one 32-byte seed; ct = 1088 ‖ 32.
  xwing: {
    publicKey: 1216,
    secretKey: 32,
    cipherText: 1120,
    sharedSecret: 32,
    keygenSeed: 32,
    encapsulationSeed: 64,
  },
  // FIPS 203 Table 3, ML-KEM-768: 1184 / 2400 / 1088 / 32.
  mlkem768: {
    publicKey: 1184,
    secretKey: 2400,
    cipherText: 1088,
    sharedSecret: 32,
    keygenSeed: 64,
    encapsulationSeed: 32,
  },
};

/** FIPS 204 Table 2, ML-DSA-65. */
export const ML_DSA_65_SIZES = { publicKey: 1952, secretKey: 4032, signature: 3309, seed: 32 } as const;

const KEMS = { xwing: ml_kem768_x25519, mlkem768: ml_kem768 } as const;

/** True when `suite` is at least as strong as `minimum`. */
export function suiteAtLeast(suite: KemSuite, minimum: KemSuite): boolean {
  return SUITE_STRENGTH[suite] >= SUITE_STRENGTH[minimum];
}

export function isKemSuite(value: unknown): value is KemSuite {
  return value === 'xwing' || value === 'mlkem768';
}

/** Checks a suite name given by a caller (CryptoError 'malformed' if unknown). */
export function checkSuite(suite: unknown): KemSuite {
  if (!isKemSuite(suite)) {
    throw new CryptoError(
      'malformed',
      `KEM suite: expected one of ${KEM_SUITES.join(', ')}, got ${String(suite)}`,
    );
  }
  return suite;
}

/** The suite a wire byte names (CryptoError 'malformed' if none). */
export function suiteFromByte(byte: number, what: string): KemSuite {
  for (const suite of KEM_SUITES) if (SUITE_BYTE[suite] === byte) return suite;
  throw new CryptoError(
    'malformed',
    `${what}: expected a KEM suite byte (${KEM_SUITES.map((s) => `${SUITE_BYTE[s]} = ${s}`).join(', ')}), got ${byte}`,
  );
}

export interface KemKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export interface KemEncapsulation {
  cipherText: Uint8Array;
  sharedSecret: Uint8Array;
}

/** A fresh key pair; with `seed` (≥ 32 bytes, tests only) a deterministic one. */
export function kemKeygen(suite: KemSuite, seed?: Uint8Array): KemKeyPair {
  checkSuite(suite);
  const sizes = KEM_SIZES[suite];
  const { publicKey, secretKey } = KEMS[suite].keygen(
    drawBytes(seed, `kem-keygen/${suite}`, sizes.keygenSeed),
  );
  return { publicKey, secretKey };
}

/**
 * A fresh shared secret and its ciphertext for `publicKey`; with `seed` (tests only) deterministic.
 * A public key that is not a valid encoding (ML-KEM's modulus check) is refused as 'malformed'.
 */
export function kemEncapsulate(suite: KemSuite, publicKey: Uint8Array, seed?: Uint8Array): KemEncapsulation {
  checkSuite(suite);
  const sizes = KEM_SIZES[suite];
  checkLength(publicKey, sizes.publicKey, `${suite} public key`);
  const randomness = drawBytes(seed, `kem-encapsulate/${suite}`, sizes.encapsulationSeed, [publicKey]);
  try {
    const { cipherText, sharedSecret } = KEMS[suite].encapsulate(publicKey, randomness);
    return { cipherText, sharedSecret };
  } catch (cause) {
    throw new CryptoError(
      'malformed',
      `${suite} encapsulation: expected a valid public key, got one noble refuses (${errorText(cause)})`,
      { cause },
    );
  }
}

/**
 * The shared secret inside `cipherText`. ML-KEM rejects implicitly: a changed ciphertext yields a different
 * secret rather than an error (the AEAD then fails). Inputs noble refuses (an invalid secret key, an X25519
 * point of low order) become 'malformed'.
 */
export function kemDecapsulate(suite: KemSuite, cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
  checkSuite(suite);
  const sizes = KEM_SIZES[suite];
  checkLength(cipherText, sizes.cipherText, `${suite} ciphertext`);
  checkLength(secretKey, sizes.secretKey, `${suite} secret key`);
  try {
    return KEMS[suite].decapsulate(cipherText, secretKey);
  } catch (cause) {
    throw new CryptoError(
      'malformed',
      `${suite} decapsulation: expected a valid ciphertext and secret key, got inputs noble refuses ` +
        `(${errorText(cause)})`,
      { cause },
    );
  }
}
