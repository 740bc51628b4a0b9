/**
 * Bad frames against one real aggregator (real WebSockets, the post-quantum channel): each is refused with
 * its reason, counted, logged, and costs only the frame — the sender's connection stays usable, and a
 * bystander that joined first (and holds round 1 open) is untouched and finally contributes to the round.
 * Outer frames are sent by fresh clients; bad update frames inside a correctly sealed envelope are sent by
 * the bystander itself (the one client selected for round 1), which stays free to answer afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxFrameBytes, PROTOCOL } from '../src/core/limits.ts';
import { encodeFrame, PROTOCOL_VERSION, type ServerMessage } from '../src/core/protocol.ts';
import {
  getStatus,
  rawConnection,
  smallExperiment,
  startTestAggregator,
  type TestAggregator,
  waitFor,
  within,
} from './federation.ts';

type Raw = Awaited<ReturnType<typeof rawConnection>>;

const NUM_SAMPLES = 10;
const METRICS = { loss: 1, seconds: 1, samplesPerSec: 1 };

let t: TestAggregator;
let modelSize = 0;
/** Joined first: round 1 selected it, and stays open (600 s deadline) until it answers in the last test. */
let bystander: Raw;
let bystanderId = '';
let round1: Extract<ServerMessage, { type: 'round' }>;

beforeAll(async () => {
  const exp = await smallExperiment({
    rounds: 1000,
    roundDeadlineSeconds: 600,
    clientsPerRound: { fraction: 1, min: 1, max: 20 },
    quorum: 1,
  });
  t = await startTestAggregator(exp);
  bystander = await rawConnection(t.url, t.spec);
  await bystander.send(hello('bystander'));
  const welcome = await within(bystander.nextOf('welcome'), 'the welcome of the bystander');
  modelSize = welcome.experiment.modelSize;
  bystanderId = welcome.clientId;
  round1 = await within(bystander.nextOf('round'), 'round 1');
  expect(round1.round).toBe(1);
  expect(round1.weights.length).toBe(modelSize);
}, 60_000);

afterAll(async () => {
  await t?.agg.close();
});

function hello(name: string): Uint8Array {
  return encodeFrame({ type: 'hello', name, backend: 'test', numSamples: NUM_SAMPLES });
}

/** Small, finite, different weights. */
function delta(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e-3);
}

/** A `sealed-update` frame around arbitrary envelope bytes (it never gets as far as decryption). */
function sealedUpdate(round: number, envelopeBytes = 1001): Uint8Array {
  const envelope = Uint8Array.from({ length: envelopeBytes }, (_, i) => (i * 31) & 0xff);
  return encodeFrame({ type: 'sealed-update', round, envelope });
}

/** The plaintext of a sealed update. */
function update(round: number, d: Float32Array, baseVersion = 0): Uint8Array {
  return encodeFrame({
    type: 'update',
    round,
    baseVersion,
    numSamples: NUM_SAMPLES,
    metrics: METRICS,
    delta: d,
  });
}

/** A frame laid out by hand (prefix, JSON header, padding, payload), for types encodeFrame cannot name. */
function frameOf(header: Record<string, unknown>): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array((8 + h.length + 3) & ~3);
  out.set([0x50, 0x46, PROTOCOL_VERSION, 0]);
  new DataView(out.buffer).setUint32(4, h.length, true);
  out.set(h, 8);
  return out;
}

async function join(name: string): Promise<{ c: Raw; id: string }> {
  const c = await rawConnection(t.url, t.spec);
  await c.send(hello(name));
  const welcome = await within(c.nextOf('welcome'), `${name}'s welcome`);
  expect(welcome.experiment.modelSize).toBe(modelSize);
  return { c, id: welcome.clientId };
}

const count = (reason: string) => t.agg.coordinator.refusals[reason] ?? 0;

/** The aggregator still serves: the bystander is connected and still owes round 1, /healthz answers, and a
 * fresh connection completes the handshake, hello and welcome. */
async function stillServing(): Promise<void> {
  expect(bystander.closed()).toBeNull();
  expect(bystander.ws.readyState).toBe(bystander.ws.OPEN);
  const health = await fetch(`http://127.0.0.1:${t.agg.port}/healthz`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ ok: true });
  const fresh = await join('fresh');
  fresh.c.ws.close();
  const s = await getStatus(t);
  expect(s.currentRound?.round).toBe(1);
  expect(s.currentRound?.selected).toEqual([bystanderId]);
  expect(s.currentRound?.submitted).toEqual([]);
  expect(s.currentRound?.failed).toEqual([]);
}

