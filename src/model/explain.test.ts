/**
 * Gradient × input explanations: the autodiff gradient of the explained logit agrees with central finite
 * differences (numeric inputs, and the directional derivative along each categorical embedding row), a
 * numeric input of 0 gets exactly 0, the output is deterministic and sorted, and no tensor leaks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTable } from '../cli/import.ts';
import { type EncodedData, encode, fitPreprocessor, type Preprocessor } from '../data/features.ts';
import { sampleRows } from '../data/shard.ts';
import { useBackend } from './backend.ts';
import { modelConfigFor } from './centralized.ts';
import { ExplainError, explainFlow, inputGradients, suggestFlows, unstandardize } from './explain.ts';
import { initWeights, MultiTaskModel } from './model.ts';
import { tf } from './tf.ts';
import { train } from './train.ts';

const EMBEDDED = new URL('../../public/data/ton_iot_network.sample.csv.gz', import.meta.url).pathname;
const SMALL_MODEL = { dModel: 8, heads: 2, ffDim: 16, convLayers: 1, mosWeight: 0.5 };

let pre: Preprocessor;
let test: EncodedData;
let model: MultiTaskModel;
let weights: Float32Array;

beforeAll(async () => {
  await useBackend('wasm');
  const { table } = await loadTable(EMBEDDED, 'toniot');
  const all = Int32Array.from({ length: table.n }, (_, i) => i);
  const picked = sampleRows(all, 3000, 7);
  const trainRows = picked.subarray(0, 2500);
  pre = fitPreprocessor(table, trainRows);
  const trainData = encode(table, trainRows, pre);
  test = encode(table, picked.subarray(2500), pre);
  const config = modelConfigFor(pre, SMALL_MODEL);
  model = new MultiTaskModel(config, initWeights(config, 3).weights);
  await train(model, trainData, { epochs: 20, batchSize: 64, learningRate: 3e-3, seed: 1, maxSteps: 300 });
  weights = await model.getWeights();
}, 120_000);

/** The explained class's logit for one flow whose numeric inputs are `x`, read in float32. */
function logitAt(x: Float32Array, cats: Int32Array, k: number, catEmbScale?: { column: number; by: number }) {
  return tf.tidy(() => {
    const batch = {
      numeric: tf.tensor2d(x, [1, x.length]),
      categorical: tf.tensor2d(cats, [1, cats.length], 'int32'),
    };
    let emb: tf.Tensor3D | undefined;
    if (catEmbScale) {
      const e = model.categoricalEmbeddings(batch.categorical);
      const scale = new Float32Array(cats.length).fill(1);
      scale[catEmbScale.column] = catEmbScale.by;
      emb = e.mul(tf.tensor3d(scale, [1, cats.length, 1])) as tf.Tensor3D;
    }
    return model.forward(batch, emb).logits.dataSync()[k]!;
  });
}

/** |autodiff − finite difference| within 2 % of the gradient's size, plus float32 noise. */
const agrees = (ad: number, fd: number) =>
  Math.abs(ad - fd) <= 0.02 * Math.max(Math.abs(ad), Math.abs(fd)) + 2e-3;

/**
 * Compares an autodiff derivative with finite differences of `f` (the logit at offset h along the
 * direction) at h = 1e-3: the central difference, or, where the forward and backward differences disagree
 * (a ReLU kink lies within h: the network is only piecewise smooth), the one-sided difference on the
 * kink-free side. A wrong gradient matches none of them.
 */
function finiteDifference(
  ad: number,
  f: (h: number) => number,
): { fd: number; how: 'central' | 'one-sided' | null } {
  const h = 1e-3;
  const f0 = f(0);
  const fp = f(h);
  const fm = f(-h);
  const central = (fp - fm) / (2 * h);
  if (agrees(ad, central)) return { fd: central, how: 'central' };
  const forward = (fp - f0) / h;
  const backward = (f0 - fm) / h;
  if (!agrees(forward, backward)) {
    if (agrees(ad, forward)) return { fd: forward, how: 'one-sided' };
    if (agrees(ad, backward)) return { fd: backward, how: 'one-sided' };
  }
  return { fd: central, how: null };
}

const rowOf = (data: EncodedData, r: number) => {
  const ln = pre.numeric.length;
  const lc = pre.categorical.length;
  return {
    x: data.numeric.slice(r * ln, (r + 1) * ln),
    cats: data.categorical.slice(r * lc, (r + 1) * lc),
  };
};

