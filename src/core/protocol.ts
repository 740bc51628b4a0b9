/**
 * The federated protocol: every message between a client and the aggregator, and the one parser that
 * validates a frame from the network before anything uses it.
 *
 * Frame layout (version 1), little-endian:
 *
 *   0  'P' 'F'           magic
 *   2  u8                protocol version (PROTOCOL_VERSION)
 *   3  u8                0 (reserved)
 *   4  u32               header length H in bytes
 *   8  H bytes           header: UTF-8 JSON object with a string-literal `type` tag
 *      0–3 zero bytes    padding to a multiple of 4
 *      payload           F float32 values (weights or a weight delta), F = header.floats, or B opaque bytes
 *                        (a sealed update), B = header.bytes; never both
 *
 * Weights travel as binary; the header carries only small, typed fields (binary ones, such as the round's
 * key and signatures, in standard base64). A client's update travels sealed: the outer `sealed-update`
 * frame carries an envelope (src/crypto/envelope.ts) whose plaintext is an `update` frame; the aggregator
 * decrypts and verifies the envelope, and only then parses that frame with `decodeUpdateFrame`. `decodeFrame` checks, in order:
 * length, magic, version, header size, JSON, the type tag, every field of that type (type, range, finite),
 * the payload length against the header and against the model size, and that every weight is finite.
 * A frame that fails any check throws `ProtocolError` with a `reason` and a message naming what was
 * expected and what came.
 */

import { DATASET_IDS } from '../data/schema.ts';
import type { ShardSource } from '../data/shard.ts';
import { PRIVACY, PROTOCOL, SECAGG } from './limits.ts';

/** 2: updates travel only sealed per round (`sealed-update`), and `round` carries the signed round key. */
export const PROTOCOL_VERSION = 2;

export type Phase = 'waiting' | 'training' | 'evaluating' | 'paused' | 'finished';
export const PHASES: readonly Phase[] = ['waiting', 'training', 'evaluating', 'paused', 'finished'];

/** What a client's local training reports with its update. */
export interface LocalMetrics {
  loss: number;
  seconds: number;
  samplesPerSec: number;
}

/** Local training settings for one round, chosen by the aggregator. */
export interface FitSettings {
  epochs: number;
  batchSize: number;
  learningRate: number;
  proxMu: number;
  /** FedDyn's α (strategy feddyn): the client's loss gains −⟨g_k, w⟩ + (α/2)·‖w − w_global‖². Absent: none. */
  dynAlpha?: number;
  seed: number;
  /** Client-level DP (docs/differential-privacy.md): the client clips its update to this L2 norm. Absent: none. */
  clipNorm?: number;
}

/** Everything a client needs to train for this experiment; sent once in `welcome`. */
export interface ExperimentInfo {
  dataset: string;
  strategy: string;
  rounds: number;
  /** Model configuration (validated by the model code when the client builds it). */
  model: Record<string, unknown>;
  /** The fitted feature pipeline (plain JSON, see src/data/features.ts). */
  preprocessor: Record<string, unknown>;
  modelSize: number;
  /** How a browser rebuilds its shard of the embedded sample (absent: clients bring their own data). */
  shardSource?: ShardSource;
}

export type ClientMessage =
  | {
      type: 'hello';
      /** A previous client id to resume as (after a reconnect); the server may assign a new one. */
      clientId?: string;
      name: string;
      backend: string;
      numSamples: number;
      /** Join token (class code / experiment token) when the server requires one. */
      token?: string;
    }
  | {
      type: 'sealed-update';
      round: number;
      /** An envelope sealed to the round's key and signed by the client; its plaintext is an UpdateFrame. */
      envelope: Uint8Array;
    }
  | {
      /**
       * One SecAgg+ message of a secure round (src/core/secagg/messages.ts bytes, at most
       * SECAGG.maxMessageBytes): it replaces `sealed-update` when the round frame carries `secagg`.
       */
      type: 'secagg';
      round: number;
      payload: Uint8Array;
    }
  | {
      /** The client's data is ready (after `welcome`, or after importing other data): it can be selected. */
      type: 'ready';
      numSamples: number;
    }
  | { type: 'leave' };

/**
 * What the `round` frame of a secure round (SecAgg+, docs/secure-aggregation.md) tells the client beyond
 * "this round is secure"; the round's SecAgg parameters travel in its first `secagg` frame (`config`).
 */
