/**
 * The data-parallel fused WASM engine: one training step split across W threads. The calling thread's
 * `FusedEngine` (the primary) holds the weights and Adam's state; W − 1 helper threads
 * (threads-helper.js; worker_threads in Node, nested Web Workers in a browser) each hold their own instance
 * of the same module. A step's batch is cut at the engine's 32-row chunks into W parts; every thread computes
 * the gradients of its part's share of the WHOLE batch's loss (the normalisers 1/Σw and 1/B are the batch's),
 * the primary adds the helpers' gradients to its own, adds the FedProx/FedDyn terms once and runs one Adam
 * update. Only the summation order of the parts' gradients differs from the single-thread step (norm-wise
 * relative difference ≲ 1e-7, threads.test.ts).
 *
 * The threads exchange data through one SharedArrayBuffer (weights in, rows in, gradients and loss sums out)
 * and wait with Atomics, so a step stays synchronous: the caller's thread blocks in `Atomics.wait`, which a
 * browser allows in workers only (never on a page's main thread). It needs SharedArrayBuffer: Node, or a
 * cross-origin-isolated page. Each helper's instance has its own (unshared) memory: the module is the
 * single-thread build, so no second build (`--enable threads --sharedMemory`) is needed; the copies cost
 * 2 × 80 KB per helper and step for the default model, a few microseconds.
 */
import type { EncodedData } from '../data/features.ts';
import { type ModelConfig, paramSpecs } from '../model/model.ts';
import {
  compileEngine,
  type EngineBatchViews,
  EngineError,
  type EngineStepOptions,
  FusedEngine,
} from './wasm-engine.ts';

/** The engine's chunk of rows (CHUNK in the module): parts are cut at multiples of it. */
export const ENGINE_CHUNK = 32;

/** Int32 slots of a helper's control block (the same in threads-helper.js). */
const SEQ = 0;
const DONE = 1;
const ROWS = 2;
const USE_CW = 3;
const STOP = 4;
const FAILED = 5;
/** How long a step waits for a helper before it gives up (a stuck thread is an error, not a hang). */
const HELPER_WAIT_MS = 120_000;

/** Why threads cannot run here, or null when they can (SharedArrayBuffer and workers present). */
export function threadsUnavailable(): string | null {
  if (typeof SharedArrayBuffer !== 'function') {
    return 'SharedArrayBuffer is not available (the page is not cross-origin isolated)';
  }
  const g = globalThis as { crossOriginIsolated?: boolean; process?: { versions?: { node?: string } } };
  if (g.crossOriginIsolated === false) return 'the page is not cross-origin isolated';
  if (!g.process?.versions?.node && typeof Worker !== 'function') return 'this context cannot start workers';
  return null;
}

/** The row ranges [start, end) of a batch of `b` rows for `threads` threads: whole chunks, front-loaded. */
export function splitBatch(b: number, threads: number): [number, number][] {
  const chunks = Math.ceil(b / ENGINE_CHUNK);
  const parts: [number, number][] = [];
  const per = Math.ceil(chunks / Math.max(1, threads));
  for (let c = 0; c < chunks; c += per) {
    parts.push([c * ENGINE_CHUNK, Math.min(b, (c + per) * ENGINE_CHUNK)]);
  }
  return parts;
}

/** Byte offsets of one helper's part of the shared buffer. */
interface HelperLayout {
  params: number;
  classes: number;
  numeric: number;
  categorical: number;
  maxRows: number;
  ctrl: number;
  norms: number;
  sums: number;
  weights: number;
  classWeights: number;
  grads: number;
  rowsNumeric: number;
  rowsCategorical: number;
  rowsLabel: number;
  rowsMos: number;
}

/** The shared buffer: the weights and class weights once, then one block per helper. */
function layOut(
  config: ModelConfig,
  params: number,
  maxRows: number,
  helpers: number,
): { bytes: number; helpers: HelperLayout[] } {
  let top = 0;
  const take = (bytes: number) => {
    const at = top;
    top += Math.ceil(bytes / 64) * 64;
    return at;
  };
  const weights = take(params * 4);
  const classWeights = take(config.numClasses * 4);
  const out: HelperLayout[] = [];
  for (let h = 0; h < helpers; h++) {
    out.push({
      params,
      classes: config.numClasses,
      numeric: config.numNumeric,
      categorical: config.catVocab.length,
      maxRows,
      ctrl: take(8 * 4),
      norms: take(2 * 4),
      sums: take(2 * 8),
      weights,
      classWeights,
      grads: take(params * 4),
      rowsNumeric: take(maxRows * config.numNumeric * 4),
      rowsCategorical: take(maxRows * config.catVocab.length * 4),
      rowsLabel: take(maxRows * 4),
      rowsMos: take(maxRows * 4),
    });
  }
  return { bytes: top, helpers: out };
}

