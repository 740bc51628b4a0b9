/**
 * The fused WebGPU engine against the tfjs model, in one page (browser only): the loss and every
 * parameter's gradient on a random batch, a short Adam training curve from the same weights over the same
 * batches, and the GPU dispatches one training step records on each. Used by /engine-check.html and
 * e2e/webgpu-engine.spec.ts.
 *
 * Gradient agreement is norm-wise per tensor: ‖g_engine − g_tfjs‖₂ / max(‖g_tfjs‖₂, 0.01·‖G_tfjs‖₂), G being
 * the whole gradient (every tensor). The floor keeps a tensor whose gradient is a nearly cancelling sum from
 * being judged by its reference's own float32 rounding: mos_b's gradient is Σ over the batch of per-row
 * terms of ±0.2 that add up to ~1e-3, so two correct float32 sums differ there by ~1e-4 relative.
 */
// Static, so that the page's bundle holds tfjs's WebGPU backend (no chunk of its own in the precache).
import '@tensorflow/tfjs-backend-webgpu';
import { ModelTrainer } from '../../client/model-trainer.ts';
import { Rng } from '../../core/random.ts';
import { useBackend } from '../../model/backend.ts';
import { modelConfigFor } from '../../model/centralized.ts';
import { initWeights, type ModelConfig, MultiTaskModel } from '../../model/model.ts';
import { tf } from '../../model/tf.ts';
import { syntheticTrainingData } from '../../model/throughput.ts';
import { balancedClassWeights, predict, train } from '../../model/train.ts';
import { type EngineBatch, type StepOptions, WebGpuEngine } from './engine.ts';
import { dimsOf, paramLayout } from './layout.ts';
import { fusedTrainingEngine, predictFused, trainFused } from './train.ts';

export interface CheckOptions {
  seed: number;
  batch: number;
  /** tfjs backend for the reference (default cpu). */
  backend?: 'cpu' | 'webgpu';
  classWeights?: boolean;
  /** FedProx μ (the global weights are the initial ones, perturbed). */
  mu?: number;
  /** FedDyn: a random linear term. */
  linear?: boolean;
  /** The engine's per-sample workgroup size (kernels.ts SAMPLE_WG_CHOICES; default SAMPLE_WG). */
  sampleWorkgroup?: number;
}

/** A random batch: numeric N(0,1), each categorical column in its own slot range, labels, MOS in [1, 5]. */
export function randomBatch(c: ModelConfig, n: number, rng: Rng): EngineBatch {
  const { ln, lc, K } = dimsOf(c);
  const numeric = new Float32Array(n * ln).map(() => rng.normal());
  const categorical = new Int32Array(n * lc);
  for (let b = 0; b < n; b++) {
    let base = 0;
    for (let j = 0; j < lc; j++) {
      categorical[b * lc + j] = base + rng.int(c.catVocab[j]!);
      base += c.catVocab[j]!;
    }
  }
  const label = new Int32Array(n).map(() => rng.int(K));
  const mos = new Float32Array(n).map(() => 1 + 4 * rng.next());
  return { size: n, numeric, categorical, label, mos };
}

/** A batch as tfjs tensors (the caller disposes them). */
export function toTf(c: ModelConfig, x: EngineBatch) {
  const { ln, lc } = dimsOf(c);
  return {
    batch: {
      numeric: tf.tensor2d(x.numeric, [x.size, ln]),
      categorical: tf.tensor2d(x.categorical, [x.size, lc], 'int32'),
    },
    targets: { label: tf.tensor1d(x.label, 'int32'), mos: tf.tensor1d(x.mos) },
  };
}

function stepOptions(c: ModelConfig, P: number, o: CheckOptions, w0: Float32Array, rng: Rng) {
  const opts: Omit<StepOptions, 'learningRate'> = {};
  if (o.classWeights) opts.classWeights = new Float32Array(c.numClasses).map(() => 0.25 + 1.5 * rng.next());
  if (o.mu) opts.prox = { mu: o.mu, global: w0.map((v) => v + 0.05 * rng.normal()) };
  if (o.linear) opts.linear = new Float32Array(P).map(() => 0.01 * rng.normal());
  return opts;
}

