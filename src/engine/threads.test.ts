/**
 * The data-parallel fused engine (threads.ts) against the single-thread engine, in Node's worker_threads:
 * for the same batch and state, the loss and the gradient vector agree within 1e-6 (relative; norm-wise for
 * the vector), and so do the weights after the Adam step: only the order in which the parts' gradients are
 * summed differs. Per parameter tensor the bound is 1e-5: the layer norms' γ and β gradients are sums over
 * every token row of the batch (7,680 at batch 256), whose rounding differs by up to 1.4e-6 between
 * summation orders — the single-thread engine on the same rows with its chunks in another order differs
 * from itself as much (measured below). With class weights, FedProx and FedDyn; batches that are not a multiple of
 * the engine's 32-row chunk; 2 and 3 threads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fusedWasmTrainingEngine } from '../client/model-trainer.ts';
import { Rng } from '../core/random.ts';
import type { EncodedData } from '../data/features.ts';
import { modelConfigFor } from '../model/centralized.ts';
import { initWeights, type ModelConfig, MultiTaskModel, paramSpecs } from '../model/model.ts';
import { syntheticTrainingData } from '../model/throughput.ts';
import {
  decideThreads,
  probeThreads,
  splitBatch,
  THREADS_MIN_GAIN,
  ThreadedEngine,
  threadsUnavailable,
} from './threads.ts';
import { trainFused } from './train-fused.ts';
import { FusedEngine } from './wasm-engine.ts';

/** max over parameter tensors of ‖a − b‖ / ‖b‖ (0 where both are 0). */
function worstRelative(config: ModelConfig, a: Float32Array, b: Float32Array): number {
  let off = 0;
  let worst = 0;
  for (const s of paramSpecs(config)) {
    const size = s.shape.reduce((x, y) => x * y, 1);
    let d = 0;
    let n = 0;
    for (let i = off; i < off + size; i++) {
      d += (a[i]! - b[i]!) ** 2;
      n += b[i]! ** 2;
    }
    off += size;
    if (d === 0) continue;
    worst = Math.max(worst, Math.sqrt(d / n));
  }
  return worst;
}

/** ‖a − b‖ / ‖b‖ over the whole vector. */
function relative(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    n += b[i]! ** 2;
  }
  return Math.sqrt(d / n);
}

