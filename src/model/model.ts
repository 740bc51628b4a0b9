/**
 * The PQFed multi-task model: intrusion class + QoE MOS from one network-flow record.
 *
 *   tokens   each numeric feature i → x_i · v_i + b_i; each categorical feature → its one-hot row of a shared
 *            embedding table (one oneHot + one matMul for all columns). Features form a sequence of L tokens.
 *   stem     `convLayers` × residual Conv1D(k=3, same padding) + ReLU, written as im2col: pad, 3 slices,
 *            concat, one matMul. tfjs's WASM backend has no Conv2DBackpropFilter and no StridedSlice
 *            gradient; pad/slice/concat/matMul have gradients on every backend.
 *   encoder  one pre-LN transformer block (Vaswani et al. 2017): multi-head self-attention and a ReLU
 *            feed-forward, each with a residual.
 *   pool     mean over tokens, layer norm.
 *   heads    intrusion logits (softmax cross-entropy, optional class weights) and MOS = 1 + 4·sigmoid(·),
 *            in [1, 5] (mean squared error). Loss = CE + mosWeight · MSE.
 *
 * The model is functional: its parameters are tfjs variables built from one flat Float32Array plus a shape
 * manifest (weights.ts), so the same definition serves the browser, the worker, Node and the aggregator's
 * wire format. Initialisation is seeded and computed in JavaScript, so it is identical on every backend.
 */
import { LIMITS } from '../core/limits.ts';
import { Rng } from '../core/random.ts';
import { mm, swapLastAxes } from './matmul.ts';
import { tf } from './tf.ts';
import { flatten, type ParamSpec, type WeightManifest } from './weights.ts';

export interface ModelConfig {
  /** Numeric input features. */
  numNumeric: number;
  /** Slots of each categorical feature (its vocabulary size, "other" included). */
  catVocab: number[];
  numClasses: number;
  dModel: number;
  heads: number;
  ffDim: number;
  convLayers: number;
  /** Weight of the MOS loss in the joint loss. */
  mosWeight: number;
}

export const DEFAULT_MODEL = { dModel: 32, heads: 2, ffDim: 64, convLayers: 2, mosWeight: 0.5 } as const;

export class ModelConfigError extends Error {
  override name = 'ModelConfigError';
}

export function checkConfig(c: ModelConfig): void {
  const ints: (keyof ModelConfig)[] = ['numNumeric', 'numClasses', 'dModel', 'heads', 'ffDim', 'convLayers'];
  for (const k of ints) {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v < 0)
      throw new ModelConfigError(`model config: ${k} must be an integer ≥ 0, got ${v}`);
  }
  if (c.numClasses < 2)
    throw new ModelConfigError(`model config: numClasses must be ≥ 2, got ${c.numClasses}`);
  if (c.numNumeric + c.catVocab.length === 0)
    throw new ModelConfigError('model config: the model needs ≥ 1 feature');
  if (c.dModel % c.heads !== 0) {
    throw new ModelConfigError(`model config: dModel (${c.dModel}) must be divisible by heads (${c.heads})`);
  }
  if (c.catVocab.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new ModelConfigError(
      `model config: every catVocab entry must be an integer ≥ 1, got ${c.catVocab}`,
    );
  }
  // Upper bound on the parameter count (embeddings, conv, attention, feed-forward) against the global limit.
  const d = c.dModel;
  const vocab = c.catVocab.reduce((a, b) => a + b, 0);
  const approxParams =
    2 * c.numNumeric * d +
    (vocab + c.catVocab.length) * d +
    c.convLayers * 3 * d * d +
    4 * d * d +
    2 * d * c.ffDim;
  if (approxParams > LIMITS.maxModelParams) {
    throw new ModelConfigError(
      `model config: about ${approxParams} parameters, above the limit of ${LIMITS.maxModelParams}`,
    );
  }
}

