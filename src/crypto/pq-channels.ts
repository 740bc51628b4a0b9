/**
 * The post-quantum implementation of the federation's security seam (src/core/channel.ts), the only one
 * `serve`, `simulate` and the browser use:
 * - connections: the server signs a fresh ephemeral KEM key per connection with its ML-DSA-65 identity; the
 *   client pins the server's fingerprint, refuses a weaker suite than its minimum and signs its answer with
 *   its own identity (src/crypto/channel.ts);
 * - rounds: a fresh KEM key pair per round, signed with the model it comes with; updates sealed to it and
 *   signed by the client (src/crypto/envelope.ts). The round's secret key is zeroed when the round closes.
 * @module
 */
import type {
  ClientChannels,
  ClientCrypto,
  RoundSeal,
  ServerChannels,
  ServerRound,
} from '../core/channel.ts';
import { fromHex } from './bytes.ts';
import { clientHandshake, type ServerHandshakeCrypto, startServerHandshake } from './channel.ts';
import {
  createRoundKey,
  openUpdate,
  sealUpdate,
  signModel,
  signRoundKey,
  verifyModel,
  verifyRoundKey,
} from './envelope.ts';
import { CryptoError } from './errors.ts';
import { fingerprint, type Identity } from './identity.ts';
import { checkSuite, type KemSuite, suiteAtLeast } from './suites.ts';

/** How the server opens a sealed update: `openUpdate` itself, or something that runs it elsewhere. */
export type OpenUpdateImpl = typeof openUpdate;

export interface PqServerOptions {
  /**
   * Opens each sealed update (default: `openUpdate` on the calling thread). `serve` and `simulate` pass a
   * worker-thread pool's (src/aggregator/open-pool.ts), which keeps the event loop free under many clients.
   */
  openUpdate?: OpenUpdateImpl;
  /**
   * Runs the costly steps of each connection's handshake (default: on the calling thread). `serve` and
   * `simulate` pass the same pool's, so that many clients joining at once do not stall the event loop.
   */
  handshake?: ServerHandshakeCrypto;
}

export function pqServerChannels(
  identity: Identity,
  suite: KemSuite = 'xwing',
  options: PqServerOptions = {},
): ServerChannels {
  const open = options.openUpdate ?? openUpdate;
  return {
    suite,
    fingerprint: fingerprint(identity.publicKey),
    async begin(session: string, signal?: AbortSignal) {
      const hs = await startServerHandshake(
        { identity, suite, session: fromHex(session) },
        options.handshake,
        signal,
      );
      return {
        hello: hs.hello,
        async finish(reply: Uint8Array, finishSignal?: AbortSignal) {
          const channel = await hs.finish(reply, finishSignal);
          return {
            channel,
            peerIdentity: channel.peerIdentity,
            peerFingerprint: fingerprint(channel.peerIdentity),
          };
        },
      };
    },
    openRound: (info) => openServerRound(identity, suite, info, open),
  };
}

async function openServerRound(
  identity: Identity,
  suite: KemSuite,
  info: { session: string; round: number; version: number; weights: Float32Array },
  openWith: OpenUpdateImpl,
): Promise<ServerRound> {
  const session = fromHex(info.session);
  const key = createRoundKey(suite);
  let secretKey: Uint8Array | null = key.secretKey;
  const seal: RoundSeal = {
    suite,
    publicKey: key.publicKey,
    keySignature: signRoundKey(identity.secretKey, {
      suite,
      session,
      round: info.round,
      publicKey: key.publicKey,
    }),
    modelSignature: await signModel(identity.secretKey, {
      session,
      round: info.round,
      modelVersion: info.version,
      weights: info.weights,
    }),
  };
  return {
    seal,
    async open(envelope, client, maxPayloadBytes) {
      if (secretKey === null) {
        throw new CryptoError('stale-round', `update: round ${info.round} is closed; its key is gone`);
      }
      try {
        return await openWith(envelope, {
          suite,
          roundSecretKey: secretKey,
          session,
          round: info.round,
          clientPublicKey: client.publicKey,
          expectedClientId: client.clientId,
          modelVersion: info.version,
          maxPayloadBytes,
        });
      } catch (e) {
        // The round closed while the update waited (a pool copies the key when a thread takes the update,
        // by then zeroed): say so rather than 'tampered'.
        if (secretKey === null) {
          const why = `update: round ${info.round} closed while the update was being opened`;
          throw new CryptoError('stale-round', why, { cause: e });
        }
        throw e;
      }
    },
    close() {
      secretKey?.fill(0);
      secretKey = null;
    },
  };
}

export function pqClientChannels(opts: {
  identity: Identity;
  pinnedFingerprint?: string;
  minimumSuite?: KemSuite;
}): ClientChannels {
  const minimumSuite = checkSuite(opts.minimumSuite ?? 'mlkem768');
  return {
    async accept(hello: Uint8Array) {
      const r = await clientHandshake({ ...opts, serverHello: hello });
      const serverKey = r.channel.peerIdentity;
      return {
        reply: r.clientHello,
        channel: r.channel,
        serverFingerprint: r.serverFingerprint,
        crypto: clientCrypto(opts.identity, serverKey, minimumSuite),
      };
    },
  };
}

function roundSuite(seal: RoundSeal, minimumSuite: KemSuite): KemSuite {
  const suite = checkSuite(seal.suite);
  if (!suiteAtLeast(suite, minimumSuite)) {
    throw new CryptoError('downgrade', `round key: expected suite ${minimumSuite} or stronger, got ${suite}`);
  }
  return suite;
}

function clientCrypto(identity: Identity, serverKey: Uint8Array, minimumSuite: KemSuite): ClientCrypto {
  return {
    identity,
    async verifyRound({ session, round, version, weights, seal }) {
      const suite = roundSuite(seal, minimumSuite);
      const s = fromHex(session);
      if (
        !verifyRoundKey(serverKey, { suite, session: s, round, publicKey: seal.publicKey }, seal.keySignature)
      ) {
        throw new CryptoError(
          'bad-signature',
          `round ${round}: expected the round key signed by the server ${fingerprint(serverKey)}, got a signature that does not verify`,
        );
      }
      if (
        !(await verifyModel(
          serverKey,
          { session: s, round, modelVersion: version, weights },
          seal.modelSignature,
        ))
      ) {
        throw new CryptoError(
          'bad-signature',
          `round ${round}: expected the global model (version ${version}) signed by the server ` +
            `${fingerprint(serverKey)}, got a signature that does not verify; the weights were not loaded`,
        );
      }
    },
    async sealUpdate({ session, round, clientId, version, payload, seal }) {
      return sealUpdate({
        suite: roundSuite(seal, minimumSuite),
        roundPublicKey: seal.publicKey,
        session: fromHex(session),
        round,
        clientId,
        modelVersion: version,
        payload,
        identity,
      });
    },
  };
}