function randomVector(n: number, seed: number, scale: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

describe('splitBatch', () => {
  it('cuts at 32-row chunks, front-loaded, never more parts than chunks', () => {
    expect(splitBatch(64, 2)).toEqual([
      [0, 32],
      [32, 64],
    ]);
    expect(splitBatch(256, 2)).toEqual([
      [0, 128],
      [128, 256],
    ]);
    expect(splitBatch(100, 3)).toEqual([
      [0, 64],
      [64, 100],
    ]);
    expect(splitBatch(20, 4)).toEqual([[0, 20]]);
    expect(splitBatch(64, 1)).toEqual([[0, 64]]);
  });
});

describe('the threaded step equals the single-thread step', () => {
  let config: ModelConfig;
  let data: EncodedData;
  let w0: Float32Array;
  const engines: { dispose(): void }[] = [];

  beforeAll(async () => {
    expect(threadsUnavailable()).toBeNull();
    const s = await syntheticTrainingData('toniot', 600, 5);
    data = s.data;
    config = modelConfigFor(s.pre);
    w0 = initWeights(config, 5).weights;
  });

  afterAll(() => {
    for (const e of engines) e.dispose();
  });

  const order = () => Int32Array.from({ length: data.n }, (_, i) => (i * 7919) % data.n);

  for (const [threads, b] of [
    [2, 64],
    [2, 256],
    [3, 100],
  ] as const) {
    it(`${threads} threads, batch ${b}: loss and gradients, with class weights, FedProx and FedDyn`, async () => {
      const single = await FusedEngine.create(config, w0, 256);
      const multi = await ThreadedEngine.create(config, w0, 256, threads);
      engines.push(multi);
      expect(multi.threads).toBe(threads);
      const P = single.numParams;
      const opts = {
        classWeights: Float32Array.from({ length: config.numClasses }, (_, k) => 0.5 + k * 0.25),
        prox: { mu: 0.01, global: randomVector(P, 11, 0.05) },
        linear: randomVector(P, 12, 1e-3),
      };
      for (const options of [{}, opts]) {
        single.setLossOptions(options);
        multi.setLossOptions(options);
        const idx = order();
        single.loadRows(data, idx, 0, b);
        multi.loadRows(data, idx, 0, b);
        const l1 = single.lossAndGrads(b);
        const lW = multi.lossAndGrads(b);
        expect(Math.abs(lW - l1) / l1).toBeLessThan(1e-6);
        expect(relative(multi.grads, single.grads)).toBeLessThan(1e-6);
        expect(worstRelative(config, multi.grads, single.grads)).toBeLessThan(1e-5);
      }
    });
  }

  it("the single-thread engine's own rounding floor: the same rows, chunks in another order", async () => {
    const a = await FusedEngine.create(config, w0, 256);
    const b = await FusedEngine.create(config, w0, 256);
    const idx = order();
    const rotated = Int32Array.from({ length: 256 }, (_, i) => idx[(i + 128) % 256]!);
    a.loadRows(data, idx, 0, 256);
    b.loadRows(data, rotated, 0, 256);
    a.lossAndGrads(256);
    b.lossAndGrads(256);
    const floor = worstRelative(config, b.grads, a.grads);
    console.log(
      `threads: single-thread floor at batch 256, per tensor ${floor.toExponential(2)}, vector ${relative(b.grads, a.grads).toExponential(2)}`,
    );
    // a floor of the same size as the threaded step's difference: that difference is rounding
    expect(floor).toBeGreaterThan(1e-7);
    expect(floor).toBeLessThan(1e-5);
  });

  it('2 threads: 20 Adam steps follow the single-thread trajectory (weights within 1e-6 after each step)', async () => {
    const single = await FusedEngine.create(config, w0, 128);
    const multi = await ThreadedEngine.create(config, w0, 128, 2);
    engines.push(multi);
    const idx = order();
    let worstStep = 0;
    let worstLoss = 0;
    let worstVector = 0;
    let identical = 0;
    for (let s = 0; s < 20; s++) {
      const start = (s * 128) % (data.n - 128);
      single.loadRows(data, idx, start, start + 128);
      multi.loadRows(data, idx, start, start + 128);
      // From the same state: one step each, then compare, then continue both from the single-thread state.
      const before = single.getWeights();
      multi.setWeights(before);
      const l1 = single.step(128, 1e-3);
      const lW = multi.step(128, 1e-3);
      worstLoss = Math.max(worstLoss, Math.abs(lW - l1) / l1);
      worstStep = Math.max(worstStep, worstRelative(config, multi.weights, single.weights));
      worstVector = Math.max(worstVector, relative(multi.weights, single.weights));
      if (multi.weights.every((v, i) => v === single.weights[i])) identical++;
    }
    expect(worstLoss).toBeLessThan(1e-6);
    expect(worstStep).toBeLessThan(1e-6);
    expect(worstVector).toBeLessThan(1e-6);
    // Report how often the step was bit-for-bit the same (not asserted: it depends on summation order).
    console.log(
      `threads: 20 steps at batch 128, ${identical} bit-identical, worst weights Δ ${worstStep.toExponential(2)}`,
    );
  });

  it('refuses a bad thread count', async () => {
    await expect(ThreadedEngine.create(config, w0, 64, 0)).rejects.toThrow(/threads must be an integer/);
  });
});

describe('the default thread count: threads only where a probe shows they win', () => {
  it('decides by the probe: 2 threads at ≥ 1.2× one thread, else one thread with the measured ratio', () => {
    expect(decideThreads(10, 5, 2)).toMatchObject({ threads: 2, gain: 2 });
    expect(decideThreads(10, 10 / THREADS_MIN_GAIN, 2).threads).toBe(2);
    const no = decideThreads(10, 9.5, 2);
    expect(no.threads).toBe(1);
    expect(no.reason).toBe('one thread: 2 threads ran 1.05× its speed in a probe here (they need ≥ 1.2×)');
    expect(decideThreads(10, Number.NaN, 2).threads).toBe(1);
  });

  it('probes real steps here, and never for a batch of one chunk or one core', async () => {
    const s = await syntheticTrainingData('toniot', 300, 2);
    const config = modelConfigFor(s.pre);
    const w = initWeights(config, 2).weights;
    expect(await probeThreads(config, w, s.data, 32, 2)).toEqual({
      threads: 1,
      reason: 'one thread: a batch of 32 rows is one 32-row chunk',
    });
    expect(await probeThreads(config, w, s.data, 128, 1)).toEqual({
      threads: 1,
      reason: 'one thread: 1 core',
    });
    const c = await probeThreads(config, w, s.data, 128, 2);
    expect([1, 2]).toContain(c.threads);
    expect(c.gain).toBeGreaterThan(0);
    expect(c.threads === 2).toBe(c.gain! >= THREADS_MIN_GAIN);
    console.log(`threads: probe at batch 128 here: ${c.reason}`);
  });
});

describe('training on the threaded engine (trainFused, fusedWasmTrainingEngine)', () => {
  it('trainFused on 2 threads follows 1 thread, and the auto engine probes once and says so', async () => {
    const s = await syntheticTrainingData('toniot', 400, 4);
    const config = modelConfigFor(s.pre);
    const w = initWeights(config, 4).weights;
    const opts = { epochs: 1, maxSteps: 5, batchSize: 128, learningRate: 1e-3, seed: 3 };
    const results: Float32Array[] = [];
    for (const threads of [1, 2]) {
      const model = new MultiTaskModel(config, w);
      try {
        const r = await trainFused(model, s.data, opts, threads);
        expect(r.steps).toBeGreaterThan(1);
        results.push(await model.getWeights());
      } finally {
        model.dispose();
      }
    }
    expect(relative(results[1]!, results[0]!)).toBeLessThan(1e-6);

    const choices: string[] = [];
    const engine = fusedWasmTrainingEngine(config, { cores: 2, onChoice: (c) => choices.push(c.reason) });
    try {
      engine.setWeights(w);
      await engine.train(s.data, opts);
      await engine.train(s.data, opts);
    } finally {
      engine.dispose();
    }
    expect(choices).toHaveLength(1);
    expect(choices[0]).toMatch(/^(2 threads|one thread): /);
  });
});
