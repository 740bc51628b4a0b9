import { describe, expect, it } from 'vitest';
import { Rng } from '../core/random.ts';
import {
  type ClientUpdate,
  createStrategy,
  type Strategy,
  type StrategyName,
} from '../core/strategies/index.ts';
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from './checkpoint.ts';
import { applyExperiment, DEFAULT_EXPERIMENT } from './config.ts';
import { Coordinator, type CoordinatorOptions } from './coordinator.ts';

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

describe('the coordinator resumed from a checkpoint', () => {
  const coordinator = (strategy: StrategyName, resume: Checkpoint) =>
    new Coordinator({
      config: applyExperiment(DEFAULT_EXPERIMENT, { strategy, autoStart: false }),
      experiment: {
        dataset: 'toniot',
        model: {},
        preprocessor: {},
        modelSize: D,
      } as CoordinatorOptions['experiment'],
      initialWeights: new Float32Array(D),
      evaluate: () => Promise.reject(new Error('not evaluated in this test')),
      channels: { openRound: () => Promise.reject(new Error('no round in this test')) },
      dataDir: null,
      resume,
      configDigest: '0123456789abcdef',
    });

  it.each([
    'fedyogi',
    'fedadagrad',
    'fedavgm',
  ] as const)('%s: takes the saved server state and writes it back in its next checkpoint', (name) => {
    const s = createStrategy(name);
    const rng = new Rng(3);
    let g: Float32Array = Float32Array.from({ length: D }, () => rng.normal());
    for (let r = 1; r <= 2; r++) {
      g = round(s, r, g, [
        { clientId: 'a', delta: Float32Array.from({ length: D }, () => 0.1 * rng.normal()), numSamples: 3 },
      ]);
    }
    const saved = decodeCheckpoint(encodeCheckpoint(checkpoint(name, g, s, 2)), 'test');
    const c = coordinator(name, saved);
    try {
      const again = c.checkpoint();
      expect(again.strategy).toBe(name);
      expect(again.round).toBe(2);
      expect(again.strategyState).toEqual(s.exportState());
      expect(Buffer.from(again.weights.buffer).equals(Buffer.from(g.buffer))).toBe(true);
    } finally {
      c.close();
    }
    // A checkpoint of another strategy: its state is not imported (the new strategy starts fresh).
    const other = coordinator('fedavgm', { ...saved, strategy: 'fedyogi' });
    try {
      expect(other.checkpoint().strategyState).toEqual(createStrategy('fedavgm').exportState());
    } finally {
      other.close();
    }
  });
});
