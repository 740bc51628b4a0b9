/**
 * The security guarantees end to end, against a real aggregator over real WebSockets with the post-quantum
 * channel and per-round sealing: every tampered, forged, replayed, unregistered or downgraded message is
 * refused with its own reason, counted in /api/status, logged, and never reaches the aggregate; a client
 * refuses a server that is not the pinned one; client ids stay bound to their keys; and no update or model
 * crosses the wire in plaintext.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadCheckpoint } from '../src/aggregator/checkpoint.ts';
import type { PreparedExperiment } from '../src/aggregator/experiment.ts';
import { clientChannelsFor } from '../src/cli/channels.ts';
import { type ClientStatus, FederatedClient, type LocalTrainer } from '../src/client/client.ts';
import { ModelTrainer } from '../src/client/model-trainer.ts';
import { encodeFrame, type ServerMessage } from '../src/core/protocol.ts';
import { clientHandshake, createServerHandshake, parseServerHello } from '../src/crypto/channel.ts';
import { parseUpdate } from '../src/crypto/envelope.ts';
import { generateIdentity } from '../src/crypto/identity.ts';
import {
  getStatus,
  nodeSocket,
  rawConnection,
  smallExperiment,
  startTestAggregator,
  type TestAggregator,
  waitFor,
  within,
} from './federation.ts';

type Raw = Awaited<ReturnType<typeof rawConnection>>;
type Round = Extract<ServerMessage, { type: 'round' }>;

const NUM_SAMPLES = 10;

function updateFrame(round: Round, delta: Float32Array): Uint8Array {
  return encodeFrame({
    type: 'update',
    round: round.round,
    baseVersion: round.version,
    numSamples: NUM_SAMPLES,
    metrics: { loss: 1, seconds: 1, samplesPerSec: 1 },
    delta,
  });
}

function hello(name: string, clientId?: string): Uint8Array {
  return encodeFrame({
    type: 'hello',
    name,
    backend: 'test',
    numSamples: NUM_SAMPLES,
    ...(clientId !== undefined && { clientId }),
  });
}

function flipBit(bytes: Uint8Array, index: number, bit = 0): Uint8Array {
  const out = bytes.slice();
  out[index]! ^= 1 << bit;
  return out;
}

/** a + b, as the aggregator computes a one-client FedAvg round (float64 sum, rounded to float32). */
function plus(a: Float32Array, b: Float32Array): Float32Array {
  return Float32Array.from(a, (x, i) => x + b[i]!);
}

let exp: PreparedExperiment;
beforeAll(async () => {
  exp = await smallExperiment({
    rounds: 100,
    roundDeadlineSeconds: 600,
    clientsPerRound: { fraction: 1, min: 1, max: 20 },
    quorum: 1,
  });
}, 60_000);