describe('explainFlow', () => {
  it('names every input column once, sorted by |attribution|, with display values', async () => {
    const e = await explainFlow(model, test, 0, pre);
    const names = [...pre.numeric.map((t) => t.name), ...pre.categorical.map((c) => c.name)];
    expect(e.features.map((f) => f.name).sort()).toEqual([...names].sort());
    for (let i = 1; i < e.features.length; i++) {
      expect(Math.abs(e.features[i - 1]!.attribution)).toBeGreaterThanOrEqual(
        Math.abs(e.features[i]!.attribution),
      );
    }
    expect(e.features.every((f) => Number.isFinite(f.attribution))).toBe(true);
    const { x, cats } = rowOf(test, 0);
    for (const f of e.features) {
      if (f.kind === 'numeric') {
        const i = pre.numeric.findIndex((t) => t.name === f.name);
        expect(f.value).toBe(x[i]);
        expect(f.raw).toBeCloseTo(unstandardize(x[i]!, pre.numeric[i]!), 6);
      } else {
        const j = pre.categorical.findIndex((c) => c.name === f.name);
        expect(typeof f.value).toBe('string');
        const offset = pre.categorical.slice(0, j).reduce((a, c) => a + c.values.length, 0);
        expect(f.value).toBe(pre.categorical[j]!.values[cats[j]! - offset] ?? 'other');
      }
    }
    expect(e.target).toBe(e.predicted.className);
    expect(e.predicted.className).toBe(pre.classes[e.predicted.classIndex]);
    expect(e.actual.classIndex).toBe(test.label[0]);
    expect(e.predicted.probability).toBeGreaterThan(0);
    expect(e.predicted.probability).toBeLessThanOrEqual(1);
    expect(e.mos.actual).toBe(test.mos[0]);
    expect(e.mos.predicted).toBeGreaterThanOrEqual(1);
    expect(e.mos.predicted).toBeLessThanOrEqual(5);
  });

  it('gives exactly 0 to a numeric input of 0, though its gradient is not 0', async () => {
    const data: EncodedData = { ...test, numeric: test.numeric.slice() };
    const ln = pre.numeric.length;
    const row = 3;
    const before = await explainFlow(model, data, row, pre);
    const top = before.features.find((f) => f.kind === 'numeric' && f.attribution !== 0)!;
    const i = pre.numeric.findIndex((t) => t.name === top.name);
    data.numeric[row * ln + i] = 0;
    const after = await explainFlow(model, data, row, pre);
    expect(after.features.find((f) => f.name === top.name)!.attribution).toBe(0);
    const g = await inputGradients(model, rowOf(data, row).x, rowOf(data, row).cats, after.targetIndex);
    expect(g.numericGradient[i]).not.toBe(0);
  });

  it('is deterministic: the same weights and row give the same explanation, in a fresh model too', async () => {
    const a = await explainFlow(model, test, 5, pre);
    expect(await explainFlow(model, test, 5, pre)).toEqual(a);
    const other = new MultiTaskModel(model.config, weights);
    try {
      expect(await explainFlow(other, test, 5, pre)).toEqual(a);
    } finally {
      other.dispose();
    }
  });

  it('matches central finite differences of the logit for the top numeric features and every categorical row', async () => {
    const figures: string[] = [];
    let checked = 0;
    let central = 0;
    let catChecked = 0;
    let centralCat = 0;
    let worst = 0;
    let worstCat = 0;
    for (const row of [0, 1, 2, 7, 11]) {
      const e = await explainFlow(model, test, row, pre);
      expect(Math.abs(e.features[0]!.attribution)).toBeGreaterThan(0);
      const { x, cats } = rowOf(test, row);
      const g = await inputGradients(model, x, cats, e.targetIndex);
      expect(g.logits[e.targetIndex]).toBe(e.logit);
      const topNumeric = e.features.filter((f) => f.kind === 'numeric').slice(0, 3);
      for (const f of topNumeric) {
        const i = pre.numeric.findIndex((t) => t.name === f.name);
        // attribution = gradient × input, on the standardized input
        expect(f.attribution).toBeCloseTo(g.numericGradient[i]! * x[i]!, 6);
        const ad = g.numericGradient[i]!;
        const { fd, how } = finiteDifference(ad, (h) => {
          const moved = x.slice();
          moved[i] = x[i]! + h;
          return logitAt(moved, cats, e.targetIndex);
        });
        figures.push(
          `row ${row} ${f.name}: autodiff ${ad.toFixed(5)}, finite difference ${fd.toFixed(5)} (${how})`,
        );
        expect(how, `row ${row} ${f.name}: autodiff ${ad}, finite difference ${fd}`).not.toBeNull();
        if (how === 'central') central++;
        worst = Math.max(worst, Math.abs(ad - fd) / Math.max(Math.abs(ad), 1e-3));
        checked++;
      }
      // Σ_d ∂logit/∂e_d · e_d is the derivative of logit(s·e) in s at s = 1.
      for (let j = 0; j < pre.categorical.length; j++) {
        const ad = g.categoricalAttribution[j]!;
        const { fd, how } = finiteDifference(ad, (h) =>
          logitAt(x, cats, e.targetIndex, { column: j, by: 1 + h }),
        );
        const name = pre.categorical[j]!.name;
        expect(how, `row ${row} ${name}: autodiff ${ad}, finite difference ${fd}`).not.toBeNull();
        if (how === 'central') centralCat++;
        catChecked++;
        worstCat = Math.max(worstCat, Math.abs(ad - fd) / Math.max(Math.abs(ad), 1e-3));
      }
    }
    expect(checked).toBe(15);
    // Kinks are the exception: most checks agree with the plain central difference.
    expect(central).toBeGreaterThanOrEqual(12);
    expect(centralCat).toBeGreaterThanOrEqual(0.8 * catChecked);
    console.log(
      `finite differences vs autodiff (h = 1e-3): worst relative gap ${worst.toExponential(2)} ` +
        `(numeric, ${central}/${checked} central), ${worstCat.toExponential(2)} ` +
        `(categorical, ${centralCat}/${catChecked} central)\n  ${figures.join('\n  ')}`,
    );
  });

  it('explains another class when asked, and refuses bad rows and classes', async () => {
    const e = await explainFlow(model, test, 0, pre);
    const other = (e.predicted.classIndex + 1) % pre.classes.length;
    const o = await explainFlow(model, test, 0, pre, { classIndex: other });
    expect(o.target).toBe(pre.classes[other]);
    expect(o.predicted).toEqual(e.predicted);
    expect(o.features).not.toEqual(e.features);
    for (const bad of [-1, 1.5, test.n, Number.NaN]) {
      await expect(explainFlow(model, test, bad, pre)).rejects.toThrow(ExplainError);
    }
    await expect(explainFlow(model, test, 0, pre, { classIndex: pre.classes.length })).rejects.toThrow(
      /class index/,
    );
  });

  it('leaves no tensor behind', async () => {
    await explainFlow(model, test, 0, pre); // warm-up (the head mask is kept once)
    const before = tf.memory().numTensors;
    for (let r = 0; r < 5; r++) await explainFlow(model, test, r, pre);
    await suggestFlows(model, test, pre);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('suggestFlows', () => {
  it('picks confident correct rows per class and confident mistakes, within the cap, agreeing with explainFlow', async () => {
    const s = await suggestFlows(model, test, pre, { batchSize: 128 });
    expect(s.length).toBeGreaterThan(0);
    expect(s.length).toBeLessThanOrEqual(40);
    expect(new Set(s.map((x) => x.row)).size).toBe(s.length);
    const perClass = new Map<number, number>();
    for (const x of s) {
      expect(x.correct).toBe(x.predicted.classIndex === x.actual.classIndex);
      expect(x.actual.classIndex).toBe(test.label[x.row]);
      if (x.correct) perClass.set(x.actual.classIndex, (perClass.get(x.actual.classIndex) ?? 0) + 1);
    }
    for (const n of perClass.values()) expect(n).toBeLessThanOrEqual(2);
    // correct rows come first, then at most 8 mistakes
    const firstWrong = s.findIndex((x) => !x.correct);
    if (firstWrong >= 0) {
      expect(s.slice(firstWrong).every((x) => !x.correct)).toBe(true);
      expect(s.length - firstWrong).toBeLessThanOrEqual(8);
    }
    for (const x of s.slice(0, 4)) {
      const e = await explainFlow(model, test, x.row, pre);
      expect(e.predicted.classIndex).toBe(x.predicted.classIndex);
      expect(e.predicted.probability).toBeCloseTo(x.predicted.probability, 4);
    }
    expect(await suggestFlows(model, test, pre, { max: 5 })).toHaveLength(5);
  });
});
