import { describe, expect, it } from 'vitest';
import { useBackend } from '../model/backend.ts';
import { modelConfigFor } from '../model/centralized.ts';
import { initWeights } from '../model/model.ts';
import { syntheticTrainingData } from '../model/throughput.ts';
import { engineInUse, trainingEngineFor } from './engine-in-use.ts';

describe('the engine a worker trains on', () => {
  it('auto is the fused WASM engine on wasm and cpu (its module compiles here), tfjs on webgpu', async () => {
    expect(await engineInUse('auto', 'wasm')).toEqual({ engine: 'fused-wasm', device: 'WASM SIMD' });
    expect(await engineInUse('auto', 'cpu')).toEqual({ engine: 'fused-wasm', device: 'WASM SIMD' });
    expect(await engineInUse('auto', 'webgpu')).toEqual({ engine: 'tfjs', device: 'webgpu' });
    expect(await engineInUse('tfjs', 'wasm')).toEqual({ engine: 'tfjs', device: 'wasm' });
  });

  it('the fused WebGPU engine without an adapter is tfjs, with the reason', async () => {
    const r = await engineInUse('fused-webgpu', 'wasm');
    expect(r.engine).toBe('tfjs');
    expect(r.fallback).toMatch(/gave no adapter/);
  });

  it("the fused WASM factory trains the model like tfjs's (same loss after a few steps)", async () => {
    await useBackend('wasm');
    const { pre, data } = await syntheticTrainingData('toniot', 256, 3);
    const config = modelConfigFor(pre);
    const w = initWeights(config, 3).weights;
    const losses: number[] = [];
    for (const name of ['fused-wasm', 'tfjs'] as const) {
      const engine = await trainingEngineFor(name)(config);
      try {
        engine.setWeights(w);
        const r = await engine.train(data, {
          epochs: 1,
          maxSteps: 4,
          batchSize: 64,
          learningRate: 1e-3,
          seed: 1,
        });
        losses.push(r.finalLoss);
      } finally {
        engine.dispose();
      }
    }
    expect(Math.abs(losses[0]! - losses[1]!) / losses[1]!).toBeLessThan(1e-4);
  });
});
