/**
 * The session channel between a client and the aggregator: an authenticated post-quantum handshake of two
 * messages, then AES-256-GCM frames with strict sequence numbers.
 *
 * ServerHello (server → client), signed by the server (ML-DSA-65, context "pqfed/v1/server-hello") over
 * every byte before the signature's length:
 *   'PQ' 01 01 ‖ suite (1) ‖ [session 16] ‖ [server ML-DSA-65 public key 1952] ‖
 *   [ephemeral KEM public key] ‖ [server nonce 32] ‖ [signature 3309]
 * ClientHello (client → server), signed by the client (context "pqfed/v1/client-hello") over
 * ServerHello ‖ every ClientHello byte before the signature's length:
 *   'PQ' 01 02 ‖ suite (1) ‖ [session 16] ‖ [KEM ciphertext] ‖ [client ML-DSA-65 public key 1952] ‖
 *   [client nonce 32] ‖ [signature 3309]
 * where [x] is a 4-byte big-endian length followed by x. Keys: HKDF-SHA256 over the KEM shared secret with
 * the transcript [ServerHello, ClientHello], info "pqfed/v1/c2s" and "pqfed/v1/s2c": one key per direction.
 * The server's ephemeral KEM secret key is wiped when `finish` runs (forward secrecy): a handshake is
 * single-use.
 *
 * Frame: sequence (8 bytes, big-endian) ‖ AES-GCM ciphertext ‖ tag (16); associated data:
 * direction (1) ‖ session (16) ‖ sequence (8); nonce: direction ‖ 00 00 00 ‖ sequence. The receiver takes
 * exactly the next sequence number: replayed, reordered or dropped frames are refused ('replay'). A refused
 * frame leaves the channel's state unchanged; whether to close the connection is the caller's choice.
 * @module
 */
import {
  type AesKey,
  DIRECTION,
  type Direction,
  destroyAesKey,
  makeNonce,
  open,
  seal,
  TAG_BYTES,
} from './aead.ts';
import {
  bytesEqual,
  checkLength,
  concatBytes,
  Reader,
  SESSION_BYTES,
  toHex,
  u32be,
  u64be,
  Writer,
} from './bytes.ts';
import { CryptoError } from './errors.ts';
import {
  fingerprint,
  fingerprintsEqual,
  type Identity,
  normalizeFingerprint,
  SIGNATURE_CONTEXT,
  sign,
  verify,
} from './identity.ts';
import { deriveKeys, importAesKey, KDF_INFO } from './kdf.ts';
import { drawBytes } from './random.ts';
import {
  checkSuite,
  KEM_SIZES,
  type KemSuite,
  kemDecapsulate,
  kemEncapsulate,
  kemKeygen,
  ML_DSA_65_SIZES,
  SUITE_BYTE,
  suiteAtLeast,
  suiteFromByte,
} from './suites.ts';

export const NONCE_FIELD_BYTES = 32;
/** Bytes a sealed frame adds to its plaintext: sequence number and tag. */
export const FRAME_OVERHEAD = 8 + TAG_BYTES;

/** The seam the federation uses: every protocol frame after the handshake goes through it. */
export interface SecureChannel {
  /** Seals one protocol frame for the peer. */
  seal(plain: Uint8Array): Promise<Uint8Array>;
  /** Opens one frame from the peer; throws CryptoError (reason: 'tampered' | 'replay' | 'bad-length') and never returns unauthenticated bytes. */
  open(wire: Uint8Array): Promise<Uint8Array>;
  readonly suite: KemSuite;
  readonly peerIdentity: Uint8Array; // the peer's ML-DSA-65 public key
}

/** A parsed ServerHello (views into the input bytes). */
export interface ServerHello {
  suite: KemSuite;
  session: Uint8Array;
  serverPublicKey: Uint8Array;
  kemPublicKey: Uint8Array;
  serverNonce: Uint8Array;
  signature: Uint8Array;
  /** The bytes the signature covers. */
  signed: Uint8Array;
}

/** A parsed ClientHello (views into the input bytes). */
export interface ClientHello {
  suite: KemSuite;
  session: Uint8Array;
  cipherText: Uint8Array;
  clientPublicKey: Uint8Array;
  clientNonce: Uint8Array;
  signature: Uint8Array;
  /** The ClientHello bytes the signature covers (it also covers the ServerHello in front of them). */
  signed: Uint8Array;
}