/** tfjs loss options for the same terms, as tensors (caller disposes). */
function tfLossOptions(model: MultiTaskModel, opts: Omit<StepOptions, 'learningRate'>) {
  const split = (flat: Float32Array) => {
    let off = 0;
    return model.manifest.params.map((p) => {
      const size = p.shape.reduce((a, b) => a * b, 1);
      const t = tf.tensor(flat.subarray(off, off + size), p.shape);
      off += size;
      return t;
    });
  };
  return {
    classWeights: opts.classWeights ? tf.tensor1d(opts.classWeights) : undefined,
    prox: opts.prox ? { mu: opts.prox.mu, global: split(opts.prox.global) } : undefined,
    linear: opts.linear ? split(opts.linear) : undefined,
  };
}

function disposeOptions(o: ReturnType<typeof tfLossOptions>): void {
  if (o.classWeights) o.classWeights.dispose();
  if (o.prox) tf.dispose(o.prox.global);
  if (o.linear) tf.dispose(o.linear);
}

export interface GradientReport {
  params: number;
  engineLoss: number;
  tfjsLoss: number;
  lossRelError: number;
  /** Per parameter tensor: ‖Δ‖/max(‖g_tfjs‖, 0.01‖G‖), the plain ‖Δ‖/‖g_tfjs‖, and ‖g_tfjs‖. */
  tensors: { name: string; relError: number; plainRelError: number; norm: number }[];
  /** ‖G_tfjs‖: the whole reference gradient's norm. */
  gradNorm: number;
  maxRelError: number;
  tfjsBackend: string;
}

/** Loss and every gradient of the engine and of tfjs (tf.variableGrads of model.loss) on one random batch. */
export async function checkGradients(config: ModelConfig, o: CheckOptions): Promise<GradientReport> {
  await useBackend(o.backend ?? 'cpu');
  const rng = new Rng(o.seed);
  const { weights } = initWeights(config, o.seed);
  // Perturb the zero/one initialisations so that every gradient path is exercised.
  const w0 = weights.map((v) => v + 0.1 * rng.normal());
  const layout = paramLayout(config);
  const x = randomBatch(config, o.batch, rng);
  const opts = stepOptions(config, layout.total, o, w0, rng);

  const engine = await WebGpuEngine.create(config, {
    maxBatch: o.batch,
    ...(o.sampleWorkgroup ? { sampleWorkgroup: o.sampleWorkgroup } : {}),
  });
  let eng: { loss: number; grads: Float32Array };
  try {
    engine.setWeights(w0);
    eng = await engine.gradients(x, opts);
  } finally {
    engine.destroy();
  }

  const model = new MultiTaskModel(config, w0);
  const t = toTf(config, x);
  const lo = tfLossOptions(model, opts);
  try {
    const { value, grads } = tf.variableGrads(
      () => model.loss(t.batch, t.targets, lo),
      Object.values(model.params),
    );
    const tfjsLoss = (await value.data())[0]!;
    const raw: { name: string; dn: number; rn: number }[] = [];
    for (const slot of layout.slots) {
      if (slot.size === 0) continue;
      const v = model.params[slot.name]!;
      const ref = (await grads[v.name]!.data()) as Float32Array;
      let dn = 0;
      let rn = 0;
      for (let i = 0; i < slot.size; i++) {
        const r = ref[i]!;
        const dlt = eng.grads[slot.offset + i]! - r;
        dn += dlt * dlt;
        rn += r * r;
      }
      raw.push({ name: slot.name, dn: Math.sqrt(dn), rn: Math.sqrt(rn) });
    }
    const gradNorm = Math.sqrt(raw.reduce((a, r) => a + r.rn * r.rn, 0));
    const tensors = raw.map((r) => ({
      name: r.name,
      relError: r.dn / Math.max(r.rn, 0.01 * gradNorm),
      plainRelError: r.dn / r.rn,
      norm: r.rn,
    }));
    tf.dispose([value, ...Object.values(grads)]);
    return {
      params: layout.total,
      engineLoss: eng.loss,
      tfjsLoss,
      lossRelError: Math.abs(eng.loss - tfjsLoss) / Math.abs(tfjsLoss),
      tensors,
      gradNorm,
      maxRelError: Math.max(...tensors.map((r) => r.relError)),
      tfjsBackend: tf.getBackend(),
    };
  } finally {
    disposeOptions(lo);
    tf.dispose([t.batch.numeric, t.batch.categorical, t.targets.label, t.targets.mos]);
    model.dispose();
  }
}

