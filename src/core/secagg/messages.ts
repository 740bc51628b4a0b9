/**
 * The messages of SecAgg+ and their byte codec: a discriminated union tagged by `type` (string literals),
 * one `encodeMessage` and one `decodeMessage(bytes)` that validates every field (magic, version, type,
 * lengths, counts, ranges, no trailing bytes) before anything is returned. Nothing decoded here is trusted
 * yet: signatures and membership are checked by the state machines (client.ts, server.ts).
 *
 * Layout: 'S' 'A' ‖ version (1) ‖ type byte ‖ session (16) ‖ round (u32) ‖ fields. Integers are big-endian;
 * byte strings of fixed size are raw, variable ones carry a u32 length; ring vectors are u32 length ‖
 * little-endian 32-bit words. Sizes (ML-KEM-768 key 1,184 B, ciphertext 1,088 B; ML-DSA-65 key 1,952 B,
 * signature 3,309 B) are in docs/secure-aggregation.md.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, u32be, utf8 } from '../../crypto/bytes.ts';
import { ML_DSA_65_SIZES } from '../../crypto/suites.ts';
import { SECAGG } from '../limits.ts';
import { SecAggError } from './errors.ts';
import type { GraphParams } from './graph.ts';
import { contextBytes, KEM, type RoundContext, SEALED_SHARES_BYTES } from './pairwise.ts';
import type { RingParams } from './ring.ts';
import { SHARE_BYTES } from './shamir.ts';

/** Every message type, in protocol order; the wire byte is the position + 1. */
export const SECAGG_MESSAGE_TYPES = [
  'config',
  'advertise',
  'keys',
  'share-keys',
  'relay',
  'masked-input',
  'survivors',
  'consistency',
  'consistency-sigs',
  'unmask',
] as const;
export type SecAggMessageType = (typeof SECAGG_MESSAGE_TYPES)[number];

export const SECAGG_MAGIC = Uint8Array.of(0x53, 0x41); // 'S' 'A'
export const SECAGG_VERSION = 1;
const SESSION_BYTES = 16;
const DIGEST_BYTES = 32;
const SIG = ML_DSA_65_SIZES.signature;

interface Header extends RoundContext {}

/** Server → all: the round's parameters. */
export interface ConfigMessage extends Header {
  type: 'config';
  /** The server's round seed: it draws the neighbour graph. */
  seed: Uint8Array;
  /** Length d of the update vector (the ring vector has d + 1 elements: the sample count last). */
  vectorLength: number;
  ring: RingParams;
  graph: GraphParams;
  /** Fewest members the round goes on with after the advertisement phase. */
  minMembers: number;
}

/** A member's signed keys for the round. */
export interface Advertisement {
  clientId: string;
  identityKey: Uint8Array;
  channelKey: Uint8Array;
  maskKey: Uint8Array;
  /** SHA-256 commitment to the self-mask seed b (pairwise.ts `selfMaskCommitment`). */
  selfCommitment: Uint8Array;
  signature: Uint8Array;
}

/** Client → server, phase 1. */
export interface AdvertiseMessage extends Header {
  type: 'advertise';
  advertisement: Advertisement;
}

/** Server → member, end of phase 1: the member count, its index, its neighbours' advertisements. */
export interface KeysMessage extends Header {
  type: 'keys';
  members: number;
  index: number;
  neighbours: { index: number; advertisement: Advertisement }[];
}

/** One encapsulated, sealed share pair for one neighbour. */
export interface ShareEntry {
  to: number;
  channelCipherText: Uint8Array;
  /** The mask encapsulation, present exactly when the sender's index is the lower one. */
  maskCipherText: Uint8Array | null;
  sealed: Uint8Array;
}

/** A digest of one entry, as listed in the sender's signature. */
export interface EntryDigest {
  to: number;
  digest: Uint8Array;
}

/** Client → server, phase 2: one entry per neighbour, one signature over all entries' digests. */
export interface ShareKeysMessage extends Header {
  type: 'share-keys';
  from: number;
  entries: ShareEntry[];
  signature: Uint8Array;
}

/** One sender's entry relayed to its recipient, with what the recipient needs to check the signature. */
export interface RelayedShare {
  from: number;
  entry: ShareEntry;
  digests: EntryDigest[];
  signature: Uint8Array;
}

/** Server → member, end of phase 2. */
export interface RelayMessage extends Header {
  type: 'relay';
  to: number;
  shares: RelayedShare[];
}

