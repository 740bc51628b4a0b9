/**
 * The aggregator's durable state: one file in the data directory holding the global model, the round, the
 * history and the strategy's state, written at the end of every round atomically (temporary file, fsync,
 * rename, fsync of the folder) and closed by a SHA-256 checksum. A file whose checksum, magic or layout is
 * wrong is reported and never loaded.
 *
 * Layout: "PQFCKPT1" · u32 LE header length · header JSON · padding to 4 · float32 arrays · SHA-256 (32 bytes)
 * of everything before it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PrivacyState } from '../core/privacy/ledger.ts';
import { writeFileAtomic } from './atomic-file.ts';

export const CHECKPOINT_FILE = 'checkpoint.pqf';
const MAGIC = 'PQFCKPT1';

/** The per-round fields of the contract (DESIGN.md: /api/status history and `pqfed simulate`). */
export const ROUND_FIELDS = [
  'round',
  'participants',
  'accuracy',
  'macroF1',
  'mosMAE',
  'loss',
  'bytesUp',
  'bytesDown',
  'seconds',
] as const;

export interface RoundRecord {
  round: number;
  /** Clients whose update was aggregated. */
  participants: number;
  accuracy: number;
  macroF1: number;
  mosMAE: number;
  loss: number;
  bytesUp: number;
  bytesDown: number;
  seconds: number;
  /** `aggregated`, or `closed` when the round missed its quorum and the model was kept. */
  outcome: 'aggregated' | 'closed';
  selected: string[];
  contributed: string[];
  failed: { clientId: string; reason: string }[];
  clientMetrics: {
    clientId: string;
    loss: number;
    numSamples: number;
    seconds: number;
    samplesPerSec: number;
  }[];
  perClassRecall: Record<string, number>;
  majorityBaseline: { accuracy: number; macroF1: number };
  strategy: string;
  /** Server seconds spent on the round's cryptography: making the round key and opening sealed updates
   * (0 in checkpoints written before it was measured). */
  cryptoSeconds: number;
  /** ε spent by the end of the round at the experiment's δ (client-level DP only; null: no finite bound). */
  epsilon?: number | null;
}

export interface Checkpoint {
  session: string;
  /** Rounds completed. */
  round: number;
  /** Version of the global model (the round that produced it; 0 = the initial model). */
  version: number;
  strategy: string;
  history: RoundRecord[];
  weights: Float32Array;
  strategyState: Record<string, Float32Array | number>;
  /** Digest of the experiment config the run was started with. */
  configDigest: string;
  /** Registered clients: client id → fingerprint of the ML-DSA-65 key it joined with. */
  clientKeys: Record<string, string>;
  /** Client id → its shard of the embedded sample (browser clients). */
  clientShards: Record<string, number>;
  /** The privacy ledger's state (client-level DP only): the budget resumes exactly. */
  privacy?: PrivacyState;
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export function checkpointPath(dataDir: string): string {
  return join(dataDir, CHECKPOINT_FILE);
}

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const arrays: Float32Array[] = [c.weights];
  const state: Record<string, { array: number; length: number } | number> = {};
  for (const [k, v] of Object.entries(c.strategyState)) {
    if (typeof v === 'number') state[k] = v;
    else {
      state[k] = { array: arrays.length, length: v.length };
      arrays.push(v);
    }
  }
  const header = new TextEncoder().encode(
    JSON.stringify({
      session: c.session,
      round: c.round,
      version: c.version,
      strategy: c.strategy,
      history: c.history,
      configDigest: c.configDigest,
      clientKeys: c.clientKeys,
      clientShards: c.clientShards,
      ...(c.privacy && { privacy: c.privacy }),
      weights: c.weights.length,
      state,
    }),
  );
  const start = (MAGIC.length + 4 + header.length + 3) & ~3;
  const body = arrays.reduce((a, x) => a + x.byteLength, 0);
  const out = new Uint8Array(start + body + 32);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, header.length, true);
  out.set(header, MAGIC.length + 4);
  let off = start;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
    off += a.byteLength;
  }
  out.set(createHash('sha256').update(out.subarray(0, off)).digest(), off);
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array, where = 'checkpoint'): Checkpoint {
  const bad = (why: string) =>
    new CheckpointError(`${where} is corrupt (${why}); it was not loaded. Move it away to start a new run.`);
  if (bytes.length < MAGIC.length + 4 + 32) throw bad(`${bytes.length} bytes, too short`);
  if (new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) throw bad('wrong magic');
  const digest = createHash('sha256')
    .update(bytes.subarray(0, bytes.length - 32))
    .digest();
  if (!Buffer.from(bytes.subarray(bytes.length - 32)).equals(digest)) throw bad('checksum mismatch');
  const h = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(MAGIC.length, true);
  if (MAGIC.length + 4 + h > bytes.length - 32) throw bad('header runs past the end');
  let header: {
    session: string;
    round: number;
    version: number;
    strategy: string;
    history: (Omit<RoundRecord, 'cryptoSeconds'> & { cryptoSeconds?: number })[];
    configDigest: string;
    clientKeys?: Record<string, string>;
    clientShards?: Record<string, number>;
    privacy?: PrivacyState;
    weights: number;
    state: Record<string, { array: number; length: number } | number>;
  };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(MAGIC.length + 4, MAGIC.length + 4 + h)));
  } catch {
    throw bad('header is not JSON');
  }
  const lengths = [header.weights];
  for (const v of Object.values(header.state)) if (typeof v !== 'number') lengths[v.array] = v.length;
  let off = (MAGIC.length + 4 + h + 3) & ~3;
  const arrays: Float32Array[] = [];
  for (const n of lengths) {
    if (!Number.isInteger(n) || n < 0 || off + 4 * n > bytes.length - 32)
      throw bad('arrays run past the end');
    const a = new Float32Array(n);
    new Uint8Array(a.buffer).set(bytes.subarray(off, off + 4 * n));
    arrays.push(a);
    off += 4 * n;
  }
  if (off !== bytes.length - 32) throw bad('trailing bytes');
  const strategyState: Record<string, Float32Array | number> = {};
  for (const [k, v] of Object.entries(header.state))
    strategyState[k] = typeof v === 'number' ? v : arrays[v.array]!;
  return {
    session: header.session,
    round: header.round,
    version: header.version,
    strategy: header.strategy,
    history: header.history.map((r) => ({ ...r, cryptoSeconds: r.cryptoSeconds ?? 0 })),
    configDigest: header.configDigest,
    clientKeys: clientKeys(header.clientKeys, bad),
    clientShards: clientShards(header.clientShards, bad),
    weights: arrays[0]!,
    strategyState,
    ...(header.privacy !== undefined && { privacy: privacyState(header.privacy, bad) }),
  };
}