/** Parses a ServerHello and checks every length; does not verify the signature. */
export function parseServerHello(bytes: Uint8Array): ServerHello {
  const r = new Reader(bytes, 'serverHello', 'ServerHello');
  const suite = suiteFromByte(r.u8('suite'), 'ServerHello suite');
  const session = r.field('session id', SESSION_BYTES);
  const serverPublicKey = r.field('server public key', ML_DSA_65_SIZES.publicKey);
  const kemPublicKey = r.field(`${suite} public key`, KEM_SIZES[suite].publicKey);
  const serverNonce = r.field('server nonce', NONCE_FIELD_BYTES);
  const signed = bytes.subarray(0, r.offset);
  const signature = r.field('signature', ML_DSA_65_SIZES.signature);
  r.end();
  return { suite, session, serverPublicKey, kemPublicKey, serverNonce, signature, signed };
}

/** Parses a ClientHello and checks every length; does not verify the signature. */
export function parseClientHello(bytes: Uint8Array): ClientHello {
  const r = new Reader(bytes, 'clientHello', 'ClientHello');
  const suite = suiteFromByte(r.u8('suite'), 'ClientHello suite');
  const session = r.field('session id', SESSION_BYTES);
  const cipherText = r.field(`${suite} ciphertext`, KEM_SIZES[suite].cipherText);
  const clientPublicKey = r.field('client public key', ML_DSA_65_SIZES.publicKey);
  const clientNonce = r.field('client nonce', NONCE_FIELD_BYTES);
  const signed = bytes.subarray(0, r.offset);
  const signature = r.field('signature', ML_DSA_65_SIZES.signature);
  r.end();
  return { suite, session, cipherText, clientPublicKey, clientNonce, signature, signed };
}

function checkIdentity(identity: Identity, who: string): void {
  checkLength(identity?.publicKey, ML_DSA_65_SIZES.publicKey, `${who} ML-DSA-65 public key`);
  checkLength(identity?.secretKey, ML_DSA_65_SIZES.secretKey, `${who} ML-DSA-65 secret key`);
}

function appendSignature(body: Uint8Array, signature: Uint8Array): Uint8Array {
  return concatBytes(body, u32be(signature.length), signature);
}

/**
 * Both directions' AES keys from the shared secret and the transcript; wipes the raw key bytes (and, should
 * the second import fail, the first key where it holds bytes in JavaScript).
 */
async function sessionKeys(
  sharedSecret: Uint8Array,
  serverHello: Uint8Array,
  clientHello: Uint8Array,
): Promise<{ c2s: AesKey; s2c: AesKey }> {
  const transcript = [serverHello, clientHello];
  const [c2sRaw] = deriveKeys(sharedSecret, transcript, KDF_INFO.clientToServer);
  const [s2cRaw] = deriveKeys(sharedSecret, transcript, KDF_INFO.serverToClient);
  sharedSecret.fill(0);
  let c2s: AesKey | undefined;
  try {
    c2s = await importAesKey(c2sRaw!);
    return { c2s, s2c: await importAesKey(s2cRaw!) };
  } catch (e) {
    destroyAesKey(c2s);
    throw e;
  } finally {
    c2sRaw!.fill(0);
    s2cRaw!.fill(0);
  }
}

/** One established channel: a key and a counter per direction. */
class Channel implements SecureChannel {
  private sendSeq = 0;
  private recvSeq = 0;
  private sealing: Promise<unknown> = Promise.resolve();
  private opening: Promise<unknown> = Promise.resolve();

  constructor(
    readonly suite: KemSuite,
    readonly peerIdentity: Uint8Array,
    private readonly session: Uint8Array,
    private readonly sendKey: AesKey,
    private readonly recvKey: AesKey,
    private readonly sendDirection: Direction,
    private readonly recvDirection: Direction,
  ) {}

  private associatedData(direction: Direction, seq: Uint8Array): Uint8Array {
    return concatBytes(Uint8Array.of(DIRECTION[direction]), this.session, seq);
  }

  seal(plain: Uint8Array): Promise<Uint8Array> {
    if (!(plain instanceof Uint8Array)) {
      return Promise.reject(
        new CryptoError('malformed', `seal: expected a Uint8Array frame, got ${typeof plain}`),
      );
    }
    // The sequence number is taken now and results resolve in that order, so concurrent seals stay ordered.
    const seq = this.sendSeq++;
    const copy = plain.slice();
    const result = this.sealing.then(async () => {
      const seqBytes = u64be(seq);
      const sealed = await seal(
        this.sendKey,
        makeNonce(this.sendDirection, seq),
        copy,
        this.associatedData(this.sendDirection, seqBytes),
      );
      return concatBytes(seqBytes, sealed);
    });
    this.sealing = result.catch(() => undefined);
    return result;
  }