/** Client → server, phase 3: the masked ring vector. */
export interface MaskedInputMessage extends Header {
  type: 'masked-input';
  index: number;
  vector: Uint32Array;
  signature: Uint8Array;
}

/** Server → member, end of phase 3: who sent a masked input (bit i−1 for member i). */
export interface SurvivorsMessage extends Header {
  type: 'survivors';
  members: number;
  survivors: Uint8Array;
}

/** Client → server, phase 4: the member's signature over the survivor list it saw. */
export interface ConsistencyMessage extends Header {
  type: 'consistency';
  index: number;
  signature: Uint8Array;
}

/** Server → member, end of phase 4: its group's signatures over the survivor list. */
export interface ConsistencySigsMessage extends Header {
  type: 'consistency-sigs';
  signatures: { index: number; signature: Uint8Array }[];
}

/** What a revealed share rebuilds: a survivor's self-mask seed b, or a dropped member's mask-key seed m. */
export type ShareKind = 'self' | 'mask';

/** Client → server, phase 5: the shares it holds, one kind per subject. */
export interface UnmaskMessage extends Header {
  type: 'unmask';
  index: number;
  shares: { of: number; kind: ShareKind; share: Uint8Array }[];
  signature: Uint8Array;
}

export type SecAggMessage =
  | ConfigMessage
  | AdvertiseMessage
  | KeysMessage
  | ShareKeysMessage
  | RelayMessage
  | MaskedInputMessage
  | SurvivorsMessage
  | ConsistencyMessage
  | ConsistencySigsMessage
  | UnmaskMessage;
export type ServerMessage =
  | ConfigMessage
  | KeysMessage
  | RelayMessage
  | SurvivorsMessage
  | ConsistencySigsMessage;
export type ClientMessage =
  | AdvertiseMessage
  | ShareKeysMessage
  | MaskedInputMessage
  | ConsistencyMessage
  | UnmaskMessage;

// ---- signed bytes --------------------------------------------------------------------------------------

function idBytes(clientId: string): Uint8Array {
  const b = utf8(clientId);
  return concatBytes(u32be(b.length), b);
}

export function advertiseSignedBytes(ctx: RoundContext, a: Omit<Advertisement, 'signature'>): Uint8Array {
  return concatBytes(
    contextBytes(ctx),
    idBytes(a.clientId),
    a.identityKey,
    a.channelKey,
    a.maskKey,
    a.selfCommitment,
  );
}

/** SHA-256 of one share entry: to ‖ channel ct ‖ has-mask ‖ mask ct ‖ sealed. */
export function entryDigest(e: ShareEntry): Uint8Array {
  return sha256(
    concatBytes(
      u32be(e.to),
      e.channelCipherText,
      Uint8Array.of(e.maskCipherText ? 1 : 0),
      e.maskCipherText ?? new Uint8Array(0),
      e.sealed,
    ),
  );
}

export function shareKeysSignedBytes(
  ctx: RoundContext,
  from: number,
  digests: readonly EntryDigest[],
): Uint8Array {
  const parts = [contextBytes(ctx), u32be(from), u32be(digests.length)];
  for (const d of digests) parts.push(u32be(d.to), d.digest);
  return concatBytes(...parts);
}

export function maskedInputSignedBytes(ctx: RoundContext, index: number, vector: Uint32Array): Uint8Array {
  return concatBytes(contextBytes(ctx), u32be(index), u32be(vector.length), sha256(vectorBytes(vector)));
}

export function survivorsSignedBytes(ctx: RoundContext, members: number, survivors: Uint8Array): Uint8Array {
  return concatBytes(contextBytes(ctx), u32be(members), survivors);
}

export function unmaskSignedBytes(
  ctx: RoundContext,
  index: number,
  shares: UnmaskMessage['shares'],
): Uint8Array {
  const parts = [contextBytes(ctx), u32be(index), u32be(shares.length)];
  for (const s of shares) parts.push(u32be(s.of), Uint8Array.of(s.kind === 'self' ? 0 : 1), s.share);
  return concatBytes(...parts);
}

/** A ring vector as little-endian bytes. */
export function vectorBytes(vector: Uint32Array): Uint8Array {
  const out = new Uint8Array(vector.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < vector.length; i++) view.setUint32(4 * i, vector[i]!, true);
  return out;
}

// ---- survivor bitmaps ----------------------------------------------------------------------------------

export function bitmapOf(members: number, set: Iterable<number>): Uint8Array {
  const out = new Uint8Array(Math.ceil(members / 8));
  for (const i of set) out[(i - 1) >> 3]! |= 1 << ((i - 1) & 7);
  return out;
}