/** The connection survived its bad frame with its channel in step: a sealed `leave` is still honoured. */
async function leaveCleanly(c: Raw): Promise<void> {
  expect(c.closed()).toBeNull();
  await c.send(encodeFrame({ type: 'leave' }));
  await waitFor(() => c.closed() !== null, 10_000, 'the server to honour leave');
  expect(c.closed()?.code).toBe(1000);
}

/**
 * Joins, sends one bad frame and checks: the `refused` answer (reason, message naming what was expected and
 * what came), the count in the coordinator and /api/status, the log line, the connection still usable, and
 * the aggregator still serving.
 */
async function expectRefusal(
  name: string,
  reason: string,
  sendBad: (c: Raw) => Promise<void> | void,
  mentions: string[],
  round?: number,
): Promise<void> {
  const before = count(reason);
  const { c, id } = await join(name);
  const logsFrom = t.logs.length;
  await sendBad(c);
  const refused = await within(c.nextOf('refused'), `the ${reason} refusal`);
  expect(refused.reason).toBe(reason);
  for (const m of mentions) expect(refused.message).toContain(m);
  expect(refused.round).toBe(round);
  expect(count(reason)).toBe(before + 1);
  expect((await getStatus(t)).refusals[reason]).toBe(before + 1);
  const line = t.logs.slice(logsFrom).find((l) => l.startsWith(`refused ${reason} from ${id}: `));
  expect(line, t.logs.slice(logsFrom).join('\n')).toBeDefined();
  expect(line).toContain(refused.message);
  await leaveCleanly(c);
  await stillServing();
}

/** The bystander seals `inner` correctly for round 1; the aggregator opens it and refuses what is inside. */
async function expectInnerRefusal(reason: string, inner: Uint8Array, mentions: string[]): Promise<void> {
  const before = count(reason);
  const logsFrom = t.logs.length;
  await bystander.sendUpdate(round1, inner);
  const refused = await within(bystander.nextOf('refused'), `the ${reason} refusal`);
  expect(refused.reason).toBe(reason);
  for (const m of mentions) expect(refused.message).toContain(m);
  expect(refused.round).toBe(1);
  expect(count(reason)).toBe(before + 1);
  expect((await getStatus(t)).refusals[reason]).toBe(before + 1);
  const line = t.logs.slice(logsFrom).find((l) => l.startsWith(`refused ${reason} from ${bystanderId}: `));
  expect(line, t.logs.slice(logsFrom).join('\n')).toContain(refused.message);
  await stillServing();
}