export interface SecureRoundInfo {
  /**
   * Variance (ring units², i.e. in units of 1/S of a weighted value) of the integer noise share the client
   * adds before masking (distributed DP, src/core/privacy/skellam.ts); absent: no noise.
   */
  noiseVariance?: number;
  /**
   * The ring scale S(m) `noiseVariance` was planned at (src/core/privacy/secure-noise.ts): a member of a round
   * whose scale is finer (fewer members joined) multiplies the variance by (S/S(m))², so the noise keeps up.
   */
  noiseScale?: number;
}

/** A client's update: the plaintext inside a `sealed-update` envelope, never sent on its own. */
export interface UpdateFrame {
  type: 'update';
  round: number;
  /** Global model version the client trained from. */
  baseVersion: number;
  numSamples: number;
  metrics: LocalMetrics;
  /** Local weights − global weights of `baseVersion`. */
  delta: Float32Array;
}

/** The round's key and signatures, as they travel (see RoundSeal in src/core/channel.ts). */
export interface WireRoundSeal {
  suite: string;
  publicKey: Uint8Array;
  keySignature: Uint8Array;
  modelSignature: Uint8Array;
}

export type RefusalReason =
  | 'truncated'
  | 'bad-magic'
  | 'version'
  | 'oversized'
  | 'malformed'
  | 'unknown-type'
  | 'non-finite'
  | 'wrong-length'
  | 'stale'
  | 'not-selected'
  | 'duplicate'
  | 'unregistered'
  | 'unauthorized'
  | 'server-full'
  | 'tampered'
  | 'bad-signature'
  | 'replay'
  | 'wrong-context'
  | 'downgrade';

export type ServerMessage =
  | {
      type: 'welcome';
      session: string;
      clientId: string;
      round: number;
      phase: Phase;
      experiment: ExperimentInfo;
      /** This client's shard of `experiment.shardSource` (kept across reconnects). */
      shard?: number;
    }
  | {
      type: 'round';
      round: number;
      /** Version of the global model sent with it (= rounds completed). */
      version: number;
      /** Milliseconds from now until the round closes. */
      deadlineMs: number;
      fit: FitSettings;
      /** The round's KEM key and the server's signatures over it and over `weights`. */
      seal: WireRoundSeal;
      /** Present in a secure round (SecAgg+): the client answers `secagg` frames instead of sealing its update. */
      secagg?: SecureRoundInfo;
      weights: Float32Array;
    }
  | {
      /** One SecAgg+ message for this client (its first is the round's `config`). */
      type: 'secagg';
      round: number;
      payload: Uint8Array;
    }
  | { type: 'ack'; round: number }
  | { type: 'refused'; reason: RefusalReason; message: string; round?: number }
  | { type: 'status'; phase: Phase; round: number; message: string };

export type Message = ClientMessage | ServerMessage | UpdateFrame;
export type MessageType = Message['type'];

export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
  }
}

const MAGIC0 = 0x50; // 'P'
const MAGIC1 = 0x46; // 'F'
const PREFIX = 8;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('PQFed frames are little-endian; this platform is big-endian');
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Encodes a message as one binary frame. */
export function encodeFrame(msg: Message): Uint8Array {
  const payload =
    'delta' in msg
      ? msg.delta
      : 'weights' in msg
        ? msg.weights
        : 'envelope' in msg
          ? msg.envelope
          : 'payload' in msg
            ? msg.payload
            : undefined;
  const header: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(msg)) {
    if (k !== 'delta' && k !== 'weights' && k !== 'envelope' && k !== 'payload') header[k] = v;
  }
  if (msg.type === 'round') {
    const { suite, publicKey, keySignature, modelSignature } = msg.seal;
    header.seal = {
      suite,
      publicKey: toBase64(publicKey),
      keySignature: toBase64(keySignature),
      modelSignature: toBase64(modelSignature),
    };
  }
  header.floats = payload instanceof Float32Array ? payload.length : 0;
  if (payload instanceof Uint8Array) header.bytes = payload.length;
  const json = encoder.encode(JSON.stringify(header));
  const start = align4(PREFIX + json.length);
  const out = new Uint8Array(start + (payload ? payload.byteLength : 0));
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = PROTOCOL_VERSION;
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, PREFIX);
  if (payload) out.set(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength), start);
  return out;
}

const align4 = (n: number) => (n + 3) & ~3;

export interface DecodeOptions {
  /** Largest frame accepted, bytes. */
  maxFrameBytes: number;
  /** Number of float32 values a weight payload must have (the model size), when known. */
  modelSize?: number;
}

