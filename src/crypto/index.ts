/**
 * PQFed's post-quantum cryptography: suites (X-Wing, ML-KEM-768), ML-DSA-65 identities and fingerprints,
 * HKDF, AES-256-GCM, the session channel and the per-round update envelope. Pure: no network, no DOM; runs
 * in browsers, Web Workers and Node 20.
 * @module
 */
export { DIRECTION, type Direction, makeNonce, NONCE_BYTES, open, seal, TAG_BYTES } from './aead.ts';
export { SESSION_BYTES } from './bytes.ts';
export {
  type ClientHandshakeOptions,
  type ClientHandshakeResult,
  type ClientHello,
  clientHandshake,
  createServerHandshake,
  FRAME_OVERHEAD,
  parseClientHello,
  parseServerHello,
  type SecureChannel,
  type ServerHandshake,
  type ServerHandshakeOptions,
  type ServerHello,
} from './channel.ts';
export {
  createRoundKey,
  MAX_CLIENT_ID_BYTES,
  type ModelAnnouncement,
  modelSignedBytes,
  type OpenUpdateExpectations,
  openUpdate,
  parseUpdate,
  type RoundKeyAnnouncement,
  roundKeySignedBytes,
  type SealUpdateInput,
  sealUpdate,
  signModel,
  signRoundKey,
  type UpdateEnvelope,
  verifyModel,
  verifyRoundKey,
  type WeightsReference,
  weightsDigest,
} from './envelope.ts';
export { CRYPTO_REFUSALS, CryptoError, type CryptoRefusal, isCryptoError } from './errors.ts';
export {
  decodeIdentity,
  encodeIdentity,
  fingerprint,
  fingerprintsEqual,
  generateIdentity,
  type Identity,
  normalizeFingerprint,
  SIGNATURE_CONTEXT,
  type SignatureContext,
  type SignOptions,
  sign,
  verify,
} from './identity.ts';
export { deriveKeys, importAesKey, KDF_INFO, KEY_BYTES } from './kdf.ts';
export { WebCryptoUnavailableError } from './platform.ts';
export { randomBytes } from './random.ts';
export {
  DEFAULT_SUITE,
  KEM_SIZES,
  KEM_SUITES,
  type KemEncapsulation,
  type KemKeyPair,
  type KemSizes,
  type KemSuite,
  kemDecapsulate,
  kemEncapsulate,
  kemKeygen,
  ML_DSA_65_SIZES,
  SUITE_STRENGTH,
  suiteAtLeast,
} from './suites.ts';