/** The parameter list, in wire order, with its initialiser. */
export function paramSpecs(c: ModelConfig): ParamSpec[] {
  checkConfig(c);
  const d = c.dModel;
  const vocab = c.catVocab.reduce((a, b) => a + b, 0);
  const specs: ParamSpec[] = [
    { name: 'num_scale', shape: [c.numNumeric, d], init: 'normal', std: 1 / Math.sqrt(d) },
    { name: 'num_bias', shape: [c.numNumeric, d], init: 'normal', std: 0.02 },
    { name: 'cat_embed', shape: [vocab, d], init: 'normal', std: 1 / Math.sqrt(d) },
    { name: 'cat_pos', shape: [c.catVocab.length, d], init: 'normal', std: 0.02 },
  ];
  for (let i = 0; i < c.convLayers; i++) {
    specs.push({ name: `conv${i}_w`, shape: [3 * d, d], init: 'glorot' });
    specs.push({ name: `conv${i}_b`, shape: [d], init: 'zeros' });
  }
  specs.push(
    { name: 'ln1_g', shape: [d], init: 'ones' },
    { name: 'ln1_b', shape: [d], init: 'zeros' },
    { name: 'attn_qkv_w', shape: [d, 3 * d], init: 'glorot' },
    { name: 'attn_qkv_b', shape: [3 * d], init: 'zeros' },
    { name: 'attn_out_w', shape: [d, d], init: 'glorot' },
    { name: 'attn_out_b', shape: [d], init: 'zeros' },
    { name: 'ln2_g', shape: [d], init: 'ones' },
    { name: 'ln2_b', shape: [d], init: 'zeros' },
    { name: 'ff1_w', shape: [d, c.ffDim], init: 'glorot' },
    { name: 'ff1_b', shape: [c.ffDim], init: 'zeros' },
    { name: 'ff2_w', shape: [c.ffDim, d], init: 'glorot' },
    { name: 'ff2_b', shape: [d], init: 'zeros' },
    { name: 'lnf_g', shape: [d], init: 'ones' },
    { name: 'lnf_b', shape: [d], init: 'zeros' },
    { name: 'cls_w', shape: [d, c.numClasses], init: 'glorot' },
    { name: 'cls_b', shape: [c.numClasses], init: 'zeros' },
    { name: 'mos_w', shape: [d, 1], init: 'glorot' },
    { name: 'mos_b', shape: [1], init: 'zeros' },
  );
  return specs;
}

/** Seeded initial weights as one flat vector plus manifest. */
export function initWeights(
  c: ModelConfig,
  seed: number,
): { weights: Float32Array; manifest: WeightManifest } {
  const rng = new Rng(seed);
  const tensors = paramSpecs(c).map((p) => {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(size);
    if (p.init === 'ones') v.fill(1);
    else if (p.init === 'normal') for (let i = 0; i < size; i++) v[i] = rng.normal() * (p.std ?? 0.02);
    else if (p.init === 'glorot') {
      const [fanIn = 1, fanOut = 1] = p.shape;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < size; i++) v[i] = (rng.next() * 2 - 1) * limit;
    }
    return { name: p.name, shape: p.shape, values: v };
  });
  return flatten(tensors);
}

export interface Batch {
  /** [B, numNumeric] */
  numeric: tf.Tensor2D;
  /** [B, numCat] int32, indices into the shared vocabulary. */
  categorical: tf.Tensor2D;
}

export interface Targets {
  /** [B] int32 class indices. */
  label: tf.Tensor1D;
  /** [B] MOS targets. */
  mos: tf.Tensor1D;
}

type Params = Record<string, tf.Variable>;

function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return x
    .sub(mean)
    .mul(tf.rsqrt(variance.add(1e-5)))
    .mul(g)
    .add(b);
}

/** The multi-task network. Holds its parameters as tfjs variables; call `dispose()` when done. */
export class MultiTaskModel {
  readonly params: Params;
  readonly manifest: WeightManifest;
  private readonly vocab: number;

  constructor(
    readonly config: ModelConfig,
    weights: Float32Array,
    manifest?: WeightManifest,
  ) {
    checkConfig(config);
    const specs = paramSpecs(config);
    this.manifest = manifest ?? { params: specs.map((s) => ({ name: s.name, shape: s.shape })) };
    const expected = specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
    if (weights.length !== expected) {
      throw new ModelConfigError(
        `model weights: expected ${expected} values for this config, got ${weights.length}`,
      );
    }
    this.vocab = config.catVocab.reduce((a, b) => a + b, 0);
    this.params = {};
    let off = 0;
    for (const s of specs) {
      const size = s.shape.reduce((a, b) => a * b, 1);
      // tf.variable copies its initial value: dispose the source tensor, or every model leaks one per weight.
      const initial = tf.tensor(weights.subarray(off, off + size), s.shape);
      this.params[s.name] = tf.variable(initial, true, undefined);
      initial.dispose();
      off += size;
    }
  }

  private mask: tf.Tensor2D | undefined;

