import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from './backend.ts';
import { modelConfigFor } from './centralized.ts';
import { mm } from './matmul.ts';
import {
  DEFAULT_MODEL,
  initWeights,
  type ModelConfig,
  ModelConfigError,
  MultiTaskModel,
  paramSpecs,
} from './model.ts';
import { tf } from './tf.ts';
import { syntheticTrainingData } from './throughput.ts';
import { makeBatch, train } from './train.ts';
import { flatten, unflatten, WeightShapeError } from './weights.ts';

const small: ModelConfig = { ...DEFAULT_MODEL, numNumeric: 5, catVocab: [3, 4], numClasses: 3 };

const syntheticData = (rows: number, seed: number) => syntheticTrainingData('toniot', rows, seed);

/** Loss after each of `steps` Adam steps from the same weights and batches on `backend`. */
async function lossTrace(
  backend: 'cpu' | 'wasm',
  steps: number,
): Promise<{ losses: number[]; tensors: number[] }> {
  await useBackend(backend);
  const { pre, data } = await syntheticData(400, 5);
  const config = modelConfigFor(pre);
  const model = new MultiTaskModel(config, initWeights(config, 11).weights);
  const opt = tf.train.adam(2e-3);
  const idx = Int32Array.from({ length: data.n }, (_, i) => i);
  const losses: number[] = [];
  const tensors: number[] = [];
  for (let s = 0; s < steps; s++) {
    const b = makeBatch(data, idx, s * 32, s * 32 + 32);
    const loss = opt.minimize(() => model.loss(b.batch, b.targets), true)!;
    losses.push((await loss.data())[0]!);
    tf.dispose([loss, b.batch.numeric, b.batch.categorical, b.targets.label, b.targets.mos]);
    tensors.push(tf.memory().numTensors);
  }
  opt.dispose();
  model.dispose();
  return { losses, tensors };
}

describe('weights', () => {
  it('initialises deterministically from the seed', () => {
    const a = initWeights(small, 3).weights;
    expect(initWeights(small, 3).weights).toEqual(a);
    expect(initWeights(small, 4).weights).not.toEqual(a);
    expect(a.every(Number.isFinite)).toBe(true);
  });

  it('flattens and unflattens by the manifest', () => {
    const { weights, manifest } = initWeights(small, 1);
    const parts = unflatten(weights, manifest);
    expect([...parts.keys()]).toEqual(paramSpecs(small).map((p) => p.name));
    const again = flatten(manifest.params.map((p) => ({ ...p, values: parts.get(p.name)! })));
    expect(again.weights).toEqual(weights);
    expect(() => unflatten(weights.subarray(1), manifest)).toThrow(WeightShapeError);
  });

  it('keeps the default TON_IoT model well under a million parameters', async () => {
    await useBackend('cpu');
    const { pre } = await syntheticData(200, 1);
    const config = modelConfigFor(pre);
    const m = new MultiTaskModel(config, initWeights(config, 1).weights);
    expect(m.numParams).toBeGreaterThan(10_000);
    expect(m.numParams).toBeLessThan(1_000_000);
    m.dispose();
  });

  it('refuses wrong lengths, non-finite values and inconsistent configs', async () => {
    await useBackend('cpu');
    const { weights } = initWeights(small, 1);
    expect(() => new MultiTaskModel(small, weights.subarray(2))).toThrow(/expected \d+ values/);
    const m = new MultiTaskModel(small, weights);
    const bad = weights.slice();
    bad[7] = Number.NaN;
    expect(() => m.setWeights(bad)).toThrow(/value 7 is not finite/);
    m.setWeights(weights.map((v) => v * 2));
    expect((await m.getWeights())[0]).toBeCloseTo(weights[0]! * 2, 6);
    m.dispose();
    expect(() => paramSpecs({ ...small, dModel: 30, heads: 4 })).toThrow(ModelConfigError);
    expect(() => paramSpecs({ ...small, numClasses: 1 })).toThrow(/numClasses/);
    expect(() => paramSpecs({ ...small, dModel: 512, ffDim: 4096 })).toThrow(/above the limit/);
  });
});

