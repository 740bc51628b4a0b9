/**
 * The fused WASM training engine: one call runs a whole training step of the PQFed model (forward, loss,
 * hand-derived backward, Adam) in one WebAssembly module with SIMD (src/engine/wasm/assembly/index.ts,
 * built by `npm run build:engine`). See docs/fused-engine.md for the memory layout, the kernels and the
 * derivation.
 *
 * The weights live in the module's memory in paramSpecs' order (src/model/model.ts), so `weights` is the
 * same flat vector `initWeights` and the wire format use. Inputs go straight into the module's memory
 * (`loadRows` or the `inputs` views): a step allocates nothing in JavaScript.
 *
 * Parity with the tfjs model (loss, every gradient, 200-step Adam curves) is tested in wasm-engine.test.ts.
 */
import type { EncodedData } from '../data/features.ts';
import { checkConfig, type ModelConfig, paramSpecs } from '../model/model.ts';

/** tf.train.adam's defaults (β1, β2; ε is the float32 backend's epsilon()). */
export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } as const;

export class EngineError extends Error {
  override name = 'EngineError';
}

interface Exports {
  memory: WebAssembly.Memory;
  init(
    numNumeric: number,
    numCat: number,
    vocab: number,
    dModel: number,
    heads: number,
    ffDim: number,
    numClasses: number,
    convLayers: number,
    maxBatch: number,
    mosWeight: number,
  ): number;
  paramCount(): number;
  weightsPtr(): number;
  gradsPtr(): number;
  adamMPtr(): number;
  adamVPtr(): number;
  globalPtr(): number;
  linearPtr(): number;
  classWeightsPtr(): number;
  numericPtr(): number;
  categoricalPtr(): number;
  labelPtr(): number;
  mosTargetPtr(): number;
  logitsPtr(): number;
  mosPtr(): number;
  lastClassLoss(): number;
  setProfile(on: number): void;
  profileTime(section: number): number;
  lastMosLoss(): number;
  resetAdam(beta1: number, beta2: number): void;
  predict(batch: number): void;
  lossAndGrads(batch: number, useClassWeights: number, mu: number, useLinear: number): number;
  partialGrads(batch: number, useClassWeights: number, invW: number, invB: number): number;
  partialMse(): number;
  finishLoss(
    ceSum: number,
    mseSum: number,
    invW: number,
    invB: number,
    mu: number,
    useLinear: number,
  ): number;
  adam(
    lr: number,
    beta1: number,
    beta2: number,
    oneMinusBeta1: number,
    oneMinusBeta2: number,
    eps: number,
  ): void;
  step(
    batch: number,
    useClassWeights: number,
    mu: number,
    useLinear: number,
    lr: number,
    beta1: number,
    beta2: number,
    oneMinusBeta1: number,
    oneMinusBeta2: number,
    eps: number,
  ): number;
}

/** The sections `profile()` times (the step's order); "X back" is X's backward pass. */
export const PROFILE_SECTIONS = [
  'tokens',
  'conv',
  'attention',
  'attention out',
  'feed-forward',
  'pool, heads',
  'loss, heads back, pool back',
  'feed-forward back',
  'attention back',
  'qkv back, ln1 back',
  'conv back',
  'tokens back',
  'prox, linear',
  'adam',
] as const;

let compiled: Promise<WebAssembly.Module> | undefined;

/**
 * The compiled engine module, compiled once per thread. By default it is src/engine/wasm/build/engine.wasm:
 * read from disk in Node, fetched in a browser (vite emits it as an asset for the `new URL(…,
 * import.meta.url)` below). `source` overrides it (bytes or a fetch Response).
 */
export function compileEngine(
  source?: BufferSource | Response | Promise<Response>,
): Promise<WebAssembly.Module> {
  if (source !== undefined) {
    compiled = (async () => {
      const s = await source;
      if (s instanceof Response) return WebAssembly.compile(await s.arrayBuffer());
      return WebAssembly.compile(s);
    })();
    return compiled;
  }
  compiled ??= compileEngineAt(ENGINE_WASM_URL);
  // a failed compile is not cached: the next call tries again
  compiled.catch(() => {
    compiled = undefined;
  });
  return compiled;
}

