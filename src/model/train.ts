/**
 * Local training and evaluation of the multi-task model on encoded rows. The loop is the same for the
 * centralized trainer (`pqfed train`), the worker in a tab and the federated client.
 *
 * Training hygiene (tfjs): every step runs inside optimizer.minimize (tidy), the loss is read with an
 * awaited `data()` only every `readEvery` steps, and the tensor count stays flat across steps (tested).
 */

import { Rng } from '../core/random.ts';
import type { EncodedData } from '../data/features.ts';
import type { Batch, MultiTaskModel, Targets } from './model.ts';
import { tf } from './tf.ts';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Cosine decay of the learning rate to this fraction of it over all steps (default 1: constant). */
  finalLearningRateFraction?: number;
  /** Per-class loss weights (length = classes). */
  classWeights?: Float32Array;
  /** FedProx: μ and the global weights the proximal term pulls towards. */
  prox?: { mu: number; global: Float32Array };
  /** FedDyn: the client's vector g_k (flat, manifest order); the loss gains −⟨g_k, w⟩. */
  linear?: Float32Array;
  /** Read the loss back every this many steps (default 20). */
  readEvery?: number;
  onProgress?: (p: TrainProgress) => void;
  /** Stop after this many optimizer steps in all (default: every step of `epochs` epochs). */
  maxSteps?: number;
  /** Stops training at the next step boundary; the result then says `stopped`. */
  signal?: AbortSignal;
  /** Let the event loop run (sockets, heartbeats, messages) every this many steps (default 1). */
  yieldEvery?: number;
}

/**
 * Resolves on the next macrotask. Awaiting tfjs's `data()` only drains microtasks, so without this a long
 * training run would starve the thread's I/O (a socket's heartbeat in a Node worker, messages in a Web
 * Worker). `setImmediate` in Node; a MessageChannel elsewhere (unlike setTimeout, it is never clamped).
 */
export const nextMacrotask: () => Promise<void> =
  typeof setImmediate === 'function'
    ? () => new Promise((ok) => setImmediate(ok))
    : (() => {
        const channel = new MessageChannel();
        const waiting: (() => void)[] = [];
        channel.port1.onmessage = () => waiting.shift()?.();
        return () =>
          new Promise<void>((ok) => {
            waiting.push(ok);
            channel.port2.postMessage(0);
          });
      })();

export interface TrainProgress {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  /** Optimizer steps done so far, over all epochs. */
  stepsDone: number;
  loss: number;
  samplesPerSec: number;
}

export interface TrainResult {
  steps: number;
  samples: number;
  seconds: number;
  samplesPerSec: number;
  /** Loss read back during training (every `readEvery` steps and at each epoch end). */
  losses: number[];
  finalLoss: number;
  /** True when `signal` stopped training early. */
  stopped: boolean;
}

export class TrainingError extends Error {
  override name = 'TrainingError';
}

/** Copies the rows `idx[start..end)` of `data` into batch tensors. */
export function makeBatch(
  data: EncodedData,
  idx: ArrayLike<number>,
  start: number,
  end: number,
): { batch: Batch; targets: Targets } {
  const { size: b, numeric, categorical, label, mos } = gatherRows(data, idx, start, end);
  const ln = data.n > 0 ? data.numeric.length / data.n : 0;
  const lc = data.n > 0 ? data.categorical.length / data.n : 0;
  return {
    batch: {
      numeric: tf.tensor2d(numeric, [b, ln]),
      categorical: tf.tensor2d(categorical, [b, lc], 'int32'),
    },
    targets: { label: tf.tensor1d(label, 'int32'), mos: tf.tensor1d(mos) },
  };
}

/** Rows `idx[start..end)` of `data`, copied into one contiguous batch (inputs and targets). */
export function gatherRows(data: EncodedData, idx: ArrayLike<number>, start: number, end: number) {
  const b = end - start;
  const ln = data.n > 0 ? data.numeric.length / data.n : 0;
  const lc = data.n > 0 ? data.categorical.length / data.n : 0;
  const numeric = new Float32Array(b * ln);
  const categorical = new Int32Array(b * lc);
  const label = new Int32Array(b);
  const mos = new Float32Array(b);
  for (let i = 0; i < b; i++) {
    const r = idx[start + i]!;
    numeric.set(data.numeric.subarray(r * ln, (r + 1) * ln), i * ln);
    categorical.set(data.categorical.subarray(r * lc, (r + 1) * lc), i * lc);
    label[i] = data.label[r]!;
    mos[i] = data.mos[r]!;
  }
  return { size: b, numeric, categorical, label, mos };
}

function disposeBatch(x: { batch: Batch; targets: Targets }): void {
  tf.dispose([x.batch.numeric, x.batch.categorical, x.targets.label, x.targets.mos]);
}

/** Class weights ∝ 1/√frequency, normalised to mean 1 over present classes; absent classes get 0. */
export function balancedClassWeights(labels: Int32Array, k: number): Float32Array {
  const counts = new Float64Array(k);
  for (const y of labels) counts[y]!++;
  const w = new Float32Array(k);
  let sum = 0;
  let present = 0;
  for (let c = 0; c < k; c++) {
    if (counts[c]! > 0) {
      w[c] = 1 / Math.sqrt(counts[c]!);
      sum += w[c]!;
      present++;
    }
  }
  for (let c = 0; c < k; c++) w[c] = (w[c]! * present) / sum;
  return w;
}