/** Parses and validates a frame sent by a client (what the aggregator accepts). */
export function decodeClientFrame(bytes: Uint8Array, opts: DecodeOptions): ClientMessage {
  const { header, payload } = splitFrame(bytes, opts);
  const type = header.type;
  switch (type) {
    case 'hello': {
      noPayload(payload, type);
      const msg: ClientMessage = {
        type,
        name: str(header, 'name', PROTOCOL.maxNameChars),
        backend: str(header, 'backend', PROTOCOL.maxNameChars),
        numSamples: int(header, 'numSamples', 0, PROTOCOL.maxSamples),
      };
      const clientId = optStr(header, 'clientId', PROTOCOL.maxIdChars);
      if (clientId !== undefined) msg.clientId = clientId;
      const token = optStr(header, 'token', PROTOCOL.maxTokenChars);
      if (token !== undefined) msg.token = token;
      return msg;
    }
    case 'sealed-update': {
      if (header.floats !== 0) {
        throw new ProtocolError('malformed', '"sealed-update" frame: expected bytes, got float32 values');
      }
      if (payload.length === 0) {
        throw new ProtocolError('wrong-length', '"sealed-update" frame: expected an envelope, got none');
      }
      return { type, round: int(header, 'round', 1, PROTOCOL.maxRounds), envelope: payload.slice() };
    }
    case 'secagg':
      return {
        type,
        round: int(header, 'round', 1, PROTOCOL.maxRounds),
        payload: secAggPayload(header, payload),
      };
    case 'ready':
      noPayload(payload, type);
      return { type, numSamples: int(header, 'numSamples', 1, PROTOCOL.maxSamples) };
    case 'leave':
      noPayload(payload, type);
      return { type };
    default:
      throw unknownType(type, ['hello', 'sealed-update', 'secagg', 'ready', 'leave']);
  }
}

/** Parses and validates the plaintext of a sealed update (after the envelope was decrypted and verified). */
export function decodeUpdateFrame(bytes: Uint8Array, opts: DecodeOptions): UpdateFrame {
  const { header, payload } = splitFrame(bytes, opts);
  const type = header.type;
  if (type !== 'update') throw unknownType(type, ['update']);
  return {
    type,
    round: int(header, 'round', 1, PROTOCOL.maxRounds),
    baseVersion: int(header, 'baseVersion', 0, PROTOCOL.maxRounds),
    numSamples: int(header, 'numSamples', 1, PROTOCOL.maxSamples),
    metrics: metrics(header.metrics),
    delta: weights(payload, opts.modelSize, 'update'),
  };
}

/** Parses and validates a frame sent by the aggregator (what a client accepts). */
export function decodeServerFrame(bytes: Uint8Array, opts: DecodeOptions): ServerMessage {
  const { header, payload } = splitFrame(bytes, opts);
  const type = header.type;
  switch (type) {
    case 'welcome': {
      noPayload(payload, type);
      const msg: ServerMessage = {
        type,
        session: str(header, 'session', PROTOCOL.maxIdChars),
        clientId: str(header, 'clientId', PROTOCOL.maxIdChars),
        round: int(header, 'round', 0, PROTOCOL.maxRounds),
        phase: choice(header, 'phase', PHASES),
        experiment: experiment(header.experiment),
      };
      if (header.shard !== undefined) msg.shard = int(header, 'shard', 0, PROTOCOL.maxClients);
      return msg;
    }
    case 'round': {
      const fit = obj(header.fit, 'fit');
      return {
        type,
        round: int(header, 'round', 1, PROTOCOL.maxRounds),
        version: int(header, 'version', 0, PROTOCOL.maxRounds),
        deadlineMs: int(header, 'deadlineMs', 0, PROTOCOL.maxDeadlineMs),
        fit: {
          epochs: int(fit, 'epochs', 1, PROTOCOL.maxLocalEpochs),
          batchSize: int(fit, 'batchSize', 1, PROTOCOL.maxBatchSize),
          learningRate: num(fit, 'learningRate', 0, 10),
          proxMu: num(fit, 'proxMu', 0, 1e3),
          ...(fit.dynAlpha !== undefined && { dynAlpha: num(fit, 'dynAlpha', 0, 1e3) }),
          seed: int(fit, 'seed', 0, 2 ** 32 - 1),
          ...(fit.clipNorm !== undefined && { clipNorm: num(fit, 'clipNorm', 1e-9, 1e6) }),
        },
        seal: roundSeal(header.seal),
        ...(header.secagg !== undefined && { secagg: secureRoundInfo(header.secagg) }),
        weights: weights(payload, opts.modelSize, 'round'),
      };
    }
    case 'secagg':
      return {
        type,
        round: int(header, 'round', 1, PROTOCOL.maxRounds),
        payload: secAggPayload(header, payload),
      };
    case 'ack':
      noPayload(payload, type);
      return { type, round: int(header, 'round', 0, PROTOCOL.maxRounds) };
    case 'refused': {
      noPayload(payload, type);
      const msg: ServerMessage = {
        type,
        reason: choice(header, 'reason', REFUSAL_REASONS),
        message: str(header, 'message', PROTOCOL.maxMessageChars),
      };
      if (header.round !== undefined) msg.round = int(header, 'round', 0, PROTOCOL.maxRounds);
      return msg;
    }
    case 'status':
      noPayload(payload, type);
      return {
        type,
        phase: choice(header, 'phase', PHASES),
        round: int(header, 'round', 0, PROTOCOL.maxRounds),
        message: str(header, 'message', PROTOCOL.maxMessageChars),
      };
    default:
      throw unknownType(type, ['welcome', 'round', 'secagg', 'ack', 'refused', 'status']);
  }
}

