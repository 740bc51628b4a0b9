import { describe, expect, it } from 'vitest';
import { classificationReport, confusionMatrix, majorityClass, regressionReport } from './metrics.ts';

const CLASSES = ['benign', 'dos', 'scan'] as const;

// Worked by hand:
//   yTrue = [0,0,0,0, 1,1,1, 2,2,2]   support 4, 3, 3
//   yPred = [0,0,1,2, 1,1,0, 2,2,1]
//   confusion[true][pred] = [[2,1,1],[1,2,0],[0,1,2]]; column sums (predicted) 3, 4, 3; TP 2, 2, 2
//   accuracy = 6/10
//   benign: p = 2/3, r = 2/4 → f1 = 2·(1/3)/(7/6) = 4/7
//   dos:    p = 2/4, r = 2/3 → f1 = 4/7
//   scan:   p = 2/3, r = 2/3 → f1 = 2/3
//   macro-F1 = (4/7 + 4/7 + 2/3)/3 = 38/63
//   majority of yTrue = benign; predicting it everywhere: accuracy 4/10,
//     benign p = 0.4, r = 1 → f1 = 0.8/1.4 = 4/7; dos, scan never predicted → f1 0; macro-F1 = 4/21
const Y_TRUE = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
const Y_PRED = [0, 0, 1, 2, 1, 1, 0, 2, 2, 1];

describe('confusionMatrix', () => {
  it('counts confusion[true][pred]', () => {
    expect(confusionMatrix(Y_TRUE, Y_PRED, 3)).toEqual([
      [2, 1, 1],
      [1, 2, 0],
      [0, 1, 2],
    ]);
  });

  it('accepts typed arrays and is k × k even for unseen classes', () => {
    expect(confusionMatrix(Int32Array.of(0, 1), Int32Array.of(1, 1), 3)).toEqual([
      [0, 1, 0],
      [0, 1, 0],
      [0, 0, 0],
    ]);
  });
});

describe('classificationReport', () => {
  it('matches the hand-computed 3-class example', () => {
    const r = classificationReport(Y_TRUE, Y_PRED, CLASSES);
    expect(r.accuracy).toBeCloseTo(0.6, 12);
    expect(r.perClass.benign?.precision).toBeCloseTo(2 / 3, 12);
    expect(r.perClass.benign?.recall).toBeCloseTo(0.5, 12);
    expect(r.perClass.benign?.f1).toBeCloseTo(4 / 7, 12);
    expect(r.perClass.benign?.support).toBe(4);
    expect(r.perClass.dos?.precision).toBeCloseTo(0.5, 12);
    expect(r.perClass.dos?.recall).toBeCloseTo(2 / 3, 12);
    expect(r.perClass.dos?.f1).toBeCloseTo(4 / 7, 12);
    expect(r.perClass.dos?.support).toBe(3);
    expect(r.perClass.scan?.f1).toBeCloseTo(2 / 3, 12);
    expect(r.macroF1).toBeCloseTo(38 / 63, 12);
    expect(r.confusion).toEqual(confusionMatrix(Y_TRUE, Y_PRED, 3));
    expect(r.majorityBaseline.class).toBe('benign');
    expect(r.majorityBaseline.accuracy).toBeCloseTo(0.4, 12);
    expect(r.majorityBaseline.macroF1).toBeCloseTo(4 / 21, 12);
  });

  it('scores the baseline with the majority class the caller passes (the training majority)', () => {
    // Predicting scan everywhere: accuracy 3/10; scan p = 0.3, r = 1 → f1 = 0.6/1.3 = 6/13; macro = 2/13.
    const r = classificationReport(Y_TRUE, Y_PRED, CLASSES, 2);
    expect(r.majorityBaseline.class).toBe('scan');
    expect(r.majorityBaseline.accuracy).toBeCloseTo(0.3, 12);
    expect(r.majorityBaseline.macroF1).toBeCloseTo(2 / 13, 12);
    // The model's own scores do not depend on the baseline class.
    expect(r.macroF1).toBeCloseTo(38 / 63, 12);
  });

  it('gives 1 everywhere for perfect predictions', () => {
    const r = classificationReport(Y_TRUE, Y_TRUE, CLASSES);
    expect(r.accuracy).toBe(1);
    expect(r.macroF1).toBe(1);
    for (const name of CLASSES) {
      expect(r.perClass[name]).toMatchObject({ precision: 1, recall: 1, f1: 1 });
    }
    expect(r.confusion).toEqual([
      [4, 0, 0],
      [0, 3, 0],
      [0, 0, 3],
    ]);
  });

  it('scores an all-one-class predictor and leaves out classes neither present nor predicted', () => {
    // yTrue = [0,1,1,2], always predict 1: dos p = 2/4, r = 1 → f1 = 2/3; benign, scan f1 = 0.
    // 'idle' (3) neither occurs nor is predicted → not in perClass, not in the macro average: (2/3)/3 = 2/9.
    const r = classificationReport([0, 1, 1, 2], [1, 1, 1, 1], [...CLASSES, 'idle']);
    expect(r.accuracy).toBe(0.5);
    expect(Object.keys(r.perClass).sort()).toEqual(['benign', 'dos', 'scan']);
    expect(r.perClass.benign).toEqual({ precision: 0, recall: 0, f1: 0, support: 1 });
    expect(r.perClass.dos?.precision).toBe(0.5);
    expect(r.perClass.dos?.recall).toBe(1);
    expect(r.perClass.dos?.f1).toBeCloseTo(2 / 3, 12);
    expect(r.macroF1).toBeCloseTo(2 / 9, 12);
    expect(r.confusion[3]).toEqual([0, 0, 0, 0]);
  });

  it('gives a class that is never predicted precision 0, recall 0, f1 0', () => {
    // yTrue = [0,1,2,2], yPred = [0,1,1,1]: benign f1 1; dos p = 1/3, r = 1 → f1 = 1/2; scan never predicted.
    const r = classificationReport([0, 1, 2, 2], [0, 1, 1, 1], CLASSES);
    expect(r.perClass.scan).toEqual({ precision: 0, recall: 0, f1: 0, support: 2 });
    expect(r.perClass.dos?.f1).toBeCloseTo(0.5, 12);
    expect(r.macroF1).toBeCloseTo(0.5, 12);
    expect(r.accuracy).toBe(0.5);
  });

  it('includes a predicted class absent from yTrue in perClass and the macro average (sklearn union)', () => {
    // yTrue = [0,0,1,1], yPred = [0,2,1,1]: benign p = 1, r = 1/2 → f1 = 2/3; dos f1 = 1;
    // scan predicted once, support 0 → f1 0. macro = (2/3 + 1 + 0)/3 = 5/9.
    const r = classificationReport([0, 0, 1, 1], [0, 2, 1, 1], CLASSES);
    expect(r.perClass.scan).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(r.macroF1).toBeCloseTo(5 / 9, 12);
  });

  it('rejects bad inputs with messages saying what was expected and what came', () => {
    expect(() => classificationReport(Y_TRUE, Y_PRED.slice(1), CLASSES)).toThrow(
      new RangeError('classificationReport: yTrue has 10 entries but yPred has 9'),
    );
    expect(() => classificationReport([], [], CLASSES)).toThrow(/expected at least one entry, got 0/);
    expect(() => classificationReport([0, 3], [0, 1], CLASSES)).toThrow(
      new RangeError('classificationReport: yTrue[1] must be an integer class index in [0, 3), got 3'),
    );
    expect(() => classificationReport([0, 1], [0, 0.5], CLASSES)).toThrow(/yPred\[1\].*got 0\.5/);
    expect(() => classificationReport([0, 1], [-1, 0], CLASSES)).toThrow(/yPred\[0\].*got -1/);
    expect(() => classificationReport([0, 1], [0, Number.NaN], CLASSES)).toThrow(RangeError);
    expect(() => classificationReport([0], [0], CLASSES, 3)).toThrow(/majorityClass.*\[0, 3\), got 3/);
    expect(() => classificationReport([0], [0], [])).toThrow(/at least one class name/);
    expect(() => classificationReport([0], [0], ['a', 'a'])).toThrow(/distinct/);
    expect(() => confusionMatrix([0], [0], 0)).toThrow(/k must be an integer ≥ 1, got 0/);
    expect(() => confusionMatrix([0, 1], [0], 2)).toThrow(/yTrue has 2 entries but yPred has 1/);
  });
});

