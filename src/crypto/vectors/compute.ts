/**
 * Known-answer vectors of PQFed's wire formats: both handshake messages and a frame each way, a sealed
 * update, and the signed model and round-key announcements, from fixed seeds (deterministic ML-DSA
 * signatures, seeded KEM randomness). `generate.ts` writes them to the JSON files beside it;
 * `vectors.test.ts` recomputes them and compares byte for byte, so any change to a format shows.
 * @module
 */
import { fromHex, toHex, utf8 } from '../bytes.ts';
import { clientHandshake, createServerHandshake } from '../channel.ts';
import {
  createRoundKey,
  modelSignedBytes,
  roundKeySignedBytes,
  sealUpdate,
  signModel,
  signRoundKey,
  weightsDigest,
} from '../envelope.ts';
import { fingerprint, generateIdentity } from '../identity.ts';
import { KEM_SUITES, type KemSuite } from '../suites.ts';

/** 32 bytes: `label` in ASCII, zero-padded. */
function seedOf(label: string): Uint8Array {
  const out = new Uint8Array(32);
  out.set(utf8(label).subarray(0, 32));
  return out;
}

export const VECTOR_INPUTS = {
  serverIdentitySeed: toHex(seedOf('pqfed vector server identity')),
  clientIdentitySeed: toHex(seedOf('pqfed vector client identity')),
  session: '000102030405060708090a0b0c0d0e0f',
  serverSeed: toHex(seedOf('pqfed vector server hello')),
  clientSeed: toHex(seedOf('pqfed vector client hello')),
  clientFrame: toHex(utf8('hello from the client')),
  serverFrame: toHex(utf8('hello from the server')),
  roundKeySeed: toHex(seedOf('pqfed vector round key')),
  updateSeed: toHex(seedOf('pqfed vector update')),
  round: 3,
  clientId: 'client-0001',
  modelVersion: 3,
  /** 64 bytes 00 01 … 3f. */
  payload: toHex(Uint8Array.from({ length: 64 }, (_, i) => i)),
  /** 16 float32 weights i / 8, little-endian. */
  weights: toHex(new Uint8Array(Float32Array.from({ length: 16 }, (_, i) => i / 8).buffer)),
} as const;

export interface HandshakeVector {
  suite: KemSuite;
  serverFingerprint: string;
  clientFingerprint: string;
  serverHello: string;
  clientHello: string;
  clientToServerFrame: string;
  serverToClientFrame: string;
}

export interface UpdateVector {
  suite: KemSuite;
  roundPublicKey: string;
  update: string;
}

export interface AnnouncementVector {
  weightsDigest: string;
  modelSignedBytes: string;
  modelSignature: string;
  roundKeySuite: KemSuite;
  roundKeySignedBytes: string;
  roundKeySignature: string;
}

export interface Vectors {
  handshake: { inputs: typeof VECTOR_INPUTS; cases: HandshakeVector[] };
  update: { inputs: typeof VECTOR_INPUTS; cases: UpdateVector[] };
  announcements: { inputs: typeof VECTOR_INPUTS; cases: AnnouncementVector[] };
}

export function vectorIdentities() {
  return {
    server: generateIdentity(fromHex(VECTOR_INPUTS.serverIdentitySeed)),
    client: generateIdentity(fromHex(VECTOR_INPUTS.clientIdentitySeed)),
  };
}

export async function computeVectors(): Promise<Vectors> {
  const { server, client } = vectorIdentities();
  const i = VECTOR_INPUTS;
  const session = fromHex(i.session);

  const handshakes: HandshakeVector[] = [];
  for (const suite of KEM_SUITES) {
    const hs = createServerHandshake({ identity: server, suite, session, seed: fromHex(i.serverSeed) });
    const c = await clientHandshake({
      identity: client,
      pinnedFingerprint: fingerprint(server.publicKey),
      serverHello: hs.hello,
      seed: fromHex(i.clientSeed),
    });
    const serverChannel = await hs.finish(c.clientHello);
    handshakes.push({
      suite,
      serverFingerprint: c.serverFingerprint,
      clientFingerprint: fingerprint(client.publicKey),
      serverHello: toHex(hs.hello),
      clientHello: toHex(c.clientHello),
      clientToServerFrame: toHex(await c.channel.seal(fromHex(i.clientFrame))),
      serverToClientFrame: toHex(await serverChannel.seal(fromHex(i.serverFrame))),
    });
  }

  const updates: UpdateVector[] = [];
  for (const suite of KEM_SUITES) {
    const roundKey = createRoundKey(suite, fromHex(i.roundKeySeed));
    const update = await sealUpdate({
      suite,
      roundPublicKey: roundKey.publicKey,
      session,
      round: i.round,
      clientId: i.clientId,
      modelVersion: i.modelVersion,
      payload: fromHex(i.payload),
      identity: client,
      seed: fromHex(i.updateSeed),
    });
    updates.push({ suite, roundPublicKey: toHex(roundKey.publicKey), update: toHex(update) });
  }

  const weights = new Float32Array(fromHex(i.weights).buffer);
  const model = { session, round: i.round, modelVersion: i.modelVersion, weights };
  const roundKey = createRoundKey('xwing', fromHex(i.roundKeySeed));
  const roundAnnouncement = {
    suite: 'xwing' as const,
    session,
    round: i.round,
    publicKey: roundKey.publicKey,
  };
  const announcements: AnnouncementVector[] = [
    {
      weightsDigest: toHex(await weightsDigest(weights)),
      modelSignedBytes: toHex(await modelSignedBytes(model)),
      modelSignature: toHex(await signModel(server.secretKey, model, { deterministic: true })),
      roundKeySuite: 'xwing',
      roundKeySignedBytes: toHex(roundKeySignedBytes(roundAnnouncement)),
      roundKeySignature: toHex(signRoundKey(server.secretKey, roundAnnouncement, { deterministic: true })),
    },
  ];

  return {
    handshake: { inputs: i, cases: handshakes },
    update: { inputs: i, cases: updates },
    announcements: { inputs: i, cases: announcements },
  };
}