/** A helper thread as the primary sees it. */
interface Helper {
  terminate(): void;
  ctrl: Int32Array;
  norms: Float32Array;
  sums: Float64Array;
  grads: Float32Array;
  rows: EngineBatchViews;
}

interface PortLike {
  postMessage(m: unknown): void;
  terminate(): unknown;
}

/** Starts a helper thread and waits until its instance is ready. */
async function startHelper(message: unknown): Promise<PortLike> {
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  let port: PortLike | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    const onMessage = (m: { ready?: boolean; error?: string }) => {
      if (m.ready) resolve();
      else reject(new EngineError(`fused engine thread: ${m.error ?? 'no answer'}`));
    };
    if (isNode) {
      const start = async () => {
        // A computed specifier: bundlers leave it alone (the browser never takes this branch).
        const name = 'node:worker_threads';
        const { Worker: NodeWorker } = (await import(
          /* @vite-ignore */ name
        )) as typeof import('node:worker_threads');
        const w = new NodeWorker(HELPER_URL);
        w.once('message', onMessage);
        w.once('error', (e) => reject(new EngineError(`fused engine thread: ${e.message}`)));
        port = w;
        w.postMessage(message);
      };
      start().catch(reject);
    } else {
      const w = new Worker(new URL('./threads-helper.js', import.meta.url), {
        type: 'module',
        name: 'pqfed-engine-thread',
      });
      w.addEventListener('message', (ev) => onMessage(ev.data), { once: true });
      w.addEventListener('error', (ev) =>
        reject(new EngineError(`fused engine thread: ${ev.message || 'it could not start'}`)),
      );
      port = w;
      w.postMessage(message);
    }
  });
  try {
    await ready;
  } catch (e) {
    port?.terminate();
    throw e;
  }
  return port as PortLike;
}

/** The helper's file for Node (a variable, not a literal: Vite emits the browser's worker chunk only). */
const HELPER_FILE = './threads-helper.js';
const HELPER_URL = new URL(HELPER_FILE, import.meta.url);

/** The fused engine with each step split across `threads` threads (this one and threads − 1 helpers). */
export class ThreadedEngine {
  readonly numParams: number;
  private readonly sharedWeights: Float32Array;
  private readonly sharedClassWeights: Float32Array;
  private seq = 0;
  private closed = false;

  private constructor(
    /** The calling thread's engine: weights, Adam state, the whole batch's rows, the first part. */
    readonly primary: FusedEngine,
    readonly threads: number,
    private readonly helpers: Helper[],
    sab: SharedArrayBuffer,
    layout: HelperLayout,
  ) {
    this.numParams = primary.numParams;
    this.sharedWeights = new Float32Array(sab, layout.weights, this.numParams);
    this.sharedClassWeights = new Float32Array(sab, layout.classWeights, layout.classes);
  }

