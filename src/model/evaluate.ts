/**
 * Evaluation report of a model on encoded rows: accuracy is never reported alone — macro-F1, per-class
 * precision/recall/F1, the confusion matrix and the majority-class baseline come with it, and the MOS
 * errors come with the error of predicting the training mean.
 */
import { classificationReport, majorityClass, regressionReport } from '../core/metrics.ts';
import type { EncodedData } from '../data/features.ts';
import type { MultiTaskModel } from './model.ts';
import { predict } from './train.ts';

export interface EvaluationReport {
  accuracy: number;
  macroF1: number;
  perClass: Record<string, { precision: number; recall: number; f1: number; support: number }>;
  confusion: number[][];
  majorityBaseline: { class: string; accuracy: number; macroF1: number };
  mos: { mae: number; rmse: number; baselineMae: number };
  loss: number;
}

export async function evaluate(
  model: MultiTaskModel,
  data: EncodedData,
  classes: readonly string[],
  train: { label: Int32Array; mos: Float32Array },
  batchSize = 1024,
): Promise<EvaluationReport> {
  return evaluatePredictions(await predict(model, data, batchSize), data, classes, train);
}

/** The report of predictions made on `data` (by tfjs's `predict` or the fused engine's `predictFused`). */
export function evaluatePredictions(
  predictions: { classes: Int32Array; mos: Float32Array; loss: number },
  data: EncodedData,
  classes: readonly string[],
  train: { label: Int32Array; mos: Float32Array },
): EvaluationReport {
  const { classes: pred, mos, loss } = predictions;
  const cls = classificationReport(data.label, pred, classes, majorityClass(train.label, classes.length));
  let meanMos = 0;
  for (const m of train.mos) meanMos += m / train.mos.length;
  const reg = regressionReport(data.mos, mos, meanMos);
  return {
    accuracy: cls.accuracy,
    macroF1: cls.macroF1,
    perClass: cls.perClass,
    confusion: cls.confusion,
    majorityBaseline: cls.majorityBaseline,
    mos: reg,
    loss,
  };
}
