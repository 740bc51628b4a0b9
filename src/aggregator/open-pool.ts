/**
 * A pool of worker threads that open sealed model updates (`openUpdate`: ML-KEM/X-Wing decapsulation and
 * ML-DSA-65 verification, synchronous pure JavaScript of several milliseconds each, then AES-GCM), so the
 * aggregator's event loop keeps serving sockets, heartbeats and /api/status while hundreds of updates arrive
 * at once (bench/event-loop.ts). Node only.
 *
 * - `size` threads (default: available cores − 1, at least 1), started by `warm()` or by the first updates
 *   that need them (a pool that never opens anything costs nothing) and kept; an idle thread never keeps
 *   the process alive. `serverChannelsFor` (src/cli/channels.ts) warms its pool when the first round opens.
 * - At most two updates per thread at a time (one opened, the next waiting in its port); the rest wait in a
 *   queue of at most `maxQueue` updates (beyond that an update is refused at once with an `OpenPoolError`).
 *   The aggregator admits one update per selected client and round, so its queue stays below the number
 *   of clients.
 * - The envelope is copied into a buffer of its own and transferred; so is a copy of the round's secret key,
 *   which the worker zeroes after the update. The plaintext comes back transferred.
 * - A refusal keeps its meaning across the thread boundary: a `CryptoError` with the same `reason` and
 *   message is rebuilt here. Anything else (a thread that died, a closed pool) is an `OpenPoolError`.
 * - `close()` refuses what is queued and terminates the threads.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { tsWorker } from '../cli/workers.ts';
import type { OpenUpdateExpectations } from '../crypto/envelope.ts';
import { CRYPTO_REFUSALS, CryptoError, type CryptoRefusal } from '../crypto/errors.ts';

/** One update sent to a worker. */
export interface OpenJob {
  id: number;
  envelope: ArrayBuffer;
  expect: OpenUpdateExpectations;
}

/** A worker's answer: the plaintext, or why the update was refused. */
export type OpenReply =
  | { id: number; plain: ArrayBuffer; error?: never }
  | { id: number; plain?: never; error: { reason: string | null; name: string; message: string } };

export interface OpenPoolOptions {
  /** Worker threads (default: available cores − 1, at least 1). */
  size?: number;
  /** Most updates waiting for a thread (default 4,096); more are refused with an OpenPoolError. */
  maxQueue?: number;
}

export interface OpenPool {
  readonly size: number;
  /** Threads started so far. */
  readonly threads: number;
  /** Updates queued or being opened. */
  readonly pending: number;
  /** `openUpdate` in a worker thread: the same plaintext, or the same refusal (reason and message). */
  open(bytes: Uint8Array, expect: OpenUpdateExpectations): Promise<Uint8Array>;
  /** Starts every thread now rather than with the first updates (they take a moment to load). */
  warm(): void;
  /** Refuses queued and running updates and terminates the threads. Idempotent. */
  close(): Promise<void>;
}

/** Not a refusal of the update: the pool could not open it (closed, full, or a thread died). */
export class OpenPoolError extends Error {
  override readonly name = 'OpenPoolError';
}

export function defaultOpenThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

interface Pending {
  id: number;
  bytes: Uint8Array;
  expect: OpenUpdateExpectations;
  ok: (plain: Uint8Array) => void;
  fail: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Updates sent to this thread and not answered yet (at most PER_THREAD). */
  jobs: Map<number, Pending>;
}

/** Updates handed to one thread at a time: one being opened, the next already waiting in its port, so the
 * thread does not idle for a round trip between two updates. */
const PER_THREAD = 2;

const WORKER = new URL('./open-worker.ts', import.meta.url);

function rebuild(e: { reason: string | null; name: string; message: string }): Error {
  if (e.reason !== null && (CRYPTO_REFUSALS as readonly string[]).includes(e.reason)) {
    return new CryptoError(e.reason as CryptoRefusal, e.message);
  }
  return new OpenPoolError(`open pool: the worker failed with ${e.name}: ${e.message}`);
}