  /** Additive mask [L·H, L·H]: 0 where query and key belong to the same head, −1e9 elsewhere. Kept. */
  private headMask(L: number, H: number): tf.Tensor2D {
    if (!this.mask) {
      const n = L * H;
      const m = new Float32Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[i * n + j] = i % H === j % H ? 0 : -1e9;
      this.mask = tf.keep(tf.tensor2d(m, [n, n]));
    }
    return this.mask;
  }

  get numParams(): number {
    return Object.values(this.params).reduce((a, v) => a + v.size, 0);
  }

  /**
   * Each categorical column's embedding row [B, Lc, d] (the shared table's row for the column's slot,
   * before the column's position vector is added). Call inside tf.tidy.
   */
  categoricalEmbeddings(categorical: tf.Tensor2D): tf.Tensor3D {
    const B = categorical.shape[0];
    const lc = this.config.catVocab.length;
    const oh = tf.oneHot(categorical.reshape([B * lc]), this.vocab).cast('float32'); // [B·Lc, V]
    return mm(oh as tf.Tensor2D, this.params.cat_embed! as tf.Tensor2D).reshape([
      B,
      lc,
      this.config.dModel,
    ]) as tf.Tensor3D;
  }

  /** Pooled representation [B, d]. `catEmbeddings` replaces the table lookup (explain.ts differentiates
   * through it). Call inside tf.tidy. */
  private encode(batch: Batch, catEmbeddings?: tf.Tensor3D): tf.Tensor2D {
    const p = this.params;
    const c = this.config;
    const d = c.dModel;
    const B = batch.numeric.shape[0] || batch.categorical.shape[0];
    const tokens: tf.Tensor[] = [];
    if (c.numNumeric > 0) {
      tokens.push(batch.numeric.expandDims(2).mul(p.num_scale!).add(p.num_bias!)); // [B, Ln, d]
    }
    const lc = c.catVocab.length;
    if (lc > 0) {
      tokens.push((catEmbeddings ?? this.categoricalEmbeddings(batch.categorical)).add(p.cat_pos!));
    }
    let h = tokens.length === 1 ? tokens[0]! : tf.concat(tokens, 1); // [B, L, d]
    const L = c.numNumeric + lc;
    for (let i = 0; i < c.convLayers; i++) {
      const padded = tf.pad(h, [
        [0, 0],
        [1, 1],
        [0, 0],
      ]);
      const cols = tf.concat(
        [0, 1, 2].map((k) => padded.slice([0, k, 0], [B, L, d])),
        2,
      ); // [B, L, 3d]
      const conv = mm(cols.reshape([B * L, 3 * d]) as tf.Tensor2D, p[`conv${i}_w`]! as tf.Tensor2D)
        .add(p[`conv${i}_b`]!)
        .relu()
        .reshape([B, L, d]);
      h = h.add(conv);
    }
    // Multi-head self-attention without transposes: heads are interleaved along the token axis
    // ([B, L, H, dh] read as [B, L·H, dh]) and a block mask keeps each head to its own keys. On wasm this
    // is ~1.8× faster than the textbook [B·H, L, dh] layout, whose 5-D transposes dominated the profile.
    const H = c.heads;
    const dh = d / H;
    const a = layerNorm(h, p.ln1_g!, p.ln1_b!).reshape([B * L, d]);
    const qkv = mm(a as tf.Tensor2D, p.attn_qkv_w! as tf.Tensor2D).add(p.attn_qkv_b!); // [B·L, 3d]
    const part = (i: number) => qkv.slice([0, i * d], [B * L, d]).reshape([B, L * H, dh]);
    const q = part(0) as tf.Tensor3D;
    const kT = swapLastAxes(part(1)) as tf.Tensor3D;
    let scores = mm(q, kT).mul(1 / Math.sqrt(dh)); // [B, L·H, L·H]
    if (H > 1) scores = scores.add(this.headMask(L, H));
    const ctx = mm(tf.softmax(scores) as tf.Tensor3D, part(2) as tf.Tensor3D).reshape([B * L, d]);
    h = h.add(
      mm(ctx as tf.Tensor2D, p.attn_out_w! as tf.Tensor2D)
        .add(p.attn_out_b!)
        .reshape([B, L, d]),
    );
    // feed-forward
    const a2 = layerNorm(h, p.ln2_g!, p.ln2_b!).reshape([B * L, d]) as tf.Tensor2D;
    const f1 = mm(a2, p.ff1_w! as tf.Tensor2D)
      .add(p.ff1_b!)
      .relu() as tf.Tensor2D;
    const f = mm(f1, p.ff2_w! as tf.Tensor2D).add(p.ff2_b!);
    h = h.add(f.reshape([B, L, d]));
    return layerNorm(h.mean(1), p.lnf_g!, p.lnf_b!) as tf.Tensor2D;
  }

