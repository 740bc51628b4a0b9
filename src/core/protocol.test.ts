import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maxFrameBytes, PROTOCOL } from './limits.ts';
import {
  type ClientMessage,
  type DecodeOptions,
  decodeClientFrame,
  decodeServerFrame,
  decodeUpdateFrame,
  encodeFrame,
  PROTOCOL_VERSION,
  ProtocolError,
  type RefusalReason,
  type ServerMessage,
  toBase64,
  type UpdateFrame,
  type WireRoundSeal,
} from './protocol.ts';

/** Bit patterns that a lossy codec would change: ±0, subnormals, the largest finite values, 0.1f. */
const SPECIAL_BITS = [
  0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00800000, 0x80800000, 0x7f7fffff,
  0xff7fffff, 0x3f800000, 0xbf800000, 0x3dcccccd, 0x12345678, 0x92345678, 0x4b000001,
];
const MODEL = SPECIAL_BITS.length;
const OPTS: DecodeOptions = { maxFrameBytes: maxFrameBytes(MODEL), modelSize: MODEL };

function specialWeights(): Float32Array {
  return new Float32Array(new Uint32Array(SPECIAL_BITS).buffer);
}

function bits(w: Float32Array): number[] {
  return Array.from(new Uint32Array(w.buffer, w.byteOffset, w.length));
}

/** Small finite weights, different at every position. */
function weightsOf(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i + 1) / 100);
}

const METRICS = { loss: 0.5, seconds: 2, samplesPerSec: 1000 };

function updateMsg(delta: Float32Array): UpdateFrame {
  return { type: 'update', round: 3, baseVersion: 2, numSamples: 120, metrics: METRICS, delta };
}

/** Bytes 0, 1, …, n − 1 (mod 251), so that a shifted or truncated copy never looks equal. */
function bytesOf(n: number, salt = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i + salt) % 251);
}

/** A round seal of small fixed fields whose lengths cover all three base64 paddings (none, "==", "="). */
const SEAL: WireRoundSeal = {
  suite: 'xwing',
  publicKey: bytesOf(33, 1),
  keySignature: bytesOf(34, 2),
  modelSignature: bytesOf(35, 3),
};

/** The header `encodeFrame` writes for SEAL. */
function sealHeader(changes: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    suite: SEAL.suite,
    publicKey: toBase64(SEAL.publicKey),
    keySignature: toBase64(SEAL.keySignature),
    modelSignature: toBase64(SEAL.modelSignature),
    ...changes,
  };
}

const FIT = { epochs: 1, batchSize: 8, learningRate: 0.01, proxMu: 0, seed: 1 };

/** A `round` header (for MODEL weights) with `changes` applied. */
function roundHeader(changes: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'round',
    round: 1,
    version: 0,
    deadlineMs: 1000,
    fit: FIT,
    seal: sealHeader(),
    floats: MODEL,
    ...changes,
  };
}

function sealedHeader(bytes: number, changes: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'sealed-update', round: 3, floats: 0, bytes, ...changes };
}

/** The header `encodeFrame` writes for `updateMsg` (same key order), with `changes` applied. */
function updateHeader(floats: number, changes: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'update', round: 3, baseVersion: 2, numSamples: 120, metrics: METRICS, floats, ...changes };
}

function helloHeader(changes: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'hello', name: 'pi', backend: 'wasm', numSamples: 10, floats: 0, ...changes };
}

const te = new TextEncoder();

interface RawFrameOptions {
  magic?: [number, number];
  version?: number;
  /** The header length written in the prefix (default: the real one). */
  headerLength?: number;
}

/** Builds a frame byte by byte, so that a test can break exactly one thing. */
function rawFrame(
  header: string | Uint8Array | Record<string, unknown>,
  payload: Uint8Array | Float32Array = new Uint8Array(0),
  o: RawFrameOptions = {},
): Uint8Array {
  const h =
    typeof header === 'string'
      ? te.encode(header)
      : header instanceof Uint8Array
        ? header
        : te.encode(JSON.stringify(header));
  const p =
    payload instanceof Float32Array
      ? new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength)
      : payload;
  const start = (8 + h.length + 3) & ~3;
  const out = new Uint8Array(start + p.length);
  out[0] = o.magic?.[0] ?? 0x50;
  out[1] = o.magic?.[1] ?? 0x46;
  out[2] = o.version ?? PROTOCOL_VERSION;
  new DataView(out.buffer).setUint32(4, o.headerLength ?? h.length, true);
  out.set(h, 8);
  out.set(p, start);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Runs `decode` and returns the ProtocolError it throws; fails on any other outcome. */
