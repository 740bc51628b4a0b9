/**
 * Parity of the fused WASM engine with the tfjs model (src/model/model.ts), the reference: on random
 * batches of several configs the loss and every parameter's gradient agree to 1e-4 (norm-wise relative
 * error per parameter tensor: ‖g_engine − g_tfjs‖ / ‖g_tfjs‖), and 200 Adam steps on the same batches
 * give the same loss curve: |Δloss| / (loss + 0.05) ≤ 1e-4 at every step (measured 1.3e-6, the engine's own
 * rounding noise floor), ≤ 1e-5 relative over the first 20. tfjs runs on its wasm backend (float32).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../core/random.ts';
import type { EncodedData } from '../data/features.ts';
import { useBackend } from '../model/backend.ts';
import { modelConfigFor } from '../model/centralized.ts';
import { initWeights, type ModelConfig, MultiTaskModel, paramSpecs } from '../model/model.ts';
import { tf } from '../model/tf.ts';
import { syntheticTrainingData } from '../model/throughput.ts';
import { makeBatch } from '../model/train.ts';
import { ADAM, EngineError, FusedEngine } from './wasm-engine.ts';

/** Random rows for `c`: numeric ~ N(0, 1), each categorical column within its slots, labels, MOS in [1, 5]. */
function randomData(c: ModelConfig, n: number, seed: number): EncodedData {
  const rng = new Rng(seed);
  const ln = c.numNumeric;
  const lc = c.catVocab.length;
  const numeric = new Float32Array(n * ln);
  for (let i = 0; i < numeric.length; i++) numeric[i] = rng.normal();
  const categorical = new Int32Array(n * lc);
  const offsets: number[] = [];
  let o = 0;
  for (const v of c.catVocab) {
    offsets.push(o);
    o += v;
  }
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < lc; j++)
      categorical[r * lc + j] = offsets[j]! + Math.floor(rng.next() * c.catVocab[j]!);
  }
  const label = new Int32Array(n);
  const mos = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    label[r] = Math.floor(rng.next() * c.numClasses);
    mos[r] = 1 + 4 * rng.next();
  }
  return { n, numeric, categorical, label, mos };
}