export interface CurveOptions extends CheckOptions {
  steps: number;
  learningRate: number;
  /** Rows the batches cycle through (a small fixed dataset, so the loss can fall). */
  rows: number;
}

/** Loss after each of `steps` Adam steps, engine and tfjs, same initial weights and batches. */
export async function trainingCurves(
  config: ModelConfig,
  o: CurveOptions,
): Promise<{ engine: number[]; tfjs: number[]; tfjsBackend: string }> {
  await useBackend(o.backend ?? 'cpu');
  const rng = new Rng(o.seed);
  const { weights } = initWeights(config, o.seed);
  const P = weights.length;
  const data = randomBatch(config, o.rows, rng);
  const opts = stepOptions(config, P, o, weights, rng);
  const { ln, lc } = dimsOf(config);
  const batchAt = (s: number): EngineBatch => {
    const start = (s * o.batch) % o.rows;
    const idx = Array.from({ length: o.batch }, (_, i) => (start + i) % o.rows);
    return {
      size: o.batch,
      numeric: Float32Array.from(idx.flatMap((r) => [...data.numeric.subarray(r * ln, (r + 1) * ln)])),
      categorical: Int32Array.from(idx.flatMap((r) => [...data.categorical.subarray(r * lc, (r + 1) * lc)])),
      label: Int32Array.from(idx.map((r) => data.label[r]!)),
      mos: Float32Array.from(idx.map((r) => data.mos[r]!)),
    };
  };

  const engineLosses: number[] = [];
  const engine = await WebGpuEngine.create(config, { maxBatch: o.batch });
  try {
    engine.setWeights(weights);
    for (let s = 0; s < o.steps; s++) {
      engine.step(batchAt(s), { ...opts, learningRate: o.learningRate });
      engineLosses.push(await engine.readLoss());
    }
  } finally {
    engine.destroy();
  }

  const tfjsLosses: number[] = [];
  const model = new MultiTaskModel(config, weights);
  const optimizer = tf.train.adam(o.learningRate);
  const lo = tfLossOptions(model, opts);
  try {
    for (let s = 0; s < o.steps; s++) {
      const t = toTf(config, batchAt(s));
      const loss = optimizer.minimize(
        () => model.loss(t.batch, t.targets, lo),
        true,
        Object.values(model.params),
      )!;
      tfjsLosses.push((await loss.data())[0]!);
      tf.dispose([loss, t.batch.numeric, t.batch.categorical, t.targets.label, t.targets.mos]);
    }
  } finally {
    optimizer.dispose();
    disposeOptions(lo);
    model.dispose();
  }
  return { engine: engineLosses, tfjs: tfjsLosses, tfjsBackend: tf.getBackend() };
}

/**
 * GPU dispatches (GPUComputePassEncoder.dispatchWorkgroups calls) of one training step: tfjs on its
 * WebGPU backend (optimizer.minimize of model.loss, after one warm-up step) and the engine. The model is
 * the TON_IoT-sized default (synthetic rows, `modelConfigFor`) unless a config is given.
 */