export function bitmapHas(bitmap: Uint8Array, index: number): boolean {
  return (((bitmap[(index - 1) >> 3] ?? 0) >> ((index - 1) & 7)) & 1) === 1;
}

export function bitmapMembers(bitmap: Uint8Array, members: number): number[] {
  const out: number[] = [];
  for (let i = 1; i <= members; i++) if (bitmapHas(bitmap, i)) out.push(i);
  return out;
}

// ---- writer / reader -----------------------------------------------------------------------------------

class Writer {
  private readonly parts: Uint8Array[] = [];
  constructor(type: SecAggMessageType, h: Header) {
    this.parts.push(SECAGG_MAGIC, Uint8Array.of(SECAGG_VERSION, SECAGG_MESSAGE_TYPES.indexOf(type) + 1));
    this.raw(h.session).u32(h.round);
  }
  u8(v: number): this {
    this.parts.push(Uint8Array.of(v));
    return this;
  }
  u32(v: number): this {
    this.parts.push(u32be(v));
    return this;
  }
  f64(v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v);
    this.parts.push(b);
    return this;
  }
  raw(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }
  field(b: Uint8Array): this {
    return this.u32(b.length).raw(b);
  }
  finish(): Uint8Array {
    return concatBytes(...this.parts);
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

class Reader {
  private at = 0;
  private readonly view: DataView;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  }
  private take(n: number, field: string): Uint8Array {
    const left = this.bytes.length - this.at;
    if (n > left) {
      throw new SecAggError(
        'bad-length',
        `${this.what}: truncated at ${field}: expected ${n} more bytes at offset ${this.at}, got ${left}`,
      );
    }
    const out = this.bytes.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }
  u8(field: string): number {
    return this.take(1, field)[0]!;
  }
  u32(field: string): number {
    this.take(4, field);
    return this.view.getUint32(this.at - 4);
  }
  f64(field: string): number {
    this.take(8, field);
    return this.view.getFloat64(this.at - 8);
  }
  raw(n: number, field: string): Uint8Array {
    return this.take(n, field);
  }
  /** A u32 count in [min, max]. */
  count(field: string, min: number, max: number): number {
    const n = this.u32(field);
    if (n < min || n > max) {
      throw new SecAggError('bad-length', `${this.what}: ${field}: expected ${min} to ${max}, got ${n}`);
    }
    return n;
  }
  /** A member index in [1, members]. */
  index(field: string, members: number): number {
    const i = this.u32(field);
    if (i < 1 || i > members) {
      throw new SecAggError(
        'unknown-client',
        `${this.what}: ${field}: expected a member index in [1, ${members}], got ${i}`,
      );
    }
    return i;
  }
  text(field: string, maxBytes: number): string {
    const n = this.count(`${field} length`, 1, maxBytes);
    const b = this.take(n, field);
    try {
      return utf8Decoder.decode(b);
    } catch (cause) {
      throw new SecAggError('malformed', `${this.what}: ${field}: expected UTF-8 text, got invalid bytes`, {
        cause,
      });
    }
  }
  end(): void {
    const left = this.bytes.length - this.at;
    if (left !== 0) {
      throw new SecAggError(
        'bad-length',
        `${this.what}: expected the message to end at byte ${this.at}, got ${left} trailing bytes`,
      );
    }
  }
}

// ---- encode --------------------------------------------------------------------------------------------

function writeAdvertisement(w: Writer, a: Advertisement): void {
  const id = utf8(a.clientId);
  w.field(id).raw(a.identityKey).raw(a.channelKey).raw(a.maskKey).raw(a.selfCommitment).raw(a.signature);
}

function writeEntry(w: Writer, e: ShareEntry): void {
  w.u32(e.to)
    .raw(e.channelCipherText)
    .u8(e.maskCipherText ? 1 : 0);
  if (e.maskCipherText) w.raw(e.maskCipherText);
  w.raw(e.sealed);
}