  open(wire: Uint8Array): Promise<Uint8Array> {
    if (!(wire instanceof Uint8Array) || wire.length < FRAME_OVERHEAD) {
      const got = wire instanceof Uint8Array ? `${wire.length} bytes` : typeof wire;
      return Promise.reject(
        new CryptoError('bad-length', `frame: expected at least ${FRAME_OVERHEAD} bytes, got ${got}`),
      );
    }
    const copy = wire.slice();
    const result = this.opening.then(() => this.openNext(copy));
    this.opening = result.catch(() => undefined);
    return result;
  }

  private async openNext(wire: Uint8Array): Promise<Uint8Array> {
    const seqBytes = wire.subarray(0, 8);
    const seq = new DataView(seqBytes.buffer, seqBytes.byteOffset, 8).getBigUint64(0);
    if (seq !== BigInt(this.recvSeq)) {
      throw new CryptoError(
        'replay',
        `frame: expected sequence number ${this.recvSeq}, got ${seq} ` +
          `(${seq < BigInt(this.recvSeq) ? 'replayed' : 'reordered or one was dropped'})`,
      );
    }
    const plain = await open(
      this.recvKey,
      makeNonce(this.recvDirection, this.recvSeq),
      wire.subarray(8),
      this.associatedData(this.recvDirection, seqBytes),
    );
    this.recvSeq++;
    return plain;
  }
}

export interface ServerHandshakeOptions {
  /** The aggregator's long-term identity. */
  identity: Identity;
  suite: KemSuite;
  /** 16-byte session id, bound into the handshake and into every frame. */
  session: Uint8Array;
  /** Deterministic randomness (≥ 32 bytes) for tests and vectors only. */
  seed?: Uint8Array;
}

export interface ServerHandshake {
  /** The ServerHello to send. */
  readonly hello: Uint8Array;
  /**
   * Checks the client's answer and establishes the channel. Single-use: the ephemeral KEM secret key is
   * wiped on the first call, whatever its outcome; a second call is refused ('replay').
   */
  finish(clientHello: Uint8Array, signal?: AbortSignal): Promise<SecureChannel>;
}

/** What the costly first step of a server handshake needs (it may run in another thread). */
export interface ServerHelloInput {
  identity: Identity;
  suite: KemSuite;
  session: Uint8Array;
  /** Deterministic randomness, for tests and vectors only. */
  seed?: Uint8Array;
}

/** What the costly second step needs: the ServerHello sent, the answer, and the ephemeral KEM secret key. */
export interface ClientHelloInput {
  suite: KemSuite;
  session: Uint8Array;
  serverHello: Uint8Array;
  clientHello: Uint8Array;
  ephemeralSecretKey: Uint8Array;
}

/** The client's identity and the KEM shared secret, once its ClientHello checked out. */
export interface CheckedClientHello {
  peerIdentity: Uint8Array;
  sharedSecret: Uint8Array;
}

/**
 * A fresh ephemeral KEM key pair and the signed ServerHello: a KEM key generation and an ML-DSA-65
 * signature, synchronous and several milliseconds. Inputs are checked first.
 */
export function makeServerHello(input: ServerHelloInput): {
  hello: Uint8Array;
  ephemeralSecretKey: Uint8Array;
} {
  const { identity, seed } = input;
  const suite = checkSuite(input.suite);
  checkIdentity(identity, 'server');
  const session = checkLength(input.session, SESSION_BYTES, 'session id');
  const ephemeralSeed = seed && drawBytes(seed, 'server-hello/kem', 32, [session]);
  const ephemeral = kemKeygen(suite, ephemeralSeed);
  const serverNonce = drawBytes(seed, 'server-hello/nonce', NONCE_FIELD_BYTES, [session]);
  const body = new Writer('serverHello')
    .u8(SUITE_BYTE[suite])
    .field(session)
    .field(identity.publicKey)
    .field(ephemeral.publicKey)
    .field(serverNonce)
    .finish();
  const signature = sign(identity.secretKey, body, {
    context: SIGNATURE_CONTEXT.serverHello,
    deterministic: seed !== undefined,
  });
  return { hello: appendSignature(body, signature), ephemeralSecretKey: ephemeral.secretKey };
}

/**
 * Checks a ClientHello against the ServerHello it answers (suite, session, the client's signature over both)
 * and decapsulates the shared secret: an ML-DSA-65 verification and a KEM decapsulation. Refusals:
 * 'malformed' / 'bad-length', 'downgrade', 'stale-round' (another session), 'bad-signature'. The ephemeral
 * secret key is wiped whatever the outcome.
 */