/** Where `npm run build:engine` writes the engine module (vite emits it as an asset from this URL). */
export const ENGINE_WASM_URL = new URL('./wasm/build/engine.wasm', import.meta.url);

/**
 * Compiles the engine module at `url`: read from disk in Node, fetched in a browser. Not cached (see
 * compileEngine); an EngineError says what is missing and how to build it.
 */
export function compileEngineAt(url: URL): Promise<WebAssembly.Module> {
  return (async () => {
    if (typeof process === 'undefined' || !process.versions?.node) {
      const res = await fetch(url);
      if (!res.ok) throw new EngineError(`fused engine: fetching ${url} gave HTTP ${res.status}`);
      return WebAssembly.compile(await res.arrayBuffer());
    }
    // A computed specifier: bundlers leave it alone (the browser never takes this branch).
    const fsModule = 'node:fs/promises';
    const { readFile } = (await import(/* @vite-ignore */ fsModule)) as typeof import('node:fs/promises');
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = await readFile(url);
    } catch (e) {
      throw new EngineError(
        `fused engine: ${url.pathname} is missing (${(e as Error).message}); run \`npm run build:engine\``,
      );
    }
    try {
      return await WebAssembly.compile(bytes);
    } catch (e) {
      throw new EngineError(
        `fused engine: ${url.pathname} is not a valid engine module (${(e as Error).message}); run \`npm run build:engine\``,
      );
    }
  })();
}

export interface EngineBatchViews {
  /** [maxBatch, numNumeric] */
  numeric: Float32Array;
  /** [maxBatch, numCat], indices into the shared vocabulary (as EncodedData.categorical) */
  categorical: Int32Array;
  label: Int32Array;
  mos: Float32Array;
}

export interface EngineStepOptions {
  /** Per-class loss weights (length numClasses), as in model.loss. */
  classWeights?: Float32Array;
  /** FedProx: μ and the global weights (flat, manifest order). */
  prox?: { mu: number; global: Float32Array };
  /** FedDyn: g_k (flat, manifest order); the loss gains −⟨g_k, w⟩. */
  linear?: Float32Array;
}

/** One model in one WebAssembly instance, sized for batches of up to `maxBatch` rows. */
export class FusedEngine {
  /** The weights, in the module's memory (a live view: copy before keeping). */
  readonly weights: Float32Array;
  /** The gradients of the last `lossAndGrads`/`step` (a live view). */
  readonly grads: Float32Array;
  /** Where a batch's rows go (live views; `loadRows` fills them). */
  readonly inputs: EngineBatchViews;
  readonly numParams: number;
  private readonly x: Exports;
  private readonly classWeightsView: Float32Array;
  private readonly globalView: Float32Array;
  private readonly linearView: Float32Array;
  private readonly logitsView: Float32Array;
  private readonly mosView: Float32Array;
  private useClassWeights = 0;
  private mu = 0;
  private useLinear = 0;

  private constructor(
    readonly config: ModelConfig,
    readonly maxBatch: number,
    instance: WebAssembly.Instance,
  ) {
    this.x = instance.exports as unknown as Exports;
    const c = config;
    const vocab = c.catVocab.reduce((a, b) => a + b, 0);
    const top = this.x.init(
      c.numNumeric,
      c.catVocab.length,
      vocab,
      c.dModel,
      c.heads,
      c.ffDim,
      c.numClasses,
      c.convLayers,
      maxBatch,
      c.mosWeight,
    );
    if (top < 0) throw new EngineError(`fused engine: could not grow memory for batch ${maxBatch}`);
    const expected = paramSpecs(c).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
    this.numParams = this.x.paramCount();
    if (this.numParams !== expected) {
      throw new EngineError(
        `fused engine: module lays out ${this.numParams} parameters, the model has ${expected}`,
      );
    }
    const buf = this.x.memory.buffer;
    const f32 = (ptr: number, n: number) => new Float32Array(buf, ptr, n);
    const i32 = (ptr: number, n: number) => new Int32Array(buf, ptr, n);
    const P = this.numParams;
    this.weights = f32(this.x.weightsPtr(), P);
    this.grads = f32(this.x.gradsPtr(), P);
    this.globalView = f32(this.x.globalPtr(), P);
    this.linearView = f32(this.x.linearPtr(), P);
    this.classWeightsView = f32(this.x.classWeightsPtr(), c.numClasses);
    this.logitsView = f32(this.x.logitsPtr(), maxBatch * c.numClasses);
    this.mosView = f32(this.x.mosPtr(), maxBatch);
    this.inputs = {
      numeric: f32(this.x.numericPtr(), maxBatch * c.numNumeric),
      categorical: i32(this.x.categoricalPtr(), maxBatch * c.catVocab.length),
      label: i32(this.x.labelPtr(), maxBatch),
      mos: f32(this.x.mosTargetPtr(), maxBatch),
    };
  }

