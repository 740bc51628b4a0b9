/**
 * Explanations of the global model on the experiment's held-out rows, for `GET /api/explain`: one flow's
 * gradient × input attributions (src/model/explain.ts), and a short list of rows worth showing a class.
 *
 * The tfjs work runs in a worker thread of its own (explain-worker.ts, started on first use, restarted if
 * it dies), one job at a time, so the aggregator's event loop keeps serving sockets and /healthz. Answers
 * are cached per model version — the suggestions, and the last `EXPLAIN.cachedRows` rows — and the cache
 * (with the answers in flight) is checked before anything is queued: twenty requests for the suggestions
 * of a new model cost one scan. At most `maxQueue` jobs wait or run; beyond that a call fails at once with
 * an ExplainBusyError (the route answers 503 with Retry-After).
 */
import type { Worker } from 'node:worker_threads';
import { tsWorker } from '../cli/workers.ts';
import { EXPLAIN } from '../core/limits.ts';
import type { Explanation, FlowSuggestion } from '../model/explain.ts';
import type { PreparedExperiment } from './experiment.ts';

/** The model to explain: its version (the cache key) and, only when work is needed, its weights. */
export interface ModelRef {
  version: number;
  weights(): Float32Array;
}

export type ExplainJob =
  | { id: number; kind: 'explain'; row: number; weights: Float32Array }
  | { id: number; kind: 'suggest'; weights: Float32Array };

export type ExplainReply =
  | { id: number; result: Explanation | FlowSuggestion[]; error?: never }
  | { id: number; result?: never; error: { name: string; message: string } };

export class ExplainBusyError extends Error {
  override name = 'ExplainBusyError';
  constructor(
    readonly retryAfterSeconds: number,
    message: string,
  ) {
    super(message);
  }
}

export class ExplainWorkerError extends Error {
  override name = 'ExplainWorkerError';
}

export interface ExplainerStats {
  /** Jobs waiting or running now. */
  pending: number;
  /** The most jobs ever waiting or running at once. */
  maxPending: number;
  /** Calls refused because the queue was full. */
  refused: number;
  /** Jobs the worker computed. */
  computed: number;
}

export interface Explainer {
  /** Held-out rows that can be explained: `row` is in [0, rows). */
  readonly rows: number;
  explain(model: ModelRef, row: number): Promise<Explanation>;
  /** Rows worth explaining under `model`. */
  suggestions(model: ModelRef): Promise<FlowSuggestion[]>;
  stats(): ExplainerStats;
  /** Refuses what is queued and ends the worker thread. */
  dispose(): Promise<void>;
}

interface Waiting {
  job: ExplainJob;
  ok: (v: unknown) => void;
  fail: (e: Error) => void;
}

