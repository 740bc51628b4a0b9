/**
 * The evaluation of a global model on the held-out rows, as a round reports it: accuracy never alone, with
 * macro-F1, the MOS error, the loss, per-class recall and the majority-class baseline to read them against.
 *
 * Produced by an evaluator outside the core (tfjs: src/aggregator/evaluator.ts in Node, the trainer worker
 * workers/federation.worker.ts in the in-tab federation); read by the aggregator's coordinator
 * (src/aggregator/coordinator.ts, which adds the confusion matrix) and the in-tab federation
 * (src/app/simulate/federation.ts). Plain data: it crosses threads and goes into checkpoints and status.
 */
export interface Evaluation {
  accuracy: number;
  macroF1: number;
  mosMAE: number;
  loss: number;
  /** Class name → recall of the global model on the held-out rows. */
  perClassRecall: Record<string, number>;
  /** The scores of always predicting the most frequent training class (`class`: which one, where known). */
  majorityBaseline: { class?: string; accuracy: number; macroF1: number };
}
