/**
 * Classification and regression metrics, pure TypeScript and dependency-free.
 *
 * Definitions follow scikit-learn (`sklearn.metrics`: `confusion_matrix`, `precision_recall_fscore_support`,
 * `f1_score(average='macro')`, `accuracy_score`, `mean_absolute_error`, `root_mean_squared_error`):
 *
 * - `confusion[t][p]` counts rows whose true class is `t` and predicted class is `p` (rows = truth).
 * - precision_c = TP_c / (TP_c + FP_c); a class that is never predicted has precision 0
 *   (sklearn's `zero_division=0` behaviour, without the warning).
 * - recall_c = TP_c / (TP_c + FN_c); a class absent from yTrue has recall 0.
 * - f1_c = 2·p·r / (p + r), and 0 when p + r = 0.
 * - support_c = number of rows of yTrue whose class is c.
 * - accuracy = (Σ_c TP_c) / n.
 * - Macro-F1 = unweighted mean of f1_c over the classes PRESENT in yTrue OR yPred (support > 0 or predicted
 *   at least once). This is sklearn's default `labels=None` (= `unique_labels(y_true, y_pred)`), so a class
 *   that neither occurs nor is predicted does not drag the average down, while a class that is predicted
 *   but never occurs does (its f1 is 0). `perClass` holds exactly the same set of classes.
 * - `majorityBaseline`: the scores of a constant predictor that outputs `majorityClass` for every row,
 *   evaluated on yTrue with the same conventions (so its macro-F1 averages over the classes present in yTrue
 *   plus the constant class). Callers should pass the TRAINING-set majority; the default is the majority of
 *   yTrue itself, which is optimistic.
 * - Regression: MAE = mean |y − ŷ|, RMSE = sqrt(mean (y − ŷ)²), baselineMae = MAE of predicting the constant
 *   `baseline` (default: the mean of yTrue; callers should pass the training mean).
 *
 * Inputs are validated: lengths must match and be > 0, labels must be integers in [0, k), regression values
 * must be finite. Violations throw a RangeError naming the function, what was expected and what came.
 */

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface ClassificationReport {
  accuracy: number;
  macroF1: number;
  perClass: Record<string, ClassMetrics>;
  /** confusion[true][pred], k × k. */
  confusion: number[][];
  majorityBaseline: { class: string; accuracy: number; macroF1: number };
}

function checkK(fn: string, k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`${fn}: k must be an integer ≥ 1, got ${k}`);
}

function checkLabels(fn: string, name: string, ys: ArrayLike<number>, k: number): void {
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i] as number;
    if (!Number.isInteger(y) || y < 0 || y >= k) {
      throw new RangeError(`${fn}: ${name}[${i}] must be an integer class index in [0, ${k}), got ${y}`);
    }
  }
}

function checkLengths(fn: string, yTrue: ArrayLike<number>, yPred: ArrayLike<number>): void {
  if (yTrue.length !== yPred.length) {
    throw new RangeError(`${fn}: yTrue has ${yTrue.length} entries but yPred has ${yPred.length}`);
  }
  if (yTrue.length === 0) throw new RangeError(`${fn}: expected at least one entry, got 0`);
}

function confusionUnchecked(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, k: number): number[][] {
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const row = m[yTrue[i] as number] as number[];
    const p = yPred[i] as number;
    row[p] = (row[p] as number) + 1;
  }
  return m;
}

/** k × k confusion matrix, `confusion[true][pred]` (sklearn's `confusion_matrix` orientation). */
export function confusionMatrix(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, k: number): number[][] {
  const fn = 'confusionMatrix';
  checkK(fn, k);
  checkLengths(fn, yTrue, yPred);
  checkLabels(fn, 'yTrue', yTrue, k);
  checkLabels(fn, 'yPred', yPred, k);
  return confusionUnchecked(yTrue, yPred, k);
}

interface Scores {
  accuracy: number;
  macroF1: number;
  perClass: Map<number, ClassMetrics>;
}

function scoresFromConfusion(m: number[][], n: number): Scores {
  const k = m.length;
  const support = new Array<number>(k).fill(0);
  const predicted = new Array<number>(k).fill(0);
  let correct = 0;
  for (let t = 0; t < k; t++) {
    const row = m[t] as number[];
    for (let p = 0; p < k; p++) {
      const c = row[p] as number;
      support[t] = (support[t] as number) + c;
      predicted[p] = (predicted[p] as number) + c;
      if (t === p) correct += c;
    }
  }
  const perClass = new Map<number, ClassMetrics>();
  let f1Sum = 0;
  for (let c = 0; c < k; c++) {
    const s = support[c] as number;
    const pc = predicted[c] as number;
    if (s === 0 && pc === 0) continue;
    const tp = (m[c] as number[])[c] as number;
    const precision = pc > 0 ? tp / pc : 0;
    const recall = s > 0 ? tp / s : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass.set(c, { precision, recall, f1, support: s });
    f1Sum += f1;
  }
  return { accuracy: correct / n, macroF1: f1Sum / perClass.size, perClass };
}

