/**
 * The cost of PQFed's cryptography per model update, through the seam the federation uses
 * (src/core/channel.ts, implemented by src/crypto/pq-channels.ts), and the bytes an update takes on the wire.
 * Shared by `pqfed bench` and bench/crypto.ts.
 *
 * - handshake: the server's hello (a fresh KEM key, signed), the client's side (verify, encapsulate, sign),
 *   the server's finish (verify, decapsulate, derive);
 * - per round, client: `verifyRound` (round key and model signatures, SHA-256 of the weights) and
 *   `sealUpdate` (encapsulate to the round key, HKDF, AES-256-GCM, ML-DSA-65 signature);
 * - per round, server: `openRound` (a KEM key pair, two signatures), and per update `openUpdate` (check the
 *   context, decapsulate, decrypt, verify the client's signature), on the calling thread.
 */

import { maxFrameBytes } from '../core/limits.ts';
import { encodeFrame } from '../core/protocol.ts';
import { toHex } from '../crypto/bytes.ts';
import { clientHandshake, createServerHandshake, FRAME_OVERHEAD } from '../crypto/channel.ts';
import { generateIdentity, type Identity } from '../crypto/identity.ts';
import { type PqServerOptions, pqClientChannels, pqServerChannels } from '../crypto/pq-channels.ts';
import { randomBytes } from '../crypto/random.ts';
import type { KemSuite } from '../crypto/suites.ts';

/** Mean milliseconds per call of `fn` over about `seconds` (at least `minRuns` runs, after `warmup` runs). */
export async function timeMs(
  fn: () => unknown,
  seconds: number,
  { warmup = 2, minRuns = 3 }: { warmup?: number; minRuns?: number } = {},
): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  let runs = 0;
  const start = performance.now();
  while (runs < minRuns || performance.now() - start < seconds * 1000) {
    await fn();
    runs++;
  }
  return (performance.now() - start) / runs;
}

export interface HandshakeCost {
  /** Server: a fresh KEM key pair and its signature (ServerHello). */
  serverHello: number;
  /** Client: verify the ServerHello, encapsulate, sign the transcript (ClientHello), derive the keys. */
  client: number;
  /** Server: verify the ClientHello, decapsulate, derive the keys. */
  serverFinish: number;
}

/** Milliseconds of each side's handshake work, mean over about `seconds` (at least 5 handshakes). */
export async function measureHandshake(
  suite: KemSuite,
  seconds: number,
  ids: { server: Identity; client: Identity; session?: Uint8Array } = {
    server: generateIdentity(),
    client: generateIdentity(),
  },
): Promise<HandshakeCost> {
  const session = ids.session ?? randomBytes(16);
  const cost = { serverHello: 0, client: 0, serverFinish: 0 };
  let runs = 0;
  for (const start = performance.now(); runs < 5 || performance.now() - start < seconds * 1000; runs++) {
    const t0 = performance.now();
    const s = createServerHandshake({ identity: ids.server, suite, session });
    const t1 = performance.now();
    const c = await clientHandshake({ identity: ids.client, serverHello: s.hello });
    const t2 = performance.now();
    await s.finish(c.clientHello);
    const t3 = performance.now();
    cost.serverHello += t1 - t0;
    cost.client += t2 - t1;
    cost.serverFinish += t3 - t2;
  }
  return {
    serverHello: cost.serverHello / runs,
    client: cost.client / runs,
    serverFinish: cost.serverFinish / runs,
  };
}

/** A server and a client that completed the handshake through the federation's seam. */
export async function connectedPair(
  suite: KemSuite,
  ids: { server: Identity; client: Identity },
  serverOptions: PqServerOptions = {},
) {
  const session = toHex(randomBytes(16));
  const server = pqServerChannels(ids.server, suite, serverOptions);
  const hs = await server.begin(session);
  const client = await pqClientChannels({
    identity: ids.client,
    pinnedFingerprint: server.fingerprint,
    minimumSuite: suite,
  }).accept(hs.hello);
  await hs.finish(client.reply);
  return {
    session,
    server,
    client,
    who: { clientId: 'c-0123456789ab', publicKey: ids.client.publicKey },
  };
}

/** The plaintext of a sealed update: an `update` frame carrying a `params`-long delta. */
export function updateFrame(params: number, round = 1, baseVersion = 1): Uint8Array {
  const delta = new Float32Array(params);
  for (let i = 0; i < params; i++) delta[i] = (Math.random() - 0.5) * 0.1;
  return encodeFrame({
    type: 'update',
    round,
    baseVersion,
    numSamples: 5000,
    metrics: { loss: 0.123456, seconds: 12.3456, samplesPerSec: 400.123 },
    delta,
  });
}

