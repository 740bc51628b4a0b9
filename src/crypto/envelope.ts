/**
 * Per-round sealing of model updates, and the aggregator's signed announcements.
 *
 * Each round the aggregator makes a fresh KEM key pair (`createRoundKey`), announces the public key (signed:
 * `signRoundKey`) and forgets the secret key when the round closes, so a later compromise of the aggregator
 * opens no earlier round (forward secrecy across rounds). A client seals its update to that key:
 *
 *   header = 'PQ' 01 03 ‖ suite (1) ‖ [session 16] ‖ round (4) ‖ [client id, UTF-8, 1–256] ‖
 *            model version (4) ‖ payload length (4)
 *   update = header ‖ [KEM ciphertext] ‖ [AES-GCM ciphertext ‖ tag] ‖ [ML-DSA-65 signature 3309]
 *
 * ([x]: 4-byte big-endian length, then x; integers big-endian.) The header is the AES-GCM associated data,
 * so session, round, client id, model version, payload length and suite are all bound. The AES key is
 * HKDF-SHA256(shared secret, transcript [header, KEM ciphertext], "pqfed/v1/update"); it seals exactly one
 * message, under the nonce `03 00 00 00 ‖ 0 (8 bytes)`. The client signs (context "pqfed/v1/update")
 * header ‖ [KEM ciphertext] ‖ [SHA-256(AES ciphertext ‖ tag)]: hashing the bulk with WebCrypto's SHA-256
 * first keeps ML-DSA's in-JavaScript SHAKE256 off megabytes of ciphertext. (Where the platform has no
 * WebCrypto, a plain-HTTP page, SHA-256 and AES-GCM run in @noble/hashes and @noble/ciphers instead, with
 * identical output; see platform.ts.)
 *
 * `openUpdate` refuses, in this order: layout and lengths ('malformed' / 'bad-length'), suite ('downgrade'),
 * session ('stale-round'), round ('replay' for an earlier round's update, 'stale-round' for a later one),
 * client id and model version ('wrong-context'), then decapsulation and decryption ('tampered': a changed
 * ciphertext, tag or KEM ciphertext), then the signature ('bad-signature': a changed signature, or a valid
 * ciphertext made by anyone but the registered client). It returns nothing unless all pass, so nothing is
 * parsed before it is both decrypted and verified. Decrypting before verifying costs one decapsulation per
 * forged update (the sender must still hold an authenticated channel and be selected for the round) and
 * names what was changed: tampering in transit versus a forged signer.
 *
 * Global models are announced with `signModel` (context "pqfed/v1/model") over
 * 'PQ' 01 05 ‖ [session] ‖ round ‖ model version ‖ [SHA-256(weights)], round keys with `signRoundKey`
 * (context "pqfed/v1/round-key") over 'PQ' 01 06 ‖ suite ‖ [session] ‖ round ‖ [round public key].
 * @module
 */
import { sha256 as sha256Js } from '@noble/hashes/sha2.js';
import { destroyAesKey, makeNonce, open, seal, TAG_BYTES } from './aead.ts';
import {
  asBufferSource,
  bytesEqual,
  checkLength,
  checkU32,
  concatBytes,
  fromUtf8,
  Reader,
  SESSION_BYTES,
  toHex,
  u32be,
  utf8,
  Writer,
} from './bytes.ts';
import { CryptoError, errorText } from './errors.ts';
import { type Identity, SIGNATURE_CONTEXT, sign, verify } from './identity.ts';
import { deriveKeys, importAesKey, KDF_INFO } from './kdf.ts';
import { webCrypto } from './platform.ts';
import { drawBytes } from './random.ts';
import {
  checkSuite,
  KEM_SIZES,
  type KemKeyPair,
  type KemSuite,
  kemDecapsulate,
  kemEncapsulate,
  kemKeygen,
  ML_DSA_65_SIZES,
  SUITE_BYTE,
  suiteFromByte,
} from './suites.ts';

/** Longest client id (UTF-8 bytes). */
export const MAX_CLIENT_ID_BYTES = 256;
/** Largest payload the layout can carry (the length field is 32 bits and the tag rides along). */
export const MAX_UPDATE_PAYLOAD = 0xffff_ffff - TAG_BYTES;
export const DIGEST_BYTES = 32;

/** A fresh KEM key pair for one round; forget `secretKey` (zero it) when the round closes. */
export function createRoundKey(suite: KemSuite, seed?: Uint8Array): KemKeyPair {
  return kemKeygen(suite, seed && drawBytes(seed, 'round-key', 32));
}

