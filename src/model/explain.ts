/**
 * Why the model flags a flow: gradient × input attributions (Shrikumar et al. 2016; Simonyan et al. 2014)
 * of one class's logit (pre-softmax) with respect to the model's input representation.
 *
 *   numeric column i      ∂logit/∂x_i · x_i, where x_i is the standardized value the model reads;
 *   categorical column j  Σ_d ∂logit/∂e_jd · e_jd over the column's embedding row e_j (the shared table's
 *                         row for the column's value, before its position vector is added).
 *
 * Both are the gradient with respect to the column's token times the part of the token that depends on the
 * value (x_i·v_i for a numeric column, e_j for a categorical one), so the two kinds are on one scale.
 * Positive pushes the logit (towards the class) up, negative pushes it down. Gradient × input is a local,
 * first-order reading: its sum is not the logit's difference from an all-zero input (it is not
 * "complete"), and nothing here claims so. A numeric value of exactly 0 (the training mean, or a missing
 * value) always gets 0.
 *
 * One flow is a single forward and backward pass on a batch of one; `suggestFlows` scans rows in batches.
 */
import type { EncodedData, Preprocessor } from '../data/features.ts';
import { vocabOffsets } from '../data/features.ts';
import type { MultiTaskModel } from './model.ts';
import { tf } from './tf.ts';
import { makeBatch, nextMacrotask } from './train.ts';

export interface FeatureAttribution {
  name: string;
  kind: 'numeric' | 'categorical';
  /** Numeric: the standardized value the model reads. Categorical: the category ("other" for the rare or
   * unseen slot), or the vocabulary index when the preprocessor cannot name it. */
  value: number | string;
  /** Numeric only: the value before standardization, reconstructed from the preprocessor (a missing value
   * reads as the training mean). */
  raw?: number;
  attribution: number;
}

export interface ClassRef {
  classIndex: number;
  className: string;
}

export interface Explanation {
  row: number;
  predicted: ClassRef & { probability: number };
  actual: ClassRef;
  mos: { predicted: number; actual: number };
  /** The class whose logit is explained (the predicted one unless asked otherwise). */
  target: string;
  targetIndex: number;
  /** That class's logit for this flow. */
  logit: number;
  method: 'gradient × input';
  /** Every input column, sorted by |attribution|, largest first. */
  features: FeatureAttribution[];
}

export class ExplainError extends RangeError {
  override name = 'ExplainError';
}

export interface InputGradients {
  logits: Float32Array;
  probabilities: Float32Array;
  mos: number;
  /** The class whose logit was differentiated. */
  classIndex: number;
  /** ∂logit/∂x_i for each numeric column. */
  numericGradient: Float32Array;
  /** Σ_d ∂logit/∂e_jd · e_jd for each categorical column. */
  categoricalAttribution: Float32Array;
}

/**
 * Logits, probabilities and MOS of one flow, and the gradients of one class's logit (default: the
 * predicted class) with respect to its numeric inputs and its categorical embedding rows.
 */
