/// <reference types="@webgpu/types" />
/**
 * The fused WebGPU training engine: one PQFed model (any `ModelConfig`) trained with hand-written WGSL in
 * four dispatches per step (kernels.ts) instead of tfjs's hundreds. Weights live in one GPU buffer in the
 * flat `paramSpecs` layout (the wire format), so `getWeights()` is what the aggregator takes.
 *
 * Semantics match `MultiTaskModel.loss` + tfjs's Adam (β1 0.9, β2 0.999, ε 1e-7, bias correction with the
 * running products β1ᵗ, β2ᵗ kept in float32 as tfjs does): class weights, FedProx (μ, global), FedDyn's
 * linear term and a per-step learning rate. Plain WebGPU API; works in a page or a worker.
 */
import { type ModelConfig, paramSpecs } from '../../model/model.ts';
import {
  ADAM,
  generateWgsl,
  gradChunking,
  type IoLayout,
  ioLayout,
  SAMPLE_WG,
  SAMPLE_WG_CHOICES,
  UNIFORM_BYTES,
  WG,
} from './kernels.ts';
import { type Dims, dimsOf, paramLayout, scratchLayout } from './layout.ts';

/** One batch of encoded rows (row-major). Labels and MOS targets may be zero for predictions. */
export interface EngineBatch {
  size: number;
  /** [size, numNumeric] */
  numeric: Float32Array;
  /** [size, numCategorical], indices into the shared vocabulary. */
  categorical: Int32Array;
  /** [size] class indices. */
  label: Int32Array;
  /** [size] MOS targets. */
  mos: Float32Array;
}

export interface StepOptions {
  learningRate: number;
  /** Per-class loss weights (length = classes). */
  classWeights?: Float32Array;
  /** FedProx: μ and the global weights. */
  prox?: { mu: number; global: Float32Array };
  /** FedDyn's g_k (flat, manifest order): the loss gains −⟨g_k, w⟩. */
  linear?: Float32Array;
}

export class EngineError extends Error {
  override name = 'EngineError';
}

export class EngineUnavailableError extends Error {
  override name = 'EngineUnavailableError';
}

/** Dispatches one training step records: fwdbwd, loss, update. */
export const DISPATCHES_PER_STEP = 4;

export class WebGpuEngine {
  readonly numParams: number;
  readonly dims: Dims;
  private readonly io: IoLayout;
  /** Samples per gradient chunk (`partial`'s second grid dimension, kernels.ts `gradChunking`). */
  private readonly chunk: number;
  private readonly weights: GPUBuffer;
  private readonly adam: GPUBuffer;
  private readonly grad: GPUBuffer;
  private readonly input: GPUBuffer;
  private readonly scratch: GPUBuffer;
  private readonly aux: GPUBuffer;
  private readonly uniforms: GPUBuffer;
  private readonly output: GPUBuffer;
  private readonly bindGroup: GPUBindGroup;
  private readonly inputHost: Float32Array;
  private accBeta1 = Math.fround(ADAM.beta1);
  private accBeta2 = Math.fround(ADAM.beta2);
  /**
   * Aux contents last uploaded: a step re-uploads class weights, prox global or FedDyn vector when it gets
   * another array than the last, and always after setWeights/resetOptimizer (so an array changed in place
   * between training runs is seen; within a run, pass a new array to change one).
   */
  private auxState: { cw?: Float32Array; global?: Float32Array; linear?: Float32Array } = {};
  private forward: Promise<GPUComputePipeline> | undefined;
  /** Dispatches recorded since construction (the step count × 4, plus predictions). */
  dispatches = 0;