  /**
   * A data-parallel engine for `config` with `weights`, batches of up to `maxBatch` rows and `threads` ≥ 1
   * threads in all (more than the batch's chunks are never used). Throws EngineError where threads cannot
   * run (see threadsUnavailable).
   */
  static async create(
    config: ModelConfig,
    weights: Float32Array,
    maxBatch: number,
    threads: number,
  ): Promise<ThreadedEngine> {
    if (!(Number.isInteger(threads) && threads >= 1 && threads <= 64)) {
      throw new EngineError(`fused engine: threads must be an integer in [1, 64], got ${threads}`);
    }
    const primary = await FusedEngine.create(config, weights, maxBatch);
    const parts = splitBatch(maxBatch, threads);
    const helpers = parts.length - 1;
    const why = helpers > 0 ? threadsUnavailable() : null;
    if (why) throw new EngineError(`fused engine: no threads here: ${why}`);
    const maxRows = Math.max(1, ...parts.slice(1).map(([s, e]) => e - s));
    const params = paramSpecs(config).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
    const { bytes, helpers: layouts } = layOut(config, params, maxRows, Math.max(1, helpers));
    const sab = new SharedArrayBuffer(bytes);
    const module = await compileEngine();
    const c = config;
    const dims = [
      c.numNumeric,
      c.catVocab.length,
      c.catVocab.reduce((a, b) => a + b, 0),
      c.dModel,
      c.heads,
      c.ffDim,
      c.numClasses,
      c.convLayers,
      maxRows,
      c.mosWeight,
    ];
    const started: Helper[] = [];
    try {
      for (let h = 0; h < helpers; h++) {
        const l = layouts[h]!;
        const port = await startHelper({ module, dims, sab, layout: l });
        started.push({
          terminate: () => void port.terminate(),
          ctrl: new Int32Array(sab, l.ctrl, 8),
          norms: new Float32Array(sab, l.norms, 2),
          sums: new Float64Array(sab, l.sums, 2),
          grads: new Float32Array(sab, l.grads, params),
          rows: {
            numeric: new Float32Array(sab, l.rowsNumeric, maxRows * l.numeric),
            categorical: new Int32Array(sab, l.rowsCategorical, maxRows * l.categorical),
            label: new Int32Array(sab, l.rowsLabel, maxRows),
            mos: new Float32Array(sab, l.rowsMos, maxRows),
          },
        });
      }
    } catch (e) {
      for (const h of started) h.terminate();
      throw e;
    }
    return new ThreadedEngine(primary, Math.min(threads, parts.length), started, sab, layouts[0]!);
  }

  get config(): ModelConfig {
    return this.primary.config;
  }

  get maxBatch(): number {
    return this.primary.maxBatch;
  }

  /** The weights (a live view of the primary's memory). */
  get weights(): Float32Array {
    return this.primary.weights;
  }

  /** The gradients of the last `lossAndGrads`/`step`, summed over the threads (a live view). */
  get grads(): Float32Array {
    return this.primary.grads;
  }

  get inputs(): EngineBatchViews {
    return this.primary.inputs;
  }

  setWeights(weights: Float32Array): void {
    this.primary.setWeights(weights);
  }

  getWeights(): Float32Array {
    return this.primary.getWeights();
  }

  resetOptimizer(): void {
    this.primary.resetOptimizer();
  }

  setLossOptions(opts: EngineStepOptions): void {
    this.primary.setLossOptions(opts);
    if (opts.classWeights) this.sharedClassWeights.set(opts.classWeights);
  }

  loadRows(data: EncodedData, idx: ArrayLike<number>, start: number, end: number): number {
    return this.primary.loadRows(data, idx, start, end);
  }

  predict(b: number): { logits: Float32Array; mos: Float32Array } {
    return this.primary.predict(b);
  }

  /** Loss of the `b` rows in `inputs` and every gradient (into `grads`), across the threads. */
  lossAndGrads(b: number): number {
    return this.run(b, null);
  }

  /** One Adam step on the `b` rows in `inputs`, its gradients computed across the threads. */
  step(b: number, lr: number): number {
    return this.run(b, lr);
  }

  private run(b: number, lr: number | null): number {
    if (this.closed) throw new EngineError('fused engine: the threaded engine was disposed');
    const p = this.primary;
    const { invW, invB, useClassWeights } = p.normalisers(b);
    const parts = splitBatch(b, this.helpers.length + 1);
    const seq = ++this.seq;
    if (parts.length > 1) this.sharedWeights.set(p.weights);
    const ln = p.config.numNumeric;
    const lc = p.config.catVocab.length;
    const src = p.inputs;
    for (let h = 1; h < parts.length; h++) {
      const [s, e] = parts[h]!;
      const helper = this.helpers[h - 1]!;
      const r = helper.rows;
      r.numeric.set(src.numeric.subarray(s * ln, e * ln));
      r.categorical.set(src.categorical.subarray(s * lc, e * lc));
      r.label.set(src.label.subarray(s, e));
      r.mos.set(src.mos.subarray(s, e));
      helper.norms[0] = invW;
      helper.norms[1] = invB;
      helper.ctrl[ROWS] = e - s;
      helper.ctrl[USE_CW] = useClassWeights;
      Atomics.store(helper.ctrl, SEQ, seq);
      Atomics.notify(helper.ctrl, SEQ);
    }
    const own = p.partialGrads(parts[0]![1], invW, invB);
    let ce = own.ce;
    let mse = own.mse;
    const g = p.grads;
    for (let h = 1; h < parts.length; h++) {
      const helper = this.helpers[h - 1]!;
      const t0 = performance.now();
      for (;;) {
        const done = Atomics.load(helper.ctrl, DONE);
        if (done === seq) break;
        if (performance.now() - t0 > HELPER_WAIT_MS) {
          throw new EngineError(`fused engine: thread ${h} did not answer within ${HELPER_WAIT_MS / 1000} s`);
        }
        Atomics.wait(helper.ctrl, DONE, done, 1000);
      }
      if (helper.ctrl[FAILED]) {
        throw new EngineError(
          `fused engine: thread ${h} failed in its part of the step (the module aborted)`,
        );
      }
      const hg = helper.grads;
      for (let i = 0; i < g.length; i++) g[i] = g[i]! + hg[i]!;
      ce = Math.fround(ce + helper.sums[0]!);
      mse = Math.fround(mse + helper.sums[1]!);
    }
    return p.finishStep(ce, mse, invW, invB, lr);
  }

