/**
 * Centralized training of the PQFed model: the upper bound a federation is compared against.
 * Data rules (DESIGN.md): identifiers were dropped and rows deduplicated at import; here the split is grouped
 * (no identical input vector on both sides), and scalers/encoders are fitted on the training rows only.
 */
import type { EncodedData, Preprocessor } from '../data/features.ts';
import { encode, fitPreprocessor } from '../data/features.ts';
import type { FlowTable } from '../data/import.ts';
import type { LabelLevel } from '../data/schema.ts';
import { groupedSplit } from '../data/split.ts';
import { type StepEngine, trainFused } from '../engine/train-fused.ts';
import { type EvaluationReport, evaluate } from './evaluate.ts';
import { DEFAULT_MODEL, initWeights, type ModelConfig, MultiTaskModel } from './model.ts';
import { balancedClassWeights, type TrainProgress, train } from './train.ts';

export interface CentralizedOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  level: LabelLevel;
  testFraction: number;
  /** Loss weights per class: none, or ∝ 1/√frequency. */
  classWeights: 'none' | 'sqrt';
  model?: Partial<Pick<ModelConfig, 'dModel' | 'heads' | 'ffDim' | 'convLayers' | 'mosWeight'>>;
  /** Who runs the steps: tfjs on the active backend (default) or the fused WASM engine. */
  engine?: StepEngine;
  onProgress?: (p: TrainProgress) => void;
}

export interface CentralizedReport extends EvaluationReport {
  rows: { train: number; test: number; overlapDropped: number };
  samplesPerSec: number;
  trainSeconds: number;
  params: number;
  epochs: number;
  batchSize: number;
}

export function modelConfigFor(pre: Preprocessor, overrides: CentralizedOptions['model'] = {}): ModelConfig {
  return {
    ...DEFAULT_MODEL,
    ...overrides,
    numNumeric: pre.numeric.length,
    catVocab: pre.categorical.map((c) => c.values.length),
    numClasses: pre.classes.length,
  };
}

/** Rows of `train` whose input vector does not occur in `test`. */
export function withoutOverlap(train: FlowTable, test: FlowTable): { rows: Int32Array; dropped: number } {
  const testGroups = new Set(test.groupKey);
  const rows: number[] = [];
  for (let i = 0; i < train.n; i++) if (!testGroups.has(train.groupKey[i]!)) rows.push(i);
  return { rows: Int32Array.from(rows), dropped: train.n - rows.length };
}

export async function trainCentralized(
  table: FlowTable,
  testTable: FlowTable | undefined,
  opts: CentralizedOptions,
): Promise<{ report: CentralizedReport; model: MultiTaskModel; preprocessor: Preprocessor }> {
  let trainRows: Int32Array;
  let testRows: Int32Array;
  let overlapDropped = 0;
  if (testTable) {
    const o = withoutOverlap(table, testTable);
    trainRows = o.rows;
    overlapDropped = o.dropped;
    testRows = Int32Array.from({ length: testTable.n }, (_, i) => i);
  } else {
    const split = groupedSplit(table.groupKey, opts.testFraction, opts.seed);
    trainRows = split.train;
    testRows = split.test;
  }
  const pre = fitPreprocessor(table, trainRows, opts.level);
  const trainData: EncodedData = encode(table, trainRows, pre);
  const testData: EncodedData = encode(testTable ?? table, testRows, pre);
  const config = modelConfigFor(pre, opts.model);
  const model = new MultiTaskModel(config, initWeights(config, opts.seed).weights);
  const result = await (opts.engine === 'fused' ? trainFused : train)(model, trainData, {
    epochs: opts.epochs,
    batchSize: opts.batchSize,
    learningRate: opts.learningRate,
    seed: opts.seed,
    finalLearningRateFraction: 0.05,
    classWeights:
      opts.classWeights === 'sqrt' ? balancedClassWeights(trainData.label, pre.classes.length) : undefined,
    onProgress: opts.onProgress,
  });
  const evaluation = await evaluate(model, testData, pre.classes, trainData);
  return {
    report: {
      ...evaluation,
      rows: { train: trainData.n, test: testData.n, overlapDropped },
      samplesPerSec: result.samplesPerSec,
      trainSeconds: result.seconds,
      params: model.numParams,
      epochs: opts.epochs,
      batchSize: opts.batchSize,
    },
    model,
    preprocessor: pre,
  };
}