describe('sealed updates against a running aggregator', () => {
  let t: TestAggregator;
  let a: Raw;
  let aId = '';
  let modelSize = 0;
  let round1: Round;
  let round2: Round;
  let validRound1Envelope: Uint8Array;
  /** A big delta for every refused update: had any reached the aggregate, the model would show it. */
  let poison: Float32Array;

  const count = (reason: string) => t.agg.coordinator.refusals[reason] ?? 0;

  beforeAll(async () => {
    t = await startTestAggregator(exp);
    a = await rawConnection(t.url, t.spec);
    await a.send(hello('alice'));
    const welcome = await within(a.nextOf('welcome'), 'the welcome');
    aId = welcome.clientId;
    modelSize = welcome.experiment.modelSize;
    poison = new Float32Array(modelSize).fill(100);
    round1 = await within(a.nextOf('round'), 'round 1');
  }, 60_000);

  afterAll(async () => {
    await t?.agg.close();
  });

  /** Sends `frame` from `c` and checks the refusal: reason, count in /api/status, log line; nothing acked. */
  async function expectRefused(c: Raw, id: string, frame: Uint8Array, reason: string, mention: string) {
    const before = count(reason);
    const logsFrom = t.logs.length;
    await c.send(frame);
    const refused = await within(c.nextOf('refused'), `the ${reason} refusal`);
    expect([refused.reason, refused.message]).toEqual([reason, expect.stringContaining(mention)]);
    expect((await getStatus(t)).refusals[reason]).toBe(before + 1);
    const line = t.logs.slice(logsFrom).find((l) => l.startsWith(`refused ${reason} from ${id}: `));
    expect(line, t.logs.slice(logsFrom).join('\n')).toContain(refused.message);
    expect(t.agg.coordinator.status(null).currentRound?.submitted).toEqual([]);
  }

  it('verifies the signed round key and model before anything is loaded', async () => {
    await expect(
      a.crypto.verifyRound({ ...a.joined(), ...round1, weights: round1.weights }),
    ).resolves.toBeUndefined();
    const changed = round1.weights.slice();
    changed[0] = changed[0]! + 1e-3;
    await expect(a.crypto.verifyRound({ ...a.joined(), ...round1, weights: changed })).rejects.toMatchObject({
      reason: 'bad-signature',
      message: expect.stringContaining('not loaded'),
    });
    const otherKey = { ...round1.seal, publicKey: flipBit(round1.seal.publicKey, 5) };
    await expect(
      a.crypto.verifyRound({ ...a.joined(), ...round1, seal: otherKey, weights: round1.weights }),
    ).rejects.toMatchObject({ reason: 'bad-signature' });
  });

  it('a valid update is acked and aggregated; the same sealed frame replayed on the wire is refused', async () => {
    const global0 = t.agg.coordinator.globalWeights();
    const d1 = Float32Array.from({ length: modelSize }, (_, i) => Math.fround(1e-3 * Math.sin(i)));
    validRound1Envelope = await a.envelope(round1, updateFrame(round1, d1));
    const wire = await a.seal(
      encodeFrame({ type: 'sealed-update', round: 1, envelope: validRound1Envelope }),
    );
    a.sendRaw(wire);
    expect((await within(a.nextOf('ack'), 'the ack')).round).toBe(1);
    const before = count('channel-replay');
    a.sendRaw(wire);
    await waitFor(() => count('channel-replay') === before + 1, 10_000, 'the wire replay to be refused');
    round2 = await within(a.nextOf('round'), 'round 2');
    expect(round2.round).toBe(2);
    expect(t.agg.coordinator.modelVersion).toBe(1);
    expect(t.agg.coordinator.globalWeights()).toEqual(plus(global0, d1));
    expect(round2.weights).toEqual(plus(global0, d1));
  }, 30_000);

  it("replay: round 1's valid envelope sent again in round 2", async () => {
    const frame = encodeFrame({ type: 'sealed-update', round: 2, envelope: validRound1Envelope });
    await expectRefused(a, aId, frame, 'replay', "earlier round's update replayed");
  });

  it('tampered: one flipped bit in the AES ciphertext, and one in the tag', async () => {
    const envelope = await a.envelope(round2, updateFrame(round2, poison));
    const u = parseUpdate(envelope, 64 * 1024 * 1024);
    const sealedAt = u.sealed.byteOffset - envelope.byteOffset;
    const ciphertextBit = flipBit(envelope, sealedAt + 100, 3);
    const tagBit = flipBit(envelope, sealedAt + u.sealed.length - 1, 7);
    for (const bad of [ciphertextBit, tagBit]) {
      const frame = encodeFrame({ type: 'sealed-update', round: 2, envelope: bad });
      await expectRefused(a, aId, frame, 'tampered', 'tag does not verify');
    }
  });

  it('wrong-context: one flipped bit in the associated data (the model version, then the client id)', async () => {
    const envelope = await a.envelope(round2, updateFrame(round2, poison));
    const u = parseUpdate(envelope, 64 * 1024 * 1024);
    const headerEnd = u.header.byteOffset - envelope.byteOffset + u.header.length;
    // The header ends with model version (4) and payload length (4); version 1 becomes version 0.
    const version = flipBit(envelope, headerEnd - 5, 0);
    await expectRefused(
      a,
      aId,
      encodeFrame({ type: 'sealed-update', round: 2, envelope: version }),
      'wrong-context',
      'expected model version 1, got model version 0',
    );
    const idAt = headerEnd - 8 - aId.length;
    const id = flipBit(envelope, idAt + aId.length - 1, 0);
    await expectRefused(
      a,
      aId,
      encodeFrame({ type: 'sealed-update', round: 2, envelope: id }),
      'wrong-context',
      `expected client id "${aId}"`,
    );
  });

  it('bad-signature: one flipped bit in the signature', async () => {
    const envelope = await a.envelope(round2, updateFrame(round2, poison));
    const bad = flipBit(envelope, envelope.length - 1000, 2);
    await expectRefused(
      a,
      aId,
      encodeFrame({ type: 'sealed-update', round: 2, envelope: bad }),
      'bad-signature',
      'does not verify',
    );
  });

  it("unregistered: an update from a connection whose key never joined, claiming alice's id", async () => {
    const u = await rawConnection(t.url, t.spec);
    // Sealed correctly to round 2's (public) key, but signed by a key that is not registered.
    const envelope = await u.crypto.sealUpdate({
      ...a.joined(),
      round: 2,
      version: round2.version,
      payload: updateFrame(round2, poison),
      seal: round2.seal,
    });
    const fp = t.agg.coordinator.status(null).clientList.find((c) => c.id === aId)?.key;
    expect(fp).toBeDefined();
    const frame = encodeFrame({ type: 'sealed-update', round: 2, envelope });
    const before = count('unregistered');
    await u.send(frame);
    const refused = await within(u.nextOf('refused'), 'the unregistered refusal');
    expect(refused.reason).toBe('unregistered');
    expect(refused.message).toContain('is not a registered client');
    expect(refused.message).not.toContain(fp);
    expect((await getStatus(t)).refusals.unregistered).toBe(before + 1);
    u.ws.close();
  });

  it('nothing refused reached the aggregate: round 2 is exactly round 1 plus the one valid update', async () => {
    const global1 = t.agg.coordinator.globalWeights();
    const d2 = Float32Array.from({ length: modelSize }, (_, i) => Math.fround(-5e-4 * Math.cos(i)));
    await a.sendUpdate(round2, updateFrame(round2, d2));
    expect((await within(a.nextOf('ack'), 'the ack')).round).toBe(2);
    await waitFor(() => t.agg.coordinator.roundsCompleted === 2, 30_000, 'round 2 to be aggregated');
    expect(t.agg.coordinator.globalWeights()).toEqual(plus(global1, d2));
    const s = await getStatus(t);
    expect(s.history.map((h) => [h.round, h.participants, h.contributed])).toEqual([
      [1, 1, [aId]],
      [2, 1, [aId]],
    ]);
    for (const reason of ['replay', 'tampered', 'wrong-context', 'bad-signature', 'unregistered']) {
      expect([reason, s.refusals[reason]]).toEqual([
        reason,
        reason === 'tampered' || reason === 'wrong-context' ? 2 : 1,
      ]);
    }
  }, 45_000);

  it('binds client ids to keys: another key claiming an id gets its own; the same key takes its id back', async () => {
    const round3 = await within(a.nextOf('round'), 'round 3');
    const mallory = await rawConnection(t.url, t.spec);
    await mallory.send(hello('mallory', aId));
    const mw = await within(mallory.nextOf('welcome'), "mallory's welcome");
    expect(mw.clientId).not.toBe(aId);
    expect(t.agg.coordinator.refusals['id-claim-refused']).toBe(1);
    expect(t.logs.some((l) => l.includes(`refused the claim to ${aId}`))).toBe(true);
    expect(a.closed()).toBeNull();
    // The checkpoint after round 2 holds the binding, so it survives a restart.
    const saved = loadCheckpoint(t.dataDir);
    const key = t.agg.coordinator.status(null).clientList.find((c) => c.id === aId)!.key;
    expect(saved?.clientKeys[aId]).toBe(key);
    // Alice reconnects with her key (without even naming her id): she is alice again; the old socket closes.
    const again = await rawConnection(t.url, t.spec, a.identity);
    await again.send(hello('alice-again'));
    expect((await within(again.nextOf('welcome'), 'the welcome back')).clientId).toBe(aId);
    await waitFor(() => a.closed() !== null, 10_000, 'the old connection to close');
    expect(a.closed()?.code).toBe(4000);
    expect(round3.round).toBe(3);
    mallory.ws.close();
    again.ws.close();
  }, 30_000);
});