/** The privacy state's layout (its numbers are checked again when the ledger resumes from it). */
function privacyState(v: unknown, bad: (why: string) => Error): PrivacyState {
  const p = v as PrivacyState;
  const ok =
    typeof p === 'object' &&
    p !== null &&
    typeof p.accountant === 'object' &&
    p.accountant !== null &&
    typeof p.clipNorm === 'number' &&
    (p.noiseMultiplier === null || typeof p.noiseMultiplier === 'number') &&
    (p.stopped === null || typeof p.stopped === 'string');
  if (!ok) throw bad('privacy is not a privacy ledger state');
  return p;
}

function clientKeys(v: unknown, bad: (why: string) => Error): Record<string, string> {
  if (v === undefined) return {}; // a checkpoint written before clients were registered
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('clientKeys is not an object');
  const out: Record<string, string> = {};
  for (const [id, fp] of Object.entries(v)) {
    if (typeof fp !== 'string') throw bad(`clientKeys.${id.slice(0, 40)} is not a fingerprint`);
    out[id] = fp;
  }
  return out;
}

function clientShards(v: unknown, bad: (why: string) => Error): Record<string, number> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('clientShards is not an object');
  const out: Record<string, number> = {};
  for (const [id, k] of Object.entries(v)) {
    if (!Number.isInteger(k) || (k as number) < 0)
      throw bad(`clientShards.${id.slice(0, 40)} is not a shard`);
    out[id] = k as number;
  }
  return out;
}

/** Writes the checkpoint atomically: a reader (or a restart after SIGKILL) sees the old file or the new one. */
export function saveCheckpoint(dataDir: string, c: Checkpoint): number {
  const bytes = encodeCheckpoint(c);
  writeFileAtomic(checkpointPath(dataDir), bytes, 0o600);
  return bytes.length;
}

/** The last checkpoint in `dataDir`, or null when there is none. Throws CheckpointError when it is corrupt. */
export function loadCheckpoint(dataDir: string): Checkpoint | null {
  const path = checkpointPath(dataDir);
  if (!existsSync(path)) return null;
  return decodeCheckpoint(readFileSync(path), path);
}