export const REFUSAL_REASONS: readonly RefusalReason[] = [
  'truncated',
  'bad-magic',
  'version',
  'oversized',
  'malformed',
  'unknown-type',
  'non-finite',
  'wrong-length',
  'stale',
  'not-selected',
  'duplicate',
  'unregistered',
  'unauthorized',
  'server-full',
  'tampered',
  'bad-signature',
  'replay',
  'wrong-context',
  'downgrade',
];

/** Whether `reason` is one a `refused` frame may carry. */
export function isRefusalReason(reason: string): reason is RefusalReason {
  return (REFUSAL_REASONS as readonly string[]).includes(reason);
}

/** The refusal reason for an error of `src/crypto/` (its `reason` field); anything else is `malformed`. */
export function cryptoRefusalReason(e: unknown): RefusalReason {
  const reason = (e as { reason?: unknown } | null)?.reason;
  return (typeof reason === 'string' && CRYPTO_TO_REFUSAL[reason]) || 'malformed';
}

const CRYPTO_TO_REFUSAL: Record<string, RefusalReason> = {
  tampered: 'tampered',
  'bad-signature': 'bad-signature',
  replay: 'replay',
  'wrong-context': 'wrong-context',
  downgrade: 'downgrade',
  'stale-round': 'stale',
  'bad-length': 'wrong-length',
  malformed: 'malformed',
};

type Json = Record<string, unknown>;

function splitFrame(bytes: Uint8Array, opts: DecodeOptions): { header: Json; payload: Uint8Array } {
  if (bytes.length > opts.maxFrameBytes) {
    throw new ProtocolError(
      'oversized',
      `frame: at most ${opts.maxFrameBytes} bytes accepted, got ${bytes.length}`,
    );
  }
  if (bytes.length < PREFIX) {
    throw new ProtocolError('truncated', `frame: expected at least ${PREFIX} bytes, got ${bytes.length}`);
  }
  if (bytes[0] !== MAGIC0 || bytes[1] !== MAGIC1) {
    throw new ProtocolError(
      'bad-magic',
      `frame: expected the magic "PF", got 0x${hex(bytes.subarray(0, 2))}`,
    );
  }
  if (bytes[2] !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      'version',
      `frame: expected protocol version ${PROTOCOL_VERSION}, got version ${bytes[2]}`,
    );
  }
  const h = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (h > PROTOCOL.maxHeaderBytes) {
    throw new ProtocolError(
      'oversized',
      `frame header: at most ${PROTOCOL.maxHeaderBytes} bytes accepted, got ${h}`,
    );
  }
  if (PREFIX + h > bytes.length) {
    throw new ProtocolError(
      'truncated',
      `frame: header of ${h} bytes announced, only ${bytes.length - PREFIX} present`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(decoder.decode(bytes.subarray(PREFIX, PREFIX + h)));
  } catch (e) {
    throw new ProtocolError('malformed', `frame header: expected UTF-8 JSON, ${(e as Error).message}`);
  }
  const obj0 = obj(header, 'header');
  if (typeof obj0.type !== 'string') {
    throw new ProtocolError('malformed', `frame header: expected a string "type", got ${typeof obj0.type}`);
  }
  const floats = int(obj0, 'floats', 0, Math.floor(opts.maxFrameBytes / 4));
  const raw = obj0.bytes === undefined ? 0 : int(obj0, 'bytes', 0, opts.maxFrameBytes);
  if (floats > 0 && raw > 0) {
    throw new ProtocolError('malformed', `frame header: expected "floats" or "bytes", got both`);
  }
  const what = raw > 0 ? `${raw} payload bytes` : `${floats} float32 values`;
  const start = align4(PREFIX + h);
  const expected = start + floats * 4 + raw;
  if (bytes.length < expected) {
    throw new ProtocolError(
      'truncated',
      `frame: header announces ${what} (${expected} bytes in all), got ${bytes.length} bytes`,
    );
  }
  if (bytes.length > expected) {
    throw new ProtocolError(
      'malformed',
      `frame: expected ${expected} bytes for ${what}, got ${bytes.length} (trailing bytes)`,
    );
  }
  return { header: obj0, payload: bytes.subarray(start, expected) };
}

