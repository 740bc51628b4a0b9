import { beforeAll, describe, expect, it } from 'vitest';
import type { FitSettings } from '../core/protocol.ts';
import { useBackend } from '../model/backend.ts';
import { modelConfigFor } from '../model/centralized.ts';
import { initWeights, MultiTaskModel } from '../model/model.ts';
import { tf } from '../model/tf.ts';
import { syntheticTrainingData } from '../model/throughput.ts';
import { makeBatch } from '../model/train.ts';
import { ModelTrainer } from './model-trainer.ts';

// FedDyn's client side (Acar et al. 2021): the loss term −⟨g_k, w⟩ + (α/2)·‖w − w_global‖² and the state
// g_k ← g_k − α·(local − global), on the real model (tfjs cpu backend).

beforeAll(async () => {
  await useBackend('cpu');
});

const FIT: FitSettings = { epochs: 1, batchSize: 32, learningRate: 0.01, proxMu: 0, seed: 4 };

async function setup() {
  const { pre, data } = await syntheticTrainingData('toniot', 96, 3);
  const config = modelConfigFor(pre, { dModel: 8, heads: 1, ffDim: 8, convLayers: 0 });
  const global = initWeights(config, 5).weights;
  const experiment = {
    dataset: 'toniot',
    strategy: 'feddyn',
    rounds: 2,
    model: config as unknown as Record<string, unknown>,
    preprocessor: {},
    modelSize: global.length,
  };
  return { config, data, global, experiment };
}

describe('FedDyn on the client', () => {
  it('model.loss with `linear` g subtracts ⟨g, w⟩ exactly', async () => {
    const { config, data, global } = await setup();
    const model = new MultiTaskModel(config, global);
    const b = makeBatch(
      data,
      Int32Array.from({ length: data.n }, (_, i) => i),
      0,
      32,
    );
    const g = Float32Array.from({ length: global.length }, (_, i) => ((i % 7) - 3) / 100);
    let off = 0;
    const gT = model.manifest.params.map((p) => {
      const size = p.shape.reduce((x, y) => x * y, 1);
      const t = tf.tensor(g.subarray(off, off + size), p.shape);
      off += size;
      return t;
    });
    const plain = model.loss(b.batch, b.targets);
    const withLinear = model.loss(b.batch, b.targets, { linear: gT });
    let dot = 0;
    for (let i = 0; i < g.length; i++) dot += g[i]! * global[i]!;
    const diff = (await withLinear.data())[0]! - (await plain.data())[0]!;
    expect(diff).toBeCloseTo(-dot, 3);
    expect(Math.abs(dot)).toBeGreaterThan(0.01); // the check is not vacuous
    tf.dispose([
      plain,
      withLinear,
      ...gT,
      b.batch.numeric,
      b.batch.categorical,
      b.targets.label,
      b.targets.mos,
    ]);
    model.dispose();
  });

  it('keeps g_k across rounds: g1 = −α·Δ1, g2 = g1 − α·Δ2, and g_k changes the local training', async () => {
    const { data, global, experiment } = await setup();
    const alpha = 0.1;
    const t = new ModelTrainer(data, 'cpu');
    await t.prepare(experiment);
    expect(t.dynState()).toBeNull();
    const r1 = await t.fit(global, { ...FIT, dynAlpha: alpha }, 1);
    const g1 = t.dynState()!;
    expect(g1.length).toBe(global.length);
    for (let i = 0; i < g1.length; i += 97) expect(g1[i]).toBeCloseTo(-alpha * r1.delta[i]!, 7);
    expect(g1.some((x) => x !== 0)).toBe(true);

    const global2 = global.map((w, i) => w + r1.delta[i]!);
    const r2 = await t.fit(global2, { ...FIT, dynAlpha: alpha, seed: 5 }, 2);
    const g2 = t.dynState()!;
    for (let i = 0; i < g2.length; i += 97) expect(g2[i]).toBeCloseTo(g1[i]! - alpha * r2.delta[i]!, 7);

    // The same round from g = 0 (a fresh trainer, the same proximal term): another delta, so g_k was used.
    const fresh = new ModelTrainer(data, 'cpu');
    await fresh.prepare(experiment);
    const r2fresh = await fresh.fit(global2, { ...FIT, dynAlpha: alpha, seed: 5 }, 2);
    expect(Array.from(r2fresh.delta)).not.toEqual(Array.from(r2.delta));

    // A new experiment starts g_k again at 0; a round without dynAlpha leaves it alone.
    await t.prepare(experiment);
    expect(t.dynState()).toBeNull();
    await t.fit(global, FIT, 1);
    expect(t.dynState()).toBeNull();
    t.dispose();
    fresh.dispose();
  });
});
