/**
 * The `secagg` frames (one SecAgg+ message each way) and the `secagg` field of the `round` frame: round
 * trips, byte-identical payloads, and every refusal with its reason (src/core/protocol.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maxFrameBytes, PRIVACY, SECAGG } from './limits.ts';
import {
  type ClientMessage,
  decodeClientFrame,
  decodeServerFrame,
  encodeFrame,
  PROTOCOL_VERSION,
  ProtocolError,
  type RefusalReason,
  type ServerMessage,
} from './protocol.ts';

const MODEL = 8;
const OPTS = { maxFrameBytes: maxFrameBytes(MODEL), modelSize: MODEL };
const SEAL = {
  suite: 'xwing',
  publicKey: Uint8Array.of(1, 2, 3),
  keySignature: Uint8Array.of(4, 5),
  modelSignature: Uint8Array.of(6),
};
const FIT = { epochs: 1, batchSize: 8, learningRate: 0.01, proxMu: 0, seed: 1 };

function roundMsg(secagg?: Record<string, unknown>): ServerMessage {
  return {
    type: 'round',
    round: 2,
    version: 1,
    deadlineMs: 1000,
    fit: FIT,
    seal: SEAL,
    ...(secagg !== undefined && { secagg }),
    weights: new Float32Array(MODEL).fill(0.5),
  } as ServerMessage;
}

const te = new TextEncoder();
function rawFrame(header: Record<string, unknown>, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = te.encode(JSON.stringify(header));
  const start = (8 + h.length + 3) & ~3;
  const out = new Uint8Array(start + payload.length);
  out.set([0x50, 0x46, PROTOCOL_VERSION, 0]);
  new DataView(out.buffer).setUint32(4, h.length, true);
  out.set(h, 8);
  out.set(payload, start);
  return out;
}

function refusal(fn: () => unknown): { reason: RefusalReason; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProtocolError) return { reason: e.reason, message: e.message };
    throw e;
  }
  throw new Error('expected a ProtocolError, the frame was accepted');
}

describe('secagg frames', () => {
  it('a client secagg frame round-trips with its payload byte-identical (odd length)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.uint8Array({ minLength: 1, maxLength: 3000 }),
        (round, payload) => {
          const sent: ClientMessage = { type: 'secagg', round, payload };
          const back = decodeClientFrame(encodeFrame(sent), OPTS);
          expect(back).toEqual(sent);
          if (back.type !== 'secagg') throw new Error(back.type);
          // A copy, not a view into the frame.
          expect(back.payload.buffer).not.toBe(payload.buffer);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a server secagg frame round-trips', () => {
    const sent: ServerMessage = { type: 'secagg', round: 7, payload: Uint8Array.of(0x53, 0x41, 1, 1, 9) };
    expect(decodeServerFrame(encodeFrame(sent), OPTS)).toEqual(sent);
  });

  it('refuses an empty payload, float32 values, a bad round, and the frame in the wrong decoder', () => {
    const r1 = refusal(() =>
      decodeClientFrame(encodeFrame({ type: 'secagg', round: 1, payload: new Uint8Array(0) }), OPTS),
    );
    expect(r1.reason).toBe('wrong-length');
    expect(r1.message).toContain('"secagg"');
    const floats = new Uint8Array(new Float32Array([1, 2]).buffer);
    const r2 = refusal(() =>
      decodeClientFrame(rawFrame({ type: 'secagg', round: 1, floats: 2 }, floats), OPTS),
    );
    expect(r2.reason).toBe('malformed');
    expect(r2.message).toContain('expected bytes');
    for (const round of [0, -1, 1.5, 'x', null]) {
      const r = refusal(() =>
        decodeClientFrame(rawFrame({ type: 'secagg', round, floats: 0, bytes: 1 }, Uint8Array.of(1)), OPTS),
      );
      expect(r.reason).toBe('malformed');
    }
    // A plain `update` is never accepted where a secagg frame is, nor a secagg frame as an update.
    const r3 = refusal(() => decodeServerFrame(encodeFrame({ type: 'leave' }), OPTS));
    expect(r3.reason).toBe('unknown-type');
    expect(r3.message).toContain('"secagg"');
  });

  it('refuses a payload over SECAGG.maxMessageBytes as oversized before decoding it', () => {
    const big = new Uint8Array(SECAGG.maxMessageBytes + 1);
    const frame = encodeFrame({ type: 'secagg', round: 1, payload: big });
    const r = refusal(() => decodeClientFrame(frame, { maxFrameBytes: frame.length }));
    expect(r.reason).toBe('oversized');
    expect(r.message).toContain(String(SECAGG.maxMessageBytes));
    const ok = encodeFrame({ type: 'secagg', round: 1, payload: big.subarray(1) });
    expect(decodeClientFrame(ok, { maxFrameBytes: ok.length }).type).toBe('secagg');
  });
});

describe('the round frame of a secure round', () => {
  it('carries `secagg` (with or without a noise variance); a plain round has none', () => {
    const plain = decodeServerFrame(encodeFrame(roundMsg()), OPTS);
    expect(plain.type === 'round' && plain.secagg).toBe(undefined);
    const secure = decodeServerFrame(encodeFrame(roundMsg({})), OPTS);
    expect(secure.type === 'round' && secure.secagg).toEqual({});
    const noisy = decodeServerFrame(encodeFrame(roundMsg({ noiseVariance: 123.5 })), OPTS);
    expect(noisy.type === 'round' && noisy.secagg).toEqual({ noiseVariance: 123.5 });
    const scaled = decodeServerFrame(encodeFrame(roundMsg({ noiseVariance: 9, noiseScale: 1.5e6 })), OPTS);
    expect(scaled.type === 'round' && scaled.secagg).toEqual({ noiseVariance: 9, noiseScale: 1.5e6 });
  });

  it('refuses a secagg field that is not an object, has unknown keys, or a variance out of range', () => {
    for (const bad of [
      null,
      1,
      'on',
      [],
      { noiseVariance: -1 },
      { noiseVariance: PRIVACY.maxIntegerNoiseVariance * 2 },
      { noiseVariance: 'x' },
      { noiseVariance: 1, noiseScale: 0 },
      { noiseVariance: 1, noiseScale: 2 ** 32 },
      { other: 1 },
    ]) {
      const r = refusal(() => decodeServerFrame(encodeFrame(roundMsg(bad as Record<string, unknown>)), OPTS));
      expect(r.reason).toBe('malformed');
    }
  });
});