  /** A new engine for `config` holding `weights` (flat, manifest order), Adam state zeroed. */
  static async create(config: ModelConfig, weights: Float32Array, maxBatch: number): Promise<FusedEngine> {
    checkConfig(config);
    if (!(Number.isInteger(maxBatch) && maxBatch >= 1)) {
      throw new EngineError(`fused engine: maxBatch must be a positive integer, got ${maxBatch}`);
    }
    const instance = await WebAssembly.instantiate(await compileEngine(), {
      env: {
        abort: () => {
          throw new EngineError('fused engine: the module aborted');
        },
        now: () => performance.now(),
      },
    });
    const engine = new FusedEngine(config, maxBatch, instance);
    engine.setWeights(weights);
    return engine;
  }

  setWeights(weights: Float32Array): void {
    if (weights.length !== this.numParams) {
      throw new EngineError(`fused engine: expected ${this.numParams} weights, got ${weights.length}`);
    }
    this.weights.set(weights);
  }

  /** A copy of the weights. */
  getWeights(): Float32Array {
    return this.weights.slice();
  }

  /** Zeroes Adam's moments and its step count (a new optimizer, as tf.train.adam per round). */
  resetOptimizer(): void {
    this.x.resetAdam(ADAM.beta1, ADAM.beta2);
  }

  /** Sets the loss's class weights, FedProx and FedDyn terms for the following steps (copied once). */
  setLossOptions(opts: EngineStepOptions): void {
    const P = this.numParams;
    if (opts.classWeights) {
      if (opts.classWeights.length !== this.config.numClasses) {
        throw new EngineError(
          `fused engine: classWeights needs ${this.config.numClasses} values, got ${opts.classWeights.length}`,
        );
      }
      this.classWeightsView.set(opts.classWeights);
    }
    this.useClassWeights = opts.classWeights ? 1 : 0;
    if (opts.prox && opts.prox.mu > 0) {
      if (opts.prox.global.length !== P) {
        throw new EngineError(`fused engine: prox.global needs ${P} values, got ${opts.prox.global.length}`);
      }
      this.globalView.set(opts.prox.global);
      this.mu = opts.prox.mu;
    } else this.mu = 0;
    if (opts.linear) {
      if (opts.linear.length !== P) {
        throw new EngineError(`fused engine: linear needs ${P} values, got ${opts.linear.length}`);
      }
      this.linearView.set(opts.linear);
    }
    this.useLinear = opts.linear ? 1 : 0;
  }

  /** Copies rows `idx[start..end)` of `data` into the input views; returns the row count. */
  loadRows(data: EncodedData, idx: ArrayLike<number>, start: number, end: number): number {
    const b = end - start;
    if (!(b >= 1 && b <= this.maxBatch)) {
      throw new EngineError(`fused engine: batch of ${b} rows, the engine takes 1..${this.maxBatch}`);
    }
    const ln = this.config.numNumeric;
    const lc = this.config.catVocab.length;
    const k = this.config.numClasses;
    const { numeric, categorical, label, mos } = this.inputs;
    const srcNum = data.numeric;
    const srcCat = data.categorical;
    // plain loops, no subarray views: a step allocates nothing
    for (let i = 0; i < b; i++) {
      const r = idx[start + i]!;
      for (let j = 0; j < ln; j++) numeric[i * ln + j] = srcNum[r * ln + j]!;
      for (let j = 0; j < lc; j++) categorical[i * lc + j] = srcCat[r * lc + j]!;
      const y = data.label[r]!;
      if (!(y >= 0 && y < k))
        throw new EngineError(`fused engine: row ${r} has label ${y}, expected 0..${k - 1}`);
      label[i] = y;
      mos[i] = data.mos[r]!;
    }
    return b;
  }