  /** Ends the helper threads. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.helpers) {
      Atomics.store(h.ctrl, STOP, 1);
      Atomics.add(h.ctrl, SEQ, 1);
      Atomics.notify(h.ctrl, SEQ);
      h.terminate();
    }
  }
}

/** Threads the data-parallel step must beat one thread by, in the probe, to be chosen. */
export const THREADS_MIN_GAIN = 1.2;
/** Timed steps of each engine in the probe (interleaved, after one warm-up step each). */
export const THREADS_PROBE_STEPS = 5;

/** How many threads the fused engine's step uses, and why (shown to the user). */
export interface ThreadChoice {
  threads: number;
  reason: string;
  /** threaded ÷ one-thread samples/s in the probe (absent when there was no probe). */
  gain?: number;
}

/**
 * The probe's verdict: `threads` when its median step time beats one thread's by THREADS_MIN_GAIN, else one
 * thread. On the 2-core shared AMD EPYC where this was built, 2 threads ran 0.97–1.04× one thread
 * (docs/fused-engine.md, "Threads"), so a small gain is noise, not a reason to hold a second core.
 */
export function decideThreads(singleMs: number, threadedMs: number, threads: number): ThreadChoice {
  const gain = singleMs / threadedMs;
  const shown = gain.toFixed(2);
  if (Number.isFinite(gain) && gain >= THREADS_MIN_GAIN) {
    return { threads, gain, reason: `${threads} threads: ${shown}× one thread's speed in a probe here` };
  }
  return {
    threads: 1,
    gain,
    reason: `one thread: ${threads} threads ran ${shown}× its speed in a probe here (they need ≥ ${THREADS_MIN_GAIN}×)`,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Measures here whether the data-parallel step on `threads` threads beats one thread at batch `batch` on
 * rows of `data` (copies of `weights`; nothing is kept), and chooses: threads only where they win. One
 * thread without a probe where threads cannot run, the machine reports fewer than 2 cores, or the batch is
 * a single 32-row chunk.
 */
export async function probeThreads(
  config: ModelConfig,
  weights: Float32Array,
  data: EncodedData,
  batch: number,
  cores: number | undefined,
  threads = 2,
): Promise<ThreadChoice> {
  const why = threadsUnavailable();
  if (why) return { threads: 1, reason: `one thread: ${why}` };
  if (cores !== undefined && cores < 2) return { threads: 1, reason: `one thread: ${cores} core` };
  const b = Math.min(batch, data.n);
  if (b <= ENGINE_CHUNK) {
    return { threads: 1, reason: `one thread: a batch of ${b} rows is one ${ENGINE_CHUNK}-row chunk` };
  }
  const single = await FusedEngine.create(config, weights, b);
  const multi = await ThreadedEngine.create(config, weights, b, threads);
  try {
    const order = Int32Array.from({ length: b }, (_, i) => i);
    single.loadRows(data, order, 0, b);
    multi.loadRows(data, order, 0, b);
    const t1: number[] = [];
    const tW: number[] = [];
    for (let s = 0; s <= THREADS_PROBE_STEPS; s++) {
      let t = performance.now();
      single.step(b, 1e-4);
      if (s > 0) t1.push(performance.now() - t);
      t = performance.now();
      multi.step(b, 1e-4);
      if (s > 0) tW.push(performance.now() - t);
    }
    return decideThreads(median(t1), median(tW), multi.threads);
  } finally {
    multi.dispose();
  }
}