/** The bytes of a message (its fields are assumed well-formed: they come from this module or the machines). */
export function encodeMessage(m: SecAggMessage): Uint8Array {
  const w = new Writer(m.type, m);
  switch (m.type) {
    case 'config':
      w.raw(m.seed).u32(m.vectorLength).f64(m.ring.clip).u32(m.ring.maxWeight);
      w.f64(m.graph.sigma).f64(m.graph.eta).f64(m.graph.gamma).f64(m.graph.delta).u32(m.minMembers);
      break;
    case 'advertise':
      writeAdvertisement(w, m.advertisement);
      break;
    case 'keys':
      w.u32(m.members).u32(m.index).u32(m.neighbours.length);
      for (const n of m.neighbours) {
        w.u32(n.index);
        writeAdvertisement(w, n.advertisement);
      }
      break;
    case 'share-keys':
      w.u32(m.from).u32(m.entries.length);
      for (const e of m.entries) writeEntry(w, e);
      w.raw(m.signature);
      break;
    case 'relay':
      w.u32(m.to).u32(m.shares.length);
      for (const s of m.shares) {
        w.u32(s.from);
        writeEntry(w, s.entry);
        w.u32(s.digests.length);
        for (const d of s.digests) w.u32(d.to).raw(d.digest);
        w.raw(s.signature);
      }
      break;
    case 'masked-input':
      w.u32(m.index).u32(m.vector.length).raw(vectorBytes(m.vector)).raw(m.signature);
      break;
    case 'survivors':
      w.u32(m.members).raw(m.survivors);
      break;
    case 'consistency':
      w.u32(m.index).raw(m.signature);
      break;
    case 'consistency-sigs':
      w.u32(m.signatures.length);
      for (const s of m.signatures) w.u32(s.index).raw(s.signature);
      break;
    case 'unmask':
      w.u32(m.index).u32(m.shares.length);
      for (const s of m.shares)
        w.u32(s.of)
          .u8(s.kind === 'self' ? 0 : 1)
          .raw(s.share);
      w.raw(m.signature);
      break;
  }
  return w.finish();
}

// ---- decode --------------------------------------------------------------------------------------------

function readAdvertisement(r: Reader): Advertisement {
  return {
    clientId: r.text('client id', SECAGG.maxClientIdBytes),
    identityKey: r.raw(ML_DSA_65_SIZES.publicKey, 'identity key'),
    channelKey: r.raw(KEM.publicKey, 'channel key'),
    maskKey: r.raw(KEM.publicKey, 'mask key'),
    selfCommitment: r.raw(DIGEST_BYTES, 'self-mask commitment'),
    signature: r.raw(SIG, 'signature'),
  };
}

function readEntry(r: Reader, members: number): ShareEntry {
  const to = r.index('recipient', members);
  const channelCipherText = r.raw(KEM.cipherText, 'channel ciphertext');
  const flag = r.u8('mask flag');
  if (flag > 1)
    throw new SecAggError('malformed', `share entry: expected a mask flag of 0 or 1, got ${flag}`);
  const maskCipherText = flag === 1 ? r.raw(KEM.cipherText, 'mask ciphertext') : null;
  return { to, channelCipherText, maskCipherText, sealed: r.raw(SEALED_SHARES_BYTES, 'sealed shares') };
}

function finite(v: number, what: string): number {
  if (!Number.isFinite(v))
    throw new SecAggError('malformed', `config: ${what}: expected a finite number, got ${v}`);
  return v;
}

/**
 * Reads and validates one message. Every count is bounded by SECAGG (src/core/limits.ts) before anything
 * is allocated; member indices lie in [1, SECAGG.maxMembers]. Throws SecAggError with the reason.
 */
