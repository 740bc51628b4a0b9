/**
 * Generators of client frames for fuzzing the codec (fast-check): valid messages, byte-level and
 * header-level mutations of them, headers of arbitrary JSON, and the property every decoded frame must
 * meet. Used by src/core/protocol.fuzz.test.ts (the decoder alone) and test/live-fuzz.test.ts (a live
 * aggregator).
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { PROTOCOL, SECAGG } from '../src/core/limits.ts';
import {
  type ClientMessage,
  decodeClientFrame,
  encodeFrame,
  PROTOCOL_VERSION,
  ProtocolError,
} from '../src/core/protocol.ts';

export const OPTS = { maxFrameBytes: 64 * 1024, modelSize: 64 };
const enc = new TextEncoder();

/** A frame with any header object and payload, laid out as encodeFrame does. */
export function rawFrame(
  header: unknown,
  payload: Uint8Array = new Uint8Array(0),
  over: { version?: number; magic?: [number, number]; length?: number } = {},
): Uint8Array {
  const json = enc.encode(JSON.stringify(header) ?? 'null');
  const start = (8 + json.length + 3) & ~3;
  const out = new Uint8Array(start + payload.length);
  out[0] = over.magic?.[0] ?? 0x50;
  out[1] = over.magic?.[1] ?? 0x46;
  out[2] = over.version ?? PROTOCOL_VERSION;
  new DataView(out.buffer).setUint32(4, over.length ?? json.length, true);
  out.set(json, 8);
  out.set(payload, start);
  return out;
}

/** Valid client messages. */
export const validMessage: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc
    .record(
      {
        type: fc.constant('hello' as const),
        name: fc.string({ maxLength: PROTOCOL.maxNameChars }),
        backend: fc.constantFrom('wasm', 'webgpu', 'cpu', 'test'),
        numSamples: fc.integer({ min: 0, max: PROTOCOL.maxSamples }),
        clientId: fc.stringMatching(/^c-[0-9a-f]{12}$/),
        token: fc.string({ maxLength: 40 }),
      },
      { requiredKeys: ['type', 'name', 'backend', 'numSamples'] },
    )
    .map((m) => m as ClientMessage),
  fc.record({
    type: fc.constant('sealed-update' as const),
    round: fc.integer({ min: 1, max: PROTOCOL.maxRounds }),
    envelope: fc.uint8Array({ minLength: 1, maxLength: 300 }),
  }),
  fc.record({
    type: fc.constant('secagg' as const),
    round: fc.integer({ min: 1, max: PROTOCOL.maxRounds }),
    payload: fc.uint8Array({ minLength: 1, maxLength: 300 }),
  }),
  fc.record({
    type: fc.constant('ready' as const),
    numSamples: fc.integer({ min: 1, max: PROTOCOL.maxSamples }),
  }),
  fc.constant({ type: 'leave' as const }),
);

/** Values that break naive validators. */
const hostile = fc.oneof(
  fc.constantFrom(
    -1,
    0,
    1,
    1.5,
    -0,
    2 ** 31,
    2 ** 32,
    2 ** 53,
    1e308,
    PROTOCOL.maxSamples + 1,
    PROTOCOL.maxRounds + 1,
    '',
    '1',
    'x'.repeat(PROTOCOL.maxNameChars + 1),
    'x'.repeat(PROTOCOL.maxTokenChars + 1),
    null,
    true,
    [],
    {},
    [1],
    { __proto__: { polluted: 1 } },
    'hello',
    'update',
    'welcome',
    '__proto__',
    '\u0000',
    '\ud800',
  ),
  fc.jsonValue({ maxDepth: 2 }),
);

const FIELDS = [
  'type',
  'name',
  'backend',
  'numSamples',
  'clientId',
  'token',
  'round',
  'floats',
  'bytes',
  'envelope',
  'payload',
];

export type Mutation =
  | { k: 'flip'; pos: number; bit: number }
  | { k: 'set'; pos: number; val: number }
  | { k: 'cut'; len: number }
  | { k: 'insert'; pos: number; bytes: Uint8Array }
  | { k: 'length'; val: number };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant('set' as const), pos: fc.nat(), val: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('cut' as const), len: fc.nat() }),
  fc.record({
    k: fc.constant('insert' as const),
    pos: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }),
  }),
  fc.record({
    k: fc.constant('length' as const),
    val: fc.oneof(fc.constantFrom(0, 1, 0xffffffff, 0x7fffffff, 64 * 1024), fc.nat()),
  }),
);

