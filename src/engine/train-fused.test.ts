/**
 * trainFused against train() (tfjs, wasm backend): the same loop on the same rows gives the same losses,
 * steps and weights, with class weights, a cosine schedule, FedProx and FedDyn; abort stops it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { EncodedData } from '../data/features.ts';
import { useBackend } from '../model/backend.ts';
import { modelConfigFor } from '../model/centralized.ts';
import { initWeights, type ModelConfig, MultiTaskModel } from '../model/model.ts';
import { syntheticTrainingData } from '../model/throughput.ts';
import { balancedClassWeights, type TrainOptions, train } from '../model/train.ts';
import { trainFused } from './train-fused.ts';

let config: ModelConfig;
let data: EncodedData;

beforeAll(async () => {
  await useBackend('wasm');
  const s = await syntheticTrainingData('toniot', 192, 4);
  config = modelConfigFor(s.pre);
  data = s.data;
});

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

async function both(opts: TrainOptions) {
  const { weights } = initWeights(config, 3);
  const tfModel = new MultiTaskModel(config, weights);
  const fusedModel = new MultiTaskModel(config, weights);
  const a = await train(tfModel, data, opts);
  const b = await trainFused(fusedModel, data, opts);
  const wa = await tfModel.getWeights();
  const wb = await fusedModel.getWeights();
  tfModel.dispose();
  fusedModel.dispose();
  return { a, b, wa, wb, start: weights };
}

describe('trainFused', () => {
  it('follows train() step for step: class weights, cosine schedule, FedProx, FedDyn', async () => {
    const { weights: global } = initWeights(config, 9);
    const linear = new Float32Array(global.length).map((_, i) => ((i % 7) - 3) * 1e-3);
    const { a, b, wa, wb, start } = await both({
      epochs: 2,
      batchSize: 40, // 192 rows: a last batch of 32
      learningRate: 1e-3,
      seed: 5,
      finalLearningRateFraction: 0.2,
      classWeights: balancedClassWeights(data.label, config.numClasses),
      prox: { mu: 0.01, global },
      linear,
      readEvery: 1,
    });
    expect(b.steps).toBe(a.steps);
    expect(b.samples).toBe(a.samples);
    expect(b.losses).toHaveLength(a.losses.length);
    for (let i = 0; i < a.losses.length; i++) {
      expect(Math.abs(b.losses[i]! - a.losses[i]!) / Math.abs(a.losses[i]!), `step ${i}`).toBeLessThan(1e-4);
    }
    expect(relErr(wb, start)).toBeGreaterThan(1e-3); // it trained
    expect(relErr(wb, wa)).toBeLessThan(1e-4);
  }, 60_000);

  it('stops at the next step when aborted, keeping the weights reached', async () => {
    const controller = new AbortController();
    const { weights } = initWeights(config, 3);
    const model = new MultiTaskModel(config, weights);
    const r = await trainFused(model, data, {
      epochs: 5,
      batchSize: 16,
      learningRate: 1e-3,
      seed: 1,
      readEvery: 1,
      onProgress: (p) => {
        if (p.stepsDone === 3) controller.abort();
      },
      signal: controller.signal,
    });
    expect(r.stopped).toBe(true);
    expect(r.steps).toBe(3);
    expect(relErr(await model.getWeights(), weights)).toBeGreaterThan(0);
    model.dispose();
  });
});