export async function countDispatches(o: {
  batch: number;
  seed: number;
  config?: ModelConfig;
}): Promise<{ tfjs: number; engine: number; config: ModelConfig; params: number }> {
  const config = o.config ?? modelConfigFor((await syntheticTrainingData('toniot', 64, o.seed)).pre);
  const proto = GPUComputePassEncoder.prototype;
  const original = proto.dispatchWorkgroups;
  let count = 0;
  proto.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...args) {
    count++;
    return original.apply(this, args);
  };
  try {
    const rng = new Rng(o.seed);
    const { weights } = initWeights(config, o.seed);
    const x = randomBatch(config, o.batch, rng);

    await useBackend('webgpu');
    const model = new MultiTaskModel(config, weights);
    const optimizer = tf.train.adam(1e-3);
    const t = toTf(config, x);
    const tfStep = async () => {
      const loss = optimizer.minimize(
        () => model.loss(t.batch, t.targets),
        true,
        Object.values(model.params),
      )!;
      await loss.data();
      loss.dispose();
    };
    let tfjs: number;
    try {
      await tfStep(); // warm-up: creates Adam's slots
      count = 0;
      await tfStep();
      tfjs = count;
    } finally {
      optimizer.dispose();
      tf.dispose([t.batch.numeric, t.batch.categorical, t.targets.label, t.targets.mos]);
      model.dispose();
    }

    const engine = await WebGpuEngine.create(config, { maxBatch: o.batch });
    let engineCount: number;
    try {
      engine.setWeights(weights);
      engine.step(x, { learningRate: 1e-3 });
      await engine.readLoss();
      count = 0;
      engine.step(x, { learningRate: 1e-3 });
      await engine.readLoss();
      engineCount = count;
    } finally {
      engine.destroy();
    }
    return { tfjs, engine: engineCount, config, params: weights.length };
  } finally {
    proto.dispatchWorkgroups = original;
  }
}

/**
 * `trainFused` against tfjs's `train` on synthetic TON_IoT rows with the default model (same seed, batch
 * order, cosine schedule and class weights), then `predictFused` against `predict` with the engine's
 * trained weights copied into the tfjs model.
 */
export async function compareTrainLoop(o: {
  rows: number;
  steps: number;
  batch: number;
  seed: number;
  learningRate: number;
}): Promise<{
  engine: number[];
  tfjs: number[];
  params: number;
  predict: { lossEngine: number; lossTfjs: number; classAgreement: number; maxMosGap: number };
}> {
  await useBackend('cpu');
  const { pre, data } = await syntheticTrainingData('toniot', o.rows, o.seed);
  const config = modelConfigFor(pre);
  const { weights } = initWeights(config, o.seed);
  const opts = {
    epochs: Math.ceil((o.steps * o.batch) / data.n),
    maxSteps: o.steps,
    batchSize: o.batch,
    learningRate: o.learningRate,
    finalLearningRateFraction: 0.1,
    seed: o.seed,
    readEvery: 1,
    classWeights: balancedClassWeights(data.label, config.numClasses),
  };
  const engine = await WebGpuEngine.create(config, { maxBatch: o.batch });
  const model = new MultiTaskModel(config, weights);
  try {
    engine.setWeights(weights);
    const e = await trainFused(engine, data, opts);
    const t = await train(model, data, opts);
    model.setWeights(await engine.getWeights());
    const pe = await predictFused(engine, data);
    const pt = await predict(model, data);
    let agree = 0;
    let mosGap = 0;
    for (let i = 0; i < data.n; i++) {
      if (pe.classes[i] === pt.classes[i]) agree++;
      mosGap = Math.max(mosGap, Math.abs(pe.mos[i]! - pt.mos[i]!));
    }
    return {
      engine: e.losses,
      tfjs: t.losses,
      params: weights.length,
      predict: {
        lossEngine: pe.loss,
        lossTfjs: pt.loss,
        classAgreement: agree / data.n,
        maxMosGap: mosGap,
      },
    };
  } finally {
    engine.destroy();
    model.dispose();
  }
}

