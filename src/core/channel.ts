/**
 * The security seam between the federation and the cryptography. Two layers, both always on:
 *
 * 1. A connection channel (`SecureChannel`), established by a two-message handshake in which the server
 *    speaks first: every frame after it is sealed, in order, under keys of this connection.
 * 2. Round sealing: each round the aggregator announces a fresh KEM public key and a signature over the
 *    global model it sends (`RoundSeal`); the client verifies both before it loads the weights, seals its
 *    update to that round key and signs it with its own key (`ClientCrypto.sealUpdate`); the aggregator
 *    opens it with the round's secret key, which it forgets when the round closes (`ServerRound`).
 *
 * The implementation is the post-quantum one in src/crypto/pq-channels.ts (X-Wing or ML-KEM-768, ML-DSA-65,
 * AES-256-GCM); `serve`, `simulate` and the browser use nothing else. Failures throw errors carrying a
 * machine-readable `reason` (src/crypto/errors.ts).
 */

import type { Identity } from '../crypto/identity.ts';

export interface SecureChannel {
  /** Seals one protocol frame for the peer. */
  seal(plain: Uint8Array): Promise<Uint8Array>;
  /** Opens one frame from the peer; throws (never returns unauthenticated bytes). */
  open(wire: Uint8Array): Promise<Uint8Array>;
}

/** What the aggregator sends with a round's model so the client can check it and seal its update. */
export interface RoundSeal {
  /** The key-exchange suite of the round key. */
  suite: string;
  /** The round's fresh KEM public key. */
  publicKey: Uint8Array;
  /** The server's signature over (suite, session, round, publicKey). */
  keySignature: Uint8Array;
  /** The server's signature over (session, round, model version, SHA-256 of the weights). */
  modelSignature: Uint8Array;
}

/** The aggregator's side of one round. */
export interface ServerRound {
  readonly seal: RoundSeal;
  /**
   * Checks, decrypts and verifies one sealed update; returns its plaintext (a protocol frame) or throws
   * with a reason. `client` is who the connection authenticated as and the id it registered.
   */
  open(
    envelope: Uint8Array,
    client: { clientId: string; publicKey: Uint8Array },
    maxPayloadBytes: number,
  ): Promise<Uint8Array>;
  /** Forgets the round's secret key (forward secrecy across rounds). Idempotent. */
  close(): void;
}

/** An established connection, as the aggregator sees it. */
export interface ServerConnection {
  channel: SecureChannel;
  /** The client's long-term public key, proven in the handshake. */
  peerIdentity: Uint8Array;
  /** A short readable hash of `peerIdentity`. */
  peerFingerprint: string;
}

/** The aggregator's side: connections and rounds. */
export interface ServerChannels {
  readonly suite: string;
  /** Readable fingerprint of the server's identity key. */
  readonly fingerprint: string;
  /** Starts a connection's handshake; `signal` (the socket closed) cancels its queued cryptography. */
  begin(
    session: string,
    signal?: AbortSignal,
  ): Promise<{
    hello: Uint8Array;
    finish(reply: Uint8Array, signal?: AbortSignal): Promise<ServerConnection>;
  }>;
  /** A fresh key for round `round`, announced and signed with the model it sends. */
  openRound(info: {
    session: string;
    round: number;
    version: number;
    weights: Float32Array;
  }): Promise<ServerRound>;
}

/** A client's per-round operations, bound to the server it pinned during the handshake. */
export interface ClientCrypto {
  /**
   * The client's long-term ML-DSA-65 identity, the one its connection proved: it signs the client's SecAgg+
   * messages in a secure round (src/core/secagg/). Absent: this client cannot take part in secure rounds.
   */
  readonly identity?: Identity;
  /** Throws (reason 'bad-signature' or 'downgrade') unless the round key and model are signed by the server. */
  verifyRound(info: {
    session: string;
    round: number;
    version: number;
    weights: Float32Array;
    seal: RoundSeal;
  }): Promise<void>;
  /** Seals `payload` (the update frame) to the round key, bound to this client and round, and signs it. */
  sealUpdate(info: {
    session: string;
    round: number;
    clientId: string;
    version: number;
    payload: Uint8Array;
    seal: RoundSeal;
  }): Promise<Uint8Array>;
}

/** The client's side: checks the server's first frame and answers it. */
export interface ClientChannels {
  accept(hello: Uint8Array): Promise<{
    reply: Uint8Array;
    channel: SecureChannel;
    serverFingerprint: string;
    crypto: ClientCrypto;
  }>;
}
