/**
 * Explanations of the global model on the experiment's held-out rows, for `GET /api/explain`: one flow's
 * gradient × input attributions (src/model/explain.ts), and a short list of rows worth showing a class.
 *
 * One model, created on first use and reused; the weights are set per call. Calls run one at a time (the
 * suggestion scan yields to the event loop between batches, so two calls could otherwise interleave their
 * weights). The suggestions are kept for the model version they were computed on.
 */
import { type Explanation, explainFlow, type FlowSuggestion, suggestFlows } from '../model/explain.ts';
import { MultiTaskModel } from '../model/model.ts';
import type { PreparedExperiment } from './experiment.ts';

/** Rows per forward pass of the suggestion scan, as in the evaluator. */
const SCAN_BATCH = 256;

export interface Explainer {
  /** Held-out rows that can be explained: `row` is in [0, rows). */
  readonly rows: number;
  explain(weights: Float32Array, row: number): Promise<Explanation>;
  /** Rows worth explaining under `weights`; `version` (the model's) caches the answer. */
  suggestions(weights: Float32Array, version?: number): Promise<FlowSuggestion[]>;
  /** Releases the model once the calls in flight have finished. */
  dispose(): void;
}

export function createExplainer(exp: PreparedExperiment): Explainer {
  let model: MultiTaskModel | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;
  let cached: { version: number; suggestions: FlowSuggestion[] } | null = null;

  /** Runs `job` after the calls before it, with the model holding `weights`. */
  function serial<T>(weights: Float32Array, job: (m: MultiTaskModel) => Promise<T>): Promise<T> {
    if (closed) return Promise.reject(new Error('explainer: closed'));
    const run = queue.then(() => {
      model ??= new MultiTaskModel(exp.model, weights);
      model.setWeights(weights);
      return job(model);
    });
    queue = run.catch(() => {});
    return run;
  }

  return {
    rows: exp.test.n,
    explain(weights, row) {
      return serial(weights, (m) => explainFlow(m, exp.test, row, exp.preprocessor));
    },
    suggestions(weights, version) {
      if (version !== undefined && cached?.version === version) return Promise.resolve(cached.suggestions);
      return serial(weights, async (m) => {
        const suggestions = await suggestFlows(m, exp.test, exp.preprocessor, { batchSize: SCAN_BATCH });
        if (version !== undefined) cached = { version, suggestions };
        return suggestions;
      });
    },
    dispose() {
      closed = true;
      void queue.then(() => {
        model?.dispose();
        model = null;
      });
    },
  };
}