export function checkClientHello(input: ClientHelloInput): CheckedClientHello {
  const { suite, session, serverHello, clientHello, ephemeralSecretKey } = input;
  try {
    const client = parseClientHello(clientHello);
    if (client.suite !== suite) {
      throw new CryptoError(
        'downgrade',
        `ClientHello: expected suite ${suite} (offered), got ${client.suite}`,
      );
    }
    if (!bytesEqual(client.session, session)) {
      throw new CryptoError(
        'stale-round',
        `ClientHello: expected session ${toHex(session)}, got session ${toHex(client.session)}`,
      );
    }
    if (
      !verify(
        client.clientPublicKey,
        concatBytes(serverHello, client.signed),
        client.signature,
        SIGNATURE_CONTEXT.clientHello,
      )
    ) {
      throw new CryptoError(
        'bad-signature',
        `ClientHello: expected a signature by the presented client key ${fingerprint(client.clientPublicKey)} ` +
          'over this ServerHello and the ClientHello, got one that does not verify',
      );
    }
    return {
      peerIdentity: client.clientPublicKey.slice(),
      sharedSecret: kemDecapsulate(suite, client.cipherText, ephemeralSecretKey),
    };
  } finally {
    ephemeralSecretKey.fill(0);
  }
}

/**
 * Where a server runs the two costly steps of its handshakes: on the calling thread (the default), or in
 * worker threads (`pqfed serve` passes src/aggregator/open-pool.ts's), so that hundreds of clients joining
 * at once do not stall the aggregator's event loop.
 */
/** The two costly steps of a server handshake; `signal` (its connection closed) may cancel either. */
export interface ServerHandshakeCrypto {
  makeServerHello(
    input: ServerHelloInput,
    signal?: AbortSignal,
  ): Promise<{ hello: Uint8Array; ephemeralSecretKey: Uint8Array }>;
  checkClientHello(input: ClientHelloInput, signal?: AbortSignal): Promise<CheckedClientHello>;
}

export const LOCAL_HANDSHAKE_CRYPTO: ServerHandshakeCrypto = {
  makeServerHello: async (input) => makeServerHello(input),
  checkClientHello: async (input) => checkClientHello(input),
};

/** The handshake's state once the ServerHello exists: `finish` is single-use. */
function serverHandshakeFrom(
  suite: KemSuite,
  session: Uint8Array,
  hello: Uint8Array,
  ephemeralSecretKey: Uint8Array,
  check: (input: ClientHelloInput, signal?: AbortSignal) => Promise<CheckedClientHello>,
): ServerHandshake {
  let secretKey: Uint8Array | null = ephemeralSecretKey;
  async function finish(clientHello: Uint8Array, signal?: AbortSignal): Promise<SecureChannel> {
    if (secretKey === null) {
      throw new CryptoError(
        'replay',
        'ClientHello: expected one per handshake, got another (this handshake already finished or failed)',
      );
    }
    const kemSecretKey = secretKey;
    secretKey = null;
    try {
      const checked = await check(
        {
          suite,
          session,
          serverHello: hello,
          clientHello,
          ephemeralSecretKey: kemSecretKey,
        },
        signal,
      );
      // sessionKeys wipes the shared secret.
      const keys = await sessionKeys(checked.sharedSecret, hello, clientHello);
      return new Channel(
        suite,
        checked.peerIdentity,
        session,
        keys.s2c,
        keys.c2s,
        'serverToClient',
        'clientToServer',
      );
    } finally {
      kemSecretKey.fill(0);
    }
  }
  return { hello, finish };
}

/** Starts the server side on this thread: a fresh ephemeral KEM key pair and a signed ServerHello. */
export function createServerHandshake(options: ServerHandshakeOptions): ServerHandshake {
  const suite = checkSuite(options.suite);
  const session = checkLength(options.session, SESSION_BYTES, 'session id').slice();
  const { hello, ephemeralSecretKey } = makeServerHello({ ...options, suite, session });
  return serverHandshakeFrom(
    suite,
    session,
    hello,
    ephemeralSecretKey,
    LOCAL_HANDSHAKE_CRYPTO.checkClientHello,
  );
}

