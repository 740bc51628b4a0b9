/**
 * The trainer worker: every tfjs computation of a tab runs here, never on the page's main thread.
 * Exposed with comlink; errors cross the thread with their name and message (comlink's throw handler).
 *
 * The WASM binaries are bundled by Vite (`?url`) and their paths are set before any backend initialises.
 */
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { expose } from 'comlink';
import {
  type CryptoProgress,
  type CryptoRunOptions,
  chooseWasmFeatures,
  measureCrypto,
  measureFusedTraining,
  measureTraining,
  type TrainingProgress,
  type TrainingRunOptions,
} from '../src/app/bench/measure.ts';
import type { FederatedClient } from '../src/client/client.ts';
import { fingerprint } from '../src/crypto/identity.ts';
import type { EncodedData } from '../src/data/features.ts';
import { type ImportReport, importCsv } from '../src/data/import.ts';
import type { DatasetId } from '../src/data/schema.ts';
import { SYNTHETIC_NOTICE } from '../src/data/synthetic.ts';
import { type Engine, type EngineChoice, engineDevice, resolveEngine } from '../src/engine/choice.ts';
import { type EngineInUse, engineInUse } from '../src/engine/engine-in-use.ts';
import { fusedWasmUnavailable } from '../src/engine/step-engine.ts';
import { threadsUnavailable } from '../src/engine/threads.ts';
import {
  checkThreadedEngine,
  type ThreadsCheck,
  type ThreadsCheckOptions,
} from '../src/engine/threads-check.ts';
import { trainFused as trainFusedWasm } from '../src/engine/train-fused.ts';
import { openFusedEngine, trainFusedSteps } from '../src/engine/webgpu/train.ts';
import {
  type BackendName,
  type BackendReport,
  pickBackend,
  useBackend as selectBackend,
} from '../src/model/backend.ts';
import { modelConfigFor } from '../src/model/centralized.ts';
import { initWeights, MultiTaskModel } from '../src/model/model.ts';
import { tf } from '../src/model/tf.ts';
import {
  type BenchmarkOptions,
  type BenchmarkResult,
  measureTrainingThroughput,
  syntheticTrainingData,
} from '../src/model/throughput.ts';
import { train } from '../src/model/train.ts';
import { type JoinOptions, loadIdentity, type PageStatus, runClient } from '../src/worker/browser-client.ts';
import { ClientStore, classHistogram, DB_NAME, type ShardSummary } from '../src/worker/store.ts';

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
});

export interface LossTraceOptions {
  dataset?: DatasetId;
  rows: number;
  seed: number;
  steps: number;
  batchSize: number;
  learningRate: number;
}

export interface LossTrace {
  backend: string;
  /** The loss of every optimizer step, read back after the step. */
  losses: number[];
  /** tf.memory().numTensors after every step. */
  numTensors: number[];
  samplesPerSec: number;
}

export interface DemoOptions {
  rows: number;
  steps: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  dataset?: DatasetId;
  /** auto (default: the fused WASM engine on the WASM or CPU backend, else tfjs), tfjs, or a fused engine
   * (tfjs when it cannot run). */
  engine?: EngineChoice;
}

export type { EngineInUse };

export interface DemoProgress {
  step: number;
  steps: number;
  loss: number;
  samplesPerSec: number;
}

export interface DemoResult {
  backend: string;
  steps: number;
  loss: number;
  samplesPerSec: number;
  stopped: boolean;
  rows: number;
  classes: number;
  params: number;
  notice: string;
  /** The engine that trained, and its device ("engine × device"). */
  engine: Engine;
  device: string;
  /** Why the fused engine was asked for but tfjs trained. */
  fallback?: string;
}

let current: BackendReport | undefined;
let demo: AbortController | undefined;
let storePromise: Promise<ClientStore> | undefined;
let federated: FederatedClient | undefined;

let tabId: string | undefined;

/** This tab's database: every tab is its own device (own key, own data); a reload keeps its tab id. */
function store(): Promise<ClientStore> {
  if (!tabId) return Promise.reject(new Error('store: call useTab(id) first'));
  storePromise ??= ClientStore.open(`${DB_NAME}-${tabId}`);
  return storePromise;
}

export interface ImportProgress {
  bytesRead: number;
  totalBytes: number;
  rowsRead: number;
}

export interface ImportResult {
  summary: ShardSummary;
  report: Pick<ImportReport, 'rowsRead' | 'rowsKept' | 'rowsSkipped' | 'skipped'>;
}

/** A page that never chose a backend gets the automatic choice. */
async function ensureBackend(): Promise<void> {
  if (!current) current = (await pickBackend()).report;
}