describe('bad frames against a running aggregator', () => {
  it('truncated: a sealed-update frame missing its last envelope byte', async () => {
    const frame = sealedUpdate(1);
    const cut = frame.subarray(0, frame.length - 1);
    await expectRefusal('truncated', 'truncated', (c) => c.send(cut), [
      '1001 payload bytes',
      `${frame.length} bytes`,
      `got ${cut.length} bytes`,
    ]);
  });

  it('truncated: an update frame missing its last weight, inside a valid envelope', async () => {
    const frame = update(1, delta(modelSize));
    const cut = frame.subarray(0, frame.length - 4);
    await expectInnerRefusal('truncated', cut, [
      `${modelSize} float32 values`,
      `${frame.length} bytes`,
      `got ${cut.length} bytes`,
    ]);
  });

  it('version: a frame of another protocol version', async () => {
    const frame = hello('old');
    const other = PROTOCOL_VERSION + 1;
    frame[2] = other;
    await expectRefusal('version-other', 'version', (c) => c.send(frame), [
      `version ${PROTOCOL_VERSION}`,
      `version ${other}`,
    ]);
  });

  it('unknown-type: a frame of type "gossip"', async () => {
    await expectRefusal('gossip', 'unknown-type', (c) => c.send(frameOf({ type: 'gossip', floats: 0 })), [
      '"hello" | "sealed-update" | "secagg" | "ready" | "leave"',
      '"gossip"',
    ]);
  });

  it('unknown-type: a bare update (not sealed to the round key) is never accepted, even inside the channel', async () => {
    await expectRefusal('bare', 'unknown-type', (c) => c.send(update(1, delta(modelSize))), [
      '"sealed-update"',
      'got "update"',
    ]);
  });

  it('oversized: a sealed frame over maxFrameBytes is closed by ws (1009); the others go on', async () => {
    const limit = maxFrameBytes(modelSize);
    const big = sealedUpdate(1, limit + 1);
    expect(big.length).toBeGreaterThan(limit);
    const before = { ...t.agg.coordinator.refusals };
    const { c, id } = await join('oversized');
    const logsFrom = t.logs.length;
    await c.send(big);
    await waitFor(() => c.closed() !== null, 10_000, 'the server to close the oversized sender');
    expect(c.closed()?.code).toBe(1009);
    // ws refused it before the parser saw it: nothing is counted as a protocol refusal.
    expect(t.agg.coordinator.refusals).toEqual(before);
    await waitFor(() => t.logs.slice(logsFrom).includes(`leave ${id}`), 5000, `leave ${id} in the log`);
    expect(t.logs.slice(logsFrom).some((l) => /^socket .*Max payload size exceeded/.test(l))).toBe(true);
    await stillServing();
  });

  it('oversized: a header length over PROTOCOL.maxHeaderBytes is refused by the parser', async () => {
    const frame = frameOf({ type: 'hello', name: 'x', backend: 'test', numSamples: 1, floats: 0 });
    const announced = PROTOCOL.maxHeaderBytes + 1;
    new DataView(frame.buffer).setUint32(4, announced, true);
    await expectRefusal('big-header', 'oversized', (c) => c.send(frame), [
      `${PROTOCOL.maxHeaderBytes}`,
      `got ${announced}`,
    ]);
  });

  it('non-finite: an update with a NaN weight, inside a valid envelope', async () => {
    const d = delta(modelSize);
    const at = modelSize >> 1;
    d[at] = Number.NaN;
    await expectInnerRefusal('non-finite', update(1, d), [`weight ${at} is NaN`, 'finite']);
  });

  it('non-finite: an update with an infinite weight, inside a valid envelope', async () => {
    const d = delta(modelSize);
    d[modelSize - 1] = Number.NEGATIVE_INFINITY;
    await expectInnerRefusal('non-finite', update(1, d), [`weight ${modelSize - 1} is -Infinity`]);
  });

  it('wrong-length: an update with one weight too many, inside a valid envelope', async () => {
    await expectInnerRefusal('wrong-length', update(1, delta(modelSize + 1)), [
      `expected ${modelSize} weights`,
      `got ${modelSize + 1}`,
    ]);
  });

  it('stale: an update for round 999 while round 1 is open', async () => {
    await expectRefusal(
      'stale',
      'stale',
      (c) => c.send(sealedUpdate(999)),
      ['round 999', 'round 1 is open'],
      999,
    );
  });

  it('malformed: a text (non-binary) frame', async () => {
    await expectRefusal('text', 'malformed', (c) => c.ws.send('{"type":"hello"}'), ['text frame', 'binary']);
  });

  it('an unsealed frame after the handshake is refused by the channel, which stays in step', async () => {
    const reason = 'channel-replay';
    const before = count(reason);
    const duplicates = count('duplicate');
    const { c, id } = await join('unsealed');
    const logsFrom = t.logs.length;
    // A well-formed protocol frame, but not sealed: its first 8 bytes are no sequence number the channel
    // expects, so it is refused before decryption (counted, logged, not answered: the sender is unknown).
    c.sendRaw(sealedUpdate(1));
    await waitFor(() => count(reason) === before + 1, 10_000, `${reason} to be counted`);
    expect((await getStatus(t)).refusals[reason]).toBe(before + 1);
    const line = t.logs.slice(logsFrom).find((l) => l.startsWith(`refused ${reason} from ${id}: `));
    expect(line, t.logs.slice(logsFrom).join('\n')).toContain('sealed frame refused');
    // The next sealed frame is opened normally (the refused one did not advance the sequence), and the first
    // answer the connection gets is the one to it: nothing was sent back for the unsealed frame.
    await c.send(hello('unsealed-again'));
    const next = await within(c.nextOf('refused'), 'the duplicate-hello refusal');
    expect(next.reason).toBe('duplicate');
    expect(count('duplicate')).toBe(duplicates + 1);
    await leaveCleanly(c);
    await stillServing();
  });

  it('after all of that, a valid update from the bystander for round 1 is acked and aggregated', async () => {
    const refusals = { ...t.agg.coordinator.refusals };
    await bystander.sendUpdate(round1, update(round1.round, delta(modelSize), round1.version));
    const ack = await within(bystander.nextOf('ack'), 'the ack');
    expect(ack.round).toBe(1);
    expect(t.agg.coordinator.refusals).toEqual(refusals);
    await waitFor(() => t.agg.coordinator.roundsCompleted === 1, 30_000, 'round 1 to be aggregated');
    const s = await getStatus(t);
    expect(s.history[0]?.outcome).toBe('aggregated');
    expect(s.history[0]?.contributed).toEqual([bystanderId]);
    expect(bystander.closed()).toBeNull();
  }, 45_000);
});