describe('handshake refusals', () => {
  it('a client refuses a server whose identity is not the pinned one, and does not retry', async () => {
    const real = await startTestAggregator(exp);
    const impostor = await startTestAggregator(exp);
    try {
      expect(impostor.spec.pinnedFingerprint).not.toBe(real.spec.pinnedFingerprint);
      const statuses: ClientStatus[] = [];
      const client = new FederatedClient({
        url: impostor.url, // the link pins the real server; the connection reaches another
        name: 'pinned',
        trainer: new ModelTrainer(exp.test, 'wasm'),
        channels: await clientChannelsFor(real.spec),
        connect: nodeSocket,
        backoff: { initialMs: 50, maxMs: 100, factor: 2 },
        onStatus: (s) => statuses.push(s),
      });
      await within(client.run(), 'the client to give up');
      const refused = statuses.find((s) => s.state === 'refused');
      expect(refused).toMatchObject({ state: 'refused', reason: 'fingerprint-mismatch' });
      expect((refused as { message: string }).message).toContain('not the one in the join link');
      expect((refused as { message: string }).message).toContain(real.spec.pinnedFingerprint);
      expect(statuses.filter((s) => s.state === 'connecting')).toHaveLength(1);
      // The refusal is the last word, so the page says why rather than "Not joined".
      expect(statuses.at(-1)).toEqual(refused);
      expect(impostor.agg.coordinator.status(null).clients).toBe(0);
    } finally {
      await real.agg.close();
      await impostor.agg.close();
    }
  }, 60_000);

  it('downgrade: a client requiring X-Wing refuses a server offering plain ML-KEM-768', async () => {
    const weak = await startTestAggregator(exp, undefined, 'mlkem768');
    try {
      const statuses: ClientStatus[] = [];
      const client = new FederatedClient({
        url: weak.url,
        name: 'strict',
        trainer: new ModelTrainer(exp.test, 'wasm'),
        channels: await clientChannelsFor({ ...weak.spec, minimumSuite: 'xwing' }),
        connect: nodeSocket,
        onStatus: (s) => statuses.push(s),
      });
      await within(client.run(), 'the client to give up');
      expect(statuses.find((s) => s.state === 'refused')).toMatchObject({
        reason: 'downgrade',
        message: expect.stringContaining('expected suite xwing or stronger, got mlkem768'),
      });
      expect(weak.agg.coordinator.status(null).clients).toBe(0);
    } finally {
      await weak.agg.close();
    }
  }, 60_000);

  it('downgrade: an X-Wing server refuses a ClientHello for plain ML-KEM-768', async () => {
    const t = await startTestAggregator(exp);
    try {
      const ws = new WebSocket(t.url, { perMessageDeflate: false });
      const serverHello = await new Promise<Uint8Array>((ok, fail) => {
        ws.once('message', (d: Buffer) => ok(new Uint8Array(d)));
        ws.once('error', fail);
      });
      const closed = new Promise<number>((ok) => ws.once('close', (code) => ok(code)));
      // A ClientHello made for an ML-KEM-768 offer of the same session (what a downgrading middlebox sends).
      const session = parseServerHello(serverHello).session;
      const weakOffer = createServerHandshake({ identity: generateIdentity(), suite: 'mlkem768', session });
      const { clientHello } = await clientHandshake({
        identity: generateIdentity(),
        serverHello: weakOffer.hello,
      });
      ws.send(clientHello);
      expect(await within(closed, 'the close')).toBe(1008);
      expect(t.agg.coordinator.refusals['handshake-downgrade']).toBe(1);
      expect(t.logs.some((l) => l.includes('expected suite xwing (offered), got mlkem768'))).toBe(true);
    } finally {
      await t.agg.close();
    }
  }, 60_000);
});