/** Starts the server side with its two costly steps run by `crypto` (for example in worker threads). */
export async function startServerHandshake(
  options: ServerHandshakeOptions,
  crypto: ServerHandshakeCrypto = LOCAL_HANDSHAKE_CRYPTO,
  signal?: AbortSignal,
): Promise<ServerHandshake> {
  const suite = checkSuite(options.suite);
  checkIdentity(options.identity, 'server');
  const session = checkLength(options.session, SESSION_BYTES, 'session id').slice();
  const { hello, ephemeralSecretKey } = await crypto.makeServerHello({ ...options, suite, session }, signal);
  return serverHandshakeFrom(suite, session, hello, ephemeralSecretKey, (input, s) =>
    crypto.checkClientHello(input, s),
  );
}

export interface ClientHandshakeOptions {
  /** The client's long-term identity. */
  identity: Identity;
  /** The server fingerprint from the join link; when given, any other server is refused. */
  pinnedFingerprint?: string;
  /** The weakest suite accepted; default 'mlkem768' (both suites are post-quantum). */
  minimumSuite?: KemSuite;
  serverHello: Uint8Array;
  /** Deterministic randomness (≥ 32 bytes) for tests and vectors only. */
  seed?: Uint8Array;
}

export interface ClientHandshakeResult {
  /** The ClientHello to send back. */
  clientHello: Uint8Array;
  channel: SecureChannel;
  /** The session id the server chose. */
  session: Uint8Array;
  /** The fingerprint of the server's identity (show it; compare it with the join link). */
  serverFingerprint: string;
}

/**
 * Checks a ServerHello (pinned fingerprint, signature, suite) and answers it. Refusals, in order:
 * 'malformed' / 'bad-length' (layout, or an invalid pinned fingerprint), 'fingerprint-mismatch',
 * 'bad-signature', 'downgrade'.
 */
export async function clientHandshake(options: ClientHandshakeOptions): Promise<ClientHandshakeResult> {
  const { identity, pinnedFingerprint, serverHello, seed } = options;
  checkIdentity(identity, 'client');
  const minimumSuite = checkSuite(options.minimumSuite ?? 'mlkem768');
  if (pinnedFingerprint !== undefined && normalizeFingerprint(pinnedFingerprint) === null) {
    throw new CryptoError(
      'malformed',
      `pinned fingerprint: expected 32 base32 letters (a-z, 2-7) in groups of 4, got "${pinnedFingerprint}"`,
    );
  }
  const server = parseServerHello(serverHello);
  const serverFingerprint = fingerprint(server.serverPublicKey);
  if (pinnedFingerprint !== undefined && !fingerprintsEqual(pinnedFingerprint, serverFingerprint)) {
    throw new CryptoError(
      'fingerprint-mismatch',
      `This server is not the one in the join link: the link expects the server fingerprint ${pinnedFingerprint}, ` +
        `but this server presented ${serverFingerprint}. Someone may be intercepting the connection, or the ` +
        'link belongs to another server; ask the organiser for a fresh join link.',
    );
  }
  if (!verify(server.serverPublicKey, server.signed, server.signature, SIGNATURE_CONTEXT.serverHello)) {
    throw new CryptoError(
      'bad-signature',
      `ServerHello: expected a signature by the server key ${serverFingerprint}, got one that does not verify`,
    );
  }
  if (!suiteAtLeast(server.suite, minimumSuite)) {
    throw new CryptoError(
      'downgrade',
      `ServerHello: expected suite ${minimumSuite} or stronger, got ${server.suite}`,
    );
  }
  const suite = server.suite;
  const session = server.session.slice();
  const encapsulationSeed = seed && drawBytes(seed, 'client-hello/kem', 32, [serverHello]);
  const { cipherText, sharedSecret } = kemEncapsulate(suite, server.kemPublicKey, encapsulationSeed);
  const clientNonce = drawBytes(seed, 'client-hello/nonce', NONCE_FIELD_BYTES, [serverHello]);
  const body = new Writer('clientHello')
    .u8(SUITE_BYTE[suite])
    .field(session)
    .field(cipherText)
    .field(identity.publicKey)
    .field(clientNonce)
    .finish();
  const signature = sign(identity.secretKey, concatBytes(serverHello, body), {
    context: SIGNATURE_CONTEXT.clientHello,
    deterministic: seed !== undefined,
  });
  const clientHello = appendSignature(body, signature);
  const serverPublicKey = server.serverPublicKey.slice();
  const keys = await sessionKeys(sharedSecret, serverHello, clientHello);
  const channel = new Channel(
    suite,
    serverPublicKey,
    session,
    keys.c2s,
    keys.s2c,
    'clientToServer',
    'serverToClient',
  );
  return { clientHello, channel, session, serverFingerprint };
}
