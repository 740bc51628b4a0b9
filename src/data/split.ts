/**
 * Grouped train/test split: every row whose model-input vector is identical (same `groupKey`) lands on the
 * same side, so no feature vector is both trained on and tested on. Assignment hashes the group key with
 * the seed, so it is reproducible and independent of row order.
 */
import { hash53 } from './import.ts';

export interface Split {
  train: Int32Array;
  test: Int32Array;
}

export function groupedSplit(groupKey: Float64Array, testFraction: number, seed: number): Split {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new RangeError(`groupedSplit: testFraction must be in (0, 1), got ${testFraction}`);
  }
  const train: number[] = [];
  const test: number[] = [];
  const memo = new Map<number, boolean>();
  for (let i = 0; i < groupKey.length; i++) {
    const g = groupKey[i]!;
    let isTest = memo.get(g);
    if (isTest === undefined) {
      isTest = hash53(String(g), seed) / 2 ** 53 < testFraction;
      memo.set(g, isTest);
    }
    (isTest ? test : train).push(i);
  }
  return { train: Int32Array.from(train), test: Int32Array.from(test) };
}
