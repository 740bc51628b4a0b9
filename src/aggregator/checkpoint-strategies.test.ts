import { describe, expect, it } from 'vitest';
import { Rng } from '../core/random.ts';
import {
  type ClientUpdate,
  createStrategy,
  type Strategy,
  type StrategyName,
} from '../core/strategies/index.ts';
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from './checkpoint.ts';

// Resume at the aggregator's level: the state of every stateful strategy goes through the checkpoint file's
// encoding (as the coordinator saves it after each round) into a fresh strategy, which then continues
// bit-identically to a run that never stopped.

const D = 96;

function round(s: Strategy, r: number, global: Float32Array, updates: readonly ClientUpdate[]): Float32Array {
  const agg = s.begin(r, global);
  for (const u of updates) agg.add(u);
  return agg.finish();
}

function checkpoint(strategy: StrategyName, weights: Float32Array, s: Strategy, r: number): Checkpoint {
  return {
    session: 'cd'.repeat(16),
    round: r,
    version: r,
    strategy,
    history: [],
    weights,
    strategyState: s.exportState(),
    configDigest: '0123456789abcdef',
    clientKeys: {},
    clientShards: {},
  };
}

describe.each([
  'fedadam',
  'fedyogi',
  'fedadagrad',
  'fedavgm',
] as const)('%s resumed from a checkpoint', (name) => {
  it('continues bit-identically to an uninterrupted run', () => {
    const rng = new Rng(23);
    const updates = Array.from({ length: 5 }, (_, r) =>
      Array.from({ length: 3 }, (_, k) => ({
        clientId: `c-${k}`,
        delta: Float32Array.from({ length: D }, () => 0.03 * rng.normal() + 0.002 * r),
        numSamples: 7 + 13 * k,
      })),
    );
    const params = { serverLearningRate: 0.05 };
    const a = createStrategy(name, params);
    let g: Float32Array = Float32Array.from({ length: D }, () => rng.normal());
    for (let r = 1; r <= 2; r++) g = round(a, r, g, updates[r - 1]!);
    const back = decodeCheckpoint(encodeCheckpoint(checkpoint(name, g, a, 2)), 'test');

    const b = createStrategy(name, params);
    b.importState(back.strategyState);
    let ga = g;
    let gb = back.weights;
    for (let r = 3; r <= 5; r++) {
      ga = round(a, r, ga, updates[r - 1]!);
      gb = round(b, r, gb, updates[r - 1]!);
      expect(Buffer.from(gb.buffer).equals(Buffer.from(ga.buffer))).toBe(true);
    }
    expect(b.exportState()).toEqual(a.exportState());
    // Without the state, round 3 differs: the checkpoint carried something that matters.
    const fresh = round(createStrategy(name, params), 3, back.weights, updates[2]!);
    const resumed = createStrategy(name, params);
    resumed.importState(back.strategyState);
    expect(Array.from(round(resumed, 3, back.weights, updates[2]!))).not.toEqual(Array.from(fresh));
  });
});
