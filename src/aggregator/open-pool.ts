/**
 * A pool of worker threads for the aggregator's costly cryptography, all of it synchronous pure JavaScript
 * of several milliseconds a call, so the event loop keeps serving sockets, heartbeats and /api/status while
 * hundreds of clients join or send at once (bench/event-loop.ts). Node only. It runs:
 * - `open`: opening a sealed model update (`openUpdate`: ML-KEM/X-Wing decapsulation, ML-DSA-65
 *   verification, AES-GCM);
 * - `makeServerHello` and `checkClientHello`: the two costly steps of a connection's handshake (KEM key
 *   generation and the ServerHello's ML-DSA-65 signature; the ClientHello's verification and the
 *   decapsulation), as `ServerHandshakeCrypto` (src/crypto/channel.ts).
 *
 * - `size` threads (default: available cores − 1, at least 1), started by `warm()` or by the first tasks
 *   that need them (a pool that never runs anything costs nothing) and kept; an idle thread never keeps
 *   the process alive.
 * - At most two tasks per thread at a time (one running, the next waiting in its port); the rest wait in
 *   two queues: updates (`open`) in one of at most `maxQueue`, handshake steps in one of at most
 *   `maxHandshakeQueue` (beyond that a task is refused at once with an `OpenPoolError`). A thread always
 *   takes a waiting update before a waiting handshake, so the updates of a round's selected clients never
 *   wait behind a crowd of connections (issue 12). The aggregator admits one update per selected client and
 *   round and caps handshakes per address and in total, so its queues stay below those bounds.
 * - Every task takes an optional `AbortSignal` (its socket closed): a task still queued is dropped at once
 *   (its promise rejects with an `OpenPoolError`); one already running finishes in its thread, and its
 *   result is discarded (secret results are zeroed).
 * - Inputs are copied into buffers of their own and transferred; secret keys (the round's, the server
 *   identity's, a handshake's ephemeral one) travel as such copies, and the worker zeroes them after the
 *   task. Results come back transferred.
 * - A refusal keeps its meaning across the thread boundary: a `CryptoError` with the same `reason` and
 *   message is rebuilt here. Anything else (a thread that died, a closed pool) is an `OpenPoolError`.
 * - `close()` refuses what is queued and terminates the threads.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { tsWorker } from '../cli/workers.ts';
import { HOSTILE } from '../core/limits.ts';
import type {
  CheckedClientHello,
  ClientHelloInput,
  ServerHandshakeCrypto,
  ServerHelloInput,
} from '../crypto/channel.ts';
import type { OpenUpdateExpectations } from '../crypto/envelope.ts';
import { CRYPTO_REFUSALS, CryptoError, type CryptoRefusal } from '../crypto/errors.ts';

/** A task sent to a worker; its byte fields are buffers of their own, transferred. */
export type OpenTask =
  | { kind: 'open'; envelope: Uint8Array; expect: OpenUpdateExpectations }
  | { kind: 'server-hello'; input: ServerHelloInput }
  | { kind: 'client-hello'; input: ClientHelloInput };

export interface OpenJob {
  id: number;
  task: OpenTask;
}

/** What each kind of task gives back. */
export interface OpenResults {
  open: Uint8Array;
  'server-hello': { hello: Uint8Array; ephemeralSecretKey: Uint8Array };
  'client-hello': CheckedClientHello;
}

/** A worker's answer: the result, or why the task was refused. */
export type OpenReply =
  | { id: number; result: OpenResults[OpenTask['kind']]; error?: never }
  | { id: number; result?: never; error: { reason: string | null; name: string; message: string } };

export interface OpenPoolOptions {
  /** Worker threads (default: available cores − 1, at least 1). */
  size?: number;
  /** Most updates waiting for a thread (default 4,096); more are refused with an OpenPoolError. */
  maxQueue?: number;
  /** Most handshake steps waiting for a thread (default HOSTILE.maxQueuedHandshakes); more are refused. */
  maxHandshakeQueue?: number;
}

