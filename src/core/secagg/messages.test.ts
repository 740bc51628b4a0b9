import { describe, expect, it } from 'vitest';
import { SecAggClient } from './client.ts';
import { isSecAggError, type SecAggRefusal } from './errors.ts';
import {
  bitmapHas,
  bitmapMembers,
  bitmapOf,
  decodeMessage,
  encodeMessage,
  SECAGG_MESSAGE_TYPES,
  type SecAggMessage,
} from './messages.ts';
import { SecAggServer } from './server.ts';
import { makeMembers } from './simulation.ts';

function refusal(f: () => unknown): SecAggRefusal | undefined {
  try {
    f();
  } catch (e) {
    if (isSecAggError(e)) return e.reason;
    throw e;
  }
  return undefined;
}

/** Every message of a 4-member round, both directions, in order. */
function roundMessages(): SecAggMessage[] {
  const members = makeMembers(4, 8);
  const ctx = { session: new Uint8Array(16).fill(1), round: 9 };
  const server = new SecAggServer({ ...ctx, vectorLength: 8, ring: { clip: 1, maxWeight: 1000 } });
  const clients = new Map(
    members.map((m) => [m.clientId, new SecAggClient({ clientId: m.clientId, identity: m.identity })]),
  );
  const seen: SecAggMessage[] = [server.config()];
  const take = (from: string, out: SecAggMessage[]) => {
    for (const m of out) {
      seen.push(m);
      server.receive(from, m as Parameters<SecAggServer['receive']>[1]);
    }
  };
  for (const m of members) take(m.clientId, clients.get(m.clientId)!.handle(server.config()));
  for (let phase = 0; phase < 4; phase++) {
    for (const o of server.advance()) {
      seen.push(o.message);
      const c = clients.get(o.to)!;
      let out = c.handle(o.message);
      if (o.message.type === 'relay') {
        const m = members.find((x) => x.clientId === o.to)!;
        out = c.setInput(m.update, m.numSamples);
      }
      take(o.to, out);
    }
  }
  server.advance();
  expect(server.phase).toBe('done');
  return seen;
}

describe('SecAgg+ message codec', () => {
  const messages = roundMessages();

  it('round-trips every message type of a real round byte for byte', () => {
    expect(new Set(messages.map((m) => m.type))).toEqual(new Set(SECAGG_MESSAGE_TYPES));
    for (const m of messages) {
      const bytes = encodeMessage(m);
      const back = decodeMessage(bytes);
      expect(back.type).toBe(m.type);
      expect(encodeMessage(back)).toEqual(bytes);
    }
  });

  it('refuses every truncation and any trailing byte with bad-length', () => {
    for (const m of messages) {
      const bytes = encodeMessage(m);
      for (const cut of [0, 3, 4, 24, Math.floor(bytes.length / 2), bytes.length - 1]) {
        expect(refusal(() => decodeMessage(bytes.subarray(0, cut)))).toBe('bad-length');
      }
      expect(refusal(() => decodeMessage(Uint8Array.of(...bytes, 0)))).toBe('bad-length');
    }
  });

  it('refuses a wrong magic, version or type byte with malformed', () => {
    const bytes = encodeMessage(messages[0]!);
    for (const [at, value] of [
      [0, 0x50],
      [2, 2],
      [3, 0],
      [3, 11],
    ] as const) {
      const b = bytes.slice();
      b[at] = value;
      expect(refusal(() => decodeMessage(b))).toBe('malformed');
    }
  });

  it('checks counts and indices before allocating: a relay claiming 2^31 shares, an index 0', () => {
    const relay = messages.find((m) => m.type === 'relay')!;
    const bytes = encodeMessage(relay);
    const huge = bytes.slice();
    new DataView(huge.buffer).setUint32(4 + 16 + 4 + 4, 2 ** 31);
    expect(refusal(() => decodeMessage(huge))).toBe('bad-length');
    const zero = bytes.slice();
    new DataView(zero.buffer).setUint32(4 + 16 + 4, 0);
    expect(refusal(() => decodeMessage(zero))).toBe('unknown-client');
  });

  it('keeps survivor bitmaps exact: bits past the last member must be 0', () => {
    const b = bitmapOf(10, [1, 3, 10]);
    expect([...b]).toEqual([0b00000101, 0b00000010]);
    expect(bitmapMembers(b, 10)).toEqual([1, 3, 10]);
    expect(bitmapHas(b, 2)).toBe(false);
    const survivors = messages.find((m) => m.type === 'survivors')!;
    const bytes = encodeMessage(survivors);
    bytes[bytes.length - 1]! |= 0x80; // member 8 of 4
    expect(refusal(() => decodeMessage(bytes))).toBe('malformed');
  });
});
