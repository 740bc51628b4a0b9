/**
 * train() on the fused WASM engine: the same loop as src/model/train.ts (shuffle per epoch from the seed,
 * cosine learning rate, class weights, FedProx, FedDyn, progress every `readEvery` steps, abort, yielding to
 * the event loop), each step one call into the engine instead of a tfjs graph. The model's weights go in at
 * the start and come back (model.setWeights) at the end, so callers keep their MultiTaskModel.
 */
import { Rng } from '../core/random.ts';
import type { EncodedData } from '../data/features.ts';
import type { MultiTaskModel } from '../model/model.ts';
import {
  checkTrainInputs,
  nextMacrotask,
  TrainingError,
  type TrainOptions,
  type TrainResult,
} from '../model/train.ts';
import { ThreadedEngine } from './threads.ts';
import { FusedEngine } from './wasm-engine.ts';

export type { StepEngine } from './step-engine.ts';

/**
 * `threads` > 1: each step's batch split across that many threads (src/engine/threads.ts; needs
 * SharedArrayBuffer, and a worker in a browser); 1, the default: one thread.
 */
export async function trainFused(
  model: MultiTaskModel,
  data: EncodedData,
  opts: TrainOptions,
  threads = 1,
): Promise<TrainResult> {
  checkTrainInputs(data, opts, model.numParams);
  const maxBatch = Math.min(opts.batchSize, data.n);
  const weights = await model.getWeights();
  const engine =
    threads > 1
      ? await ThreadedEngine.create(model.config, weights, maxBatch, threads)
      : await FusedEngine.create(model.config, weights, maxBatch);
  try {
    return await trainLoop(model, engine, data, opts);
  } finally {
    if (engine instanceof ThreadedEngine) engine.dispose();
  }
}

async function trainLoop(
  model: MultiTaskModel,
  engine: FusedEngine | ThreadedEngine,
  data: EncodedData,
  opts: TrainOptions,
): Promise<TrainResult> {
  engine.setLossOptions({
    ...(opts.classWeights && { classWeights: opts.classWeights }),
    ...(opts.prox && { prox: opts.prox }),
    ...(opts.linear && { linear: opts.linear }),
  });
  const readEvery = opts.readEvery ?? 20;
  const yieldEvery = opts.yieldEvery ?? 1;
  const order = Int32Array.from({ length: data.n }, (_, i) => i);
  const stepsPerEpoch = Math.ceil(data.n / opts.batchSize);
  const totalSteps = stepsPerEpoch * opts.epochs;
  const floor = opts.finalLearningRateFraction ?? 1;
  const rate = (step: number) =>
    floor === 1
      ? opts.learningRate
      : opts.learningRate *
        (floor + (1 - floor) * 0.5 * (1 + Math.cos((Math.PI * step) / Math.max(1, totalSteps))));
  const losses: number[] = [];
  let steps = 0;
  let samples = 0;
  let finalLoss = Number.NaN;
  let stopped = false;
  const maxSteps = Math.min(opts.maxSteps ?? Number.POSITIVE_INFINITY, totalSteps);
  const t0 = performance.now();
  try {
    for (let epoch = 0; epoch < opts.epochs && steps < maxSteps && !stopped; epoch++) {
      new Rng(opts.seed * 1000003 + epoch).shuffle(order);
      for (let s = 0; s < stepsPerEpoch && steps < maxSteps; s++) {
        if (opts.signal?.aborted) {
          stopped = true;
          break;
        }
        const start = s * opts.batchSize;
        const end = Math.min(data.n, start + opts.batchSize);
        const rows = engine.loadRows(data, order, start, end);
        const loss = engine.step(rows, rate(steps));
        steps++;
        samples += rows;
        const last = s === stepsPerEpoch - 1 || steps === maxSteps;
        if (steps % readEvery === 0 || last) {
          finalLoss = loss;
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
  } finally {
    // the weights reached so far, also after an abort or a divergence error (as tfjs's variables keep them)
    const w = engine.getWeights();
    if (w.every(Number.isFinite)) model.setWeights(w);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { steps, samples, seconds, samplesPerSec: samples / seconds, losses, finalLoss, stopped };
}

/** Predictions of the weights on every row of `data`, as src/model/train.ts `predict` returns them. */
export interface Predictions {
  classes: Int32Array;
  mos: Float32Array;
  /** Mean joint loss (cross-entropy + mosWeight · MSE, no class weights), as `model.loss` without options. */
  loss: number;
}

/**
 * `predict` (src/model/train.ts) on the fused engine: the forward pass in batches of `batchSize` rows, the
 * argmax, the MOS and the mean joint loss computed here from the logits (log-sum-exp, in double precision).
 */
export async function predictFused(
  engine: FusedEngine,
  data: EncodedData,
  batchSize: number,
): Promise<Predictions> {
  const { numClasses: K, mosWeight } = engine.config;
  const classes = new Int32Array(data.n);
  const mos = new Float32Array(data.n);
  const all = Int32Array.from({ length: data.n }, (_, i) => i);
  let lossSum = 0;
  for (let start = 0; start < data.n; start += batchSize) {
    const end = Math.min(data.n, start + batchSize);
    const rows = engine.loadRows(data, all, start, end);
    const out = engine.predict(rows);
    for (let r = 0; r < rows; r++) {
      const logits = out.logits.subarray(r * K, (r + 1) * K);
      let best = 0;
      let max = logits[0]!;
      for (let k = 1; k < K; k++) {
        if (logits[k]! > max) {
          max = logits[k]!;
          best = k;
        }
      }
      let sum = 0;
      for (let k = 0; k < K; k++) sum += Math.exp(logits[k]! - max);
      const i = start + r;
      const ce = max + Math.log(sum) - logits[data.label[i]!]!;
      const err = out.mos[r]! - data.mos[i]!;
      lossSum += ce + mosWeight * err * err;
      classes[i] = best;
      mos[i] = out.mos[r]!;
    }
    await nextMacrotask();
  }
  return { classes, mos, loss: data.n > 0 ? lossSum / data.n : Number.NaN };
}