export async function inputGradients(
  model: MultiTaskModel,
  numeric: Float32Array,
  categorical: Int32Array,
  classIndex?: number,
): Promise<InputGradients> {
  const c = model.config;
  const ln = c.numNumeric;
  const lc = c.catVocab.length;
  if (numeric.length !== ln || categorical.length !== lc) {
    throw new ExplainError(
      `explain: the model reads ${ln} numeric and ${lc} categorical values, got ${numeric.length} and ${categorical.length}`,
    );
  }
  if (
    classIndex !== undefined &&
    !(Number.isInteger(classIndex) && classIndex >= 0 && classIndex < c.numClasses)
  ) {
    throw new ExplainError(
      `explain: class index must be an integer in [0, ${c.numClasses}), got ${classIndex}`,
    );
  }
  const num = tf.tensor2d(numeric, [1, ln]);
  const cat = tf.tensor2d(categorical, [1, lc], 'int32');
  try {
    const batch = { numeric: num, categorical: cat };
    const [logitsT, probsT, mosT] = tf.tidy(() => {
      const out = model.forward(batch);
      return [out.logits, tf.softmax(out.logits), out.mos];
    });
    const logits = (await logitsT.data()) as Float32Array;
    const probabilities = (await probsT.data()) as Float32Array;
    const mos = (await mosT.data())[0]!;
    tf.dispose([logitsT, probsT, mosT]);
    let k = classIndex ?? 0;
    if (classIndex === undefined) for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[k]!) k = i;

    const [numGradT, catAttrT] = tf.tidy(() => {
      const mask = tf.oneHot(tf.tensor1d([k], 'int32'), c.numClasses).cast('float32'); // [1, K]
      const emb = lc > 0 ? model.categoricalEmbeddings(cat) : null; // [1, Lc, d]
      // Only inputs the logit depends on may be differentiated: a model without numeric (or categorical)
      // columns never reads that tensor.
      const xs: tf.Tensor[] = [];
      if (ln > 0) xs.push(num);
      if (emb) xs.push(emb);
      const logit = (...args: tf.Tensor[]): tf.Scalar => {
        const x = ln > 0 ? (args[0] as tf.Tensor2D) : num;
        const e = emb ? (args[ln > 0 ? 1 : 0] as tf.Tensor3D) : undefined;
        return model.forward({ numeric: x, categorical: cat }, e).logits.mul(mask).sum() as tf.Scalar;
      };
      const grads = tf.grads(logit)(xs);
      const gNum = ln > 0 ? grads[0]! : tf.zeros([1, 0]);
      const gEmb = emb ? grads[ln > 0 ? 1 : 0]! : null;
      const catAttr = gEmb && emb ? gEmb.mul(emb).sum(2) : tf.zeros([1, 0]);
      return [gNum, catAttr];
    });
    const numericGradient = Float32Array.from((await numGradT.data()) as Float32Array);
    const categoricalAttribution = Float32Array.from((await catAttrT.data()) as Float32Array);
    tf.dispose([numGradT, catAttrT]);
    return { logits, probabilities, mos, classIndex: k, numericGradient, categoricalAttribution };
  } finally {
    tf.dispose([num, cat]);
  }
}

/** The value before standardization (and before the signed log, when the column had one). */
export function unstandardize(z: number, t: Preprocessor['numeric'][number]): number {
  const v = z * t.std + t.mean;
  return t.log ? Math.sign(v) * Math.expm1(Math.abs(v)) : v;
}

const className = (pre: Preprocessor, i: number) => pre.classes[i] ?? `class ${i}`;

function checkRow(data: EncodedData, row: number): void {
  if (!(Number.isInteger(row) && row >= 0 && row < data.n)) {
    throw new ExplainError(`explain: row must be an integer in [0, ${data.n}), got ${row}`);
  }
}

/**
 * Gradient × input attributions of every input column for row `row` of `data`, towards the predicted
 * class (or `opts.classIndex`).
 */
export async function explainFlow(
  model: MultiTaskModel,
  data: EncodedData,
  row: number,
  pre: Preprocessor,
  opts: { classIndex?: number } = {},
): Promise<Explanation> {
  checkRow(data, row);
  const ln = pre.numeric.length;
  const lc = pre.categorical.length;
  if (ln !== model.config.numNumeric || lc !== model.config.catVocab.length) {
    throw new ExplainError(
      `explain: the preprocessor has ${ln}+${lc} columns, the model reads ${model.config.numNumeric}+${model.config.catVocab.length}`,
    );
  }
  const x = data.numeric.subarray(row * ln, (row + 1) * ln);
  const cats = data.categorical.subarray(row * lc, (row + 1) * lc);
  const g = await inputGradients(model, x, cats, opts.classIndex);
  let predicted = 0;
  for (let i = 1; i < g.logits.length; i++) if (g.logits[i]! > g.logits[predicted]!) predicted = i;

  const features: FeatureAttribution[] = [];
  pre.numeric.forEach((t, i) => {
    const z = x[i]!;
    features.push({
      name: t.name,
      kind: 'numeric',
      value: z,
      raw: unstandardize(z, t),
      // x = 0 gives exactly 0 (not −0) whatever the gradient.
      attribution: z === 0 ? 0 : g.numericGradient[i]! * z,
    });
  });
  const { offsets } = vocabOffsets(pre);
  pre.categorical.forEach((voc, j) => {
    const index = cats[j]!;
    const slot = index - offsets[j]!;
    const value = slot >= 0 && slot < voc.values.length ? (voc.values[slot] ?? 'other') : index;
    features.push({ name: voc.name, kind: 'categorical', value, attribution: g.categoricalAttribution[j]! });
  });
  // Stable order: |attribution| descending, then the column order.
  features.sort((a, b) => Math.abs(b.attribution) - Math.abs(a.attribution));

  const actual = data.label[row]!;
  return {
    row,
    predicted: {
      classIndex: predicted,
      className: className(pre, predicted),
      probability: g.probabilities[predicted]!,
    },
    actual: { classIndex: actual, className: className(pre, actual) },
    mos: { predicted: g.mos, actual: data.mos[row]! },
    target: className(pre, g.classIndex),
    targetIndex: g.classIndex,
    logit: g.logits[g.classIndex]!,
    method: 'gradient × input',
    features,
  };
}

