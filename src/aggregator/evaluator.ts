/**
 * Server-side evaluation of each new global model on the experiment's held-out rows (Node, tfjs on the
 * wasm backend). Aggregation itself never touches tfjs; only this module does.
 */
import { evaluate } from '../model/evaluate.ts';
import { initWeights, MultiTaskModel } from '../model/model.ts';
import type { Evaluator, ServerEvaluation } from './coordinator.ts';
import type { PreparedExperiment } from './experiment.ts';

const EVAL_BATCH = 256;

export function createEvaluator(exp: PreparedExperiment): { evaluate: Evaluator; dispose(): void } {
  const model = new MultiTaskModel(exp.model, initWeights(exp.model, exp.config.seed).weights);
  const classes = exp.preprocessor.classes;
  return {
    async evaluate(weights: Float32Array): Promise<ServerEvaluation> {
      model.setWeights(weights);
      // Batches of 256: tfjs-wasm's heap grows to the largest batch and never shrinks; at 1,024 rows the
      // attention intermediates took the aggregator from ~210 MiB to ~840 MiB resident.
      const r = await evaluate(model, exp.test, classes, exp.trainTargets, EVAL_BATCH);
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