function refusal(decode: () => unknown): ProtocolError {
  let result: unknown;
  try {
    result = decode();
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
  throw new Error(`expected a ProtocolError, but the frame was accepted as ${JSON.stringify(result)}`);
}

function expectRefused(
  decode: () => unknown,
  reason: RefusalReason,
  ...mentions: (string | number)[]
): ProtocolError {
  const e = refusal(decode);
  expect(e.reason, e.message).toBe(reason);
  expect(e.name).toBe('ProtocolError');
  for (const m of mentions) expect(e.message).toContain(String(m));
  return e;
}

const client =
  (bytes: Uint8Array, opts: DecodeOptions = OPTS) =>
  () =>
    decodeClientFrame(bytes, opts);
const server =
  (bytes: Uint8Array, opts: DecodeOptions = OPTS) =>
  () =>
    decodeServerFrame(bytes, opts);
/** The plaintext of a sealed update, as the aggregator parses it once the envelope is opened. */
const update =
  (bytes: Uint8Array, opts: DecodeOptions = OPTS) =>
  () =>
    decodeUpdateFrame(bytes, opts);

describe('encodeFrame / decode round trip', () => {
  it('lays a frame out as documented: magic, version, reserved, header length, header, padding, payload', () => {
    const w = specialWeights();
    const frame = encodeFrame(updateMsg(w));
    expect(Array.from(frame.subarray(0, 4))).toEqual([0x50, 0x46, PROTOCOL_VERSION, 0]);
    const h = new DataView(frame.buffer).getUint32(4, true);
    const header = JSON.parse(new TextDecoder().decode(frame.subarray(8, 8 + h))) as Record<string, unknown>;
    expect(header).toEqual(updateHeader(MODEL));
    const start = (8 + h + 3) & ~3;
    expect(Array.from(frame.subarray(8 + h, start))).toEqual(new Array(start - 8 - h).fill(0));
    expect(frame.length).toBe(start + 4 * MODEL);
    expect(bits(new Float32Array(frame.slice(start).buffer))).toEqual(SPECIAL_BITS);
    // The hand-made frames of the refusal tests below differ from encodeFrame's only where they say.
    expect(rawFrame(updateHeader(MODEL), w)).toEqual(frame);
  });

  it('round-trips hello (with and without clientId and token)', () => {
    const plain: ClientMessage = { type: 'hello', name: 'pi-4', backend: 'wasm', numSamples: 0 };
    expect(decodeClientFrame(encodeFrame(plain), OPTS)).toEqual(plain);
    const full: ClientMessage = {
      type: 'hello',
      clientId: 'c-0123456789ab',
      name: 'Ünïcødé ✓ \ud83d\ude00',
      backend: 'webgpu',
      numSamples: PROTOCOL.maxSamples,
      token: 't'.repeat(PROTOCOL.maxTokenChars),
    };
    expect(decodeClientFrame(encodeFrame(full), OPTS)).toEqual(full);
  });

  it('round-trips update with every weight bit-identical (-0, subnormals, largest finite)', () => {
    const w = specialWeights();
    const msg = decodeUpdateFrame(encodeFrame(updateMsg(w)), OPTS);
    expect(msg.type).toBe('update');
    expect(bits(msg.delta)).toEqual(SPECIAL_BITS);
    expect(Object.is(msg.delta[1], -0)).toBe(true);
    expect(msg.delta[2]).toBe(2 ** -149);
    const { delta: _d, ...rest } = msg;
    const { delta: _w, ...expected } = updateMsg(w);
    expect(rest).toEqual(expected);
  });

  it('round-trips sealed-update with the envelope byte-identical (odd length, no padding)', () => {
    const envelope = bytesOf(1001);
    const sent: ClientMessage = { type: 'sealed-update', round: 3, envelope };
    const frame = encodeFrame(sent);
    const h = new DataView(frame.buffer).getUint32(4, true);
    const header = JSON.parse(new TextDecoder().decode(frame.subarray(8, 8 + h))) as Record<string, unknown>;
    expect(header).toEqual(sealedHeader(1001));
    const start = (8 + h + 3) & ~3;
    expect(frame.length).toBe(start + 1001);
    expect(rawFrame(sealedHeader(1001), envelope)).toEqual(frame);
    const back = decodeClientFrame(frame, OPTS);
    expect(back).toEqual(sent);
    if (back.type !== 'sealed-update') throw new Error(`expected a sealed-update, got ${back.type}`);
    expect(Array.from(back.envelope)).toEqual(Array.from(envelope));
    // The envelope is a copy: neither the sender's array nor the received frame aliases it.
    frame.fill(0xff);
    expect(Array.from(back.envelope)).toEqual(Array.from(bytesOf(1001)));
    // The model size constrains weights, never an envelope.
    expect(decodeClientFrame(encodeFrame(sent), { ...OPTS, modelSize: 1 })).toEqual(sent);
  });

  it('a bare update is no client frame: only its sealed form is accepted', () => {
    const frame = encodeFrame(updateMsg(weightsOf(MODEL)));
    expectRefused(client(frame), 'unknown-type', '"sealed-update"', '"update"');
    // And the plaintext decoder accepts nothing but an update.
    expectRefused(
      update(encodeFrame({ type: 'sealed-update', round: 3, envelope: bytesOf(8) })),
      'unknown-type',
    );
    expectRefused(update(encodeFrame({ type: 'leave' })), 'unknown-type', '"update"', '"leave"');
  });

  it('round-trips leave', () => {
    expect(decodeClientFrame(encodeFrame({ type: 'leave' }), OPTS)).toEqual({ type: 'leave' });
  });

  it('round-trips welcome, ack, refused (with and without round) and status', () => {
    const messages: ServerMessage[] = [
      {
        type: 'welcome',
        session: 'ab'.repeat(16),
        clientId: 'c-00112233',
        round: 0,
        phase: 'waiting',
        experiment: {
          dataset: 'toniot',
          strategy: 'fedavg',
          rounds: 10,
          model: { dModel: 8, heads: 2, nested: { list: [1, 2, 3] } },
          preprocessor: { columns: ['a', 'b'], scale: [0.5, -1.25] },
          modelSize: MODEL,
        },
      },
      { type: 'ack', round: 7 },
      { type: 'refused', reason: 'stale', message: 'update for round 999 refused as stale', round: 999 },
      { type: 'refused', reason: 'non-finite', message: 'weight 3 is NaN' },
      { type: 'status', phase: 'finished', round: 12, message: 'done' },
    ];
    for (const m of messages) expect(decodeServerFrame(encodeFrame(m), OPTS)).toEqual(m);
  });

  it('round-trips round with every weight and every seal byte identical', () => {
    const msg: Extract<ServerMessage, { type: 'round' }> = {
      type: 'round',
      round: 4,
      version: 3,
      deadlineMs: 30_000,
      fit: { epochs: 2, batchSize: 64, learningRate: 0.003, proxMu: 0.01, seed: 2 ** 32 - 1 },
      seal: SEAL,
      weights: specialWeights(),
    };
    const back = decodeServerFrame(encodeFrame(msg), OPTS);
    if (back.type !== 'round') throw new Error(`expected a round, got ${back.type}`);
    expect(bits(back.weights)).toEqual(SPECIAL_BITS);
    const { weights: _a, ...rest } = back;
    const { weights: _b, ...expected } = msg;
    expect(rest).toEqual(expected);
    expect(Array.from(back.seal.publicKey)).toEqual(Array.from(SEAL.publicKey));
    expect(Array.from(back.seal.keySignature)).toEqual(Array.from(SEAL.keySignature));
    expect(Array.from(back.seal.modelSignature)).toEqual(Array.from(SEAL.modelSignature));
  });

  it('carries FedDyn’s dynAlpha in the fit settings when present, and only then', () => {
    const msg: Extract<ServerMessage, { type: 'round' }> = {
      type: 'round',
      round: 2,
      version: 1,
      deadlineMs: 1000,
      fit: { epochs: 1, batchSize: 8, learningRate: 0.01, proxMu: 0, dynAlpha: 0.05, seed: 3 },
      seal: SEAL,
      weights: weightsOf(MODEL),
    };
    const back = decodeServerFrame(encodeFrame(msg), OPTS);
    if (back.type !== 'round') throw new Error(`expected a round, got ${back.type}`);
    expect(back.fit).toEqual(msg.fit);
    const plain = decodeServerFrame(rawFrame(roundHeader(), weightsOf(MODEL)), OPTS);
    if (plain.type !== 'round') throw new Error(`expected a round, got ${plain.type}`);
    expect('dynAlpha' in plain.fit).toBe(false);
    for (const bad of [-0.1, 1e4, 'x', null]) {
      const frame = rawFrame(roundHeader({ fit: { ...FIT, dynAlpha: bad } }), weightsOf(MODEL));
      expectRefused(server(frame), 'malformed', '"dynAlpha"');
    }
  });

  it('carries the round seal in the header as padded standard base64; the limit size round-trips', () => {
    const frame = encodeFrame({
      type: 'round',
      round: 1,
      version: 0,
      deadlineMs: 1000,
      fit: FIT,
      seal: SEAL,
      weights: weightsOf(MODEL),
    });
    const h = new DataView(frame.buffer).getUint32(4, true);
    const header = JSON.parse(new TextDecoder().decode(frame.subarray(8, 8 + h))) as Record<string, unknown>;
    expect(header).toEqual(roundHeader());
    const seal = header.seal as Record<string, string>;
    expect(seal.publicKey).toBe(Buffer.from(SEAL.publicKey).toString('base64'));
    expect(seal.keySignature!.endsWith('==')).toBe(true);
    expect(seal.modelSignature!.endsWith('=') && !seal.modelSignature!.endsWith('==')).toBe(true);
    expect(rawFrame(roundHeader(), weightsOf(MODEL))).toEqual(frame);

    // Fields of exactly PROTOCOL.maxSealFieldBytes, every byte value, and an empty one.
    const max = PROTOCOL.maxSealFieldBytes;
    const big: WireRoundSeal = {
      suite: 's'.repeat(PROTOCOL.maxNameChars),
      publicKey: bytesOf(max, 7),
      keySignature: Uint8Array.from({ length: 256 }, (_, i) => 255 - i),
      modelSignature: new Uint8Array(0),
    };
    const round = {
      type: 'round',
      round: 2,
      version: 1,
      deadlineMs: 0,
      fit: FIT,
      seal: big,
      weights: weightsOf(MODEL),
    } as const;
    const back = decodeServerFrame(encodeFrame(round), { maxFrameBytes: 1 << 20, modelSize: MODEL });
    if (back.type !== 'round') throw new Error(`expected a round, got ${back.type}`);
    expect(back.seal).toEqual(big);
    expect(back.seal.publicKey.length).toBe(max);
  });

  it('decodes a frame at an unaligned offset, and the weights do not alias the input', () => {
    const frame = encodeFrame(updateMsg(specialWeights()));
    const holder = new Uint8Array(frame.length + 3);
    holder.set(frame, 1);
    const view = holder.subarray(1, 1 + frame.length);
    const msg = decodeUpdateFrame(view, OPTS);
    expect(bits(msg.delta)).toEqual(SPECIAL_BITS);
    holder.fill(0xff);
    expect(bits(msg.delta)).toEqual(SPECIAL_BITS);
    // The same for a sealed update's envelope.
    const sealed = encodeFrame({ type: 'sealed-update', round: 1, envelope: bytesOf(1001) });
    const outer = new Uint8Array(sealed.length + 3);
    outer.set(sealed, 3);
    const got = decodeClientFrame(outer.subarray(3, 3 + sealed.length), OPTS);
    if (got.type !== 'sealed-update') throw new Error(`expected a sealed-update, got ${got.type}`);
    outer.fill(0);
    expect(Array.from(got.envelope)).toEqual(Array.from(bytesOf(1001)));
  });

  it('encodes a weight view at an offset of a larger buffer with only its own values', () => {
    const big = weightsOf(MODEL + 8);
    const view = big.subarray(4, 4 + MODEL);
    const msg = decodeUpdateFrame(encodeFrame(updateMsg(view)), OPTS);
    expect(bits(msg.delta)).toEqual(bits(view));
    const bytes = bytesOf(40);
    const env = bytes.subarray(3, 3 + 17);
    const sealed = decodeClientFrame(encodeFrame({ type: 'sealed-update', round: 1, envelope: env }), OPTS);
    if (sealed.type !== 'sealed-update') throw new Error(`expected a sealed-update, got ${sealed.type}`);
    expect(Array.from(sealed.envelope)).toEqual(Array.from(env));
  });

  it('accepts a frame of exactly maxFrameBytes and a header of exactly PROTOCOL.maxHeaderBytes', () => {
    const frame = encodeFrame(updateMsg(weightsOf(MODEL)));
    expect(decodeUpdateFrame(frame, { ...OPTS, maxFrameBytes: frame.length }).type).toBe('update');
    const json = JSON.stringify(helloHeader());
    const header = `${json.slice(0, -1)}${' '.repeat(PROTOCOL.maxHeaderBytes - json.length)}}`;
    const big = rawFrame(header);
    expect(new DataView(big.buffer).getUint32(4, true)).toBe(PROTOCOL.maxHeaderBytes);
    expect(decodeClientFrame(big, { maxFrameBytes: big.length }).type).toBe('hello');
  });
});

describe('refusals', () => {
  const valid = rawFrame(updateHeader(MODEL), weightsOf(MODEL));

  it('truncated: shorter than the 8-byte prefix', () => {
    for (let n = 0; n < 8; n++) {
      expectRefused(update(valid.slice(0, n)), 'truncated', 'at least 8 bytes', `got ${n}`);
      expectRefused(client(valid.slice(0, n)), 'truncated', `got ${n}`);
      expectRefused(server(valid.slice(0, n)), 'truncated', `got ${n}`);
    }
  });

  it('truncated: the header length points past the end', () => {
    const header = te.encode(JSON.stringify(helloHeader()));
    const frame = rawFrame(header, new Uint8Array(0), { headerLength: 1000 });
    expectRefused(client(frame), 'truncated', 'header of 1000 bytes', `${frame.length - 8} present`);
    // One byte too many is already too many.
    const off = rawFrame(header, new Uint8Array(0), { headerLength: frame.length - 8 + 1 });
    expectRefused(client(off), 'truncated', `${frame.length - 8 + 1} bytes`);
  });

  it('truncated: the payload is shorter than the header announces', () => {
    const frame = valid.slice(0, valid.length - 4);
    expectRefused(update(frame), 'truncated', `${MODEL} float32`, `${valid.length} bytes`, `${frame.length}`);
    expectRefused(update(valid.slice(0, valid.length - 1)), 'truncated', `${valid.length - 1}`);
    // The same for an envelope: one byte short of what `bytes` announces.
    const sealed = rawFrame(sealedHeader(1001), bytesOf(1001));
    expectRefused(client(sealed.slice(0, -1)), 'truncated', '1001 payload bytes', `${sealed.length - 1}`);
  });

  it('bad-magic: anything but "PF"', () => {
    expectRefused(
      client(rawFrame(helloHeader(), undefined, { magic: [0x58, 0x46] })),
      'bad-magic',
      'PF',
      '5846',
    );
    expectRefused(client(rawFrame(helloHeader(), undefined, { magic: [0x46, 0x50] })), 'bad-magic', '4650');
    expectRefused(server(rawFrame(helloHeader(), undefined, { magic: [0x50, 0x47] })), 'bad-magic', '5047');
    // The magic is checked before the version.
    const both = rawFrame(helloHeader(), undefined, { magic: [0, 0], version: 9 });
    expectRefused(client(both), 'bad-magic');
  });

  it('version: version byte 1, 3 (and 0) is refused, naming both versions', () => {
    expect(PROTOCOL_VERSION).toBe(2);
    const v1 = rawFrame(updateHeader(MODEL), weightsOf(MODEL), { version: 1 });
    expectRefused(update(v1), 'version', `version ${PROTOCOL_VERSION}`, 'version 1');
    expectRefused(client(v1), 'version', 'version 1');
    expectRefused(server(v1), 'version', 'version 1');
    const v3 = rawFrame(sealedHeader(8), bytesOf(8), { version: 3 });
    expectRefused(client(v3), 'version', `version ${PROTOCOL_VERSION}`, 'version 3');
    expectRefused(server(rawFrame(roundHeader(), weightsOf(MODEL), { version: 3 })), 'version', 'version 3');
    expectRefused(client(rawFrame(helloHeader(), undefined, { version: 0 })), 'version', 'version 0');
  });

  it('oversized: a frame one byte over maxFrameBytes', () => {
    const frame = encodeFrame(updateMsg(weightsOf(MODEL)));
    const opts = { ...OPTS, maxFrameBytes: frame.length - 1 };
    expectRefused(update(frame, opts), 'oversized', `${frame.length - 1} bytes`, `got ${frame.length}`);
    expectRefused(client(frame, opts), 'oversized');
    expectRefused(server(frame, opts), 'oversized');
    const sealed = encodeFrame({ type: 'sealed-update', round: 1, envelope: bytesOf(1001) });
    expect(decodeClientFrame(sealed, { maxFrameBytes: sealed.length }).type).toBe('sealed-update');
    expectRefused(client(sealed, { maxFrameBytes: sealed.length - 1 }), 'oversized', `got ${sealed.length}`);
    // The length is checked first: even garbage that long is refused as oversized.
    const junk = new Uint8Array(OPTS.maxFrameBytes + 1);
    expectRefused(client(junk), 'oversized', OPTS.maxFrameBytes, OPTS.maxFrameBytes + 1);
  });

  it('oversized: a header length over PROTOCOL.maxHeaderBytes, before looking for the header', () => {
    const n = PROTOCOL.maxHeaderBytes + 1;
    const frame = rawFrame(helloHeader(), undefined, { headerLength: n });
    expectRefused(client(frame), 'oversized', PROTOCOL.maxHeaderBytes, n);
    expectRefused(server(rawFrame('{}', undefined, { headerLength: 0xffffffff })), 'oversized', 0xffffffff);
  });

  it('malformed: a header that is not JSON', () => {
    expectRefused(client(rawFrame('not json')), 'malformed', 'expected UTF-8 JSON');
    expectRefused(client(rawFrame('')), 'malformed', 'expected UTF-8 JSON');
    expectRefused(client(rawFrame('{"type":"hello",')), 'malformed', 'expected UTF-8 JSON');
  });

  it('malformed: a header that is not valid UTF-8', () => {
    const json = te.encode(JSON.stringify(helloHeader({ name: 'AB' })));
    const at = json.indexOf(0x41); // 'A'
    for (const bad of [[0xff], [0xc0, 0xc1], [0xed, 0xa0, 0x80]]) {
      const h = concat(concat(json.slice(0, at), new Uint8Array(bad)), json.slice(at + 1));
      expectRefused(client(rawFrame(h)), 'malformed', 'UTF-8');
    }
  });

  it('malformed: a header that is JSON but not an object', () => {
    expectRefused(client(rawFrame('[1,2]')), 'malformed', 'expected a JSON object', 'got array');
    expectRefused(client(rawFrame('null')), 'malformed', 'got null');
    expectRefused(client(rawFrame('42')), 'malformed', 'got number');
    expectRefused(server(rawFrame('"welcome"')), 'malformed', 'got string');
  });

  it('malformed: a missing or non-string type', () => {
    const { type: _t, ...noType } = helloHeader();
    expectRefused(client(rawFrame(noType)), 'malformed', '"type"', 'undefined');
    expectRefused(client(rawFrame(helloHeader({ type: 1 }))), 'malformed', '"type"', 'number');
  });

  it('malformed: a missing field', () => {
    const { name: _n, ...noName } = helloHeader();
    expectRefused(client(rawFrame(noName)), 'malformed', '"name"', 'expected a string', 'undefined');
    const { metrics: _m, ...noMetrics } = updateHeader(MODEL);
    expectRefused(update(rawFrame(noMetrics, weightsOf(MODEL))), 'malformed', 'metrics', 'undefined');
    const { round: _r, ...noRound } = sealedHeader(8);
    expectRefused(client(rawFrame(noRound, bytesOf(8))), 'malformed', '"round"');
    const { floats: _f, ...noFloats } = helloHeader();
    expectRefused(client(rawFrame(noFloats)), 'malformed', '"floats"');
  });

  it('malformed: a field of the wrong type', () => {
    expectRefused(client(rawFrame(helloHeader({ numSamples: '10' }))), 'malformed', '"numSamples"', '"10"');
    expectRefused(client(rawFrame(helloHeader({ name: 7 }))), 'malformed', '"name"', 'number');
    expectRefused(client(rawFrame(helloHeader({ clientId: null }))), 'malformed', '"clientId"', 'object');
    const metrics = { ...METRICS, loss: 'low' };
    expectRefused(
      update(rawFrame(updateHeader(MODEL, { metrics }), weightsOf(MODEL))),
      'malformed',
      '"loss"',
    );
    expectRefused(client(rawFrame(sealedHeader(8, { round: '1' }), bytesOf(8))), 'malformed', '"round"');
    expectRefused(client(rawFrame(sealedHeader(8, { bytes: '8' }), bytesOf(8))), 'malformed', '"bytes"');
    expectRefused(
      update(rawFrame(updateHeader(MODEL, { metrics: [] }), weightsOf(MODEL))),
      'malformed',
      'array',
    );
  });

  it('malformed: a negative, zero or non-integer round', () => {
    const w = weightsOf(MODEL);
    expectRefused(
      update(rawFrame(updateHeader(MODEL, { round: -1 }), w)),
      'malformed',
      '"round"',
      '-1',
      '[1, ',
    );
    expectRefused(update(rawFrame(updateHeader(MODEL, { round: 0 }), w)), 'malformed', '"round"', 'got 0');
    expectRefused(update(rawFrame(updateHeader(MODEL, { round: 1.5 }), w)), 'malformed', 'integer', '1.5');
    const over = PROTOCOL.maxRounds + 1;
    expectRefused(update(rawFrame(updateHeader(MODEL, { round: over }), w)), 'malformed', `${over}`);
    expectRefused(
      update(rawFrame(updateHeader(MODEL, { baseVersion: -1 }), w)),
      'malformed',
      '"baseVersion"',
    );
    expectRefused(update(rawFrame(updateHeader(MODEL, { numSamples: 0 }), w)), 'malformed', '"numSamples"');
    expectRefused(
      client(rawFrame(sealedHeader(8, { round: 0 }), bytesOf(8))),
      'malformed',
      '"round"',
      'got 0',
    );
    expectRefused(client(rawFrame(helloHeader({ floats: -1 }))), 'malformed', '"floats"', '-1');
    expectRefused(client(rawFrame(sealedHeader(-1))), 'malformed', '"bytes"', '-1');
    expectRefused(client(rawFrame(sealedHeader(0.5))), 'malformed', '"bytes"', '0.5');
    expectRefused(client(rawFrame(helloHeader({ floats: 0.5 }))), 'malformed', '"floats"', '0.5');
  });

  it('malformed: a string one character too long (and the limit itself is accepted)', () => {
    const max = PROTOCOL.maxNameChars;
    expect(decodeClientFrame(rawFrame(helloHeader({ name: 'n'.repeat(max) })), OPTS).type).toBe('hello');
    expectRefused(
      client(rawFrame(helloHeader({ name: 'n'.repeat(max + 1) }))),
      'malformed',
      '"name"',
      `at most ${max}`,
      `got ${max + 1}`,
    );
    const tok = PROTOCOL.maxTokenChars + 1;
    expectRefused(
      client(rawFrame(helloHeader({ token: 't'.repeat(tok) }))),
      'malformed',
      '"token"',
      `${tok}`,
    );
  });

  it('malformed: trailing bytes after the payload', () => {
    for (const extra of [1, 4]) {
      const frame = concat(valid, new Uint8Array(extra));
      expectRefused(client(frame), 'malformed', 'trailing', `${valid.length} bytes`, `got ${frame.length}`);
    }
  });

  it('malformed: a payload on a hello, a leave and an ack', () => {
    expectRefused(
      client(rawFrame(helloHeader({ floats: 2 }), weightsOf(2))),
      'malformed',
      '"hello"',
      '8 bytes',
    );
    expectRefused(client(rawFrame({ type: 'leave', floats: 1 }, weightsOf(1))), 'malformed', '"leave"');
    expectRefused(server(rawFrame({ type: 'ack', round: 1, floats: 1 }, weightsOf(1))), 'malformed', '"ack"');
    // Opaque bytes are no more welcome there than weights.
    expectRefused(client(rawFrame(helloHeader({ bytes: 3 }), bytesOf(3))), 'malformed', '"hello"', '3 bytes');
    expectRefused(
      client(rawFrame({ type: 'leave', floats: 0, bytes: 1 }, bytesOf(1))),
      'malformed',
      '"leave"',
    );
  });

  it('malformed: both "floats" and "bytes" announced', () => {
    const both = rawFrame(sealedHeader(4, { floats: 1 }), new Uint8Array(8));
    expectRefused(client(both), 'malformed', '"floats" or "bytes"', 'both');
    const u = rawFrame(
      updateHeader(MODEL, { bytes: 4 }),
      concat(new Uint8Array(weightsOf(MODEL).buffer), bytesOf(4)),
    );
    expectRefused(update(u), 'malformed', 'both');
    expectRefused(
      server(rawFrame(roundHeader({ bytes: 4 }), new Uint8Array(4 * MODEL + 4))),
      'malformed',
      'both',
    );
    // Zero of one beside the other is not "both".
    expect(decodeClientFrame(rawFrame(sealedHeader(4, { floats: 0 }), bytesOf(4)), OPTS).type).toBe(
      'sealed-update',
    );
    expect(decodeUpdateFrame(rawFrame(updateHeader(MODEL, { bytes: 0 }), weightsOf(MODEL)), OPTS).type).toBe(
      'update',
    );
  });

  it('malformed: a sealed-update that carries float32 values instead of bytes', () => {
    const floats = rawFrame({ type: 'sealed-update', round: 3, floats: 2 }, weightsOf(2));
    expectRefused(client(floats), 'malformed', '"sealed-update"', 'expected bytes');
    // Even when the model size matches: weights are never an envelope.
    expectRefused(
      client(rawFrame({ type: 'sealed-update', round: 3, floats: MODEL }, weightsOf(MODEL))),
      'malformed',
    );
  });

  it('wrong-length: a sealed-update with an empty envelope', () => {
    expectRefused(
      client(encodeFrame({ type: 'sealed-update', round: 3, envelope: new Uint8Array(0) })),
      'wrong-length',
      '"sealed-update"',
      'got none',
    );
    expectRefused(client(rawFrame(sealedHeader(0))), 'wrong-length', 'got none');
    const { bytes: _b, ...noBytes } = sealedHeader(0);
    expectRefused(client(rawFrame(noBytes)), 'wrong-length', 'got none');
  });

  it('malformed: a round seal with text that is not standard base64', () => {
    for (const bad of [
      'not base64!',
      'QUJD\n',
      ' QUJD',
      'QUJ D',
      'QQ', // unpadded
      'QQ=', // short padding
      'Q===',
      'QQ==QUJD', // padding in the middle
      '-_-_', // base64url
      'QUJ\u00e9',
    ]) {
      for (const key of ['publicKey', 'keySignature', 'modelSignature']) {
        const frame = rawFrame(roundHeader({ seal: sealHeader({ [key]: bad }) }), weightsOf(MODEL));
        expectRefused(server(frame), 'malformed', `"${key}"`, 'base64');
      }
    }
  });

  it('malformed: a round seal field longer than PROTOCOL.maxSealFieldBytes', () => {
    const max = PROTOCOL.maxSealFieldBytes;
    const ok = rawFrame(
      roundHeader({ seal: sealHeader({ publicKey: toBase64(bytesOf(max)) }) }),
      weightsOf(MODEL),
    );
    expect(decodeServerFrame(ok, { maxFrameBytes: 1 << 20 }).type).toBe('round');
    for (const n of [max + 3, max + 4, 2 * max, 100_000]) {
      for (const key of ['publicKey', 'keySignature', 'modelSignature']) {
        const frame = rawFrame(
          roundHeader({ seal: sealHeader({ [key]: toBase64(bytesOf(n)) }) }),
          weightsOf(MODEL),
        );
        const e = expectRefused(server(frame, { maxFrameBytes: 1 << 20 }), 'malformed', `"${key}"`);
        expect(e.message.length).toBeLessThan(PROTOCOL.maxMessageChars);
      }
    }
  });

  // Regression: bounding the base64 text at ceil(max / 3) · 4 characters alone admitted max + 1 and max + 2.
  it('malformed: a round seal field of exactly PROTOCOL.maxSealFieldBytes + 1 bytes', () => {
    const n = PROTOCOL.maxSealFieldBytes + 1;
    const frame = rawFrame(
      roundHeader({ seal: sealHeader({ publicKey: toBase64(bytesOf(n)) }) }),
      weightsOf(MODEL),
    );
    expectRefused(server(frame, { maxFrameBytes: 1 << 20 }), 'malformed', '"publicKey"');
  });

  it('malformed: a round without its seal, or a seal with a field missing or of the wrong type', () => {
    const { seal: _s, ...noSeal } = roundHeader();
    expectRefused(server(rawFrame(noSeal, weightsOf(MODEL))), 'malformed', 'round seal', 'undefined');
    expectRefused(
      server(rawFrame(roundHeader({ seal: 'AAAA' }), weightsOf(MODEL))),
      'malformed',
      'round seal',
      'string',
    );
    expectRefused(server(rawFrame(roundHeader({ seal: [] }), weightsOf(MODEL))), 'malformed', 'array');
    for (const key of ['suite', 'publicKey', 'keySignature', 'modelSignature']) {
      const { [key]: _k, ...missing } = sealHeader();
      expectRefused(
        server(rawFrame(roundHeader({ seal: missing }), weightsOf(MODEL))),
        'malformed',
        `"${key}"`,
        'undefined',
      );
      const wrong = sealHeader({ [key]: [1, 2, 3] });
      expectRefused(
        server(rawFrame(roundHeader({ seal: wrong }), weightsOf(MODEL))),
        'malformed',
        `"${key}"`,
        'object',
      );
    }
    const suite = 'x'.repeat(PROTOCOL.maxNameChars + 1);
    expectRefused(
      server(rawFrame(roundHeader({ seal: sealHeader({ suite }) }), weightsOf(MODEL))),
      'malformed',
      '"suite"',
    );
  });

  it('malformed: a field value outside its set (phase, refusal reason)', () => {
    const status = { type: 'status', phase: 'dancing', round: 1, message: 'x', floats: 0 };
    expectRefused(server(rawFrame(status)), 'malformed', '"phase"', 'waiting', '"dancing"');
    const refused = { type: 'refused', reason: 'because', message: 'x', floats: 0 };
    expectRefused(server(rawFrame(refused)), 'malformed', '"reason"', '"because"');
  });

  it('unknown-type: a type the receiver does not accept (including the other direction)', () => {
    expectRefused(client(rawFrame(helloHeader({ type: 'bogus' }))), 'unknown-type', '"hello"', '"bogus"');
    expectRefused(client(rawFrame(helloHeader({ type: 'welcome' }))), 'unknown-type', '"welcome"');
    expectRefused(server(encodeFrame(updateMsg(weightsOf(MODEL)))), 'unknown-type', '"round"', '"update"');
    expectRefused(
      client(encodeFrame(updateMsg(weightsOf(MODEL)))),
      'unknown-type',
      '"sealed-update"',
      '"update"',
    );
    expectRefused(
      update(encodeFrame({ type: 'hello', name: 'n', backend: 'b', numSamples: 1 })),
      'unknown-type',
      '"hello"',
    );
    expectRefused(
      server(encodeFrame({ type: 'sealed-update', round: 1, envelope: bytesOf(8) })),
      'unknown-type',
    );
    expectRefused(server(encodeFrame({ type: 'leave' })), 'unknown-type', '"leave"');
    const long = expectRefused(client(rawFrame(helloHeader({ type: 'x'.repeat(5000) }))), 'unknown-type');
    expect(long.message.length).toBeLessThan(PROTOCOL.maxMessageChars);
  });

  it('non-finite: NaN, +Infinity and -Infinity at the first, a middle and the last position', () => {
    for (const [value, shown] of [
      [Number.NaN, 'NaN'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
      [Number.NEGATIVE_INFINITY, '-Infinity'],
    ] as const) {
      for (const i of [0, MODEL >> 1, MODEL - 1]) {
        const w = weightsOf(MODEL);
        w[i] = value;
        expectRefused(update(encodeFrame(updateMsg(w))), 'non-finite', `weight ${i} is ${shown}`, 'finite');
        const round = encodeFrame({
          type: 'round',
          round: 1,
          version: 0,
          deadlineMs: 1000,
          fit: FIT,
          seal: SEAL,
          weights: w,
        });
        expectRefused(server(round), 'non-finite', `weight ${i}`);
      }
    }
  });

  it('non-finite: every NaN bit pattern, not only the canonical one', () => {
    for (const pattern of [0x7fc00000, 0x7f800001, 0xffc00000, 0xffffffff, 0x7fbfffff]) {
      const w = weightsOf(MODEL);
      new Uint32Array(w.buffer)[5] = pattern;
      expectRefused(update(rawFrame(updateHeader(MODEL), w)), 'non-finite', 'weight 5 is NaN');
    }
  });

  it('wrong-length: an update with modelSize - 1 or modelSize + 1 weights, or none', () => {
    for (const n of [MODEL - 1, MODEL + 1]) {
      expectRefused(
        update(encodeFrame(updateMsg(weightsOf(n)))),
        'wrong-length',
        `expected ${MODEL} weights`,
        `got ${n}`,
      );
    }
    expectRefused(update(rawFrame(updateHeader(0))), 'wrong-length', 'got none');
    // Without a known model size any non-empty payload is accepted, but an empty one never.
    const loose = { maxFrameBytes: OPTS.maxFrameBytes };
    expect(decodeUpdateFrame(encodeFrame(updateMsg(weightsOf(MODEL + 1))), loose).type).toBe('update');
    expectRefused(update(rawFrame(updateHeader(0)), loose), 'wrong-length', 'got none');
  });

  it('wrong-length is decided before finiteness, and the prefix before the header', () => {
    const w = weightsOf(MODEL + 1);
    w[0] = Number.NaN;
    expectRefused(update(encodeFrame(updateMsg(w))), 'wrong-length');
    const bad = rawFrame('not json', undefined, { version: 1 });
    expectRefused(update(bad), 'version');
    expectRefused(client(bad), 'version');
  });

  // Regression: num() and choice() once put JSON.stringify(value) in the message unbounded. A 100 KB
  // string made a 100 KB refusal message — the aggregator's `refused` answer then exceeded
  // PROTOCOL.maxMessageChars and the client could not decode it — and a deeply nested value made
  // JSON.stringify throw RangeError out of the decoder.
  it('a refusal message stays short enough to travel back in a `refused` frame', () => {
    const e = expectRefused(
      update(rawFrame(updateHeader(MODEL, { round: 'x'.repeat(100_000) }), weightsOf(MODEL))),
      'malformed',
      '"round"',
    );
    expect(e.message.length).toBeLessThanOrEqual(PROTOCOL.maxMessageChars);
  });

  it('a deeply nested field value is refused with ProtocolError, not RangeError', () => {
    const depth = 100_000;
    const header = `{"type":"update","round":${'['.repeat(depth)}${']'.repeat(depth)},"floats":1}`;
    expectRefused(update(rawFrame(header, weightsOf(1))), 'malformed', '"round"');
    const sealed = `{"type":"sealed-update","round":${'['.repeat(depth)}${']'.repeat(depth)},"floats":0,"bytes":1}`;
    expectRefused(client(rawFrame(sealed, bytesOf(1))), 'malformed', '"round"');
  });

  // Regression: a weight frame whose payload was announced as `bytes`, of a length that is not whole float32
  // values, threw RangeError when no model size was known (a client before `welcome`).
  it('a weight payload announced as `bytes` is refused with ProtocolError, model size unknown', () => {
    const loose = { maxFrameBytes: OPTS.maxFrameBytes };
    expect(refusal(update(rawFrame(updateHeader(0, { bytes: 10 }), bytesOf(10)), loose))).toBeInstanceOf(
      ProtocolError,
    );
    expect(refusal(server(rawFrame(roundHeader({ floats: 0, bytes: 6 }), bytesOf(6)), loose))).toBeInstanceOf(
      ProtocolError,
    );
  });
});

describe('properties', () => {
  const decoders = [
    (b: Uint8Array) => decodeClientFrame(b, OPTS),
    (b: Uint8Array) => decodeServerFrame(b, OPTS),
    (b: Uint8Array) => decodeUpdateFrame(b, OPTS),
    (b: Uint8Array) => decodeClientFrame(b, { maxFrameBytes: 4096 }),
  ];

  function onlyProtocolErrors(bytes: Uint8Array): void {
    for (const decode of decoders) {
      try {
        decode(bytes);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }
  }

  it('random bytes never make a decoder throw anything but ProtocolError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), onlyProtocolErrors), { numRuns: 3000 });
  });

  it('random bytes behind a valid prefix never make a decoder throw anything but ProtocolError', () => {
    const framed = fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 310 })).map(([body, h]) => {
      const out = new Uint8Array(8 + body.length);
      out.set([0x50, 0x46, PROTOCOL_VERSION, 0]);
      new DataView(out.buffer).setUint32(4, h, true);
      out.set(body, 8);
      return out;
    });
    fc.assert(fc.property(framed, onlyProtocolErrors), { numRuns: 3000 });
  });

  it('random JSON headers never make a decoder throw anything but ProtocolError', () => {
    const types = fc.constantFrom(
      'hello',
      'update',
      'sealed-update',
      'leave',
      'welcome',
      'round',
      'ack',
      'refused',
      'status',
      'x',
    );
    const header = fc.record(
      {
        type: fc.oneof(types, fc.jsonValue()),
        floats: fc.oneof(fc.nat({ max: MODEL + 2 }), fc.jsonValue()),
        bytes: fc.oneof(fc.nat({ max: 4 * MODEL + 8 }), fc.jsonValue()),
        round: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.jsonValue()),
        name: fc.jsonValue(),
        metrics: fc.jsonValue(),
        experiment: fc.jsonValue(),
        fit: fc.jsonValue(),
        seal: fc.oneof(
          fc.jsonValue(),
          fc.record({
            suite: fc.oneof(fc.string(), fc.jsonValue()),
            publicKey: fc.oneof(fc.base64String({ maxLength: 64 }), fc.string(), fc.jsonValue()),
            keySignature: fc.oneof(fc.base64String({ maxLength: 64 }), fc.string()),
            modelSignature: fc.oneof(fc.base64String({ maxLength: 64 }), fc.string()),
          }),
        ),
      },
      { requiredKeys: ['type', 'floats'] },
    );
    const frame = fc
      .tuple(header, fc.float32Array({ maxLength: MODEL + 2 }), fc.uint8Array({ maxLength: 4 * MODEL + 8 }))
      .map(([h, w, b]) =>
        typeof h.bytes === 'number' && h.bytes > 0
          ? rawFrame(h, b.subarray(0, h.bytes))
          : rawFrame(h, typeof h.floats === 'number' ? w.subarray(0, h.floats) : w),
      );
    fc.assert(fc.property(frame, onlyProtocolErrors), { numRuns: 2000 });
  });

  it('whatever survives random corruption of a valid update is a well-formed update', () => {
    const frame = encodeFrame(updateMsg(weightsOf(MODEL)));
    const edits = fc.array(fc.tuple(fc.nat({ max: frame.length - 1 }), fc.integer({ min: 0, max: 255 })), {
      minLength: 1,
      maxLength: 4,
    });
    fc.assert(
      fc.property(edits, (changes) => {
        const bytes = frame.slice();
        for (const [i, b] of changes) bytes[i] = b;
        let msg: UpdateFrame;
        try {
          msg = decodeUpdateFrame(bytes, OPTS);
        } catch (e) {
          if (e instanceof ProtocolError) return;
          throw e;
        }
        expect(msg.type).toBe('update');
        expect(msg.delta.length).toBe(MODEL);
        expect(msg.delta.every(Number.isFinite)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('random valid updates round-trip exactly', () => {
    const update = fc.record({
      round: fc.integer({ min: 1, max: PROTOCOL.maxRounds }),
      baseVersion: fc.integer({ min: 0, max: PROTOCOL.maxRounds }),
      numSamples: fc.integer({ min: 1, max: PROTOCOL.maxSamples }),
      metrics: fc.record({
        loss: fc.double({ min: 0, max: 1e9, noNaN: true }),
        seconds: fc.double({ min: 0, max: 1e7, noNaN: true }),
        samplesPerSec: fc.double({ min: 0, max: 1e12, noNaN: true }),
      }),
      delta: fc.float32Array({ minLength: 1, maxLength: 64, noNaN: true, noDefaultInfinity: true }),
    });
    fc.assert(
      fc.property(update, (u) => {
        const sent: UpdateFrame = { type: 'update', ...u };
        const back = decodeUpdateFrame(encodeFrame(sent), {
          maxFrameBytes: maxFrameBytes(u.delta.length),
          modelSize: u.delta.length,
        });
        expect(back.type).toBe('update');
        expect(bits(back.delta)).toEqual(bits(u.delta));
        expect(back.round).toBe(u.round);
        expect(back.baseVersion).toBe(u.baseVersion);
        expect(back.numSamples).toBe(u.numSamples);
        expect(back.metrics).toEqual(u.metrics);
      }),
      { numRuns: 500 },
    );
  });

  it('any envelope of 1 to 5000 bytes round-trips byte-identical through a sealed-update', () => {
    const sealed = fc.record({
      round: fc.integer({ min: 1, max: PROTOCOL.maxRounds }),
      envelope: fc.uint8Array({ minLength: 1, maxLength: 5000 }),
    });
    fc.assert(
      fc.property(sealed, ({ round, envelope }) => {
        const frame = encodeFrame({ type: 'sealed-update', round, envelope });
        const back = decodeClientFrame(frame, { maxFrameBytes: frame.length, modelSize: MODEL });
        if (back.type !== 'sealed-update') throw new Error(`expected a sealed-update, got ${back.type}`);
        expect(back.round).toBe(round);
        expect(back.envelope.length).toBe(envelope.length);
        expect(Buffer.from(back.envelope).equals(Buffer.from(envelope))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('toBase64 is standard padded base64, and any seal within the limits round-trips exactly', () => {
    const field = fc.uint8Array({ maxLength: 600 });
    const seal = fc.record({
      suite: fc.string({ maxLength: PROTOCOL.maxNameChars }),
      publicKey: field,
      keySignature: field,
      modelSignature: field,
    });
    fc.assert(
      fc.property(seal, (s) => {
        expect(toBase64(s.publicKey)).toBe(Buffer.from(s.publicKey).toString('base64'));
        const frame = encodeFrame({
          type: 'round',
          round: 1,
          version: 0,
          deadlineMs: 0,
          fit: FIT,
          seal: s,
          weights: weightsOf(MODEL),
        });
        const back = decodeServerFrame(frame, { maxFrameBytes: frame.length, modelSize: MODEL });
        if (back.type !== 'round') throw new Error(`expected a round, got ${back.type}`);
        expect(back.seal).toEqual(s);
      }),
      { numRuns: 300 },
    );
  });

  it('random valid hellos round-trip exactly, lone surrogates included', () => {
    const name = fc.string({ unit: 'binary', maxLength: PROTOCOL.maxNameChars / 2 });
    const hello = fc.record(
      {
        name,
        backend: name,
        numSamples: fc.integer({ min: 0, max: PROTOCOL.maxSamples }),
        clientId: fc.string({ maxLength: PROTOCOL.maxIdChars }),
        token: fc.string({ maxLength: PROTOCOL.maxTokenChars }),
      },
      { requiredKeys: ['name', 'backend', 'numSamples'] },
    );
    fc.assert(
      fc.property(hello, (h) => {
        const sent: ClientMessage = { type: 'hello', ...h };
        expect(decodeClientFrame(encodeFrame(sent), OPTS)).toEqual(sent);
      }),
      { numRuns: 500 },
    );
  });
});
