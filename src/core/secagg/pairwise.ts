/**
 * The key material of one SecAgg+ member, with ML-KEM-768 (FIPS 203) in place of the Diffie–Hellman keys
 * of Bonawitz et al. (CCS 2017) and Bell et al. (CCS 2020).
 *
 * A KEM is not a non-interactive key agreement: a pairwise secret exists only once one side has
 * encapsulated to the other and the ciphertext has been delivered. Each member therefore holds two
 * ML-KEM-768 key pairs per round, as the protocol's two DH keys (c_i, s_i):
 * - the channel pair (fresh randomness, never shared): every member encapsulates to each neighbour's
 *   channel key to seal the Shamir shares it sends it (HKDF-SHA256 → ChaCha20-Poly1305), one encapsulation
 *   per direction, so both directions travel in the same phase;
 * - the mask pair, derived from the 32-byte mask-key seed m_i: its key pair is
 *   ML-KEM.KeyGen(HKDF(m_i, "mask-keygen")), and the encapsulation randomness towards neighbour j is
 *   HKDF(m_i, round ‖ i ‖ j, "mask-encaps"). For every pair only the lower index encapsulates (to the higher
 *   one's mask key), so each pair shares exactly one secret s_ij = HKDF(ss, round ‖ i ‖ j ‖ ct,
 *   "pair-seed"). m_i alone therefore rebuilds all of i's pairwise secrets: decapsulate the ciphertexts i
 *   received, re-run the encapsulations i made. m_i is what is Shamir-shared to remove a dropped member's
 *   pairwise masks; the channel keys are never shared, so rebuilding m_i opens no sealed share.
 * @module
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { bytesEqual, concatBytes, u32be, utf8 } from '../../crypto/bytes.ts';
import { transcriptSalt } from '../../crypto/kdf.ts';
import { randomBytes } from '../../crypto/random.ts';
import { KEM_SIZES } from '../../crypto/suites.ts';
import { SecAggError } from './errors.ts';
import { SECRET_BYTES, SHARE_BYTES } from './shamir.ts';

export const KEM = KEM_SIZES.mlkem768;
/** The round a secret belongs to: the session (16 bytes) and the round number. */
export interface RoundContext {
  session: Uint8Array;
  round: number;
}

/** `session ‖ u32be(round)`, bound into every derivation and signature of the round. */
export function contextBytes(ctx: RoundContext): Uint8Array {
  return concatBytes(ctx.session, u32be(ctx.round));
}

const INFO = {
  maskKeygen: 'pqfed/v1/secagg/mask-keygen',
  maskEncaps: 'pqfed/v1/secagg/mask-encaps',
  pairSeed: 'pqfed/v1/secagg/pair-seed',
  shareKey: 'pqfed/v1/secagg/share-key',
  selfCommit: 'pqfed/v1/secagg/self-mask-commitment',
} as const;

export interface KemKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** The mask key pair of a member, from its mask-key seed m. */
export function maskKeyPair(maskSeed: Uint8Array): KemKeyPair {
  checkSecret(maskSeed, 'mask-key seed');
  return ml_kem768.keygen(hkdf(sha256, maskSeed, undefined, utf8(INFO.maskKeygen), KEM.keygenSeed));
}

/** A fresh channel key pair. */
export function channelKeyPair(): KemKeyPair {
  return ml_kem768.keygen(randomBytes(KEM.keygenSeed));
}

/** The encapsulation of the lower member `low` to the higher member's mask key: derived from low's m. */
export function maskEncapsulate(
  maskSeed: Uint8Array,
  ctx: RoundContext,
  low: number,
  high: number,
  highMaskKey: Uint8Array,
): { cipherText: Uint8Array; sharedSecret: Uint8Array } {
  checkSecret(maskSeed, 'mask-key seed');
  const salt = transcriptSalt([contextBytes(ctx), u32be(low), u32be(high)]);
  const coins = hkdf(sha256, maskSeed, salt, utf8(INFO.maskEncaps), KEM.encapsulationSeed);
  return ml_kem768.encapsulate(highMaskKey, coins);
}