export interface SealUpdateInput {
  suite: KemSuite;
  /** The round's KEM public key, from the (signed) round announcement. */
  roundPublicKey: Uint8Array;
  session: Uint8Array;
  round: number;
  clientId: string;
  modelVersion: number;
  payload: Uint8Array;
  /** The client's ML-DSA-65 identity; the update is signed with it. */
  identity: Identity;
  /** Deterministic randomness (≥ 32 bytes) for tests and vectors only. */
  seed?: Uint8Array;
}

export interface OpenUpdateExpectations {
  /** The suite of this round's key. */
  suite: KemSuite;
  roundSecretKey: Uint8Array;
  session: Uint8Array;
  round: number;
  /** The ML-DSA-65 public key the client authenticated with (its channel's `peerIdentity`). */
  clientPublicKey: Uint8Array;
  expectedClientId: string;
  modelVersion: number;
  /** Largest payload accepted (bytes); larger ones are refused before any cryptography runs. */
  maxPayloadBytes: number;
}

/** A parsed update (views into the input bytes); nothing in it is authenticated yet. */
export interface UpdateEnvelope {
  suite: KemSuite;
  session: Uint8Array;
  round: number;
  clientId: string;
  modelVersion: number;
  payloadLength: number;
  /** The header: the AES-GCM associated data. */
  header: Uint8Array;
  cipherText: Uint8Array;
  sealed: Uint8Array;
  signature: Uint8Array;
}

/** SHA-256 through WebCrypto where the platform has it (native, fast), else @noble/hashes (same digest). */
async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  const platform = webCrypto();
  if (!platform) return sha256Js(bytes);
  return new Uint8Array(await platform.digest('SHA-256', asBufferSource(bytes)));
}

function checkClientId(clientId: string): Uint8Array {
  const bytes = typeof clientId === 'string' ? utf8(clientId) : new Uint8Array(0);
  if (bytes.length < 1 || bytes.length > MAX_CLIENT_ID_BYTES) {
    throw new CryptoError(
      'malformed',
      `client id: expected a string of 1 to ${MAX_CLIENT_ID_BYTES} UTF-8 bytes, got ${
        typeof clientId === 'string' ? `${bytes.length} bytes` : typeof clientId
      }`,
    );
  }
  return bytes;
}

function encodeHeader(
  suite: KemSuite,
  session: Uint8Array,
  round: number,
  clientId: Uint8Array,
  modelVersion: number,
  payloadLength: number,
): Uint8Array {
  return new Writer('update')
    .u8(SUITE_BYTE[suite])
    .field(session)
    .u32(round)
    .field(clientId)
    .u32(modelVersion)
    .u32(payloadLength)
    .finish();
}

/** The bytes the client signs: header ‖ [KEM ciphertext] ‖ [SHA-256(AES ciphertext ‖ tag)]. */
export async function updateSignedBytes(
  header: Uint8Array,
  cipherText: Uint8Array,
  sealed: Uint8Array,
): Promise<Uint8Array> {
  return concatBytes(header, u32be(cipherText.length), cipherText, u32be(DIGEST_BYTES), await sha256(sealed));
}

/**
 * Seals one model update to the round's public key and signs it. A fresh encapsulation per update; the AES
 * key seals this update only.
 */
export async function sealUpdate(input: SealUpdateInput): Promise<Uint8Array> {
  const { roundPublicKey, payload, identity, seed } = input;
  const suite = checkSuite(input.suite);
  checkLength(roundPublicKey, KEM_SIZES[suite].publicKey, `${suite} round public key`);
  const session = checkLength(input.session, SESSION_BYTES, 'session id');
  const round = checkU32(input.round, 'round');
  const modelVersion = checkU32(input.modelVersion, 'model version');
  const clientId = checkClientId(input.clientId);
  if (!(payload instanceof Uint8Array) || payload.length > MAX_UPDATE_PAYLOAD) {
    throw new CryptoError(
      'bad-length',
      `update payload: expected at most ${MAX_UPDATE_PAYLOAD} bytes, got ${payload?.length ?? typeof payload}`,
    );
  }
  checkLength(identity?.secretKey, ML_DSA_65_SIZES.secretKey, 'client ML-DSA-65 secret key');

  const header = encodeHeader(suite, session, round, clientId, modelVersion, payload.length);
  // A seeded draw is bound to this header and payload, so a reused test seed never reuses a shared secret.
  const encapsulationSeed = seed && drawBytes(seed, 'update', 32, [header, await sha256(payload)]);
  const { cipherText, sharedSecret } = kemEncapsulate(suite, roundPublicKey, encapsulationSeed);
  const [raw] = deriveKeys(sharedSecret, [header, cipherText], KDF_INFO.update);
  sharedSecret.fill(0);
  const key = await importAesKey(raw!, ['encrypt']);
  raw!.fill(0);
  let sealed: Uint8Array;
  try {
    sealed = await seal(key, makeNonce('update', 0), payload, header);
  } finally {
    destroyAesKey(key); // it seals this update only
  }
  const signature = sign(identity.secretKey, await updateSignedBytes(header, cipherText, sealed), {
    context: SIGNATURE_CONTEXT.update,
    deterministic: seed !== undefined,
  });
  return concatBytes(
    header,
    u32be(cipherText.length),
    cipherText,
    u32be(sealed.length),
    sealed,
    u32be(signature.length),
    signature,
  );
}

