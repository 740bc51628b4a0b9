/**
 * A self-check of the data-parallel fused engine where it runs (a browser worker, Node): `steps` Adam steps
 * on synthetic TON_IoT-shaped rows, each from the same state on the single-thread engine and on the threaded
 * one, with the largest relative difference of the loss and of the weights after the step (norm-wise), and
 * each one's samples/s over those steps (a rough figure: few steps). The browser suite drives it through the
 * client page's test hook (e2e/fused-threads.spec.ts).
 */
import { modelConfigFor } from '../model/centralized.ts';
import { initWeights } from '../model/model.ts';
import { syntheticTrainingData } from '../model/throughput.ts';
import { ThreadedEngine } from './threads.ts';
import { FusedEngine } from './wasm-engine.ts';

export interface ThreadsCheckOptions {
  threads: number;
  batch: number;
  steps: number;
  seed?: number;
}

export interface ThreadsCheck {
  /** Threads the threaded engine used (at most one per 32-row chunk of the batch). */
  threads: number;
  batch: number;
  steps: number;
  /** max over steps of |loss_W − loss_1| / loss_1 */
  worstLoss: number;
  /** max over steps of ‖w_W − w_1‖ / ‖w_1‖ after the step */
  worstWeights: number;
  /** Steps whose weights came out bit-for-bit equal. */
  identicalSteps: number;
  singleSamplesPerSec: number;
  threadedSamplesPerSec: number;
  /** The context's crossOriginIsolated (null in Node). */
  crossOriginIsolated: boolean | null;
}

export async function checkThreadedEngine(o: ThreadsCheckOptions): Promise<ThreadsCheck> {
  const seed = o.seed ?? 1;
  const { pre, data } = await syntheticTrainingData('toniot', Math.max(o.batch * 4, 512), seed);
  const config = modelConfigFor(pre);
  const w0 = initWeights(config, seed).weights;
  const single = await FusedEngine.create(config, w0, o.batch);
  const multi = await ThreadedEngine.create(config, w0, o.batch, o.threads);
  const order = Int32Array.from({ length: data.n }, (_, i) => i);
  const per = Math.floor(data.n / o.batch);
  let worstLoss = 0;
  let worstWeights = 0;
  let identicalSteps = 0;
  let t1 = 0;
  let tW = 0;
  try {
    for (let s = 0; s < o.steps; s++) {
      const start = (s % per) * o.batch;
      single.loadRows(data, order, start, start + o.batch);
      multi.loadRows(data, order, start, start + o.batch);
      multi.setWeights(single.weights);
      let t = performance.now();
      const l1 = single.step(o.batch, 1e-3);
      t1 += performance.now() - t;
      t = performance.now();
      const lW = multi.step(o.batch, 1e-3);
      tW += performance.now() - t;
      worstLoss = Math.max(worstLoss, Math.abs(lW - l1) / Math.abs(l1));
      let d = 0;
      let n = 0;
      let same = true;
      const a = multi.weights;
      const b = single.weights;
      for (let i = 0; i < b.length; i++) {
        d += (a[i]! - b[i]!) ** 2;
        n += b[i]! ** 2;
        if (a[i] !== b[i]) same = false;
      }
      worstWeights = Math.max(worstWeights, Math.sqrt(d / n));
      if (same) identicalSteps++;
    }
  } finally {
    multi.dispose();
  }
  const coi = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  return {
    threads: multi.threads,
    batch: o.batch,
    steps: o.steps,
    worstLoss,
    worstWeights,
    identicalSteps,
    singleSamplesPerSec: (o.steps * o.batch) / (t1 / 1000),
    threadedSamplesPerSec: (o.steps * o.batch) / (tW / 1000),
    crossOriginIsolated: coi ?? null,
  };
}