/**
 * The federated client's local training (`ModelTrainer.fit`) on tfjs and on the fused engine: the same
 * FedDyn + FedProx rounds from the same global weights, on synthetic TON_IoT rows with the default model.
 * The second round asks for a larger batch than the engine was built for (it rebuilds, weights kept).
 *
 * The key bias (attn_qkv_b[d, 2d)) is left out of the delta comparison: its gradient is exactly 0 in exact
 * arithmetic (adding q·b_k to every score of a row leaves its softmax unchanged), so both engines compute
 * float32 noise there (~1e-9) and Adam turns that noise into steps of ~lr·|g|/(|g| + ε), different on each.
 */
export async function compareClientFit(o: { rows: number; seed: number }): Promise<{
  rounds: {
    /** ‖Δ_engine − Δ_tfjs‖/‖Δ_tfjs‖ over every weight but the key bias. */
    deltaRelError: number;
    deltaNorm: number;
    lossTfjs: number;
    lossEngine: number;
    /** The three parameter tensors whose deltas differ most (relative, norm-wise). */
    worst: { name: string; rel: number; norm: number }[];
  }[];
  dynStateRelError: number;
}> {
  await useBackend('cpu');
  const { pre, data } = await syntheticTrainingData('toniot', o.rows, o.seed);
  const config = modelConfigFor(pre);
  let global = initWeights(config, o.seed).weights;
  const kb = paramLayout(config).byName.get('attn_qkv_b')!.offset + config.dModel;
  /** A copy without the key bias. */
  const noKeyBias = (x: Float32Array) => {
    const out = new Float32Array(x.length - config.dModel);
    out.set(x.subarray(0, kb));
    out.set(x.subarray(kb + config.dModel), kb);
    return out;
  };
  const experiment = {
    dataset: 'toniot',
    strategy: 'feddyn',
    rounds: 2,
    model: config as unknown as Record<string, unknown>,
    preprocessor: {},
    modelSize: global.length,
  };
  const tfjs = new ModelTrainer(data, 'cpu');
  const fused = new ModelTrainer(data, 'webgpu', undefined, (c) => fusedTrainingEngine(c, 16));
  const rel = (a: Float32Array, b: Float32Array) => {
    let dn = 0;
    let bn = 0;
    for (let i = 0; i < a.length; i++) {
      dn += (a[i]! - b[i]!) ** 2;
      bn += b[i]! ** 2;
    }
    return { rel: Math.sqrt(dn / bn), norm: Math.sqrt(bn) };
  };
  try {
    await tfjs.prepare(experiment);
    await fused.prepare(experiment);
    const rounds = [];
    for (const [round, batchSize] of [
      [1, 16],
      [2, 24],
    ] as const) {
      const fit = {
        epochs: 1,
        batchSize,
        learningRate: 3e-3,
        proxMu: 0.01,
        dynAlpha: 0.1,
        seed: o.seed + round,
      };
      const t = await tfjs.fit(global, fit, round);
      const e = await fused.fit(global, fit, round);
      const r = rel(noKeyBias(e.delta), noKeyBias(t.delta));
      const worst = paramLayout(config)
        .slots.filter((sl) => sl.size > 0)
        .map((sl) => {
          const x = rel(
            e.delta.subarray(sl.offset, sl.offset + sl.size),
            t.delta.subarray(sl.offset, sl.offset + sl.size),
          );
          return { name: sl.name, rel: x.rel, norm: x.norm };
        })
        .sort((a, b) => b.rel - a.rel)
        .slice(0, 3);
      rounds.push({
        worst,
        deltaRelError: r.rel,
        deltaNorm: r.norm,
        lossTfjs: t.metrics.loss,
        lossEngine: e.metrics.loss,
      });
      global = global.map((w, i) => w + t.delta[i]!);
    }
    return {
      rounds,
      dynStateRelError: rel(noKeyBias(fused.dynState()!), noKeyBias(tfjs.dynState()!)).rel,
    };
  } finally {
    tfjs.dispose();
    fused.dispose();
  }
}