describe('matmul with plain-product gradient', () => {
  beforeAll(() => useBackend('cpu'));

  it('has the same value and gradients as tf.matMul, rank 2 and 3', () => {
    for (const [sa, sb] of [
      [
        [5, 4],
        [4, 3],
      ],
      [
        [2, 5, 4],
        [2, 4, 3],
      ],
    ] as const) {
      const a = tf.randomNormal([...sa], 0, 1, 'float32', 1);
      const b = tf.randomNormal([...sb], 0, 1, 'float32', 2);
      const ours = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
        mm(x as tf.Tensor3D, y as tf.Tensor3D)
          .square()
          .sum(),
      )([a, b]);
      const ref = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
        tf
          .matMul(x as tf.Tensor3D, y as tf.Tensor3D)
          .square()
          .sum(),
      )([a, b]);
      for (let i = 0; i < 2; i++) {
        const d = tf.max(tf.abs(ours[i]!.sub(ref[i]!))).dataSync()[0]!;
        expect(d).toBeLessThan(1e-4);
      }
    }
  });
});

describe('training', () => {
  it('gives the same losses on cpu and wasm from the same weights and batches, with flat tensor counts', async () => {
    const cpu = await lossTrace('cpu', 6);
    const wasm = await lossTrace('wasm', 6);
    for (let s = 0; s < 6; s++) {
      expect(Math.abs(wasm.losses[s]! - cpu.losses[s]!) / cpu.losses[s]!).toBeLessThan(1e-4);
    }
    // after the first step (which creates Adam's slots) the tensor count never moves
    expect(new Set(cpu.tensors.slice(1)).size).toBe(1);
    expect(new Set(wasm.tensors.slice(1)).size).toBe(1);
  }, 60_000);

  it('stops after maxSteps, and early with stopped=true when its signal aborts', async () => {
    await useBackend('wasm');
    const { pre, data } = await syntheticData(300, 3);
    const config = modelConfigFor(pre);
    const model = new MultiTaskModel(config, initWeights(config, 1).weights);
    const seen: number[] = [];
    const r = await train(model, data, {
      epochs: 10,
      maxSteps: 7,
      batchSize: 64,
      learningRate: 1e-3,
      seed: 1,
      readEvery: 3,
      onProgress: (p) => seen.push(p.stepsDone),
    });
    expect(r.steps).toBe(7);
    expect(r.stopped).toBe(false);
    expect(seen).toEqual([3, 5, 6, 7]); // every 3rd step, each epoch's end (5 steps/epoch) and the last step
    const stop = new AbortController();
    const s = await train(model, data, {
      epochs: 10,
      batchSize: 64,
      learningRate: 1e-3,
      seed: 1,
      readEvery: 1,
      signal: stop.signal,
      onProgress: (p) => p.stepsDone === 4 && stop.abort(),
    });
    expect(s.steps).toBe(4);
    expect(s.stopped).toBe(true);
    model.dispose();
  }, 60_000);

  it('learns synthetic TON_IoT: the loss falls and accuracy beats the majority class', async () => {
    await useBackend('wasm');
    const { pre, data } = await syntheticData(1500, 9);
    const config = modelConfigFor(pre);
    const model = new MultiTaskModel(config, initWeights(config, 2).weights);
    const r = await train(model, data, {
      epochs: 4,
      batchSize: 64,
      learningRate: 3e-3,
      seed: 1,
      readEvery: 5,
    });
    expect(r.losses.at(-1)!).toBeLessThan(r.losses[0]! * 0.6);
    const logits = tf.tidy(() =>
      model
        .forward(
          makeBatch(
            data,
            Int32Array.from({ length: data.n }, (_, i) => i),
            0,
            data.n,
          ).batch,
        )
        .logits.argMax(1),
    );
    const pred = await logits.data();
    logits.dispose();
    let correct = 0;
    for (let i = 0; i < data.n; i++) if (pred[i] === data.label[i]) correct++;
    const counts = new Map<number, number>();
    for (const y of data.label) counts.set(y, (counts.get(y) ?? 0) + 1);
    expect(correct / data.n).toBeGreaterThan(Math.max(...counts.values()) / data.n + 0.2);
    model.dispose();
  }, 120_000);
});