/**
 * Accuracy, macro-F1 (over classes present in yTrue or yPred), per-class precision/recall/F1/support, the
 * confusion matrix and the constant-majority baseline. `classes[c]` names class index c; k = classes.length.
 */
export function classificationReport(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  classes: readonly string[],
  majorityClass?: number,
): ClassificationReport {
  const fn = 'classificationReport';
  const k = classes.length;
  if (k < 1) throw new RangeError(`${fn}: expected at least one class name, got 0`);
  if (new Set(classes).size !== k) {
    throw new RangeError(`${fn}: class names must be distinct, got [${classes.join(', ')}]`);
  }
  checkLengths(fn, yTrue, yPred);
  checkLabels(fn, 'yTrue', yTrue, k);
  checkLabels(fn, 'yPred', yPred, k);
  if (
    majorityClass !== undefined &&
    (!Number.isInteger(majorityClass) || majorityClass < 0 || majorityClass >= k)
  ) {
    throw new RangeError(
      `${fn}: majorityClass must be an integer class index in [0, ${k}), got ${majorityClass}`,
    );
  }
  const n = yTrue.length;
  const confusion = confusionUnchecked(yTrue, yPred, k);
  const s = scoresFromConfusion(confusion, n);
  const perClass: Record<string, ClassMetrics> = {};
  for (const [c, m] of s.perClass) perClass[classes[c] as string] = m;

  const maj = majorityClass ?? majorityUnchecked(yTrue, k);
  // A constant predictor's confusion matrix puts each true class's whole support in column `maj`.
  const constant = confusion.map((row) => {
    const out = new Array<number>(k).fill(0);
    out[maj] = row.reduce((a, b) => a + b, 0);
    return out;
  });
  const base = scoresFromConfusion(constant, n);
  return {
    accuracy: s.accuracy,
    macroF1: s.macroF1,
    perClass,
    confusion,
    majorityBaseline: { class: classes[maj] as string, accuracy: base.accuracy, macroF1: base.macroF1 },
  };
}

function majorityUnchecked(labels: ArrayLike<number>, k: number): number {
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i] as number;
    counts[y] = (counts[y] as number) + 1;
  }
  let best = 0;
  for (let c = 1; c < k; c++) if ((counts[c] as number) > (counts[best] as number)) best = c;
  return best;
}

/** The most frequent class index in `labels` (ties go to the smallest index). */
export function majorityClass(labels: ArrayLike<number>, k: number): number {
  const fn = 'majorityClass';
  checkK(fn, k);
  if (labels.length === 0) throw new RangeError(`${fn}: expected at least one label, got 0`);
  checkLabels(fn, 'labels', labels, k);
  return majorityUnchecked(labels, k);
}

/**
 * MAE, RMSE and the MAE of a constant predictor `baseline` (default: the mean of yTrue; pass the training
 * mean for an honest baseline).
 */
export function regressionReport(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  baseline?: number,
): { mae: number; rmse: number; baselineMae: number } {
  const fn = 'regressionReport';
  checkLengths(fn, yTrue, yPred);
  const n = yTrue.length;
  for (const [name, ys] of [
    ['yTrue', yTrue],
    ['yPred', yPred],
  ] as const) {
    for (let i = 0; i < n; i++) {
      const y = ys[i] as number;
      if (!Number.isFinite(y)) throw new RangeError(`${fn}: ${name}[${i}] must be a finite number, got ${y}`);
    }
  }
  if (baseline !== undefined && !Number.isFinite(baseline)) {
    throw new RangeError(`${fn}: baseline must be a finite number, got ${baseline}`);
  }
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrue[i] as number;
  mean /= n;
  const b = baseline ?? mean;
  let abs = 0;
  let sq = 0;
  let babs = 0;
  for (let i = 0; i < n; i++) {
    const t = yTrue[i] as number;
    const e = t - (yPred[i] as number);
    abs += Math.abs(e);
    sq += e * e;
    babs += Math.abs(t - b);
  }
  return { mae: abs / n, rmse: Math.sqrt(sq / n), baselineMae: babs / n };
}
