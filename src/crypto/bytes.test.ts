import { describe, expect, it } from 'vitest';
import {
  bytesEqual,
  checkU32,
  concatBytes,
  fromHex,
  fromUtf8,
  Reader,
  toHex,
  u64be,
  Writer,
} from './bytes.ts';
import { refusal } from './test-support.ts';

describe('byte helpers', () => {
  it('converts hex both ways and refuses odd or non-hex input', async () => {
    const b = Uint8Array.of(0, 1, 0xab, 0xff);
    expect(toHex(b)).toBe('0001abff');
    expect(fromHex('0001ABff')).toEqual(b);
    expect((await refusal(() => fromHex('abc'))).reason).toBe('malformed');
    expect((await refusal(() => fromHex('zz'))).reason).toBe('malformed');
  });

  it('concatenates, compares, and encodes counters big-endian', async () => {
    expect(concatBytes(Uint8Array.of(1), Uint8Array.of(), Uint8Array.of(2, 3))).toEqual(
      Uint8Array.of(1, 2, 3),
    );
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(bytesEqual(Uint8Array.of(1), Uint8Array.of(1, 2))).toBe(false);
    expect(toHex(u64be(0x0102030405))).toBe('0000000102030405');
    expect((await refusal(() => u64be(-1))).reason).toBe('malformed');
    expect(checkU32(0xffff_ffff, 'x')).toBe(0xffff_ffff);
    expect((await refusal(() => checkU32(2 ** 32, 'round'))).message).toContain('round');
    expect((await refusal(() => checkU32(1.5, 'round'))).reason).toBe('malformed');
    expect((await refusal(() => fromUtf8(Uint8Array.of(0xff), 'id'))).reason).toBe('malformed');
  });

  it('writes and reads the PQ layout, refusing every truncation and trailing byte', async () => {
    const msg = new Writer('model')
      .u8(9)
      .field(Uint8Array.of(1, 2, 3))
      .u32(70000)
      .finish();
    expect(toHex(msg)).toBe('50510105' + '09' + '00000003010203' + '00011170');
    const r = new Reader(msg, 'model', 'test');
    expect(r.u8('a')).toBe(9);
    expect(r.field('b', 3)).toEqual(Uint8Array.of(1, 2, 3));
    expect(r.u32('c')).toBe(70000);
    r.end();
    for (let n = 0; n < msg.length; n++) {
      const e = await refusal(() => {
        const t = new Reader(msg.subarray(0, n), 'model', 'test');
        t.u8('a');
        t.field('b', 3);
        t.u32('c');
      });
      expect(e.reason).toBe('bad-length');
    }
    const long = concatBytes(msg, Uint8Array.of(0));
    const e = await refusal(() => {
      const t = new Reader(long, 'model', 'test');
      t.u8('a');
      t.field('b', 3);
      t.u32('c');
      t.end();
    });
    expect(e.reason).toBe('bad-length');
    expect(e.message).toContain('1 trailing bytes');
  });

  it('refuses a wrong magic, version, type or field length with what was expected', async () => {
    const msg = new Writer('model').field(Uint8Array.of(1, 2)).finish();
    for (const [index, word] of [
      [0, 'magic'],
      [2, 'version'],
      [3, 'message type'],
    ] as const) {
      const bad = msg.slice();
      bad[index] = 0x7f;
      const e = await refusal(() => new Reader(bad, 'model', 'test'));
      expect(e.reason).toBe('malformed');
      expect(e.message).toContain(word);
    }
    const e = await refusal(() => new Reader(msg, 'update', 'test'));
    expect(e.message).toBe('test: expected message type 3 (update), got 5 (model)');
    const f = await refusal(() => new Reader(msg, 'model', 'test').field('blob', 3));
    expect(f.reason).toBe('bad-length');
    expect(f.message).toBe('test: blob: expected 3 bytes, got a length of 2');
    const g = await refusal(() => new Reader(msg, 'model', 'test').field('blob', { min: 3, max: 9 }));
    expect(g.message).toBe('test: blob: expected 3 to 9 bytes, got a length of 2');
    expect((await refusal(() => new Reader('PQ' as unknown as Uint8Array, 'model', 'test'))).reason).toBe(
      'malformed',
    );
  });
});
