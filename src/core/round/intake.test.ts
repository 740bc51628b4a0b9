import { beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../crypto/bytes.ts';
import { parseUpdate, sealUpdate } from '../../crypto/envelope.ts';
import { generateIdentity, type Identity } from '../../crypto/identity.ts';
import { pqServerChannels } from '../../crypto/pq-channels.ts';
import { randomBytes } from '../../crypto/random.ts';
import type { ServerRound } from '../channel.ts';
import { maxFrameBytes } from '../limits.ts';
import { encodeFrame } from '../protocol.ts';
import { createStrategy } from '../strategies/index.ts';
import { admitUpdate, cappedSamples, type IntakeRound, openUpdate } from './intake.ts';

const MODEL = 8;
const METRICS = { loss: 0.5, seconds: 1.5, samplesPerSec: 100 };

/** A real round key (ML-KEM-768, ML-DSA-65) and a real client key, as the aggregator and a tab hold them. */
let keys: ServerRound;
let client: Identity;
let session: Uint8Array;
const round: IntakeRound = { round: 3, version: 2, modelSize: MODEL, maxFrameBytes: maxFrameBytes(MODEL) };

beforeAll(async () => {
  session = randomBytes(16);
  const server = pqServerChannels(generateIdentity(), 'mlkem768');
  keys = await server.openRound({
    session: toHex(session),
    round: round.round,
    version: round.version,
    weights: new Float32Array(MODEL),
  });
  client = generateIdentity();
});

function updateFrame(over: {
  round?: number;
  baseVersion?: number;
  numSamples?: number;
  delta?: Float32Array;
}) {
  return encodeFrame({
    type: 'update',
    round: over.round ?? round.round,
    baseVersion: over.baseVersion ?? round.version,
    numSamples: over.numSamples ?? 40,
    metrics: METRICS,
    delta: over.delta ?? Float32Array.from({ length: MODEL }, (_, i) => i / 8),
  });
}

function seal(payload: Uint8Array, clientId = 'client-1'): Promise<Uint8Array> {
  return sealUpdate({
    suite: 'mlkem768',
    roundPublicKey: keys.seal.publicKey,
    session,
    round: round.round,
    clientId,
    modelVersion: round.version,
    payload,
    identity: client,
  });
}

const sender = () => ({ clientId: 'client-1', publicKey: client.publicKey });

describe('openUpdate', () => {
  it('opens an envelope sealed to the round key by the client it names', async () => {
    const frame = updateFrame({});
    const opened = await openUpdate(keys, await seal(frame), round, sender());
    expect(opened).toEqual({ accepted: true, plain: frame });
  });

  it('refuses one flipped bit as tampered, naming the client', async () => {
    const envelope = await seal(updateFrame({}));
    const sealed = parseUpdate(envelope, round.maxFrameBytes).sealed; // the AES-GCM ciphertext
    envelope[sealed.byteOffset - envelope.byteOffset + (sealed.length >> 1)]! ^= 0x01;
    const opened = await openUpdate(keys, envelope, round, sender());
    expect(opened.accepted).toBe(false);
    if (opened.accepted) return;
    expect(opened.reason).toBe('tampered');
    expect(opened.message).toMatch(/^sealed update from client-1 refused: /);
  });

  it("refuses an envelope sealed under another client's id (wrong-context)", async () => {
    const opened = await openUpdate(keys, await seal(updateFrame({}), 'client-2'), round, sender());
    expect(opened).toMatchObject({ accepted: false, reason: 'wrong-context' });
  });

  it('refuses an envelope signed by another key (bad-signature)', async () => {
    const other = { clientId: 'client-1', publicKey: generateIdentity().publicKey };
    const opened = await openUpdate(keys, await seal(updateFrame({})), round, other);
    expect(opened).toMatchObject({ accepted: false, reason: 'bad-signature' });
  });
});

describe('admitUpdate', () => {
  it('adds the update with its weight capped to the declared samples, and returns its metrics', () => {
    const fedavg = createStrategy('fedavg').begin(round.round, new Float32Array(MODEL));
    const client = { clientId: 'client-1', declaredSamples: 25 };
    const u = admitUpdate(updateFrame({ numSamples: 40 }), round, client, fedavg);
    expect(u).toEqual({ accepted: true, numSamples: 25, metrics: METRICS });
    expect(fedavg.accepted).toBe(1);
    expect([...fedavg.finish()]).toEqual(Array.from({ length: MODEL }, (_, i) => i / 8));
  });

  it('refuses a frame trained for another round or from another version (wrong-context)', () => {
    const fedavg = createStrategy('fedavg').begin(round.round, new Float32Array(MODEL));
    const client = { clientId: 'client-1', declaredSamples: 25 };
    for (const over of [{ round: round.round + 1 }, { baseVersion: round.version - 1 }]) {
      const u = admitUpdate(updateFrame(over), round, client, fedavg);
      expect(u).toMatchObject({ accepted: false, reason: 'wrong-context' });
      if (!u.accepted) expect(u.message).toMatch(/^update: the sealed frame says round \d+ from version \d+/);
    }
    expect(fedavg.accepted).toBe(0);
  });

  it("refuses a frame the decoder rejects with the decoder's reason", () => {
    const fedavg = createStrategy('fedavg').begin(round.round, new Float32Array(MODEL));
    const client = { clientId: 'client-1', declaredSamples: 25 };
    const short = admitUpdate(updateFrame({ delta: new Float32Array(MODEL - 1) }), round, client, fedavg);
    expect(short).toMatchObject({ accepted: false, reason: 'wrong-length' });
    const nan = admitUpdate(
      updateFrame({ delta: new Float32Array(MODEL).fill(Number.NaN) }),
      round,
      client,
      fedavg,
    );
    expect(nan).toMatchObject({ accepted: false, reason: 'non-finite' });
    expect(fedavg.accepted).toBe(0);
  });

  it('refuses an update the strategy rejects as malformed, and throws anything else', () => {
    // The strategy's round is for a larger model than the frame: its own check refuses the delta.
    const wide = createStrategy('fedavg').begin(round.round, new Float32Array(MODEL + 1));
    const client = { clientId: 'client-1', declaredSamples: 25 };
    const u = admitUpdate(updateFrame({}), round, client, wide);
    expect(u).toMatchObject({ accepted: false, reason: 'malformed' });
    const broken = {
      add() {
        throw new TypeError('a bug');
      },
    };
    expect(() => admitUpdate(updateFrame({}), round, client, broken)).toThrow(TypeError);
  });
});

describe('cappedSamples', () => {
  it('weighs an update at most its declared samples (at least 1) and at most its cap', () => {
    expect(cappedSamples(40, { declaredSamples: 25 })).toBe(25);
    expect(cappedSamples(10, { declaredSamples: 25 })).toBe(10);
    expect(cappedSamples(40, { declaredSamples: 0 })).toBe(1);
    expect(cappedSamples(40, { declaredSamples: 25, sampleCap: 12 })).toBe(12);
    expect(cappedSamples(5, { declaredSamples: 25, sampleCap: 12 })).toBe(5);
  });
});