describe('majorityClass', () => {
  it('returns the most frequent class, ties to the smallest index', () => {
    expect(majorityClass([2, 1, 2, 0, 2], 3)).toBe(2);
    expect(majorityClass(Uint8Array.of(1, 0, 1, 0), 2)).toBe(0);
    expect(majorityClass([1], 4)).toBe(1);
  });

  it('validates its input', () => {
    expect(() => majorityClass([], 3)).toThrow(/expected at least one label, got 0/);
    expect(() => majorityClass([0, 5], 3)).toThrow(/labels\[1\].*\[0, 3\), got 5/);
    expect(() => majorityClass([0], 1.5)).toThrow(/k must be an integer ≥ 1, got 1\.5/);
  });
});

describe('regressionReport', () => {
  it('matches hand-computed MAE, RMSE and baseline MAE', () => {
    // errors 1-2, 2-2, 3-5, 4-4 = -1, 0, -2, 0 → MAE = 3/4, RMSE = sqrt(5/4)
    // mean(yTrue) = 2.5 → |1.5| + |0.5| + |0.5| + |1.5| = 4 → baselineMae = 1
    const r = regressionReport([1, 2, 3, 4], Float32Array.of(2, 2, 5, 4));
    expect(r.mae).toBeCloseTo(0.75, 12);
    expect(r.rmse).toBeCloseTo(Math.sqrt(1.25), 12);
    expect(r.baselineMae).toBeCloseTo(1, 12);
    // baseline 0 → mean |y| = 10/4
    expect(regressionReport([1, 2, 3, 4], [2, 2, 5, 4], 0).baselineMae).toBeCloseTo(2.5, 12);
  });

  it('gives zero error for perfect predictions', () => {
    expect(regressionReport([3.5, -1], [3.5, -1])).toMatchObject({ mae: 0, rmse: 0 });
  });

  it('validates its input', () => {
    expect(() => regressionReport([1, 2], [1])).toThrow(
      new RangeError('regressionReport: yTrue has 2 entries but yPred has 1'),
    );
    expect(() => regressionReport([], [])).toThrow(/at least one entry, got 0/);
    expect(() => regressionReport([1, Number.NaN], [1, 2])).toThrow(
      /yTrue\[1\] must be a finite number, got NaN/,
    );
    expect(() => regressionReport([1], [Number.POSITIVE_INFINITY])).toThrow(/yPred\[0\].*Infinity/);
    expect(() => regressionReport([1], [1], Number.NaN)).toThrow(/baseline must be a finite number, got NaN/);
  });
});