/**
 * Parses an update and checks every length, the payload length against `maxPayloadBytes` first; verifies
 * nothing. Use it to read the client id or round before choosing keys; open with `openUpdate`.
 */
export function parseUpdate(bytes: Uint8Array, maxPayloadBytes: number): UpdateEnvelope {
  const r = new Reader(bytes, 'update', 'update');
  const suite = suiteFromByte(r.u8('suite'), 'update suite');
  const session = r.field('session id', SESSION_BYTES);
  const round = r.u32('round');
  const clientId = fromUtf8(r.field('client id', { min: 1, max: MAX_CLIENT_ID_BYTES }), 'update client id');
  const modelVersion = r.u32('model version');
  const payloadLength = r.u32('payload length');
  if (payloadLength > maxPayloadBytes) {
    throw new CryptoError(
      'bad-length',
      `update: expected a payload of at most ${maxPayloadBytes} bytes, got one of ${payloadLength} bytes`,
    );
  }
  const header = bytes.subarray(0, r.offset);
  const cipherText = r.field(`${suite} ciphertext`, KEM_SIZES[suite].cipherText);
  const sealed = r.field('sealed payload', payloadLength + TAG_BYTES);
  const signature = r.field('signature', ML_DSA_65_SIZES.signature);
  r.end();
  return {
    suite,
    session,
    round,
    clientId,
    modelVersion,
    payloadLength,
    header,
    cipherText,
    sealed,
    signature,
  };
}

/** Opens one update; see the module comment for the order of the checks. */
export async function openUpdate(bytes: Uint8Array, expect: OpenUpdateExpectations): Promise<Uint8Array> {
  const suite = checkSuite(expect.suite);
  checkLength(expect.roundSecretKey, KEM_SIZES[suite].secretKey, `${suite} round secret key`);
  checkLength(expect.session, SESSION_BYTES, 'expected session id');
  checkU32(expect.round, 'expected round');
  checkU32(expect.modelVersion, 'expected model version');
  checkLength(expect.clientPublicKey, ML_DSA_65_SIZES.publicKey, 'client ML-DSA-65 public key');
  if (!Number.isSafeInteger(expect.maxPayloadBytes) || expect.maxPayloadBytes < 0) {
    throw new CryptoError(
      'malformed',
      `maxPayloadBytes: expected a byte count ≥ 0, got ${expect.maxPayloadBytes}`,
    );
  }

  const u = parseUpdate(bytes, expect.maxPayloadBytes);
  if (u.suite !== suite) {
    throw new CryptoError('downgrade', `update: expected suite ${suite} (this round's key), got ${u.suite}`);
  }
  if (!bytesEqual(u.session, expect.session)) {
    throw new CryptoError(
      'stale-round',
      `update: expected session ${toHex(expect.session)}, got session ${toHex(u.session)}`,
    );
  }
  if (u.round < expect.round) {
    throw new CryptoError(
      'replay',
      `update: expected round ${expect.round}, got round ${u.round} (an earlier round's update replayed)`,
    );
  }
  if (u.round !== expect.round) {
    throw new CryptoError('stale-round', `update: expected round ${expect.round}, got round ${u.round}`);
  }
  if (u.clientId !== expect.expectedClientId) {
    throw new CryptoError(
      'wrong-context',
      `update: expected client id ${JSON.stringify(expect.expectedClientId)}, got ${JSON.stringify(u.clientId)}`,
    );
  }
  if (u.modelVersion !== expect.modelVersion) {
    throw new CryptoError(
      'wrong-context',
      `update: expected model version ${expect.modelVersion}, got model version ${u.modelVersion}`,
    );
  }
  let sharedSecret: Uint8Array;
  try {
    sharedSecret = kemDecapsulate(suite, u.cipherText, expect.roundSecretKey);
  } catch (cause) {
    throw new CryptoError('tampered', `update: expected a valid ${suite} ciphertext (${errorText(cause)})`, {
      cause,
    });
  }
  const [raw] = deriveKeys(sharedSecret, [u.header, u.cipherText], KDF_INFO.update);
  sharedSecret.fill(0);
  const key = await importAesKey(raw!, ['decrypt']);
  raw!.fill(0);
  let plain: Uint8Array;
  try {
    plain = await open(key, makeNonce('update', 0), u.sealed, u.header);
  } finally {
    destroyAesKey(key);
  }
  const signed = await updateSignedBytes(u.header, u.cipherText, u.sealed);
  if (!verify(expect.clientPublicKey, signed, u.signature, SIGNATURE_CONTEXT.update)) {
    plain.fill(0);
    throw new CryptoError(
      'bad-signature',
      `update: expected a signature by client ${JSON.stringify(u.clientId)}'s registered key, got one that does not verify`,
    );
  }
  return plain;
}

