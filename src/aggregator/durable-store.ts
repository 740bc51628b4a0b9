/**
 * Writes the aggregator's durable state without ever ending the process: the checkpoint (checkpoint.ts) at
 * the end of each round, and the client key bindings (`client-keys.json`) the moment a new id is bound, both
 * atomically (atomic-file.ts). A write that fails (a full disk, a directory where the temporary file goes,
 * a read-only folder) is logged, reported by `status()` (→ `/api/status`'s `checkpoint`) and retried: at the
 * next save, and by a backoff timer (1 s doubling to 60 s) that writes the latest state then. Meanwhile the
 * state stays in memory, in the coordinator, so nothing aggregated is lost while the process runs.
 *
 * The bindings file holds, per client id, the fingerprint of its key, its shard and the last round it was
 * seen in; it is what `pqfed serve` loads on restart (over the checkpoint's copy), so a binding survives a
 * SIGKILL right after the join.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';
import { type Checkpoint, saveCheckpoint } from './checkpoint.ts';

export const BINDINGS_FILE = 'client-keys.json';

/** Client ids bound to keys, with what is needed to prune them. */
export interface Bindings {
  /** Digest of the experiment config they belong to (as the checkpoint's). */
  configDigest: string;
  /** Client id → fingerprint of its ML-DSA-65 key. */
  clientKeys: Record<string, string>;
  /** Client id → its shard of the embedded sample. */
  clientShards: Record<string, number>;
  /** Client id → the round count when it last joined. */
  lastSeen: Record<string, number>;
}

export interface DurableStatus {
  /** False while the last write of the checkpoint or the bindings failed. */
  ok: boolean;
  /** The last failure's message (null when ok). */
  error: string | null;
  /** When writes started failing (ISO time; null when ok). */
  failedSince: string | null;
  /** The round of the last checkpoint written (null: none yet in this process). */
  lastSavedRound: number | null;
  lastSavedAt: string | null;
  /** Failed writes since start. */
  failures: number;
}

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 60_000;

export class BindingsFileError extends Error {
  override name = 'BindingsFileError';
}

/** The bindings kept in `dataDir` for the experiment `configDigest`, or null (none, or another experiment's). */
export function loadBindings(dataDir: string, configDigest: string): Bindings | null {
  const path = join(dataDir, BINDINGS_FILE);
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new BindingsFileError(`${path} is not JSON (${(e as Error).message}); move it away to start anew`);
  }
  const o = raw as Partial<Bindings> | null;
  const isMap = (v: unknown, t: 'string' | 'number') =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === t);
  if (
    typeof o?.configDigest !== 'string' ||
    !isMap(o.clientKeys, 'string') ||
    !isMap(o.clientShards, 'number') ||
    !isMap(o.lastSeen, 'number')
  ) {
    throw new BindingsFileError(
      `${path} does not hold {configDigest, clientKeys, clientShards, lastSeen}; move it away to start anew`,
    );
  }
  return o.configDigest === configDigest ? (o as Bindings) : null;
}

export class DurableStore {
  private pendingCheckpoint: (() => Checkpoint) | null = null;
  private pendingBindings: (() => Bindings) | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private retryMs = RETRY_FIRST_MS;
  private state: DurableStatus = {
    ok: true,
    error: null,
    failedSince: null,
    lastSavedRound: null,
    lastSavedAt: null,
    failures: 0,
  };
  private closed = false;
  private soon: Promise<boolean> | null = null;

  constructor(
    private readonly dataDir: string | null,
    private readonly log: (line: string) => void,
  ) {}

  /** Writes the checkpoint `make()` gives now; on failure keeps `make` and retries later. True if written. */
  saveCheckpoint(make: () => Checkpoint): boolean {
    if (!this.dataDir) return true;
    this.pendingCheckpoint = make;
    return this.flush();
  }

  /**
   * Writes the bindings `make()` gives once the hellos that arrived with this one have been handled (one
   * write for a burst of joins, at setImmediate); resolves true when written, false when the write failed
   * (then kept and retried, as `saveBindings`).
   */
  saveBindingsSoon(make: () => Bindings): Promise<boolean> {
    if (!this.dataDir) return Promise.resolve(true);
    this.pendingBindings = make;
    this.soon ??= new Promise((ok) =>
      setImmediate(() => {
        this.soon = null;
        ok(this.pendingBindings ? this.flush() : this.state.ok);
      }),
    );
    return this.soon;
  }

  /** Writes the bindings `make()` gives now; on failure keeps `make` and retries later. True if written. */
  saveBindings(make: () => Bindings): boolean {
    if (!this.dataDir) return true;
    this.pendingBindings = make;
    return this.flush();
  }

  status(): DurableStatus {
    return { ...this.state };
  }

  /** Stops the retry timer (what is still unwritten stays unwritten). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Writes what is pending (bindings first: they are small and guard identities). */
  private flush(): boolean {
    const dir = this.dataDir!;
    try {
      if (this.pendingBindings) {
        const b = this.pendingBindings();
        writeFileAtomic(join(dir, BINDINGS_FILE), new TextEncoder().encode(JSON.stringify(b)), 0o600);
        this.pendingBindings = null;
      }
      if (this.pendingCheckpoint) {
        const c = this.pendingCheckpoint();
        saveCheckpoint(dir, c);
        this.pendingCheckpoint = null;
        this.state.lastSavedRound = c.round;
        this.state.lastSavedAt = new Date().toISOString();
      }
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const message = `${err.code ?? err.name}: ${err.message}`;
      this.state.failures++;
      if (this.state.ok) this.state.failedSince = new Date().toISOString();
      this.state.ok = false;
      this.state.error = message;
      this.log(
        `CHECKPOINT WRITE FAILED in ${dir}: ${message}; the state is kept in memory and the write is retried ` +
          `(next round, and in ${Math.round(this.retryMs / 1000)} s)`,
      );
      this.schedule();
      return false;
    }
    if (!this.state.ok) this.log(`checkpoint written again in ${dir} after ${this.state.failures} failures`);
    this.state.ok = true;
    this.state.error = null;
    this.state.failedSince = null;
    this.retryMs = RETRY_FIRST_MS;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    return true;
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    const wait = this.retryMs;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.closed) this.flush();
    }, wait);
    this.timer.unref?.();
  }
}

/**
 * The ids whose bindings are dropped at the end of round `round` (their keys can then be claimed afresh),
 * never a connected one: a one-off key (never contributed an update) unseen for
 * `PROTOCOL.oneOffKeyIdleRounds` rounds; any key unseen for `PROTOCOL.clientKeyIdleRounds`; and, beyond
 * `PROTOCOL.maxClientKeys` bindings, the least recently seen.
 */
export function idsToPrune(
  lastSeen: ReadonlyMap<string, number>,
  round: number,
  connected: ReadonlySet<string>,
  contributed: ReadonlySet<string>,
  limits: { oneOffIdleRounds: number; idleRounds: number; maxKeys: number },
): string[] {
  const out = new Set<string>();
  const idle: [string, number][] = [];
  for (const [id, seen] of lastSeen) {
    if (connected.has(id)) continue;
    const unseen = round - seen;
    if (unseen >= limits.idleRounds || (!contributed.has(id) && unseen >= limits.oneOffIdleRounds))
      out.add(id);
    else idle.push([id, seen]);
  }
  const excess = lastSeen.size - out.size - limits.maxKeys;
  if (excess > 0) {
    idle.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
    for (const [id] of idle.slice(0, excess)) out.add(id);
  }
  return [...out];
}