/** A short description of a value for an error message (bounded length, never recursive). */
function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object' && v !== null) return 'an object';
  return String(v);
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function unknownType(type: unknown, known: string[]): ProtocolError {
  return new ProtocolError(
    'unknown-type',
    `frame: expected type ${known.map((k) => `"${k}"`).join(' | ')}, got ${show(type)}`,
  );
}

function noPayload(payload: Uint8Array, type: string): void {
  if (payload.length > 0) {
    throw new ProtocolError('malformed', `"${type}" frame: expected no weights, got ${payload.length} bytes`);
  }
}

/** Copies the payload into an aligned Float32Array and checks its length and that every value is finite. */
function weights(payload: Uint8Array, modelSize: number | undefined, type: string): Float32Array {
  if (payload.length % 4 !== 0) {
    throw new ProtocolError(
      'malformed',
      `"${type}" frame: expected float32 weights ("floats"), got ${payload.length} opaque bytes`,
    );
  }
  const n = payload.length / 4;
  if (n === 0) throw new ProtocolError('wrong-length', `"${type}" frame: expected weights, got none`);
  if (modelSize !== undefined && n !== modelSize) {
    throw new ProtocolError(
      'wrong-length',
      `"${type}" frame: expected ${modelSize} weights (the model size), got ${n}`,
    );
  }
  const w = new Float32Array(n);
  new Uint8Array(w.buffer).set(payload);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(w[i]!)) {
      throw new ProtocolError(
        'non-finite',
        `"${type}" frame: weight ${i} is ${w[i]}, expected a finite number`,
      );
    }
  }
  return w;
}

function obj(v: unknown, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ProtocolError(
      'malformed',
      `${what}: expected a JSON object, got ${Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v}`,
    );
  }
  return v as Json;
}

function str(o: Json, key: string, max: number): string {
  const v = o[key];
  if (typeof v !== 'string')
    throw new ProtocolError('malformed', `"${key}": expected a string, got ${typeof v}`);
  if (v.length > max) {
    throw new ProtocolError('malformed', `"${key}": expected at most ${max} characters, got ${v.length}`);
  }
  return v;
}

function optStr(o: Json, key: string, max: number): string | undefined {
  return o[key] === undefined ? undefined : str(o, key, max);
}

function num(o: Json, key: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ProtocolError('malformed', `"${key}": expected a finite number, got ${show(v)}`);
  }
  if (v < min || v > max) {
    throw new ProtocolError('malformed', `"${key}": expected a number in [${min}, ${max}], got ${v}`);
  }
  return v;
}

function int(o: Json, key: string, min: number, max: number): number {
  const v = num(o, key, min, max);
  if (!Number.isInteger(v)) throw new ProtocolError('malformed', `"${key}": expected an integer, got ${v}`);
  return v;
}

function choice<T extends string>(o: Json, key: string, choices: readonly T[]): T {
  const v = o[key];
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new ProtocolError('malformed', `"${key}": expected one of ${choices.join(', ')}, got ${show(v)}`);
  }
  return v as T;
}

function metrics(v: unknown): LocalMetrics {
  const o = obj(v, 'metrics');
  return {
    loss: num(o, 'loss', 0, 1e9),
    seconds: num(o, 'seconds', 0, 1e7),
    samplesPerSec: num(o, 'samplesPerSec', 0, 1e12),
  };
}