  private constructor(
    readonly device: GPUDevice,
    readonly config: ModelConfig,
    readonly maxBatch: number,
    private readonly pipelines: Record<'fwdbwd' | 'loss' | 'partial' | 'update', GPUComputePipeline>,
    /** The forward-only pipeline, compiled on the first `predict` (training never needs it). */
    private readonly makeForward: () => Promise<GPUComputePipeline>,
    layout: GPUBindGroupLayout,
    /** The engine asked for the device itself, so `destroy` ends it too. */
    private readonly ownsDevice: boolean,
  ) {
    this.dims = dimsOf(config);
    this.numParams = paramLayout(config).total;
    this.io = ioLayout(config, maxBatch);
    this.chunk = gradChunking(maxBatch).chunk;
    const { stride } = scratchLayout(this.dims);
    const S = GPUBufferUsage.STORAGE;
    const buf = (floats: number, usage: number) =>
      device.createBuffer({ size: Math.max(16, floats * 4), usage });
    const P = this.numParams;
    this.weights = buf(P, S | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC);
    this.adam = buf(2 * P, S | GPUBufferUsage.COPY_DST);
    this.grad = buf(gradChunking(maxBatch).chunks * P, S | GPUBufferUsage.COPY_SRC);
    this.input = buf(this.io.inputSize, S | GPUBufferUsage.COPY_DST);
    this.scratch = buf(maxBatch * stride, S);
    this.aux = buf(this.io.auxSize, S | GPUBufferUsage.COPY_DST);
    this.uniforms = device.createBuffer({
      size: UNIFORM_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.output = buf(this.io.outputSize, S | GPUBufferUsage.COPY_SRC);
    this.inputHost = new Float32Array(this.io.inputSize);
    const buffers = [
      this.weights,
      this.input,
      this.scratch,
      this.aux,
      this.uniforms,
      this.output,
      this.grad,
      this.adam,
    ];
    this.bindGroup = device.createBindGroup({
      layout,
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  /**
   * Compiles the kernels for `config` on `device` (or a new device from `navigator.gpu`), for batches of
   * up to `maxBatch` rows. Throws EngineUnavailableError without WebGPU, EngineError on a compile error.
   */
  static async create(
    config: ModelConfig,
    opts: { maxBatch: number; device?: GPUDevice; sampleWorkgroup?: number },
  ): Promise<WebGpuEngine> {
    if (!(Number.isInteger(opts.maxBatch) && opts.maxBatch >= 1 && opts.maxBatch <= 65535)) {
      throw new EngineError(`engine: maxBatch must be an integer in [1, 65535], got ${opts.maxBatch}`);
    }
    const sampleWg = opts.sampleWorkgroup ?? SAMPLE_WG;
    if (!(SAMPLE_WG_CHOICES as readonly number[]).includes(sampleWg)) {
      throw new EngineError(
        `engine: sampleWorkgroup must be one of ${SAMPLE_WG_CHOICES.join(', ')}, got ${sampleWg}`,
      );
    }
    paramSpecs(config); // validates the config
    const D = dimsOf(config);
    const P = paramLayout(config).total;
    const scratchBytes = opts.maxBatch * scratchLayout(D).stride * 4;
    const auxBytes = ioLayout(config, opts.maxBatch).auxSize * 4;
    const gradBytes = gradChunking(opts.maxBatch).chunks * 4 * P;
    const device = opts.device ?? (await requestDevice(Math.max(scratchBytes, auxBytes, 8 * P, gradBytes)));
    const limit = device.limits.maxStorageBufferBindingSize;
    for (const [what, bytes] of [
      ['scratch', scratchBytes],
      ['aux', auxBytes],
      ['adam', 8 * P],
      ['gradient', gradBytes],
    ] as const) {
      if (bytes > limit) {
        throw new EngineError(
          `engine: the ${what} buffer needs ${bytes} bytes, above this device's limit of ${limit} (lower maxBatch)`,
        );
      }
    }
    if (Math.ceil(P / WG) > device.limits.maxComputeWorkgroupsPerDimension) {
      throw new EngineError(`engine: ${P} parameters need more workgroups than this device allows`);
    }
    const code = generateWgsl(config, opts.maxBatch, sampleWg);
    const module = device.createShaderModule({ code, label: 'pqfed-fused-step' });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length > 0) {
      throw new EngineError(
        `engine: WGSL did not compile: ${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ')}`,
      );
    }
    const storage = (readOnly: boolean): GPUBindGroupLayoutEntry['buffer'] => ({
      type: readOnly ? 'read-only-storage' : 'storage',
    });
    const layout = device.createBindGroupLayout({
      entries: [
        storage(false),
        storage(true),
        storage(false),
        storage(true),
        { type: 'uniform' } as GPUBufferBindingLayout,
        storage(false),
        storage(false),
        storage(false),
      ].map((buffer, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer })),
    });
    const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
    const make = (entryPoint: string) =>
      device
        .createComputePipelineAsync({ layout: pipelineLayout, compute: { module, entryPoint } })
        .catch((err: unknown) => {
          throw new EngineError(`engine: pipeline ${entryPoint} failed: ${(err as Error).message}`);
        });
    const [fwdbwd, loss, partial, update] = await Promise.all([
      make('fwdbwd'),
      make('loss'),
      make('partial'),
      make('update'),
    ]);
    return new WebGpuEngine(
      device,
      config,
      opts.maxBatch,
      { fwdbwd, loss, partial, update },
      () => make('forward'),
      layout,
      opts.device === undefined,
    );
  }

  /**
   * Replaces the weights (flat, paramSpecs order; every value finite, as MultiTaskModel.setWeights checks)
   * and resets Adam's moments and step count.
   */
  setWeights(weights: Float32Array): void {
    if (weights.length !== this.numParams) {
      throw new EngineError(`engine: setWeights expected ${this.numParams} values, got ${weights.length}`);
    }
    for (let i = 0; i < weights.length; i++) {
      if (!Number.isFinite(weights[i]!)) throw new EngineError(`engine: setWeights value ${i} is not finite`);
    }
    this.device.queue.writeBuffer(this.weights, 0, weights);
    this.resetOptimizer();
  }

  /** Zeroes Adam's moments and restarts its bias correction (a fresh tf.train.adam). */
  resetOptimizer(): void {
    this.device.queue.writeBuffer(this.adam, 0, new Float32Array(2 * this.numParams));
    this.accBeta1 = Math.fround(ADAM.beta1);
    this.accBeta2 = Math.fround(ADAM.beta2);
    this.auxState = {};
  }

  async getWeights(): Promise<Float32Array> {
    return this.read(this.weights, 0, this.numParams);
  }

  /** The gradient of the last step's loss (before its update), flat in paramSpecs order. */
  async getGradients(): Promise<Float32Array> {
    return this.read(this.grad, 0, this.numParams);
  }

  /** One training step: forward, loss, backward and Adam, queued (4 dispatches). */
  step(batch: EngineBatch, opts: StepOptions): void {
    this.run(batch, opts, true);
  }

  /** The loss and gradient on `batch` without updating anything. */
  async gradients(
    batch: EngineBatch,
    opts: Omit<StepOptions, 'learningRate'> = {},
  ): Promise<{ loss: number; grads: Float32Array }> {
    this.run(batch, { ...opts, learningRate: 0 }, false);
    const [loss, grads] = await Promise.all([this.readLoss(), this.getGradients()]);
    return { loss, grads };
  }

  /** The loss of the last step (computed with the weights before its update). */
  async readLoss(): Promise<number> {
    return (await this.read(this.output, this.io.loss, 1))[0]!;
  }

  /**
   * Logits [size, K], MOS [size] and the plain loss (CE + mosWeight·MSE, no class weights or federated
   * terms, as `predict` in model/train.ts) for a batch of up to maxBatch rows: 2 dispatches, no backward.
   */
  async predict(batch: EngineBatch): Promise<{ logits: Float32Array; mos: Float32Array; loss: number }> {
    this.forward ??= this.makeForward();
    const forward = await this.forward;
    this.upload(batch);
    this.writeUniforms(batch.size, {}, false, 0);
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setBindGroup(0, this.bindGroup);
    pass.setPipeline(forward);
    pass.dispatchWorkgroups(batch.size);
    pass.setPipeline(this.pipelines.loss);
    pass.dispatchWorkgroups(1);
    pass.end();
    this.device.queue.submit([enc.finish()]);
    this.dispatches += 2;
    const K = this.dims.K;
    const raw = await this.read(this.output, 0, this.io.outputSize);
    const logits = new Float32Array(batch.size * K);
    const mos = new Float32Array(batch.size);
    for (let b = 0; b < batch.size; b++) {
      logits.set(raw.subarray(b * (K + 1), b * (K + 1) + K), b * K);
      mos[b] = raw[b * (K + 1) + K]!;
    }
    return { logits, mos, loss: raw[this.io.loss]! };
  }

  destroy(): void {
    for (const b of [
      this.weights,
      this.adam,
      this.grad,
      this.input,
      this.scratch,
      this.aux,
      this.uniforms,
      this.output,
    ])
      b.destroy();
    if (this.ownsDevice) this.device.destroy();
  }

  // ---- internals ----------------------------------------------------------------------------------------

  private run(batch: EngineBatch, opts: StepOptions, apply: boolean): void {
    if (!Number.isFinite(opts.learningRate)) {
      throw new EngineError(`engine: learningRate must be finite, got ${opts.learningRate}`);
    }
    this.upload(batch);
    this.uploadAux(opts);
    let c1 = 1;
    let c2 = 1;
    if (apply) {
      // tfjs: 1 − accBeta (float32 scalars); accBeta ← accBeta·β after the update.
      c1 = Math.fround(1 - this.accBeta1);
      c2 = Math.fround(1 - this.accBeta2);
      this.accBeta1 = Math.fround(this.accBeta1 * ADAM.beta1);
      this.accBeta2 = Math.fround(this.accBeta2 * ADAM.beta2);
    }
    this.writeUniforms(batch.size, opts, apply, opts.learningRate, c1, c2);
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setBindGroup(0, this.bindGroup);
    pass.setPipeline(this.pipelines.fwdbwd);
    pass.dispatchWorkgroups(batch.size);
    pass.setPipeline(this.pipelines.loss);
    pass.dispatchWorkgroups(1);
    pass.setPipeline(this.pipelines.partial);
    pass.dispatchWorkgroups(Math.ceil(this.numParams / WG), Math.ceil(batch.size / this.chunk));
    pass.setPipeline(this.pipelines.update);
    pass.dispatchWorkgroups(Math.ceil(this.numParams / WG));
    pass.end();
    this.device.queue.submit([enc.finish()]);
    this.dispatches += DISPATCHES_PER_STEP;
  }

  private upload(batch: EngineBatch): void {
    const { ln, lc, K, V } = this.dims;
    const n = batch.size;
    if (!(Number.isInteger(n) && n >= 1 && n <= this.maxBatch)) {
      throw new EngineError(`engine: batch size must be in [1, ${this.maxBatch}], got ${n}`);
    }
    const want: [string, ArrayLike<number>, number][] = [
      ['numeric', batch.numeric, n * ln],
      ['categorical', batch.categorical, n * lc],
      ['label', batch.label, n],
      ['mos', batch.mos, n],
    ];
    for (const [name, arr, len] of want) {
      if (arr.length !== len) throw new EngineError(`engine: ${name} needs ${len} values, got ${arr.length}`);
    }
    for (let i = 0; i < batch.categorical.length; i++) {
      const v = batch.categorical[i]!;
      if (!(v >= 0 && v < V)) throw new EngineError(`engine: categorical index ${v} outside [0, ${V})`);
    }
    for (let i = 0; i < n; i++) {
      const y = batch.label[i]!;
      if (!(y >= 0 && y < K)) throw new EngineError(`engine: label ${y} outside [0, ${K})`);
    }
    const h = this.inputHost;
    h.set(batch.numeric, this.io.num);
    for (let i = 0; i < batch.categorical.length; i++) h[this.io.cat + i] = batch.categorical[i]!;
    for (let i = 0; i < n; i++) h[this.io.lab + i] = batch.label[i]!;
    h.set(batch.mos, this.io.mos);
    this.device.queue.writeBuffer(this.input, 0, h);
  }

  private uploadAux(opts: StepOptions): void {
    const P = this.numParams;
    const s = this.auxState;
    if (opts.classWeights && opts.classWeights !== s.cw) {
      if (opts.classWeights.length !== this.dims.K) {
        throw new EngineError(
          `engine: classWeights needs ${this.dims.K} values, got ${opts.classWeights.length}`,
        );
      }
      this.device.queue.writeBuffer(this.aux, 0, opts.classWeights);
      s.cw = opts.classWeights;
    }
    const prox = opts.prox && opts.prox.mu > 0 ? opts.prox : undefined;
    if (prox && prox.global !== s.global) {
      if (prox.global.length !== P) {
        throw new EngineError(`engine: prox.global needs ${P} values, got ${prox.global.length}`);
      }
      this.device.queue.writeBuffer(this.aux, this.io.glob * 4, prox.global);
      s.global = prox.global;
    }
    if (opts.linear && opts.linear !== s.linear) {
      if (opts.linear.length !== P) {
        throw new EngineError(`engine: linear needs ${P} values, got ${opts.linear.length}`);
      }
      this.device.queue.writeBuffer(this.aux, this.io.lin * 4, opts.linear);
      s.linear = opts.linear;
    }
  }

  private writeUniforms(
    B: number,
    opts: Omit<StepOptions, 'learningRate'>,
    apply: boolean,
    lr: number,
    c1 = 1,
    c2 = 1,
  ): void {
    const u = new ArrayBuffer(UNIFORM_BYTES);
    const ui = new Uint32Array(u);
    const uf = new Float32Array(u);
    ui[0] = B;
    ui[1] = opts.classWeights ? 1 : 0;
    ui[2] = opts.linear ? 1 : 0;
    ui[3] = apply ? 1 : 0;
    uf[4] = opts.prox && opts.prox.mu > 0 ? opts.prox.mu : 0;
    uf[5] = lr;
    uf[6] = c1;
    uf[7] = c2;
    this.device.queue.writeBuffer(this.uniforms, 0, u);
  }

  private async read(src: GPUBuffer, offsetFloats: number, floats: number): Promise<Float32Array> {
    const bytes = floats * 4;
    const staging = this.device.createBuffer({
      size: Math.max(4, bytes),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(src, offsetFloats * 4, staging, 0, bytes);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    return out;
  }
}

async function requestDevice(bytesNeeded: number): Promise<GPUDevice> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) throw new EngineUnavailableError('engine: no navigator.gpu (WebGPU) in this context');
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new EngineUnavailableError('engine: navigator.gpu gave no adapter');
  const lim = adapter.limits;
  const want = Math.min(lim.maxStorageBufferBindingSize, Math.max(bytesNeeded, 128 * 1024 * 1024));
  return adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: want,
      maxBufferSize: Math.min(lim.maxBufferSize, Math.max(want, 256 * 1024 * 1024)),
    },
  });
}