export function createOpenPool(options: OpenPoolOptions = {}): OpenPool {
  const size = options.size ?? defaultOpenThreads();
  const maxQueue = options.maxQueue ?? 4096;
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`open pool: expected a size of at least 1 thread, got ${size}`);
  }
  if (!Number.isInteger(maxQueue) || maxQueue < 0) {
    throw new RangeError(`open pool: expected a queue of at least 0 updates, got ${maxQueue}`);
  }
  const slots: Slot[] = [];
  const queue: Pending[] = [];
  let nextId = 1;
  let closed = false;

  function spawn(): Slot {
    const worker = tsWorker(WORKER, null);
    worker.unref();
    const slot: Slot = { worker, jobs: new Map() };
    const lost = (why: string) => {
      const i = slots.indexOf(slot);
      if (i >= 0) slots.splice(i, 1);
      const jobs = [...slot.jobs.values()];
      slot.jobs.clear();
      for (const job of jobs) job.fail(new OpenPoolError(closed ? 'open pool: closed' : `open pool: ${why}`));
      if (!closed) pump();
    };
    worker.on('message', (m: OpenReply) => {
      const job = slot.jobs.get(m.id);
      if (!job) return;
      slot.jobs.delete(m.id);
      if (slot.jobs.size === 0) worker.unref();
      if (m.error) job.fail(rebuild(m.error));
      else job.ok(new Uint8Array(m.plain));
      pump();
    });
    worker.on('error', (e) => lost(`a worker thread failed: ${e.message}`));
    worker.on('exit', (code) => lost(`a worker thread exited (code ${code})`));
    slots.push(slot);
    return slot;
  }

  function dispatch(slot: Slot, job: Pending): void {
    slot.jobs.set(job.id, job);
    slot.worker.ref();
    // Buffers of their own, transferred: the envelope, and a copy of the secret key the worker zeroes.
    const envelope = job.bytes.slice();
    const roundSecretKey = job.expect.roundSecretKey.slice();
    const message: OpenJob = {
      id: job.id,
      envelope: envelope.buffer,
      expect: {
        ...job.expect,
        roundSecretKey,
        session: job.expect.session.slice(),
        clientPublicKey: job.expect.clientPublicKey.slice(),
      },
    };
    slot.worker.postMessage(message, [envelope.buffer, roundSecretKey.buffer]);
  }

  function pump(): void {
    while (queue.length > 0 && !closed) {
      // The least busy thread; a new one while there are fewer than `size` and every thread is busy.
      let slot: Slot | undefined;
      for (const s of slots) if (!slot || s.jobs.size < slot.jobs.size) slot = s;
      if ((!slot || slot.jobs.size > 0) && slots.length < size) slot = spawn();
      if (!slot || slot.jobs.size >= PER_THREAD) return;
      dispatch(slot, queue.shift()!);
    }
  }

  return {
    size,
    get threads() {
      return slots.length;
    },
    get pending() {
      return queue.length + slots.reduce((n, s) => n + s.jobs.size, 0);
    },
    open(bytes, expect) {
      if (closed) return Promise.reject(new OpenPoolError('open pool: closed'));
      if (queue.length >= maxQueue) {
        return Promise.reject(
          new OpenPoolError(
            `open pool: ${queue.length} updates are already waiting (the most is ${maxQueue})`,
          ),
        );
      }
      return new Promise<Uint8Array>((ok, fail) => {
        queue.push({ id: nextId++, bytes, expect, ok, fail });
        pump();
      });
    },
    warm() {
      while (!closed && slots.length < size) spawn();
    },
    async close() {
      if (closed) return;
      closed = true;
      const refused = [...queue.splice(0), ...slots.flatMap((s) => [...s.jobs.values()])];
      for (const s of slots) s.jobs.clear();
      for (const job of refused) job.fail(new OpenPoolError('open pool: closed'));
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
