/**
 * Local training and evaluation on the fused WebGPU engine, with the contract of src/model/train.ts
 * (`train`, `predict`): the same options, the same seeded batch order and cosine schedule, the same result.
 * tfjs stays the reference and the fallback; this is the drop-in for a worker that has a WebGPU device.
 */

import type { TrainingEngine } from '../../client/model-trainer.ts';
import { Rng } from '../../core/random.ts';
import type { EncodedData } from '../../data/features.ts';
import type { ModelConfig } from '../../model/model.ts';
import {
  checkTrainInputs,
  gatherRows,
  nextMacrotask,
  TrainingError,
  type TrainOptions,
  type TrainResult,
} from '../../model/train.ts';
import { type EngineBatch, type StepOptions, WebGpuEngine } from './engine.ts';

/** The rows `idx[start..end)` of `data` as an engine batch. */
export function engineBatch(
  data: EncodedData,
  idx: ArrayLike<number>,
  start: number,
  end: number,
): EngineBatch {
  return gatherRows(data, idx, start, end);
}

/**
 * Trains the engine's weights on `data` with Adam (a fresh optimizer, as `train` makes one per call).
 * `batchSize` must not exceed the engine's `maxBatch`.
 */
export async function trainFused(
  engine: WebGpuEngine,
  data: EncodedData,
  opts: TrainOptions,
): Promise<TrainResult> {
  checkTrainInputs(data, opts, engine.numParams);
  if (opts.batchSize > engine.maxBatch) {
    throw new TrainingError(
      `train: batchSize ${opts.batchSize} is above the engine's maxBatch ${engine.maxBatch}`,
    );
  }
  engine.resetOptimizer();
  const terms: Omit<StepOptions, 'learningRate'> = {};
  if (opts.classWeights) terms.classWeights = opts.classWeights;
  if (opts.prox && opts.prox.mu > 0) terms.prox = opts.prox;
  if (opts.linear) terms.linear = opts.linear;
  const readEvery = opts.readEvery ?? 20;
  const yieldEvery = opts.yieldEvery ?? 1;
  const order = Int32Array.from({ length: data.n }, (_, i) => i);
  const stepsPerEpoch = Math.ceil(data.n / opts.batchSize);
  const totalSteps = stepsPerEpoch * opts.epochs;
  const floor = opts.finalLearningRateFraction ?? 1;
  const rate = (step: number) => {
    if (floor === 1) return opts.learningRate;
    const cos = 0.5 * (1 + Math.cos((Math.PI * step) / Math.max(1, totalSteps)));
    return opts.learningRate * (floor + (1 - floor) * cos);
  };
  const losses: number[] = [];
  let steps = 0;
  let samples = 0;
  let finalLoss = Number.NaN;
  let stopped = false;
  const maxSteps = Math.min(opts.maxSteps ?? Number.POSITIVE_INFINITY, totalSteps);
  const t0 = performance.now();
  for (let epoch = 0; epoch < opts.epochs && steps < maxSteps && !stopped; epoch++) {
    new Rng(opts.seed * 1000003 + epoch).shuffle(order);
    for (let s = 0; s < stepsPerEpoch && steps < maxSteps; s++) {
      if (opts.signal?.aborted) {
        stopped = true;
        break;
      }
      const start = s * opts.batchSize;
      const end = Math.min(data.n, start + opts.batchSize);
      engine.step(engineBatch(data, order, start, end), { ...terms, learningRate: rate(steps) });
      steps++;
      samples += end - start;
      const last = s === stepsPerEpoch - 1 || steps === maxSteps;
      if (steps % readEvery === 0 || last) {
        finalLoss = await engine.readLoss();
        if (!Number.isFinite(finalLoss)) {
          throw new TrainingError(`training diverged: loss is ${finalLoss} at step ${steps}`);
        }
        losses.push(finalLoss);
        opts.onProgress?.({
          epoch,
          epochs: opts.epochs,
          step: s + 1,
          stepsPerEpoch,
          stepsDone: steps,
          loss: finalLoss,
          samplesPerSec: samples / ((performance.now() - t0) / 1000),
        });
      }
      if (steps % yieldEvery === 0) await nextMacrotask();
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { steps, samples, seconds, samplesPerSec: samples / seconds, losses, finalLoss, stopped };
}

/** Predicted class and MOS for every row, and the mean plain loss (CE + mosWeight·MSE), in engine batches. */
export async function predictFused(
  engine: WebGpuEngine,
  data: EncodedData,
): Promise<{ classes: Int32Array; mos: Float32Array; loss: number }> {
  const classes = new Int32Array(data.n);
  const mos = new Float32Array(data.n);
  const idx = Int32Array.from({ length: data.n }, (_, i) => i);
  const K = engine.dims.K;
  let lossSum = 0;
  for (let start = 0; start < data.n; start += engine.maxBatch) {
    const end = Math.min(data.n, start + engine.maxBatch);
    const out = await engine.predict(engineBatch(data, idx, start, end));
    for (let b = 0; b < end - start; b++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (out.logits[b * K + k]! > out.logits[b * K + best]!) best = k;
      classes[start + b] = best;
    }
    mos.set(out.mos, start);
    lossSum += out.loss * (end - start);
  }
  return { classes, mos, loss: data.n > 0 ? lossSum / data.n : Number.NaN };
}

/** The fused engine for `config` with `weights`, or why not (the caller then trains with tfjs). */
export async function openFusedEngine(
  config: ModelConfig,
  weights: Float32Array,
  maxBatch: number,
): Promise<{ engine: WebGpuEngine } | { reason: string }> {
  let engine: WebGpuEngine | undefined;
  try {
    engine = await WebGpuEngine.create(config, { maxBatch });
    engine.setWeights(weights);
    return { engine };
  } catch (err) {
    engine?.destroy();
    return { reason: (err as Error).message };
  }
}

/** `steps` optimizer steps on the fused engine, reporting every `readEvery` steps (the worker's trainSteps). */
export async function trainFusedSteps(
  engine: WebGpuEngine,
  data: EncodedData,
  o: { steps: number; batchSize: number; learningRate: number; seed: number; readEvery: number },
  onStep: (step: number, loss: number, samplesPerSec: number) => void,
  signal?: AbortSignal,
): Promise<{ stopped: boolean }> {
  const { stopped } = await trainFused(engine, data, {
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

/**
 * The fused engine as ModelTrainer's `TrainingEngine` (the federated client's local training). It is built
 * for batches of `maxBatch` rows and rebuilt, weights kept, when a round asks for larger ones. Throws
 * EngineUnavailableError without WebGPU: the caller falls back to `tfjsTrainingEngine`.
 */
export async function fusedTrainingEngine(config: ModelConfig, maxBatch = 64): Promise<TrainingEngine> {
  let engine = await WebGpuEngine.create(config, { maxBatch });
  return {
    numParams: engine.numParams,
    setWeights: (w) => engine.setWeights(w),
    getWeights: () => engine.getWeights(),
    async train(data, opts) {
      if (opts.batchSize > engine.maxBatch) {
        const bigger = await WebGpuEngine.create(config, { maxBatch: opts.batchSize });
        bigger.setWeights(await engine.getWeights());
        engine.destroy();
        engine = bigger;
      }
      return trainFused(engine, data, opts);
    },
    dispose: () => engine.destroy(),
  };
}

/** Whether this context has a WebGPU adapter (the fused engine's first requirement). */
export async function webGpuAdapterPresent(): Promise<boolean> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return false;
  return (await gpu.requestAdapter().catch(() => null)) !== null;
}