  /**
   * Class logits [B, K] and MOS [B]. `catEmbeddings` [B, Lc, d], when given, stands in for the
   * categorical columns' embedding rows (see `categoricalEmbeddings`). Call inside tf.tidy.
   */
  forward(batch: Batch, catEmbeddings?: tf.Tensor3D): { logits: tf.Tensor2D; mos: tf.Tensor1D } {
    const p = this.params;
    const z = this.encode(batch, catEmbeddings);
    const logits = mm(z, p.cls_w! as tf.Tensor2D).add(p.cls_b!) as tf.Tensor2D;
    const mos = mm(z, p.mos_w! as tf.Tensor2D)
      .add(p.mos_b!)
      .sigmoid()
      .mul(4)
      .add(1)
      .reshape([-1]) as tf.Tensor1D;
    return { logits, mos };
  }

  /**
   * Joint loss (scalar). `classWeights` [K] rescales each row's cross-entropy by its class's weight and
   * normalises by the batch's total weight. `prox` adds FedProx's (μ/2)·‖w − w_global‖² (Li et al. 2020);
   * `linear` (one tensor per parameter, manifest order) adds FedDyn's −⟨g, w⟩ (Acar et al. 2021).
   */
  loss(
    batch: Batch,
    targets: Targets,
    opts: {
      classWeights?: tf.Tensor1D;
      prox?: { mu: number; global: tf.Tensor[] };
      linear?: tf.Tensor[];
    } = {},
  ): tf.Scalar {
    const { logits, mos } = this.forward(batch);
    const oh = tf.oneHot(targets.label, this.config.numClasses).cast('float32');
    const logp = tf.logSoftmax(logits);
    const ce = oh.mul(logp).sum(1).neg(); // [B]
    let clsLoss: tf.Scalar;
    if (opts.classWeights) {
      const w = oh.mul(opts.classWeights).sum(1);
      clsLoss = ce.mul(w).sum().div(w.sum()) as tf.Scalar;
    } else clsLoss = ce.mean() as tf.Scalar;
    const mse = mos.sub(targets.mos).square().mean();
    let total = clsLoss.add(mse.mul(this.config.mosWeight)) as tf.Scalar;
    if (opts.prox && opts.prox.mu > 0) {
      const vars = Object.values(this.params);
      const sq = vars.map((v, i) => v.sub(opts.prox!.global[i]!).square().sum());
      total = total.add(tf.addN(sq).mul(opts.prox.mu / 2)) as tf.Scalar;
    }
    if (opts.linear) {
      const vars = Object.values(this.params);
      const dots = vars.map((v, i) => v.mul(opts.linear![i]!).sum());
      total = total.sub(tf.addN(dots)) as tf.Scalar;
    }
    return total;
  }

  /** Current weights as one flat vector (manifest order). */
  async getWeights(): Promise<Float32Array> {
    const parts = await Promise.all(
      this.manifest.params.map((s) => this.params[s.name]!.data() as Promise<Float32Array>),
    );
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let off = 0;
    for (const part of parts) {
      out.set(part, off);
      off += part.length;
    }
    return out;
  }

  /** Replaces the weights (same config); throws on a length mismatch or a non-finite value. */
  setWeights(weights: Float32Array): void {
    let off = 0;
    for (const s of this.manifest.params) off += s.shape.reduce((a, b) => a * b, 1);
    if (weights.length !== off) {
      throw new ModelConfigError(`setWeights: expected ${off} values, got ${weights.length}`);
    }
    for (let i = 0; i < weights.length; i++) {
      if (!Number.isFinite(weights[i]!)) throw new ModelConfigError(`setWeights: value ${i} is not finite`);
    }
    off = 0;
    for (const s of this.manifest.params) {
      const size = s.shape.reduce((a, b) => a * b, 1);
      const v = this.params[s.name]!;
      tf.tidy(() => v.assign(tf.tensor(weights.subarray(off, off + size), s.shape)));
      off += size;
    }
  }

  dispose(): void {
    for (const v of Object.values(this.params)) v.dispose();
    this.mask?.dispose();
  }
}