/** The 32-byte seed of the pairwise mask of (low, high) from the KEM secret and its ciphertext. */
export function pairSeed(
  sharedSecret: Uint8Array,
  ctx: RoundContext,
  low: number,
  high: number,
  cipherText: Uint8Array,
): Uint8Array {
  const salt = transcriptSalt([contextBytes(ctx), u32be(low), u32be(high), cipherText]);
  return hkdf(sha256, sharedSecret, salt, utf8(INFO.pairSeed), 32);
}

/** ML-KEM decapsulation (implicit rejection: a wrong ciphertext yields an unrelated secret, never throws). */
export function decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ml_kem768.decapsulate(cipherText, secretKey);
}

/** A commitment to the self-mask seed b, advertised (signed) so a rebuilt b can be checked. */
export function selfMaskCommitment(ctx: RoundContext, clientId: string, selfSeed: Uint8Array): Uint8Array {
  checkSecret(selfSeed, 'self-mask seed');
  return sha256(
    concatBytes(utf8(INFO.selfCommit), transcriptSalt([contextBytes(ctx), utf8(clientId), selfSeed])),
  );
}

/** The plaintext that member `from` seals for member `to`: its shares of b_from and m_from for `to`. */
export interface SharePair {
  selfShare: Uint8Array;
  maskShare: Uint8Array;
}

/** Bytes of a sealed share pair: from ‖ to ‖ two shares, plus the Poly1305 tag. */
export const SEALED_SHARES_BYTES = 8 + 2 * SHARE_BYTES + 16;

function shareKey(
  sharedSecret: Uint8Array,
  ctx: RoundContext,
  from: number,
  to: number,
  ct: Uint8Array,
): Uint8Array {
  const salt = transcriptSalt([contextBytes(ctx), u32be(from), u32be(to), ct]);
  return hkdf(sha256, sharedSecret, salt, utf8(INFO.shareKey), 32);
}

/** Seals `shares` from `from` to `to` under a fresh encapsulation to `to`'s channel key. */
export function sealShares(
  ctx: RoundContext,
  from: number,
  to: number,
  toChannelKey: Uint8Array,
  shares: SharePair,
): { cipherText: Uint8Array; sealed: Uint8Array } {
  const { cipherText, sharedSecret } = ml_kem768.encapsulate(toChannelKey);
  const key = shareKey(sharedSecret, ctx, from, to, cipherText);
  const aad = concatBytes(contextBytes(ctx), u32be(from), u32be(to));
  const plain = concatBytes(u32be(from), u32be(to), shares.selfShare, shares.maskShare);
  // The key is used once (fresh encapsulation), so a fixed nonce never repeats under it.
  const sealed = chacha20poly1305(key, new Uint8Array(12), aad).encrypt(plain);
  return { cipherText, sealed };
}

/** Opens the shares `from` sealed for `to`; any change to ciphertext, seal, round or indices: `bad-share`. */
export function openShares(
  ctx: RoundContext,
  from: number,
  to: number,
  channelSecretKey: Uint8Array,
  cipherText: Uint8Array,
  sealed: Uint8Array,
): SharePair {
  const sharedSecret = ml_kem768.decapsulate(cipherText, channelSecretKey);
  const key = shareKey(sharedSecret, ctx, from, to, cipherText);
  const aad = concatBytes(contextBytes(ctx), u32be(from), u32be(to));
  let plain: Uint8Array;
  try {
    plain = chacha20poly1305(key, new Uint8Array(12), aad).decrypt(sealed);
  } catch (cause) {
    throw new SecAggError('bad-share', `sealed shares from ${from} to ${to}: authentication failed`, {
      cause,
    });
  }
  if (!bytesEqual(plain.subarray(0, 8), concatBytes(u32be(from), u32be(to)))) {
    throw new SecAggError(
      'bad-share',
      `sealed shares: expected the pair (${from}, ${to}) inside, got another`,
    );
  }
  return {
    selfShare: plain.slice(8, 8 + SHARE_BYTES),
    maskShare: plain.slice(8 + SHARE_BYTES, 8 + 2 * SHARE_BYTES),
  };
}

function checkSecret(secret: Uint8Array, what: string): void {
  if (!(secret instanceof Uint8Array) || secret.length !== SECRET_BYTES) {
    throw new SecAggError('bad-length', `${what}: expected ${SECRET_BYTES} bytes, got ${secret?.length}`);
  }
}