export interface OpenPool extends ServerHandshakeCrypto {
  readonly size: number;
  /** Threads started so far. */
  readonly threads: number;
  /** Tasks queued or running. */
  readonly pending: number;
  /** Tasks dropped from a queue or discarded after running because their signal aborted. */
  readonly cancelled: number;
  /** `openUpdate` in a worker thread: the same plaintext, or the same refusal (reason and message). */
  open(bytes: Uint8Array, expect: OpenUpdateExpectations, signal?: AbortSignal): Promise<Uint8Array>;
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
  task: OpenTask;
  ok: (result: OpenResults[OpenTask['kind']]) => void;
  fail: (e: Error) => void;
}

/** Zeroes the secrets of a result nobody will read (its task was cancelled while it ran). */
function wipeResult(r: OpenResults[OpenTask['kind']]): void {
  if (r instanceof Uint8Array) r.fill(0);
  else if ('ephemeralSecretKey' in r) r.ephemeralSecretKey.fill(0);
  else r.sharedSecret.fill(0);
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
  const maxHandshakeQueue = options.maxHandshakeQueue ?? HOSTILE.maxQueuedHandshakes;
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`open pool: expected a size of at least 1 thread, got ${size}`);
  }
  if (!Number.isInteger(maxQueue) || maxQueue < 0) {
    throw new RangeError(`open pool: expected a queue of at least 0 updates, got ${maxQueue}`);
  }
  if (!Number.isInteger(maxHandshakeQueue) || maxHandshakeQueue < 0) {
    throw new RangeError(`open pool: expected a queue of at least 0 handshakes, got ${maxHandshakeQueue}`);
  }
  const slots: Slot[] = [];
  /** Updates first: a thread takes from `updates` whenever it holds one. */
  const updates: Pending[] = [];
  const handshakes: Pending[] = [];
  let nextId = 1;
  let closed = false;
  let cancelled = 0;

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
      else job.ok(m.result);
      pump();
    });
    worker.on('error', (e) => lost(`a worker thread failed: ${e.message}`));
    worker.on('exit', (code) => lost(`a worker thread exited (code ${code})`));
    slots.push(slot);
    return slot;
  }

  function dispatch(slot: Slot, job: Pending): void {
    let message: { task: OpenTask; transfer: ArrayBuffer[] };
    try {
      message = ownCopy(job.task);
      slot.jobs.set(job.id, job);
      slot.worker.ref();
      slot.worker.postMessage({ id: job.id, task: message.task } satisfies OpenJob, message.transfer);
    } catch (e) {
      // Nothing was sent: the task fails alone, and the thread stays free for the next.
      slot.jobs.delete(job.id);
      if (slot.jobs.size === 0) slot.worker.unref();
      job.fail(new OpenPoolError(`open pool: could not hand the task to a thread: ${(e as Error).message}`));
    }
  }

  function run<K extends OpenTask['kind']>(
    task: Extract<OpenTask, { kind: K }>,
    signal?: AbortSignal,
  ): Promise<OpenResults[K]> {
    if (closed) return Promise.reject(new OpenPoolError('open pool: closed'));
    if (signal?.aborted) {
      cancelled++;
      return Promise.reject(new OpenPoolError('open pool: cancelled before it was queued'));
    }
    const queue = task.kind === 'open' ? updates : handshakes;
    const most = task.kind === 'open' ? maxQueue : maxHandshakeQueue;
    const what = task.kind === 'open' ? 'updates' : 'handshake steps';
    if (queue.length >= most) {
      return Promise.reject(
        new OpenPoolError(`open pool: ${queue.length} ${what} are already waiting (the most is ${most})`),
      );
    }
    return new Promise<OpenResults[K]>((ok, fail) => {
      let settled = false;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        cancelled++;
        const i = queue.indexOf(job);
        if (i >= 0) queue.splice(i, 1);
        fail(
          new OpenPoolError(
            `open pool: cancelled (${i >= 0 ? 'dropped from the queue' : 'result discarded'})`,
          ),
        );
      };
      const job: Pending = {
        id: nextId++,
        task,
        ok: (r) => {
          signal?.removeEventListener('abort', onAbort);
          if (settled) return wipeResult(r);
          settled = true;
          ok(r as OpenResults[K]);
        },
        fail: (e) => {
          signal?.removeEventListener('abort', onAbort);
          if (settled) return;
          settled = true;
          fail(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(job);
      pump();
    });
  }

  function pump(): void {
    while (updates.length + handshakes.length > 0 && !closed) {
      // The least busy thread; a new one while there are fewer than `size` and every thread is busy.
      let slot: Slot | undefined;
      for (const s of slots) if (!slot || s.jobs.size < slot.jobs.size) slot = s;
      if ((!slot || slot.jobs.size > 0) && slots.length < size) slot = spawn();
      if (!slot || slot.jobs.size >= PER_THREAD) return;
      dispatch(slot, (updates.length > 0 ? updates : handshakes).shift()!);
    }
  }

  return {
    size,
    get threads() {
      return slots.length;
    },
    get pending() {
      return updates.length + handshakes.length + slots.reduce((n, s) => n + s.jobs.size, 0);
    },
    get cancelled() {
      return cancelled;
    },
    open: (envelope, expect, signal) => run({ kind: 'open', envelope, expect }, signal),
    makeServerHello: (input, signal) => run({ kind: 'server-hello', input }, signal),
    checkClientHello: async (input, signal) => {
      try {
        return await run({ kind: 'client-hello', input }, signal);
      } finally {
        // The worker wiped its copy; this one too, whatever happened (as checkClientHello does).
        input.ephemeralSecretKey.fill(0);
      }
    },
    warm() {
      while (!closed && slots.length < size) spawn();
    },
    async close() {
      if (closed) return;
      closed = true;
      const refused = [
        ...updates.splice(0),
        ...handshakes.splice(0),
        ...slots.flatMap((s) => [...s.jobs.values()]),
      ];
      for (const s of slots) s.jobs.clear();
      for (const job of refused) job.fail(new OpenPoolError('open pool: closed'));
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}

/**
 * A copy of `b` in a fresh buffer of exactly its size (so it can be transferred), and that buffer. Not
 * `b.slice()`: on a Node Buffer (a key read from a file) that is a view of a shared pool, which would be
 * transferred, and so detached, whole.
 */
function own(b: Uint8Array, transfer: ArrayBuffer[]): Uint8Array {
  const c = new Uint8Array(b);
  transfer.push(c.buffer);
  return c;
}

/** The task with every byte field copied into a buffer of its own, and the buffers to transfer. */
function ownCopy(task: OpenTask): { task: OpenTask; transfer: ArrayBuffer[] } {
  const t: ArrayBuffer[] = [];
  switch (task.kind) {
    case 'open': {
      const e = task.expect;
      const expect = {
        ...e,
        roundSecretKey: own(e.roundSecretKey, t),
        session: own(e.session, t),
        clientPublicKey: own(e.clientPublicKey, t),
      };
      return { task: { kind: 'open', envelope: own(task.envelope, t), expect }, transfer: t };
    }
    case 'server-hello': {
      const i = task.input;
      const identity = { publicKey: own(i.identity.publicKey, t), secretKey: own(i.identity.secretKey, t) };
      return {
        task: { kind: 'server-hello', input: { ...i, identity, session: own(i.session, t) } },
        transfer: t,
      };
    }
    case 'client-hello': {
      const i = task.input;
      const input: ClientHelloInput = {
        suite: i.suite,
        session: own(i.session, t),
        serverHello: own(i.serverHello, t),
        clientHello: own(i.clientHello, t),
        ephemeralSecretKey: own(i.ephemeralSecretKey, t),
      };
      return { task: { kind: 'client-hello', input }, transfer: t };
    }
  }
}