/** Runs `steps` optimizer steps (or fewer if `signal` stops it), reporting every `readEvery` steps. */
async function trainSteps(
  model: MultiTaskModel,
  data: EncodedData,
  o: { steps: number; batchSize: number; learningRate: number; seed: number; readEvery: number },
  onStep: (step: number, loss: number, samplesPerSec: number) => void,
  signal?: AbortSignal,
  run: typeof train = train,
): Promise<{ stopped: boolean }> {
  const { stopped } = await run(model, data, {
    epochs: Math.ceil(o.steps / Math.ceil(data.n / o.batchSize)),
    maxSteps: o.steps,
    batchSize: o.batchSize,
    learningRate: o.learningRate,
    seed: o.seed,
    readEvery: o.readEvery,
    signal,
    onProgress: (p) => onStep(p.stepsDone, p.loss, p.samplesPerSec),
  });
  return { stopped };
}

const api = {
  /** Selects a backend (`auto`: the first of webgpu → wasm → cpu that works) and reports what it found. */
  async useBackend(
    name: BackendName | 'auto',
  ): Promise<{ report: BackendReport; skipped: { name: BackendName; reason: string }[] }> {
    const out = name === 'auto' ? await pickBackend() : { report: await selectBackend(name), skipped: [] };
    current = out.report;
    return out;
  },

  /**
   * The loss after every one of `steps` optimizer steps on synthetic rows, from seeded initial weights and a
   * seeded batch order: identical inputs on every backend, so traces can be compared across backends.
   */
  async lossTrace(opts: LossTraceOptions): Promise<LossTrace> {
    await ensureBackend();
    const { pre, data } = await syntheticTrainingData(opts.dataset ?? 'toniot', opts.rows, opts.seed);
    const config = modelConfigFor(pre);
    const model = new MultiTaskModel(config, initWeights(config, opts.seed).weights);
    const losses: number[] = [];
    const numTensors: number[] = [];
    let samplesPerSec = 0;
    try {
      await trainSteps(model, data, { ...opts, readEvery: 1 }, (_step, loss, sps) => {
        losses.push(loss);
        numTensors.push(tf.memory().numTensors);
        samplesPerSec = sps;
      });
    } finally {
      model.dispose();
    }
    return { backend: tf.getBackend(), losses, numTensors, samplesPerSec };
  },

  /** Training samples/s of the default TON_IoT-sized model on synthetic rows, measured after warm-up. */
  async benchmark(opts: BenchmarkOptions): Promise<BenchmarkResult> {
    await ensureBackend();
    return measureTrainingThroughput(opts);
  },

  /**
   * Benchmark view: sets the WASM backend's SIMD and threads flags. Call it in a fresh worker, before
   * `useBackend('wasm')` (tfjs reads the flags once, when the backend initialises).
   */
  wasmFeatures(want: { simd: boolean; threads: boolean }) {
    return chooseWasmFeatures(want);
  },

  /** Benchmark view: samples/s, time to the first step and peak tensor bytes on the active backend. */
  async benchTraining(opts: TrainingRunOptions, onProgress: (p: TrainingProgress) => void) {
    await ensureBackend();
    return measureTraining(opts, onProgress);
  },

  /** Benchmark view: the same on the fused WASM engine (no tfjs backend needed). */
  benchFusedTraining(opts: TrainingRunOptions, onProgress: (p: TrainingProgress) => void) {
    return measureFusedTraining(opts, onProgress);
  },

  /**
   * Why the fused WASM engine cannot run in this worker (its module compiled here), or, with `threads` > 1,
   * its data-parallel step (no SharedArrayBuffer: the page is not cross-origin isolated); null when it can.
   */
  async fusedWasmUnavailable(threads = 1): Promise<string | null> {
    const why = await fusedWasmUnavailable();
    return why ?? (threads > 1 ? threadsUnavailable() : null);
  },

  /** Benchmark view: ML-KEM-768 / X-Wing encapsulations, ML-DSA-65 signatures and AES-256-GCM speed. */
  benchCrypto(opts: CryptoRunOptions, onProgress: (p: CryptoProgress) => void) {
    return measureCrypto(opts, onProgress);
  },

  /** Trains the default model on synthetic rows for the page's button; `stopDemo()` stops it. */
  async trainDemo(opts: DemoOptions, onProgress: (p: DemoProgress) => void): Promise<DemoResult> {
    await ensureBackend();
    demo?.abort();
    const controller = new AbortController();
    demo = controller;
    const { pre, data } = await syntheticTrainingData(opts.dataset ?? 'toniot', opts.rows, opts.seed);
    const config = modelConfigFor(pre);
    const weights = initWeights(config, opts.seed).weights;
    const model = new MultiTaskModel(config, weights);
    const want = resolveEngine(opts.engine ?? 'auto', tf.getBackend(), current?.adapter);
    const fused =
      want === 'fused-webgpu' ? await openFusedEngine(config, weights, opts.batchSize) : undefined;
    const engine = fused && 'engine' in fused ? fused.engine : undefined;
    const wasmWhyNot = want === 'fused-wasm' ? await fusedWasmUnavailable() : null;
    const fusedWasm = want === 'fused-wasm' && wasmWhyNot === null;
    const fallback = fused && 'reason' in fused ? fused.reason : (wasmWhyNot ?? undefined);
    const used: Engine = engine ? 'fused-webgpu' : fusedWasm ? 'fused-wasm' : 'tfjs';
    let last: DemoProgress = { step: 0, steps: opts.steps, loss: Number.NaN, samplesPerSec: 0 };
    try {
      const readEvery = Math.max(1, Math.min(10, Math.floor(opts.steps / 50)));
      const onStep = (step: number, loss: number, samplesPerSec: number) => {
        last = { step, steps: opts.steps, loss, samplesPerSec };
        onProgress(last);
      };
      const run = { ...opts, readEvery };
      const { stopped } = engine
        ? await trainFusedSteps(engine, data, run, onStep, controller.signal)
        : await trainSteps(model, data, run, onStep, controller.signal, fusedWasm ? trainFusedWasm : train);
      return {
        backend: engine ? 'webgpu' : tf.getBackend(),
        device: engineDevice(used, engine ? 'webgpu' : tf.getBackend()),
        steps: last.step,
        loss: last.loss,
        samplesPerSec: last.samplesPerSec,
        stopped,
        rows: data.n,
        classes: pre.classes.length,
        params: model.numParams,
        notice: SYNTHETIC_NOTICE,
        engine: used,
        ...(fallback !== undefined && { fallback }),
      };
    } finally {
      engine?.destroy();
      model.dispose();
      if (demo === controller) demo = undefined;
    }
  },

  /**
   * The engine `choice` trains on here (on the active backend), its device, and why tfjs when the chosen
   * fused WASM engine cannot load. The fused WebGPU engine is only checked for an adapter here; its kernels
   * may still fall back when training starts.
   */
  async engineInUse(choice: EngineChoice): Promise<EngineInUse> {
    await ensureBackend();
    return engineInUse(choice, tf.getBackend(), current?.adapter);
  },

  /** The threaded fused engine against the single-thread one, here (src/engine/threads-check.ts). */
  fusedThreadsCheck(opts: ThreadsCheckOptions): Promise<ThreadsCheck> {
    return checkThreadedEngine(opts);
  },

  /** Stops the running demo at its next step. */
  stopDemo(): void {
    demo?.abort();
  },

  /** Names this tab (its id lives in the page's sessionStorage, which survives a reload). */
  useTab(id: string): void {
    if (!/^[a-z0-9-]{8,64}$/.test(id))
      throw new Error(`useTab: expected a tab id of [a-z0-9-], got ${id.slice(0, 80)}`);
    if (tabId !== undefined && tabId !== id)
      throw new Error('useTab: this worker already belongs to another tab');
    tabId = id;
  },

  /**
   * Joins a federation and runs until it finishes, `leave()` is called, or the server is refused for good
   * (not the pinned one, a weaker suite, a wrong class code). Statuses stream to `onStatus`.
   */
  async join(opts: JoinOptions, onStatus: (s: PageStatus) => void): Promise<void> {
    if (federated) throw new Error('join: this tab has already joined; leave first');
    await ensureBackend();
    try {
      await runClient(await store(), opts, tf.getBackend(), current?.adapter, onStatus, (c) => {
        federated = c;
      });
    } finally {
      federated = undefined;
    }
  },

  /** Leaves the federation (closes the connection; the stored data and identity stay). */
  leave(): void {
    federated?.stop();
  },

  /** Imports the user's CSV (streamed, in this worker) and keeps it in IndexedDB in one write. */
  async importCsv(
    file: Blob & { name?: string },
    dataset: DatasetId,
    onProgress: (p: ImportProgress) => void,
  ): Promise<ImportResult> {
    const { table, report } = await importCsv(file.stream(), {
      dataset,
      onProgress: (p) => onProgress({ bytesRead: p.bytesRead, totalBytes: file.size, rowsRead: p.rowsRead }),
    });
    const summary: ShardSummary = {
      kind: 'imported',
      dataset,
      rows: table.n,
      classes: classHistogram(table.label, table.schema.classes),
      origin: file.name ?? 'imported file',
      storedAt: new Date().toISOString(),
    };
    await (await store()).saveImportedShard(table, summary);
    const { rowsRead, rowsKept, rowsSkipped, skipped } = report;
    return { summary, report: { rowsRead, rowsKept, rowsSkipped, skipped } };
  },

  /** What is stored: the default shard and/or the imported data. */
  async shards(): Promise<ShardSummary[]> {
    return (await store()).summaries();
  },

  /** Deletes the stored data; the next join builds the default shard again. */
  async deleteShards(): Promise<void> {
    await (await store()).deleteShards();
  },

  /** The fingerprint of this tab's client key (created on first use). */
  async clientKey(): Promise<string> {
    return fingerprint((await loadIdentity(await store())).publicKey);
  },
};

export type TrainerApi = typeof api;

expose(api);
