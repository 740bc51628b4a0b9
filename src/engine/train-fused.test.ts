/**
 * trainFused against train() (tfjs, wasm backend): the same loop on the same rows gives the same losses,
 * steps and weights, with class weights, a cosine schedule, FedProx and FedDyn; abort stops it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { fusedWasmTrainingEngine, ModelTrainer, tfjsTrainingEngine } from '../client/model-trainer.ts';
import type { EncodedData } from '../data/features.ts';
import { importCsv } from '../data/import.ts';
import { syntheticCsv, syntheticStream } from '../data/synthetic.ts';
import { useBackend } from '../model/backend.ts';
import { modelConfigFor, trainCentralized } from '../model/centralized.ts';
import { initWeights, type ModelConfig, MultiTaskModel, paramSpecs } from '../model/model.ts';
import { SYNTHETIC_SCHEMA, syntheticTrainingData } from '../model/throughput.ts';
import { balancedClassWeights, predict, type TrainOptions, train } from '../model/train.ts';
import { predictFused, trainFused } from './train-fused.ts';
import { FusedEngine } from './wasm-engine.ts';

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

describe('predictFused', () => {
  it('gives the classes, MOS and mean joint loss of tfjs predict(), over several batches', async () => {
    // Trained a little first, so that the logits are not all alike (a fresh model's argmax ties decide little).
    const { weights: start } = initWeights(config, 11);
    const model = new MultiTaskModel(config, start);
    await train(model, data, { epochs: 2, batchSize: 32, learningRate: 3e-3, seed: 2 });
    const weights = await model.getWeights();
    const want = await predict(model, data, 50);
    model.dispose();
    const engine = await FusedEngine.create(config, weights, 50);
    const got = await predictFused(engine, data, 50); // 192 rows: batches of 50, 50, 50 and 42
    expect(got.classes).toEqual(want.classes);
    expect(relErr(got.mos, want.mos)).toBeLessThan(1e-5);
    expect(Math.abs(got.loss - want.loss) / want.loss).toBeLessThan(1e-5);
    expect(new Set(want.classes).size).toBeGreaterThan(1);
  });
});

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

describe('ModelTrainer with engine "fused"', () => {
  it('returns the delta tfjs returns, FedDyn state included', async () => {
    const global = initWeights(config, 5).weights;
    const experiment = {
      dataset: 'toniot',
      strategy: 'feddyn',
      rounds: 2,
      model: config as unknown as Record<string, unknown>,
      preprocessor: {},
      modelSize: global.length,
    };
    const fit = { epochs: 1, batchSize: 64, learningRate: 1e-3, proxMu: 0.01, seed: 4, dynAlpha: 0.1 };
    const out: { delta: Float32Array; g: Float32Array }[] = [];
    for (const engine of ['tfjs', 'fused'] as const) {
      const t = new ModelTrainer(
        data,
        'wasm',
        undefined,
        engine === 'fused' ? fusedWasmTrainingEngine : tfjsTrainingEngine,
      );
      await t.prepare(experiment);
      const r1 = await t.fit(global, fit, 1);
      const r2 = await t.fit(
        global.map((w, i) => w + r1.delta[i]!),
        fit,
        2,
      );
      out.push({ delta: r2.delta, g: t.dynState()! });
      t.dispose();
    }
    // The key bias has an exactly-zero gradient (softmax ignores a per-row shift): the engine keeps it; tfjs
    // moves it by Adam's ±lr-scaled steps on rounding noise. Compare everything else.
    let off = 0;
    for (const p of paramSpecs(config)) {
      if (p.name === 'attn_qkv_b') break;
      off += p.shape.reduce((a, b) => a * b, 1);
    }
    const d = config.dModel;
    const keyBias = (v: Float32Array) => v.subarray(off + d, off + 2 * d);
    expect(keyBias(out[1]!.delta).every((x) => x === 0)).toBe(true);
    for (const o of out) {
      keyBias(o.delta).fill(0);
      keyBias(o.g).fill(0);
    }
    expect(relErr(out[0]!.delta, new Float32Array(out[0]!.delta.length))).toBeGreaterThan(0);
    expect(relErr(out[1]!.delta, out[0]!.delta)).toBeLessThan(1e-3);
    expect(relErr(out[1]!.g, out[0]!.g)).toBeLessThan(1e-3);
  }, 60_000);
});

describe('trainCentralized (pqfed train) with engine "fused"', () => {
  it('trains on the engine, as tfjs does', async () => {
    const { table } = await importCsv(syntheticStream(syntheticCsv(SYNTHETIC_SCHEMA.toniot, 600, 2)), {
      dataset: 'toniot',
      synthetic: true,
    });
    const opts = {
      epochs: 1,
      batchSize: 64,
      learningRate: 3e-3,
      seed: 1,
      level: 'fine' as const,
      testFraction: 0.2,
      classWeights: 'sqrt' as const,
    };
    const tfjs = await trainCentralized(table, undefined, opts);
    const fused = await trainCentralized(table, undefined, { ...opts, engine: 'fused' });
    expect(fused.report.rows).toEqual(tfjs.report.rows);
    expect(Math.abs(fused.report.accuracy - tfjs.report.accuracy)).toBeLessThan(0.02);
    expect(Math.abs(fused.report.mos.mae - tfjs.report.mos.mae)).toBeLessThan(0.02);
    // the engine ran the steps: it keeps the attention key bias (gradient exactly 0) at its initial 0,
    // where tfjs's Adam moves it on rounding noise
    const d = fused.model.config.dModel;
    const keyBias = async (m: MultiTaskModel) =>
      Array.from(((await m.params.attn_qkv_b!.data()) as Float32Array).subarray(d, 2 * d));
    expect((await keyBias(fused.model)).every((x) => x === 0)).toBe(true);
    expect((await keyBias(tfjs.model)).some((x) => x !== 0)).toBe(true);
    fused.model.dispose();
    tfjs.model.dispose();
  }, 120_000);
});