/** Weights as bytes (little-endian float32 in memory on every supported platform) or their SHA-256. */
export type WeightsReference =
  | { weights: Uint8Array | Float32Array; weightsDigest?: never }
  | { weightsDigest: Uint8Array; weights?: never };

export type ModelAnnouncement = {
  session: Uint8Array;
  round: number;
  modelVersion: number;
} & WeightsReference;

export interface RoundKeyAnnouncement {
  suite: KemSuite;
  session: Uint8Array;
  round: number;
  publicKey: Uint8Array;
}

/** SHA-256 of the weights' bytes (WebCrypto, or @noble/hashes where the platform has none). */
export function weightsDigest(weights: Uint8Array | Float32Array): Promise<Uint8Array> {
  return sha256(new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength));
}

/** The bytes a model signature covers: 'PQ' 01 05 ‖ [session] ‖ round ‖ model version ‖ [SHA-256(weights)]. */
export async function modelSignedBytes(announcement: ModelAnnouncement): Promise<Uint8Array> {
  const session = checkLength(announcement.session, SESSION_BYTES, 'session id');
  const round = checkU32(announcement.round, 'round');
  const modelVersion = checkU32(announcement.modelVersion, 'model version');
  const digest =
    announcement.weightsDigest !== undefined
      ? checkLength(announcement.weightsDigest, DIGEST_BYTES, 'weights digest')
      : await weightsDigest(announcement.weights);
  return new Writer('model').field(session).u32(round).u32(modelVersion).field(digest).finish();
}

/** The aggregator's signature (3,309 bytes) over a global model announcement. */
export async function signModel(
  secretKey: Uint8Array,
  announcement: ModelAnnouncement,
  options: { deterministic?: boolean } = {},
): Promise<Uint8Array> {
  return sign(secretKey, await modelSignedBytes(announcement), {
    context: SIGNATURE_CONTEXT.model,
    deterministic: options.deterministic ?? false,
  });
}

/** True when `signature` is the server's signature over this announcement; never throws. */
export async function verifyModel(
  serverPublicKey: Uint8Array,
  announcement: ModelAnnouncement,
  signature: Uint8Array,
): Promise<boolean> {
  let message: Uint8Array;
  try {
    message = await modelSignedBytes(announcement);
  } catch {
    return false;
  }
  return verify(serverPublicKey, message, signature, SIGNATURE_CONTEXT.model);
}

/** The bytes a round-key signature covers: 'PQ' 01 06 ‖ suite ‖ [session] ‖ round ‖ [public key]. */
export function roundKeySignedBytes(announcement: RoundKeyAnnouncement): Uint8Array {
  const suite = checkSuite(announcement.suite);
  const session = checkLength(announcement.session, SESSION_BYTES, 'session id');
  const round = checkU32(announcement.round, 'round');
  const publicKey = checkLength(
    announcement.publicKey,
    KEM_SIZES[suite].publicKey,
    `${suite} round public key`,
  );
  return new Writer('roundKey').u8(SUITE_BYTE[suite]).field(session).u32(round).field(publicKey).finish();
}

/** The aggregator's signature over a round's KEM public key. */
export function signRoundKey(
  secretKey: Uint8Array,
  announcement: RoundKeyAnnouncement,
  options: { deterministic?: boolean } = {},
): Uint8Array {
  return sign(secretKey, roundKeySignedBytes(announcement), {
    context: SIGNATURE_CONTEXT.roundKey,
    deterministic: options.deterministic ?? false,
  });
}

/** True when `signature` is the server's signature over this round key; never throws. */
export function verifyRoundKey(
  serverPublicKey: Uint8Array,
  announcement: RoundKeyAnnouncement,
  signature: Uint8Array,
): boolean {
  let message: Uint8Array;
  try {
    message = roundKeySignedBytes(announcement);
  } catch {
    return false;
  }
  return verify(serverPublicKey, message, signature, SIGNATURE_CONTEXT.roundKey);
}