function randomVector(n: number, seed: number, scale: number): Float32Array {
  const rng = new Rng(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal() * scale;
  return v;
}

interface LossOptions {
  classWeights?: Float32Array;
  prox?: { mu: number; global: Float32Array };
  linear?: Float32Array;
}

/** tfjs's loss and gradients (flat, manifest order) on rows [0, b) of `data`. */
function tfjsLossAndGrads(
  model: MultiTaskModel,
  data: EncodedData,
  b: number,
  opts: LossOptions,
): { loss: number; grads: Float32Array[] } {
  const idx = Int32Array.from({ length: b }, (_, i) => i);
  const x = makeBatch(data, idx, 0, b);
  const specs = model.manifest.params;
  const split = (flat: Float32Array) => {
    let off = 0;
    return specs.map((s) => {
      const size = s.shape.reduce((a, y) => a * y, 1);
      const t = tf.tensor(flat.subarray(off, off + size), s.shape);
      off += size;
      return t;
    });
  };
  const cw = opts.classWeights ? tf.tensor1d(opts.classWeights) : undefined;
  const global = opts.prox ? split(opts.prox.global) : undefined;
  const linear = opts.linear ? split(opts.linear) : undefined;
  const { value, grads } = tf.variableGrads(() =>
    model.loss(x.batch, x.targets, {
      ...(cw && { classWeights: cw }),
      ...(global && { prox: { mu: opts.prox!.mu, global } }),
      ...(linear && { linear }),
    }),
  );
  const out = {
    loss: value.dataSync()[0]!,
    // tfjs gives no gradient for a parameter the loss does not use (an empty embedding table): zeros
    grads: specs.map(
      (s) =>
        (grads[model.params[s.name]!.name]?.dataSync() as Float32Array | undefined) ??
        new Float32Array(s.shape.reduce((a, y) => a * y, 1)),
    ),
  };
  tf.dispose([value, ...Object.values(grads), x.batch.numeric, x.batch.categorical, x.targets.label]);
  tf.dispose([x.targets.mos, ...(cw ? [cw] : []), ...(global ?? []), ...(linear ?? [])]);
  return out;
}

/** ‖a − b‖ / ‖b‖ (‖b‖ floored at 1e-12 so an all-zero gradient compares absolutely). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

/** The engine's and tfjs's losses and the worst parameter tensor's gradient error, by name. */
async function compare(
  c: ModelConfig,
  b: number,
  seed: number,
  opts: LossOptions = {},
): Promise<{ engineLoss: number; tfLoss: number; worst: { name: string; err: number }; errs: number[] }> {
  const { weights } = initWeights(c, seed);
  const data = randomData(c, b, seed + 1);
  const model = new MultiTaskModel(c, weights);
  const ref = tfjsLossAndGrads(model, data, b, opts);
  model.dispose();
  const engine = await FusedEngine.create(c, weights, b);
  engine.setLossOptions(opts);
  engine.loadRows(
    data,
    Int32Array.from({ length: b }, (_, i) => i),
    0,
    b,
  );
  const engineLoss = engine.lossAndGrads(b);
  const specs = paramSpecs(c);
  let off = 0;
  const errs: number[] = [];
  let worst = { name: '', err: -1 };
  specs.forEach((s, i) => {
    const size = s.shape.reduce((a, y) => a * y, 1);
    const err = relErr(engine.grads.subarray(off, off + size), ref.grads[i]!);
    errs.push(err);
    if (!(err <= worst.err)) worst = { name: s.name, err };
    off += size;
  });
  return { engineLoss, tfLoss: ref.loss, worst, errs };
}

const TOL = 1e-4;
let toniot: ModelConfig;

beforeAll(async () => {
  await useBackend('wasm');
  const { pre } = await syntheticTrainingData('toniot', 400, 3);
  toniot = modelConfigFor(pre);
});

describe('fused engine: loss and gradients match tfjs', () => {
  const small = (over: Partial<ModelConfig>): ModelConfig => ({
    numNumeric: 5,
    catVocab: [3, 7, 2],
    numClasses: 4,
    dModel: 16,
    heads: 4,
    ffDim: 24,
    convLayers: 1,
    mosWeight: 0.5,
    ...over,
  });
  const cases: [string, () => ModelConfig, number][] = [
    ['DEFAULT_MODEL, TON_IoT features, batch 64', () => toniot, 64],
    ['DEFAULT_MODEL, batch 75 (three chunks of rows, the last partial)', () => toniot, 75],
    ['dModel 16, heads 4, convLayers 0', () => small({ convLayers: 0 }), 13],
    ['dModel 16, heads 4, convLayers 1', () => small({ convLayers: 1 }), 16],
    ['dModel 16, heads 4, convLayers 3', () => small({ convLayers: 3 }), 9],
    ['no categorical features', () => small({ catVocab: [], numNumeric: 6 }), 11],
    ['no numeric features', () => small({ numNumeric: 0 }), 10],
    [
      'odd sizes: dModel 6, heads 3, ffDim 5, 3 classes',
      () => small({ dModel: 6, heads: 3, ffDim: 5, numClasses: 3 }),
      7,
    ],
    [
      'one token, one head, mosWeight 2',
      () => ({ ...small({ numNumeric: 1, catVocab: [], heads: 1, mosWeight: 2 }) }),
      5,
    ],
  ];
  for (const [name, config, b] of cases) {
    it(name, async () => {
      const r = await compare(config(), b, 7);
      expect(Math.abs(r.engineLoss - r.tfLoss) / Math.abs(r.tfLoss)).toBeLessThan(TOL);
      expect(r.worst.err, `worst gradient: ${r.worst.name}`).toBeLessThan(TOL);
    });
  }

  it('with class weights, FedProx and FedDyn terms (DEFAULT_MODEL shape)', async () => {
    const c = toniot;
    const P = initWeights(c, 1).weights.length;
    const classWeights = Float32Array.from({ length: c.numClasses }, (_, i) => 0.25 + (i % 4) * 0.5);
    const global = initWeights(c, 99).weights;
    const r = await compare(c, 50, 5, {
      // 50 rows: two chunks, one class-weight normaliser
      classWeights,
      prox: { mu: 0.05, global },
      linear: randomVector(P, 4, 0.01),
    });
    expect(Math.abs(r.engineLoss - r.tfLoss) / Math.abs(r.tfLoss)).toBeLessThan(TOL);
    expect(r.worst.err, `worst gradient: ${r.worst.name}`).toBeLessThan(TOL);
  });

  it('each option changes the loss as tfjs says (not ignored)', async () => {
    const c = toniot;
    const base = await compare(c, 16, 2);
    const cw = await compare(c, 16, 2, {
      classWeights: Float32Array.from({ length: c.numClasses }, (_, i) => 1 + i),
    });
    expect(Math.abs(cw.engineLoss - base.engineLoss)).toBeGreaterThan(1e-3);
    expect(Math.abs(cw.engineLoss - cw.tfLoss) / cw.tfLoss).toBeLessThan(TOL);
  });
});

describe('fused engine: training', () => {
  it('200 Adam steps follow tfjs Adam on the same batches', async () => {
    const c = toniot;
    const b = 32;
    const steps = 200;
    const { weights } = initWeights(c, 21);
    const data = randomData(c, 8 * b, 22);
    // a learnable signal: the label and the MOS follow the first numeric feature
    for (let r = 0; r < data.n; r++) {
      const x = data.numeric[r * c.numNumeric]!;
      data.label[r] = x > 0.5 ? 1 : x < -0.5 ? 2 : 0;
      data.mos[r] = 3 + Math.tanh(x);
    }
    const lr = (s: number) => 1e-3 * (0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * s) / steps)));
    const idx = Int32Array.from({ length: data.n }, (_, i) => i);

    const model = new MultiTaskModel(c, weights);
    const opt = tf.train.adam(lr(0));
    const tfLosses: number[] = [];
    for (let s = 0; s < steps; s++) {
      const start = (s % 8) * b;
      const x = makeBatch(data, idx, start, start + b);
      (opt as unknown as { learningRate: number }).learningRate = lr(s);
      const loss = opt.minimize(() => model.loss(x.batch, x.targets), true)!;
      tfLosses.push(loss.dataSync()[0]!);
      tf.dispose([loss, x.batch.numeric, x.batch.categorical, x.targets.label, x.targets.mos]);
    }
    const tfWeights = await model.getWeights();
    opt.dispose();
    model.dispose();

    const run = async (order: Int32Array) => {
      const engine = await FusedEngine.create(c, weights, b);
      const losses: number[] = [];
      for (let s = 0; s < steps; s++) {
        const start = (s % 8) * b;
        engine.loadRows(data, order, start, start + b);
        losses.push(engine.step(b, lr(s)));
      }
      return { losses, weights: engine.getWeights() };
    };
    const engine = await run(idx);
    // The noise floor of this trajectory: the same engine with each batch's rows in reverse order. The
    // maths is identical (the loss averages over rows); only float32 rounding (summation order) differs,
    // as it does between two correct implementations, and 200 Adam steps carry it forward.
    const reversed = Int32Array.from(idx, (_, i) => Math.floor(i / b) * b + (b - 1 - (i % b)));
    const noisy = await run(reversed);
    const gap = (a: number[], s: number) => Math.abs(a[s]! - tfLosses[s]!) / (tfLosses[s]! + 0.05);
    let early = 0;
    let late = 0;
    let floor = 0;
    for (let s = 0; s < steps; s++) {
      if (s < 20) early = Math.max(early, Math.abs(engine.losses[s]! - tfLosses[s]!) / tfLosses[s]!);
      late = Math.max(late, gap(engine.losses, s));
      floor = Math.max(floor, Math.abs(noisy.losses[s]! - engine.losses[s]!) / (tfLosses[s]! + 0.05));
    }

    // it learned, and it learned the same way: within 1e-4 of tfjs at every step (measured 1.3e-6, as
    // close as the engine to itself with reversed rows, 1.1e-6)
    expect(engine.losses.at(-1)!).toBeLessThan(0.1 * engine.losses[0]!);
    expect(early).toBeLessThan(1e-5);
    expect(late).toBeLessThan(1e-4);
    expect(floor).toBeLessThan(1e-4); // the trajectory is not chaotic, so the comparison means something
    expect(relErr(engine.weights, tfWeights)).toBeLessThan(1e-3);
  }, 120_000);

  it('predict gives the logits and MOS of the tfjs forward pass', async () => {
    const c = toniot;
    const b = 70;
    const { weights } = initWeights(c, 8);
    const data = randomData(c, b, 9);
    const idx = Int32Array.from({ length: b }, (_, i) => i);
    const model = new MultiTaskModel(c, weights);
    const x = makeBatch(data, idx, 0, b);
    const out = tf.tidy(() => model.forward(x.batch));
    const logits = out.logits.dataSync();
    const mos = out.mos.dataSync();
    tf.dispose([out.logits, out.mos, x.batch.numeric, x.batch.categorical, x.targets.label, x.targets.mos]);
    model.dispose();
    const engine = await FusedEngine.create(c, weights, 80);
    engine.loadRows(data, idx, 0, b);
    const p = engine.predict(b);
    expect(relErr(p.logits, logits)).toBeLessThan(TOL);
    expect(relErr(p.mos, mos)).toBeLessThan(TOL);
  });

  it('refuses a batch over its size, wrong weights and bad labels', async () => {
    const c = toniot;
    const { weights } = initWeights(c, 1);
    const engine = await FusedEngine.create(c, weights, 8);
    expect(() => engine.step(9, 1e-3)).toThrow(EngineError);
    expect(() => engine.setWeights(weights.subarray(1))).toThrow(EngineError);
    const data = randomData(c, 4, 1);
    data.label[2] = c.numClasses;
    expect(() => engine.loadRows(data, [0, 1, 2, 3], 0, 4)).toThrow(/label/);
    expect(ADAM.epsilon).toBe(tf.backend().epsilon());
  });
});
