/**
 * Byte helpers shared by the PQFed wire formats: a bounds-checked reader and a writer for the
 * `'PQ' ‖ version ‖ type ‖ fields` layouts, hex, concatenation and comparison. Every read past the end of
 * the input becomes a CryptoError (`bad-length`), never a RangeError.
 * @module
 */
import { CryptoError } from './errors.ts';

/** 'P' 'Q': the first two bytes of every PQFed binary message. */
export const MAGIC = Uint8Array.of(0x50, 0x51);
/** Length of a session id. */
export const SESSION_BYTES = 16;
/** Version byte of every layout in this folder. */
export const WIRE_VERSION = 1;

/** Message type bytes (the fourth byte of every layout). */
export const MESSAGE_TYPE = {
  serverHello: 0x01,
  clientHello: 0x02,
  update: 0x03,
  identity: 0x04,
  model: 0x05,
  roundKey: 0x06,
} as const;
export type MessageType = keyof typeof MESSAGE_TYPE;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

/** Strict UTF-8 decoding: invalid sequences are refused (`malformed`), not replaced. */
export function fromUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch (cause) {
    throw new CryptoError('malformed', `${what}: expected UTF-8 text, got invalid byte sequences`, { cause });
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Equality in time independent of where the first difference is (lengths are public). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new CryptoError('malformed', `expected an even number of hex digits, got "${hex.slice(0, 16)}…"`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * A view of `bytes` whose buffer is a plain ArrayBuffer, as WebCrypto's typings want; copies only when the
 * bytes live in a SharedArrayBuffer.
 */
export function asBufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  if (bytes.buffer instanceof ArrayBuffer) return bytes as Uint8Array<ArrayBuffer>;
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}

/** Checks that `value` is an integer in [0, 2^32): round numbers, model versions. */
export function checkU32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new CryptoError('malformed', `${what}: expected an integer in [0, 2^32), got ${value}`);
  }
  return value;
}

/** Checks a byte string's exact length (`bad-length`). */
export function checkLength(bytes: Uint8Array, expected: number, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new CryptoError('bad-length', `${what}: expected ${expected} bytes, got ${describe(bytes)}`);
  }
  if (bytes.length !== expected) {
    throw new CryptoError('bad-length', `${what}: expected ${expected} bytes, got ${bytes.length}`);
  }
  return bytes;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'an object';
  return typeof value;
}

/** 8-byte big-endian encoding of a non-negative safe integer (sequence numbers, nonce counters). */
export function u64be(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new CryptoError('malformed', `expected a counter in [0, 2^53), got ${value}`);
  }
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

export function u32be(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/** Builds a `'PQ' ‖ version ‖ type ‖ …` message. */
export class Writer {
  private readonly parts: Uint8Array[] = [];

  constructor(type: MessageType) {
    this.parts.push(MAGIC, Uint8Array.of(WIRE_VERSION, MESSAGE_TYPE[type]));
  }

  u8(value: number): this {
    this.parts.push(Uint8Array.of(value));
    return this;
  }

  u32(value: number): this {
    this.parts.push(u32be(value));
    return this;
  }

  /** A byte string with its 4-byte big-endian length in front. */
  field(bytes: Uint8Array): this {
    this.parts.push(u32be(bytes.length), bytes);
    return this;
  }

  /** Raw bytes without a length (fixed-size trailers such as digests). */
  raw(bytes: Uint8Array): this {
    this.parts.push(bytes);
    return this;
  }

  finish(): Uint8Array {
    return concatBytes(...this.parts);
  }
}

const TYPE_NAMES = new Map<number, MessageType>(
  (Object.entries(MESSAGE_TYPE) as [MessageType, number][]).map(([name, byte]) => [byte, name]),
);

/** Reads a `'PQ' ‖ version ‖ type ‖ …` message; every read is bounds-checked. */
export class Reader {
  private at = 0;

  /** Checks magic, version and type; `what` names the message in errors ("ServerHello"). */
  constructor(
    private readonly bytes: Uint8Array,
    type: MessageType,
    private readonly what: string,
  ) {
    if (!(bytes instanceof Uint8Array)) {
      throw new CryptoError('malformed', `${what}: expected bytes (Uint8Array), got ${describe(bytes)}`);
    }
    if (bytes.length < 4) {
      throw new CryptoError(
        'bad-length',
        `${what}: expected at least a 4-byte header, got ${bytes.length} bytes`,
      );
    }
    if (bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1]) {
      throw new CryptoError(
        'malformed',
        `${what}: expected the magic "PQ" (50 51), got ${toHex(bytes.subarray(0, 2))}`,
      );
    }
    if (bytes[2] !== WIRE_VERSION) {
      throw new CryptoError(
        'malformed',
        `${what}: expected version ${WIRE_VERSION}, got version ${bytes[2]}`,
      );
    }
    if (bytes[3] !== MESSAGE_TYPE[type]) {
      const got = TYPE_NAMES.get(bytes[3]!);
      throw new CryptoError(
        'malformed',
        `${what}: expected message type ${MESSAGE_TYPE[type]} (${type}), got ${bytes[3]}${got ? ` (${got})` : ''}`,
      );
    }
    this.at = 4;
  }

  /** Offset of the next unread byte. */
  get offset(): number {
    return this.at;
  }

  private take(n: number, field: string): Uint8Array {
    const left = this.bytes.length - this.at;
    if (n > left) {
      throw new CryptoError(
        'bad-length',
        `${this.what}: truncated at ${field}: expected ${n} more bytes at offset ${this.at}, got ${left}`,
      );
    }
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  u8(field: string): number {
    return this.take(1, field)[0]!;
  }

  u32(field: string): number {
    const b = this.take(4, field);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
  }

  raw(n: number, field: string): Uint8Array {
    return this.take(n, field);
  }

  /**
   * A length-prefixed field whose length must be exactly `expected`, or lie in [min, max] when a range is
   * given. Returns a view into the input (copy it to keep it past the input's lifetime).
   */
  field(field: string, expected: number | { min: number; max: number }): Uint8Array {
    const n = this.u32(`${field} length`);
    const [min, max] = typeof expected === 'number' ? [expected, expected] : [expected.min, expected.max];
    if (n < min || n > max) {
      const want = min === max ? `${min}` : `${min} to ${max}`;
      throw new CryptoError(
        'bad-length',
        `${this.what}: ${field}: expected ${want} bytes, got a length of ${n}`,
      );
    }
    return this.take(n, field);
  }

  /** Requires that nothing follows the last field. */
  end(): void {
    const left = this.bytes.length - this.at;
    if (left !== 0) {
      throw new CryptoError(
        'bad-length',
        `${this.what}: expected the message to end at byte ${this.at}, got ${left} trailing bytes`,
      );
    }
  }
}
