/**
 * Server-side evaluation of each new global model on the experiment's held-out rows (Node): on the fused
 * WASM engine's forward pass when its module loads (src/engine/, several times faster than tfjs: at 13,000
 * held-out rows the evaluation, not the training, was most of a simulated round), else tfjs on the wasm
 * backend. Aggregation itself never touches either; only this module does.
 */
import { chooseStepEngine } from '../engine/step-engine.ts';
import { predictFused } from '../engine/train-fused.ts';
import { FusedEngine } from '../engine/wasm-engine.ts';
import { type EvaluationReport, evaluate, evaluatePredictions } from '../model/evaluate.ts';
import { initWeights, MultiTaskModel } from '../model/model.ts';
import type { Evaluator, ServerEvaluation } from './coordinator.ts';
import type { PreparedExperiment } from './experiment.ts';

const EVAL_BATCH = 256;

export function createEvaluator(exp: PreparedExperiment): { evaluate: Evaluator; dispose(): void } {
  const model = new MultiTaskModel(exp.model, initWeights(exp.model, exp.config.seed).weights);
  const classes = exp.preprocessor.classes;
  /** The fused engine, made at the first evaluation; null when its module does not load here (then tfjs). */
  let fused: Promise<FusedEngine | null> | undefined;
  const fusedEngine = () => {
    fused ??= chooseStepEngine().then((c) =>
      c.engine === 'fused'
        ? FusedEngine.create(exp.model, initWeights(exp.model, 0).weights, EVAL_BATCH)
        : null,
    );
    return fused;
  };
  const report = async (weights: Float32Array): Promise<EvaluationReport> => {
    const engine = await fusedEngine();
    if (engine) {
      engine.setWeights(weights);
      return evaluatePredictions(
        await predictFused(engine, exp.test, EVAL_BATCH),
        exp.test,
        classes,
        exp.trainTargets,
      );
    }
    model.setWeights(weights);
    // Batches of 256: tfjs-wasm's heap grows to the largest batch and never shrinks; at 1,024 rows the
    // attention intermediates took the aggregator from ~210 MiB to ~840 MiB resident.
    return evaluate(model, exp.test, classes, exp.trainTargets, EVAL_BATCH);
  };
  return {
    async evaluate(weights: Float32Array): Promise<ServerEvaluation> {
      const r = await report(weights);
      const perClassRecall: Record<string, number> = {};
      for (const [name, v] of Object.entries(r.perClass)) perClassRecall[name] = v.recall;
      return {
        accuracy: r.accuracy,
        macroF1: r.macroF1,
        mosMAE: r.mos.mae,
        loss: r.loss,
        perClassRecall,
        majorityBaseline: { accuracy: r.majorityBaseline.accuracy, macroF1: r.majorityBaseline.macroF1 },
        confusion: r.confusion,
        classes: [...classes],
      };
    },
    dispose: () => model.dispose(),
  };
}