  private checkBatch(b: number): void {
    if (!(Number.isInteger(b) && b >= 1 && b <= this.maxBatch)) {
      throw new EngineError(`fused engine: batch of ${b} rows, the engine takes 1..${this.maxBatch}`);
    }
  }

  /** Loss of the `b` rows in `inputs` and every gradient (into `grads`); the weights stay. */
  lossAndGrads(b: number): number {
    this.checkBatch(b);
    return this.x.lossAndGrads(b, this.useClassWeights, this.mu, this.useLinear);
  }

  /** One Adam step on the `b` rows in `inputs` at learning rate `lr`; returns the loss before the update. */
  step(b: number, lr: number): number {
    this.checkBatch(b);
    return this.x.step(
      b,
      this.useClassWeights,
      this.mu,
      this.useLinear,
      lr,
      ADAM.beta1,
      ADAM.beta2,
      1 - ADAM.beta1,
      1 - ADAM.beta2,
      ADAM.epsilon,
    );
  }

  /**
   * The batch's loss normalisers for the `b` rows in `inputs`, as the module computes them in float32:
   * 1/Σ class weights (1/b without class weights) and 1/b. For the data-parallel step (threads.ts).
   */
  normalisers(b: number): { invW: number; invB: number; useClassWeights: number } {
    this.checkBatch(b);
    let wsum = 0;
    if (this.useClassWeights) {
      const cw = this.classWeightsView;
      const y = this.inputs.label;
      for (let i = 0; i < b; i++) wsum = Math.fround(wsum + cw[y[i]!]!);
    } else for (let i = 0; i < b; i++) wsum = Math.fround(wsum + 1);
    return {
      invW: Math.fround(1 / wsum),
      invB: Math.fround(1 / b),
      useClassWeights: this.useClassWeights,
    };
  }

  /**
   * The gradients (into `grads`) of the first `b` rows' share of a batch's loss whose normalisers are
   * `invW`, `invB` (from `normalisers` over the whole batch); returns their Σ w·ce and Σ (MOS − t)².
   */
  partialGrads(b: number, invW: number, invB: number): { ce: number; mse: number } {
    this.checkBatch(b);
    const ce = this.x.partialGrads(b, this.useClassWeights, invW, invB);
    return { ce, mse: this.x.partialMse() };
  }

  /**
   * Ends a data-parallel step whose parts' gradients were summed into `grads`: the loss from the whole
   * batch's sums, FedProx and FedDyn terms, then (with `lr`) Adam. Returns the loss before the update.
   */
  finishStep(ce: number, mse: number, invW: number, invB: number, lr: number | null): number {
    const loss = this.x.finishLoss(ce, mse, invW, invB, this.mu, this.useLinear);
    if (lr !== null) {
      this.x.adam(lr, ADAM.beta1, ADAM.beta2, 1 - ADAM.beta1, 1 - ADAM.beta2, ADAM.epsilon);
    }
    return loss;
  }

  /** Starts (or stops) timing the step's sections; `profile()` reads them. */
  setProfile(on: boolean): void {
    this.x.setProfile(on ? 1 : 0);
  }

  /** Milliseconds per section since setProfile(true) (and the part inside matrix products), and in all
   * matrix products. */
  profile(): { sections: Record<string, { ms: number; gemmMs: number }>; gemm: number } {
    const sections: Record<string, { ms: number; gemmMs: number }> = {};
    PROFILE_SECTIONS.forEach((name, i) => {
      sections[name] = { ms: this.x.profileTime(i), gemmMs: this.x.profileTime(i + 15) };
    });
    return { sections, gemm: this.x.profileTime(31) };
  }

  /** Forward pass of the `b` rows in `inputs`: live views of the logits [b, K] and MOS [b]. */
  predict(b: number): { logits: Float32Array; mos: Float32Array } {
    this.checkBatch(b);
    this.x.predict(b);
    return {
      logits: this.logitsView.subarray(0, b * this.config.numClasses),
      mos: this.mosView.subarray(0, b),
    };
  }
}
