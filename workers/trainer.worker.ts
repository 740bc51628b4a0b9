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
import type { EncodedData } from '../src/data/features.ts';
import type { DatasetId } from '../src/data/schema.ts';
import { SYNTHETIC_NOTICE } from '../src/data/synthetic.ts';
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
}

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
}

let current: BackendReport | undefined;
let demo: AbortController | undefined;

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
): Promise<{ stopped: boolean }> {
  const { stopped } = await train(model, data, {
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

  /** Trains the default model on synthetic rows for the page's button; `stopDemo()` stops it. */
  async trainDemo(opts: DemoOptions, onProgress: (p: DemoProgress) => void): Promise<DemoResult> {
    await ensureBackend();
    demo?.abort();
    const controller = new AbortController();
    demo = controller;
    const { pre, data } = await syntheticTrainingData(opts.dataset ?? 'toniot', opts.rows, opts.seed);
    const config = modelConfigFor(pre);
    const model = new MultiTaskModel(config, initWeights(config, opts.seed).weights);
    let last: DemoProgress = { step: 0, steps: opts.steps, loss: Number.NaN, samplesPerSec: 0 };
    try {
      const readEvery = Math.max(1, Math.min(10, Math.floor(opts.steps / 50)));
      const { stopped } = await trainSteps(
        model,
        data,
        { ...opts, readEvery },
        (step, loss, samplesPerSec) => {
          last = { step, steps: opts.steps, loss, samplesPerSec };
          onProgress(last);
        },
        controller.signal,
      );
      return {
        backend: tf.getBackend(),
        steps: last.step,
        loss: last.loss,
        samplesPerSec: last.samplesPerSec,
        stopped,
        rows: data.n,
        classes: pre.classes.length,
        params: model.numParams,
        notice: SYNTHETIC_NOTICE,
      };
    } finally {
      model.dispose();
      if (demo === controller) demo = undefined;
    }
  },

  /** Stops the running demo at its next step. */
  stopDemo(): void {
    demo?.abort();
  },
};

export type TrainerApi = typeof api;

expose(api);