/**
 * The checks every training loop (tfjs here, the fused engines in src/engine/) makes before its first step:
 * rows to train on, a positive integer batch, and a FedDyn vector of the model's size.
 */
export function checkTrainInputs(data: EncodedData, opts: TrainOptions, numParams: number): void {
  if (data.n === 0) throw new TrainingError('train: no training rows');
  if (!(opts.batchSize >= 1 && Number.isInteger(opts.batchSize))) {
    throw new TrainingError(`train: batchSize must be a positive integer, got ${opts.batchSize}`);
  }
  if (opts.linear && opts.linear.length !== numParams) {
    throw new TrainingError(
      `train: linear (FedDyn g_k) must have ${numParams} values (the model size), got ${opts.linear.length}`,
    );
  }
}

export async function train(
  model: MultiTaskModel,
  data: EncodedData,
  opts: TrainOptions,
): Promise<TrainResult> {
  checkTrainInputs(data, opts, model.numParams);
  const optimizer = tf.train.adam(opts.learningRate);
  const vars = Object.values(model.params);
  const classWeights = opts.classWeights ? tf.tensor1d(opts.classWeights) : undefined;
  /** A flat vector as one tensor per parameter (manifest order). */
  const asParams = (flat: Float32Array): tf.Tensor[] => {
    let off = 0;
    return model.manifest.params.map((p) => {
      const size = p.shape.reduce((a, b) => a * b, 1);
      const t = tf.tensor(flat.subarray(off, off + size), p.shape);
      off += size;
      return t;
    });
  };
  let globalTensors: tf.Tensor[] | undefined;
  if (opts.prox && opts.prox.mu > 0) globalTensors = asParams(opts.prox.global);
  const linearTensors = opts.linear ? asParams(opts.linear) : undefined;
  const readEvery = opts.readEvery ?? 20;
  const yieldEvery = opts.yieldEvery ?? 1;
  const order = Int32Array.from({ length: data.n }, (_, i) => i);
  const stepsPerEpoch = Math.ceil(data.n / opts.batchSize);
  const totalSteps = stepsPerEpoch * opts.epochs;
  const floor = opts.finalLearningRateFraction ?? 1;
  // tfjs's Adam reads its learning rate on every update, so the schedule sets it before each step.
  const setRate = (step: number) => {
    const cos = 0.5 * (1 + Math.cos((Math.PI * step) / Math.max(1, totalSteps)));
    (optimizer as unknown as { learningRate: number }).learningRate =
      opts.learningRate * (floor + (1 - floor) * cos);
  };
  const losses: number[] = [];
  let steps = 0;
  let samples = 0;
  let finalLoss = Number.NaN;
  let stopped = false;
  const maxSteps = Math.min(opts.maxSteps ?? Number.POSITIVE_INFINITY, stepsPerEpoch * opts.epochs);
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
        const b = makeBatch(data, order, start, end);
        if (floor !== 1) setRate(steps);
        const lossT = optimizer.minimize(
          () =>
            model.loss(b.batch, b.targets, {
              classWeights,
              prox: globalTensors ? { mu: opts.prox!.mu, global: globalTensors } : undefined,
              linear: linearTensors,
            }),
          true,
          vars,
        )!;
        disposeBatch(b);
        steps++;
        samples += end - start;
        const last = s === stepsPerEpoch - 1 || steps === maxSteps;
        if (steps % readEvery === 0 || last) {
          finalLoss = (await lossT.data())[0]!;
          if (!Number.isFinite(finalLoss)) {
            lossT.dispose();
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
        lossT.dispose();
        if (steps % yieldEvery === 0) await nextMacrotask();
      }
    }
  } finally {
    optimizer.dispose();
    classWeights?.dispose();
    if (globalTensors) tf.dispose(globalTensors);
    if (linearTensors) tf.dispose(linearTensors);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { steps, samples, seconds, samplesPerSec: samples / seconds, losses, finalLoss, stopped };
}

/** Predicted class and MOS for every row, in batches. */
export async function predict(
  model: MultiTaskModel,
  data: EncodedData,
  batchSize = 1024,
): Promise<{ classes: Int32Array; mos: Float32Array; loss: number }> {
  const classes = new Int32Array(data.n);
  const mos = new Float32Array(data.n);
  const idx = Int32Array.from({ length: data.n }, (_, i) => i);
  let lossSum = 0;
  for (let start = 0; start < data.n; start += batchSize) {
    const end = Math.min(data.n, start + batchSize);
    const b = makeBatch(data, idx, start, end);
    const [c, m, l] = tf.tidy(() => {
      const out = model.forward(b.batch);
      return [out.logits.argMax(1), out.mos, model.loss(b.batch, b.targets)];
    });
    classes.set((await c.data()) as Int32Array, start);
    mos.set((await m.data()) as Float32Array, start);
    lossSum += (await l.data())[0]! * (end - start);
    tf.dispose([c, m, l]);
    disposeBatch(b);
  }
  return { classes, mos, loss: data.n > 0 ? lossSum / data.n : Number.NaN };
}