export interface RoundCryptoCost {
  /** Server, once per round: the round key pair and its two signatures. */
  openRoundMs: number;
  /** Client, per round: check the round key's and the model's signatures (SHA-256 of the weights). */
  verifyRoundMs: number;
  /** Client, per round: seal the update to the round key and sign it. */
  sealUpdateMs: number;
  /** Server, per update: check, decapsulate, decrypt and verify one sealed update (this thread). */
  openUpdateMs: number;
}

/** Milliseconds of a round's cryptography for a `params`-parameter model, each a mean over about `seconds`. */
export async function measureRoundCrypto(
  suite: KemSuite,
  params: number,
  seconds: number,
  ids: { server: Identity; client: Identity } = { server: generateIdentity(), client: generateIdentity() },
): Promise<RoundCryptoCost> {
  const pair = await connectedPair(suite, ids);
  const weights = new Float32Array(params).map(() => (Math.random() - 0.5) * 0.1);
  const info = { session: pair.session, round: 1, version: 1, weights };
  const payload = updateFrame(params);
  const openRoundMs = await timeMs(async () => (await pair.server.openRound(info)).close(), seconds);
  const round = await pair.server.openRound(info);
  try {
    const verifyRoundMs = await timeMs(
      () => pair.client.crypto.verifyRound({ ...info, seal: round.seal }),
      seconds,
    );
    const sealInfo = {
      session: pair.session,
      round: 1,
      clientId: pair.who.clientId,
      version: 1,
      payload,
      seal: round.seal,
    };
    let envelope = await pair.client.crypto.sealUpdate(sealInfo);
    const sealUpdateMs = await timeMs(async () => {
      envelope = await pair.client.crypto.sealUpdate(sealInfo);
    }, seconds);
    const maxPayload = maxFrameBytes(params);
    const openUpdateMs = await timeMs(() => round.open(envelope, pair.who, maxPayload), seconds);
    return { openRoundMs, verifyRoundMs, sealUpdateMs, openUpdateMs };
  } finally {
    round.close();
  }
}

export interface WireBytes {
  /** The update's weights as float32: 4 × parameters. */
  rawBytes: number;
  /** The `update` frame (header + weights), the envelope's plaintext. */
  updateFrameBytes: number;
  /** The sealed envelope (KEM ciphertext, AEAD tag, signature, header). */
  envelopeBytes: number;
  /** What one update costs on the wire: the `sealed-update` frame sealed on the connection's channel. */
  sealedBytes: number;
  /** The server's `round` message (round key, signatures, the global weights) on the wire. */
  roundBytes: number;
}

/** Bytes on the wire of one update and one round message of a `params`-parameter model. */
export async function measureWireBytes(
  suite: KemSuite,
  params: number,
  ids: { server: Identity; client: Identity } = { server: generateIdentity(), client: generateIdentity() },
): Promise<WireBytes> {
  const pair = await connectedPair(suite, ids);
  const weights = new Float32Array(params);
  const round = await pair.server.openRound({ session: pair.session, round: 1, version: 0, weights });
  try {
    const inner = updateFrame(params, 1, 0);
    const envelope = await pair.client.crypto.sealUpdate({
      session: pair.session,
      round: 1,
      clientId: pair.who.clientId,
      version: 0,
      payload: inner,
      seal: round.seal,
    });
    const outer = encodeFrame({ type: 'sealed-update', round: 1, envelope });
    // Check the arithmetic against a real channel frame.
    const onWire = await pair.client.channel.seal(outer);
    if (onWire.length !== outer.length + FRAME_OVERHEAD) {
      throw new Error(`wire bytes: a sealed frame of ${outer.length} B took ${onWire.length} B`);
    }
    const roundFrame = encodeFrame({
      type: 'round',
      round: 1,
      version: 0,
      deadlineMs: 120_000,
      fit: { epochs: 1, batchSize: 64, learningRate: 0.003, proxMu: 0, seed: 32 },
      seal: round.seal,
      weights,
    });
    return {
      rawBytes: 4 * params,
      updateFrameBytes: inner.length,
      envelopeBytes: envelope.length,
      sealedBytes: onWire.length,
      roundBytes: roundFrame.length + FRAME_OVERHEAD,
    };
  } finally {
    round.close();
  }
}