export function createExplainer(
  exp: PreparedExperiment,
  opts: { maxQueue?: number; cachedRows?: number; jobTimeoutMs?: number } = {},
): Explainer {
  const maxQueue = opts.maxQueue ?? EXPLAIN.maxQueue;
  const jobTimeoutMs = opts.jobTimeoutMs ?? EXPLAIN.jobTimeoutMs;
  /** The running job's deadline, and whether it passed (the thread was then stopped as hung). */
  let deadline: ReturnType<typeof setTimeout> | null = null;
  let hung = false;
  const cachedRows = opts.cachedRows ?? EXPLAIN.cachedRows;
  let worker: Worker | null = null;
  const queue: Waiting[] = [];
  let running: Waiting | null = null;
  let nextId = 1;
  let closed = false;
  const stats: ExplainerStats = { pending: 0, maxPending: 0, refused: 0, computed: 0 };
  let suggested: { version: number; answer: Promise<FlowSuggestion[]> } | null = null;
  let rowsVersion = -1;
  const rowCache = new Map<number, Promise<Explanation>>();

  function start(): Worker {
    const w = tsWorker(new URL('./explain-worker.ts', import.meta.url), {
      model: exp.model,
      preprocessor: exp.preprocessor,
      test: exp.test,
    });
    w.unref();
    w.on('message', (reply: ExplainReply) => {
      const r = running;
      if (!r || r.job.id !== reply.id) return;
      if (deadline) clearTimeout(deadline);
      running = null;
      stats.pending--;
      stats.computed++;
      if (reply.error) {
        const e = new ExplainWorkerError(`explain: ${reply.error.name}: ${reply.error.message}`);
        r.fail(e);
      } else r.ok(reply.result);
      pump();
    });
    const died = (why: string) => {
      if (worker !== w) return;
      worker = null;
      if (deadline) clearTimeout(deadline);
      const r = running;
      running = null;
      if (r) {
        stats.pending--;
        const what = hung ? `took longer than ${jobTimeoutMs} ms and was stopped` : why;
        r.fail(new ExplainWorkerError(`explain: the worker thread ${what}`));
      }
      hung = false;
      pump();
    };
    w.on('error', (e) => died(`failed: ${e.message}`));
    w.on('exit', (code) => died(`exited with code ${code}`));
    return w;
  }

  function pump(): void {
    if (running || closed) return;
    const next = queue.shift();
    if (!next) return;
    running = next;
    worker ??= start();
    const w = next.job.weights;
    worker.postMessage(next.job, [w.buffer as ArrayBuffer]);
    // A thread that never answers (hung) would hold the queue forever: past the deadline it is stopped;
    // its 'exit' fails this job and starts the next on a fresh thread.
    const thread = worker;
    deadline = setTimeout(() => {
      if (worker !== thread || running !== next) return;
      hung = true;
      void thread.terminate();
    }, jobTimeoutMs);
    deadline.unref?.();
  }

  function submit<T>(make: (id: number) => ExplainJob): Promise<T> {
    if (closed) return Promise.reject(new ExplainWorkerError('explain: the explainer is closed'));
    if (stats.pending >= maxQueue) {
      stats.refused++;
      return Promise.reject(
        new ExplainBusyError(
          EXPLAIN.retryAfterSeconds,
          `explain: ${stats.pending} explanations are already queued (at most ${maxQueue}); try again shortly`,
        ),
      );
    }
    stats.pending++;
    stats.maxPending = Math.max(stats.maxPending, stats.pending);
    return new Promise<T>((ok, fail) => {
      queue.push({ job: make(nextId++), ok: ok as (v: unknown) => void, fail });
      pump();
    });
  }

  /** A copy of the weights in a buffer of its own (it is transferred to the worker). */
  const own = (m: ModelRef) => new Float32Array(m.weights());

  return {
    rows: exp.test.n,
    explain(model, row) {
      if (rowsVersion !== model.version) {
        rowCache.clear();
        rowsVersion = model.version;
      }
      const hit = rowCache.get(row);
      if (hit) return hit;
      const answer = submit<Explanation>((id) => ({ id, kind: 'explain', row, weights: own(model) }));
      rowCache.set(row, answer);
      if (rowCache.size > cachedRows) rowCache.delete(rowCache.keys().next().value!);
      answer.catch(() => {
        if (rowCache.get(row) === answer) rowCache.delete(row);
      });
      return answer;
    },
    suggestions(model) {
      if (suggested?.version === model.version) return suggested.answer;
      const answer = submit<FlowSuggestion[]>((id) => ({ id, kind: 'suggest', weights: own(model) }));
      const entry = { version: model.version, answer };
      suggested = entry;
      answer.catch(() => {
        if (suggested === entry) suggested = null;
      });
      return answer;
    },
    stats: () => ({ ...stats }),
    async dispose() {
      closed = true;
      if (deadline) clearTimeout(deadline);
      for (const w of queue.splice(0)) w.fail(new ExplainWorkerError('explain: the explainer is closed'));
      const w = worker;
      worker = null;
      if (w) await w.terminate();
    },
  };
}