export function mutate(frame: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = frame.slice();
  for (const m of ms) {
    if (m.k === 'flip' && b.length) b[m.pos % b.length]! ^= 1 << m.bit;
    else if (m.k === 'set' && b.length) b[m.pos % b.length] = m.val;
    else if (m.k === 'cut') b = b.slice(0, m.len % (b.length + 1));
    else if (m.k === 'insert') {
      const at = m.pos % (b.length + 1);
      b = Uint8Array.from([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)]);
    } else if (m.k === 'length' && b.length >= 8) new DataView(b.buffer).setUint32(4, m.val, true);
  }
  return b;
}

/** Header-level mutation: a valid message's header with fields replaced, added or removed. */
export const headerMutated = fc
  .tuple(
    validMessage,
    fc.array(
      fc.tuple(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 8 })), fc.option(hostile)),
      {
        minLength: 1,
        maxLength: 3,
      },
    ),
    fc.uint8Array({ maxLength: 64 }),
  )
  .map(([msg, changes, payload]) => {
    const frame = encodeFrame(msg);
    const len = new DataView(frame.buffer).getUint32(4, true);
    const header = JSON.parse(new TextDecoder().decode(frame.subarray(8, 8 + len))) as Record<
      string,
      unknown
    >;
    for (const [k, v] of changes) {
      if (v === null) delete header[k];
      else header[k] = v;
    }
    const body = frame.subarray((8 + len + 3) & ~3);
    return rawFrame(header, body.length ? body : payload);
  });

/** Frames whose header is arbitrary JSON with a plausible type. */
export const arbitraryHeader = fc
  .tuple(
    fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 6 })), hostile, { maxKeys: 6 }),
    fc.constantFrom(
      'hello',
      'sealed-update',
      'secagg',
      'ready',
      'leave',
      'update',
      'welcome',
      'round',
      '',
      'HELLO',
    ),
    fc.uint8Array({ maxLength: 64 }),
    fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 255 })),
  )
  .map(([fields, type, payload, version]) =>
    rawFrame({ type, ...fields }, payload, version === undefined ? {} : { version }),
  );

/** The property: a ProtocolError, or a message that is exactly what the protocol allows. Returns whether
 * the frame was accepted. */
export function checkDecoded(bytes: Uint8Array): boolean {
  let msg: ClientMessage;
  try {
    msg = decodeClientFrame(bytes, OPTS);
  } catch (e) {
    if (!(e instanceof ProtocolError))
      throw new Error(`not a ProtocolError: ${(e as Error).name}: ${(e as Error).message}`);
    return false;
  }
  const keys = Object.keys(msg).sort();
  const int = (v: unknown, lo: number, hi: number) =>
    Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;
  switch (msg.type) {
    case 'hello':
      expect(
        keys.every((k) => ['type', 'name', 'backend', 'numSamples', 'clientId', 'token'].includes(k)),
      ).toBe(true);
      expect(msg.name.length).toBeLessThanOrEqual(PROTOCOL.maxNameChars);
      expect(msg.backend.length).toBeLessThanOrEqual(PROTOCOL.maxNameChars);
      expect(int(msg.numSamples, 0, PROTOCOL.maxSamples)).toBe(true);
      if (msg.clientId !== undefined) expect(msg.clientId.length).toBeLessThanOrEqual(PROTOCOL.maxIdChars);
      if (msg.token !== undefined) expect(msg.token.length).toBeLessThanOrEqual(PROTOCOL.maxTokenChars);
      break;
    case 'sealed-update':
      expect(keys).toEqual(['envelope', 'round', 'type']);
      expect(int(msg.round, 1, PROTOCOL.maxRounds)).toBe(true);
      expect(msg.envelope).toBeInstanceOf(Uint8Array);
      expect(msg.envelope.length).toBeGreaterThan(0);
      expect(msg.envelope.length).toBeLessThanOrEqual(OPTS.maxFrameBytes);
      break;
    case 'secagg':
      expect(keys).toEqual(['payload', 'round', 'type']);
      expect(int(msg.round, 1, PROTOCOL.maxRounds)).toBe(true);
      expect(msg.payload).toBeInstanceOf(Uint8Array);
      expect(msg.payload.length).toBeGreaterThan(0);
      expect(msg.payload.length).toBeLessThanOrEqual(SECAGG.maxMessageBytes);
      break;
    case 'ready':
      expect(keys).toEqual(['numSamples', 'type']);
      expect(int(msg.numSamples, 1, PROTOCOL.maxSamples)).toBe(true);
      break;
    case 'leave':
      expect(keys).toEqual(['type']);
      break;
    default:
      throw new Error(`accepted a frame of type ${JSON.stringify((msg as { type: unknown }).type)}`);
  }
  expect(bytes.length).toBeLessThanOrEqual(OPTS.maxFrameBytes);
  expect(decodeClientFrame(encodeFrame(msg), OPTS)).toEqual(msg);
  return true;
}