export function decodeMessage(bytes: Uint8Array): SecAggMessage {
  if (!(bytes instanceof Uint8Array)) {
    throw new SecAggError('malformed', `SecAgg message: expected bytes, got ${typeof bytes}`);
  }
  if (bytes.length > SECAGG.maxMessageBytes) {
    throw new SecAggError(
      'bad-length',
      `SecAgg message: expected at most ${SECAGG.maxMessageBytes} bytes, got ${bytes.length}`,
    );
  }
  const r = new Reader(bytes, 'SecAgg message');
  const magic = r.raw(2, 'magic');
  if (magic[0] !== SECAGG_MAGIC[0] || magic[1] !== SECAGG_MAGIC[1]) {
    throw new SecAggError(
      'malformed',
      `SecAgg message: expected the magic "SA", got bytes ${magic[0]} ${magic[1]}`,
    );
  }
  const version = r.u8('version');
  if (version !== SECAGG_VERSION) {
    throw new SecAggError('malformed', `SecAgg message: expected version ${SECAGG_VERSION}, got ${version}`);
  }
  const typeByte = r.u8('type');
  const type = SECAGG_MESSAGE_TYPES[typeByte - 1];
  if (type === undefined)
    throw new SecAggError('malformed', `SecAgg message: expected a type 1 to 10, got ${typeByte}`);
  const session = r.raw(SESSION_BYTES, 'session');
  const round = r.u32('round');
  const h = { session, round };
  const M = SECAGG.maxMembers;
  let m: SecAggMessage;
  switch (type) {
    case 'config': {
      const seed = r.raw(32, 'seed');
      const vectorLength = r.count('vector length', 1, SECAGG.maxVectorLength);
      const clip = finite(r.f64('clip'), 'clip');
      const maxWeight = r.count('weight cap', 1, 2 ** 31);
      const graph = {
        sigma: finite(r.f64('sigma'), 'sigma'),
        eta: finite(r.f64('eta'), 'eta'),
        gamma: finite(r.f64('gamma'), 'gamma'),
        delta: finite(r.f64('delta'), 'delta'),
      };
      const minMembers = r.count('minimum members', 2, M);
      m = { type, ...h, seed, vectorLength, ring: { clip, maxWeight }, graph, minMembers };
      break;
    }
    case 'advertise':
      m = { type, ...h, advertisement: readAdvertisement(r) };
      break;
    case 'keys': {
      const members = r.count('members', 2, M);
      const index = r.index('index', members);
      const count = r.count('neighbours', 1, members - 1);
      const neighbours = [];
      for (let i = 0; i < count; i++)
        neighbours.push({ index: r.index('neighbour', members), advertisement: readAdvertisement(r) });
      m = { type, ...h, members, index, neighbours };
      break;
    }
    case 'share-keys': {
      const from = r.index('sender', M);
      const count = r.count('entries', 1, M - 1);
      const entries = [];
      for (let i = 0; i < count; i++) entries.push(readEntry(r, M));
      m = { type, ...h, from, entries, signature: r.raw(SIG, 'signature') };
      break;
    }
    case 'relay': {
      const to = r.index('recipient', M);
      const count = r.count('shares', 0, M - 1);
      const shares: RelayedShare[] = [];
      for (let i = 0; i < count; i++) {
        const from = r.index('sender', M);
        const entry = readEntry(r, M);
        const n = r.count('digests', 1, M - 1);
        const digests: EntryDigest[] = [];
        for (let j = 0; j < n; j++)
          digests.push({ to: r.index('digest recipient', M), digest: r.raw(DIGEST_BYTES, 'digest') });
        shares.push({ from, entry, digests, signature: r.raw(SIG, 'signature') });
      }
      m = { type, ...h, to, shares };
      break;
    }
    case 'masked-input': {
      const index = r.index('sender', M);
      const length = r.count('vector length', 2, SECAGG.maxVectorLength + 1);
      const raw = r.raw(4 * length, 'vector');
      const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
      const vector = new Uint32Array(length);
      for (let i = 0; i < length; i++) vector[i] = view.getUint32(4 * i, true);
      m = { type, ...h, index, vector, signature: r.raw(SIG, 'signature') };
      break;
    }
    case 'survivors': {
      const members = r.count('members', 2, M);
      const survivors = r.raw(Math.ceil(members / 8), 'survivor bitmap');
      const spare = members % 8 === 0 ? 0 : survivors[survivors.length - 1]! >> (members % 8);
      if (spare !== 0)
        throw new SecAggError('malformed', 'survivors: expected the bits past the last member to be 0');
      m = { type, ...h, members, survivors };
      break;
    }
    case 'consistency':
      m = { type, ...h, index: r.index('sender', M), signature: r.raw(SIG, 'signature') };
      break;
    case 'consistency-sigs': {
      const count = r.count('signatures', 0, M);
      const signatures = [];
      for (let i = 0; i < count; i++)
        signatures.push({ index: r.index('signer', M), signature: r.raw(SIG, 'signature') });
      m = { type, ...h, signatures };
      break;
    }
    case 'unmask': {
      const index = r.index('sender', M);
      const count = r.count('shares', 0, M);
      const shares: UnmaskMessage['shares'] = [];
      for (let i = 0; i < count; i++) {
        const of = r.index('subject', M);
        const kindByte = r.u8('share kind');
        if (kindByte > 1)
          throw new SecAggError('malformed', `unmask: expected a share kind of 0 or 1, got ${kindByte}`);
        shares.push({ of, kind: kindByte === 0 ? 'self' : 'mask', share: r.raw(SHARE_BYTES, 'share') });
      }
      m = { type, ...h, index, shares, signature: r.raw(SIG, 'signature') };
      break;
    }
  }
  r.end();
  return m;
}