/**
 * Every 8-byte window (at 4-byte steps) of `values`' bytes, as keys, leaving out windows that touch a value
 * occurring more than once (zero biases, unit LayerNorm scales): eight zero bytes say nothing about a leak.
 */
function windows(values: Float32Array): Set<string> {
  const u = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const seen = new Map<number, number>();
  for (const x of u) seen.set(x, (seen.get(x) ?? 0) + 1);
  const out = new Set<string>();
  for (let i = 0; i + 1 < u.length; i++) {
    if (seen.get(u[i]!) === 1 && seen.get(u[i + 1]!) === 1) out.add(`${u[i]},${u[i + 1]}`);
  }
  return out;
}

/** Offsets in `bytes` where any of `keys` appears (any alignment); at most `limit`. */
function findWindows(bytes: Uint8Array, keys: Set<string>, limit = 5): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hits: number[] = [];
  for (let i = 0; i + 8 <= bytes.length && hits.length < limit; i++) {
    if (keys.has(`${v.getUint32(i, true)},${v.getUint32(i + 4, true)}`)) hits.push(i);
  }
  return hits;
}

describe('no plaintext on the wire', () => {
  it('a known weight pattern in the updates, and the global model, never appear in captured frames', async () => {
    const t = await startTestAggregator(
      await smallExperiment({ rounds: 2, clientsPerRound: { fraction: 1, min: 2, max: 2 }, quorum: 2 }),
    );
    const captured: { dir: 'in' | 'out'; bytes: Uint8Array }[] = [];
    // Every global model sent: the one each round starts from.
    const globals: Float32Array[] = [];
    t.agg.coordinator.on('round-start', () => globals.push(t.agg.coordinator.globalWeights()));
    // Tap every socket the server accepts: what it receives and what it sends, as WebSocket messages.
    const wss = t.agg.server.wss;
    const handleUpgrade = wss.handleUpgrade.bind(wss);
    wss.handleUpgrade = ((req, socket, head, done) =>
      handleUpgrade(req, socket, head, (ws, request) => {
        ws.on('message', (d: Buffer) => captured.push({ dir: 'in', bytes: new Uint8Array(d) }));
        const send = ws.send.bind(ws);
        ws.send = ((data: Uint8Array, ...rest: unknown[]) => {
          captured.push({ dir: 'out', bytes: new Uint8Array(data) });
          return (send as (...args: unknown[]) => void)(data, ...rest);
        }) as typeof ws.send;
        done(ws, request);
      })) as typeof wss.handleUpgrade;
    let modelSize = 0;
    const pattern = (n: number) =>
      Float32Array.from({ length: n }, (_, i) => Math.fround(0.0123 + i * 1.7e-6));
    /** Trains nothing: returns the known pattern, so a plaintext update would be recognisable. */
    const patternTrainer: LocalTrainer = {
      backend: 'test',
      numSamples: NUM_SAMPLES,
      async prepare(e) {
        modelSize = e.modelSize;
      },
      async fit() {
        return { delta: pattern(modelSize), metrics: { loss: 1, seconds: 0.01, samplesPerSec: 1000 } };
      },
    };
    const clients = await Promise.all(
      ['p1', 'p2'].map(
        async (name) =>
          new FederatedClient({
            url: t.url,
            name,
            trainer: patternTrainer,
            channels: await clientChannelsFor(t.spec),
            connect: nodeSocket,
          }),
      ),
    );
    try {
      await within(Promise.all(clients.map((c) => c.run())), 'two rounds', 60_000);
      expect(t.agg.coordinator.roundsCompleted).toBe(2);
      const updateKeys = windows(pattern(modelSize));
      expect(globals).toHaveLength(2);
      const modelKeys = new Set(globals.flatMap((g) => [...windows(g)]));
      // Most of the model is distinctive enough to be recognised.
      expect(modelKeys.size).toBeGreaterThan(globals.length * modelSize * 0.5);
      // The scanner finds the pattern where it is in the clear: in the update frame before sealing.
      const clearUpdate = encodeFrame({
        type: 'update',
        round: 1,
        baseVersion: 0,
        numSamples: 1,
        metrics: { loss: 1, seconds: 1, samplesPerSec: 1 },
        delta: pattern(modelSize),
      });
      expect(findWindows(clearUpdate, updateKeys).length).toBeGreaterThan(0);
      const clearRound = encodeFrame({
        type: 'round',
        round: 1,
        version: 0,
        deadlineMs: 1,
        fit: { epochs: 1, batchSize: 1, learningRate: 1, proxMu: 0, seed: 1 },
        seal: {
          suite: 'xwing',
          publicKey: new Uint8Array(1),
          keySignature: new Uint8Array(1),
          modelSignature: new Uint8Array(1),
        },
        weights: globals[0]!,
      });
      expect(findWindows(clearRound, modelKeys).length).toBeGreaterThan(0);
      const ins = captured.filter((c) => c.dir === 'in');
      const outs = captured.filter((c) => c.dir === 'out');
      // Handshakes, hellos, two updates per round and leaves came in; hellos, welcomes, rounds and acks went out.
      expect(ins.length).toBeGreaterThanOrEqual(2 * (1 + 1 + 2));
      expect(Math.max(...ins.map((c) => c.bytes.length))).toBeGreaterThan(4 * modelSize);
      expect(Math.max(...outs.map((c) => c.bytes.length))).toBeGreaterThan(4 * modelSize);
      for (const c of captured) {
        expect(findWindows(c.bytes, updateKeys)).toEqual([]);
        expect(findWindows(c.bytes, modelKeys)).toEqual([]);
      }
    } finally {
      for (const c of clients) c.stop();
      await t.agg.close();
    }
  }, 90_000);
});