function experiment(v: unknown): ExperimentInfo {
  const o = obj(v, 'experiment');
  return {
    dataset: str(o, 'dataset', PROTOCOL.maxNameChars),
    strategy: str(o, 'strategy', PROTOCOL.maxNameChars),
    rounds: int(o, 'rounds', 1, PROTOCOL.maxRounds),
    model: obj(o.model, 'experiment.model'),
    preprocessor: obj(o.preprocessor, 'experiment.preprocessor'),
    modelSize: int(o, 'modelSize', 1, PROTOCOL.maxModelParams),
    ...(o.shardSource !== undefined && { shardSource: shardSource(o.shardSource) }),
  };
}

function shardSource(v: unknown): ShardSource {
  const o = obj(v, 'experiment.shardSource');
  const url = str(o, 'url', PROTOCOL.maxMessageChars);
  // Same-origin paths only: a server cannot point a tab at another site's data.
  if (!/^\/[A-Za-z0-9._/-]+$/.test(url) || url.includes('..') || url.startsWith('//')) {
    throw new ProtocolError('malformed', `"url": expected a same-origin path, got ${show(url)}`);
  }
  const p = obj(o.partition, 'experiment.shardSource.partition');
  const kind = choice(p, 'kind', ['iid', 'dirichlet'] as const);
  return {
    url,
    dataset: choice(o, 'dataset', DATASET_IDS),
    testFraction: num(o, 'testFraction', 0.01, 0.9),
    maxTrainRows: int(o, 'maxTrainRows', 0, PROTOCOL.maxSamples),
    seed: int(o, 'seed', 0, 2 ** 31 - 1),
    partition: kind === 'iid' ? { kind } : { kind, alpha: num(p, 'alpha', 1e-3, 1e6) },
    count: int(o, 'count', 1, PROTOCOL.maxClients),
  };
}

/** The bytes of a `secagg` frame: opaque here (src/core/secagg/messages.ts decodes them), 1 to SECAGG.maxMessageBytes. */
function secAggPayload(header: Json, payload: Uint8Array): Uint8Array {
  if (header.floats !== 0) {
    throw new ProtocolError('malformed', '"secagg" frame: expected bytes, got float32 values');
  }
  if (payload.length === 0) {
    throw new ProtocolError('wrong-length', '"secagg" frame: expected a SecAgg message, got none');
  }
  if (payload.length > SECAGG.maxMessageBytes) {
    throw new ProtocolError(
      'oversized',
      `"secagg" frame: at most ${SECAGG.maxMessageBytes} bytes accepted, got ${payload.length}`,
    );
  }
  return payload.slice();
}

function secureRoundInfo(v: unknown): SecureRoundInfo {
  const o = obj(v, 'secagg');
  const extra = Object.keys(o).filter((k) => k !== 'noiseVariance' && k !== 'noiseScale');
  if (extra.length > 0) {
    throw new ProtocolError(
      'malformed',
      `"secagg": expected only "noiseVariance" and "noiseScale", got ${show(extra[0])}`,
    );
  }
  return {
    ...(o.noiseVariance !== undefined && {
      noiseVariance: num(o, 'noiseVariance', 0, PRIVACY.maxIntegerNoiseVariance),
    }),
    // S = (2³¹ − 1 − n)/(n·W·C) of a ring with at least 2 members: below 2³¹.
    ...(o.noiseScale !== undefined && { noiseScale: num(o, 'noiseScale', 1e-9, 2 ** 31) }),
  };
}

function roundSeal(v: unknown): WireRoundSeal {
  const o = obj(v, 'round seal');
  return {
    suite: str(o, 'suite', PROTOCOL.maxNameChars),
    publicKey: base64Field(o, 'publicKey'),
    keySignature: base64Field(o, 'keySignature'),
    modelSignature: base64Field(o, 'modelSignature'),
  };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A standard-base64 field of at most PROTOCOL.maxSealFieldBytes bytes, decoded. */
function base64Field(o: Json, key: string): Uint8Array {
  const max = PROTOCOL.maxSealFieldBytes;
  const v = str(o, key, Math.ceil(max / 3) * 4);
  if (!BASE64.test(v))
    throw new ProtocolError('malformed', `"${key}": expected standard base64, got ${show(v)}`);
  const bin = atob(v);
  if (bin.length > max) {
    throw new ProtocolError('malformed', `"${key}": expected at most ${max} bytes, got ${bin.length}`);
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Standard base64 (browsers and Node both have btoa). */
export function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}
