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
import { type TrainingEngine, trainFused } from '../engine/train-fused.ts';
import { checkConfig, initWeights, type ModelConfig, MultiTaskModel } from '../model/model.ts';
import { type TrainProgress, train } from '../model/train.ts';
import type { LocalTrainer } from './client.ts';

export class ShardMismatchError extends Error {
  override name = 'ShardMismatchError';
}

export class ModelTrainer implements LocalTrainer {
  private model: MultiTaskModel | null = null;
  /** FedDyn's g_k (null until the first FedDyn round). */
  private dynGrad: Float32Array | null = null;

  constructor(
    private readonly data: EncodedData,
    readonly backend: string,
    /** Called during local training (every few steps and at each epoch's end), with the round. */
    private readonly onProgress?: (p: TrainProgress & { round: number }) => void,
    /** Who runs the steps: tfjs on `backend` (the reference), or the fused WASM engine (docs/fused-engine.md). */
    readonly engine: TrainingEngine = 'tfjs',
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
    this.model = new MultiTaskModel(config, initWeights(config, 0).weights);
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
    const r = await (this.engine === 'fused' ? trainFused : train)(model, this.data, {
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
