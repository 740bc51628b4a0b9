/**
 * `LocalTrainer` on a tfjs model in the current thread: what `pqfed simulate`'s worker threads use (the
 * browser's worker wraps the same `train()` behind comlink). It trains from the global weights for the
 * round's epochs with Adam (FedProx's proximal term when μ > 0) and returns local − global.
 *
 * FedDyn (fit settings with `dynAlpha` α > 0; Acar et al. 2021): the loss gains −⟨g_k, w⟩ + (α/2)·‖w − w_global‖²
 * and after training g_k ← g_k − α·(local − global). g_k is this client's state across rounds, kept here in
 * memory: it starts at 0, and a new experiment (`prepare`) or a new trainer starts it at 0 again, which
 * FedDyn treats like a client that has not taken part before.
 */
import type { ExperimentInfo, FitSettings, LocalMetrics } from '../core/protocol.ts';
import type { EncodedData } from '../data/features.ts';
import { probeThreads, type ThreadChoice } from '../engine/threads.ts';
import { trainFused } from '../engine/train-fused.ts';
import { checkConfig, initWeights, type ModelConfig, MultiTaskModel } from '../model/model.ts';
import { type TrainOptions, type TrainProgress, type TrainResult, train } from '../model/train.ts';
import type { LocalTrainer } from './client.ts';

/**
 * The model and its local training as `ModelTrainer` uses them: tfjs (the default and the reference) or
 * another engine with the same contract (the fused WebGPU engine, src/engine/webgpu/train.ts).
 */
export interface TrainingEngine {
  readonly numParams: number;
  /** Validates (length, finite values) and replaces the weights; the next `train` starts a fresh Adam. */
  setWeights(weights: Float32Array): void;
  getWeights(): Promise<Float32Array>;
  train(data: EncodedData, opts: TrainOptions): Promise<TrainResult>;
  dispose(): void;
}

/**
 * The fused WASM engine (docs/fused-engine.md): the same MultiTaskModel holds the weights; each step is one
 * call into the engine instead of a tfjs graph (src/engine/train-fused.ts), on `threads` threads (the
 * data-parallel step, src/engine/threads.ts; default 1).
 */
export function fusedWasmTrainingEngine(
  config: ModelConfig,
  threads: number | ThreadsAuto = 1,
): TrainingEngine {
  const model = new MultiTaskModel(config, initWeights(config, 0).weights);
  let chosen = typeof threads === 'number' ? threads : null;
  return {
    numParams: model.numParams,
    setWeights: (w) => model.setWeights(w),
    getWeights: () => model.getWeights(),
    async train(data, opts) {
      if (chosen === null && typeof threads === 'object') {
        const c = await probeThreads(config, await model.getWeights(), data, opts.batchSize, threads.cores);
        chosen = c.threads;
        threads.onChoice?.(c);
      }
      return trainFused(model, data, opts, chosen ?? 1);
    },
    dispose: () => model.dispose(),
  };
}

/**
 * `threads` of fusedWasmTrainingEngine: probe at the first training (src/engine/threads.ts,
 * `probeThreads`: threads only where they win here), and tell `onChoice` what was chosen and why.
 */
export interface ThreadsAuto {
  cores: number | undefined;
  onChoice?: (c: ThreadChoice) => void;
}

/** tfjs: a MultiTaskModel trained by `train` on the active backend. */
export function tfjsTrainingEngine(config: ModelConfig): TrainingEngine {
  const model = new MultiTaskModel(config, initWeights(config, 0).weights);
  return {
    numParams: model.numParams,
    setWeights: (w) => model.setWeights(w),
    getWeights: () => model.getWeights(),
    train: (data, opts) => train(model, data, opts),
    dispose: () => model.dispose(),
  };
}

export class ShardMismatchError extends Error {
  override name = 'ShardMismatchError';
}

export class ModelTrainer implements LocalTrainer {
  private model: TrainingEngine | null = null;
  /** FedDyn's g_k (null until the first FedDyn round). */
  private dynGrad: Float32Array | null = null;

  constructor(
    private readonly data: EncodedData,
    readonly backend: string,
    /** Called during local training (every few steps and at each epoch's end), with the round. */
    private readonly onProgress?: (p: TrainProgress & { round: number }) => void,
    /** Builds the model for an experiment's config (default: tfjs). */
    private readonly makeEngine: (
      config: ModelConfig,
    ) => TrainingEngine | Promise<TrainingEngine> = tfjsTrainingEngine,
  ) {}

  get numSamples(): number {
    return this.data.n;
  }

  async prepare(experiment: ExperimentInfo): Promise<void> {
    const config = experiment.model as unknown as ModelConfig;
    checkConfig(config);
    const n = this.data.n;
    if (n > 0) {
      const ln = this.data.numeric.length / n;
      const lc = this.data.categorical.length / n;
      if (ln !== config.numNumeric || lc !== config.catVocab.length) {
        throw new ShardMismatchError(
          `local data has ${ln} numeric and ${lc} categorical features, the experiment's model expects ` +
            `${config.numNumeric} and ${config.catVocab.length}`,
        );
      }
    }
    this.model?.dispose();
    this.dynGrad = null;
    this.model = await this.makeEngine(config);
    if (this.model.numParams !== experiment.modelSize) {
      throw new ShardMismatchError(
        `the experiment announces ${experiment.modelSize} weights, its model config has ${this.model.numParams}`,
      );
    }
  }

  async fit(
    global: Float32Array,
    fit: FitSettings,
    round: number,
  ): Promise<{ delta: Float32Array; metrics: LocalMetrics }> {
    const model = this.model;
    if (!model) throw new ShardMismatchError('fit before prepare: no model');
    model.setWeights(global);
    const alpha = fit.dynAlpha ?? 0;
    if (alpha > 0 && this.dynGrad?.length !== global.length) this.dynGrad = new Float32Array(global.length);
    const mu = fit.proxMu + alpha;
    const r = await model.train(this.data, {
      epochs: fit.epochs,
      batchSize: fit.batchSize,
      learningRate: fit.learningRate,
      seed: fit.seed,
      prox: mu > 0 ? { mu, global } : undefined,
      linear: alpha > 0 ? (this.dynGrad ?? undefined) : undefined,
      ...(this.onProgress && {
        readEvery: 5,
        onProgress: (p: TrainProgress) => this.onProgress!({ ...p, round }),
      }),
    });
    const local = await model.getWeights();
    const delta = new Float32Array(local.length);
    for (let i = 0; i < local.length; i++) delta[i] = local[i]! - global[i]!;
    const g = this.dynGrad;
    if (alpha > 0 && g) for (let i = 0; i < g.length; i++) g[i] = g[i]! - alpha * delta[i]!;
    return {
      delta,
      metrics: {
        loss: Number.isFinite(r.finalLoss) ? r.finalLoss : 0,
        seconds: r.seconds,
        samplesPerSec: r.samplesPerSec,
      },
    };
  }

  /** FedDyn's g_k as it stands (a copy), or null before the first FedDyn round. */
  dynState(): Float32Array | null {
    return this.dynGrad?.slice() ?? null;
  }

  dispose(): void {
    this.model?.dispose();
    this.model = null;
  }
}