export interface FlowSuggestion {
  row: number;
  predicted: ClassRef & { probability: number };
  actual: ClassRef;
  correct: boolean;
}

export interface SuggestOptions {
  /** Correctly classified rows per true class, most confident first (default 2). */
  perClass?: number;
  /** Misclassified rows, most confident first, one per (true, predicted) pair before any repeat (default 8). */
  misclassified?: number;
  /** At most this many suggestions in all (default 40). */
  max?: number;
  /** Rows per forward pass (default 256, the server evaluator's batch). */
  batchSize?: number;
}

/**
 * Rows worth explaining to a class: for each true class, the rows the model gets right with the highest
 * confidence, then the misclassified rows it is most sure of. One batched forward pass over `data`,
 * yielding to the event loop between batches.
 */
export async function suggestFlows(
  model: MultiTaskModel,
  data: EncodedData,
  pre: Preprocessor,
  opts: SuggestOptions = {},
): Promise<FlowSuggestion[]> {
  const perClass = opts.perClass ?? 2;
  const max = opts.max ?? 40;
  const wrongWanted = Math.min(opts.misclassified ?? 8, max);
  const batchSize = opts.batchSize ?? 256;
  const pred = new Int32Array(data.n);
  const prob = new Float32Array(data.n);
  const idx = Int32Array.from({ length: data.n }, (_, i) => i);
  for (let start = 0; start < data.n; start += batchSize) {
    const end = Math.min(data.n, start + batchSize);
    const b = makeBatch(data, idx, start, end);
    const [c, p] = tf.tidy(() => {
      const probs = tf.softmax(model.forward(b.batch).logits);
      return [probs.argMax(1), probs.max(1)];
    });
    pred.set((await c.data()) as Int32Array, start);
    prob.set((await p.data()) as Float32Array, start);
    tf.dispose([c, p, b.batch.numeric, b.batch.categorical, b.targets.label, b.targets.mos]);
    if (end < data.n) await nextMacrotask();
  }
  const byConfidence = (a: number, b: number) => prob[b]! - prob[a]! || a - b;
  const k = pre.classes.length;
  const right: number[][] = Array.from({ length: k }, () => []);
  const wrong: number[] = [];
  for (let r = 0; r < data.n; r++) {
    if (pred[r] === data.label[r]) right[data.label[r]!]?.push(r);
    else wrong.push(r);
  }
  for (const rows of right) rows.sort(byConfidence);
  wrong.sort(byConfidence);

  // Misclassified: one per (true, predicted) pair first, then the rest by confidence.
  const seenPair = new Set<string>();
  const firstOfPair: number[] = [];
  const repeats: number[] = [];
  for (const r of wrong) {
    const key = `${data.label[r]}>${pred[r]}`;
    if (seenPair.has(key)) repeats.push(r);
    else {
      seenPair.add(key);
      firstOfPair.push(r);
    }
  }
  const wrongPicked = [...firstOfPair, ...repeats].slice(0, wrongWanted);
  // Correct: round-robin over classes (each class's best, then each class's second, …) within the budget.
  const rightBudget = max - wrongPicked.length;
  const rightPicked: number[] = [];
  for (let rank = 0; rank < perClass && rightPicked.length < rightBudget; rank++) {
    for (let c = 0; c < k && rightPicked.length < rightBudget; c++) {
      const r = right[c]![rank];
      if (r !== undefined) rightPicked.push(r);
    }
  }
  rightPicked.sort((a, b) => data.label[a]! - data.label[b]! || byConfidence(a, b));
  return [...rightPicked, ...wrongPicked].map((r) => ({
    row: r,
    predicted: { classIndex: pred[r]!, className: className(pre, pred[r]!), probability: prob[r]! },
    actual: { classIndex: data.label[r]!, className: className(pre, data.label[r]!) },
    correct: pred[r] === data.label[r],
  }));
}
