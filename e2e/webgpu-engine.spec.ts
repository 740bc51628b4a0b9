/**
 * The fused WebGPU training engine (src/engine/webgpu) against the tfjs model in Chromium on SwiftShader:
 * loss and every gradient on random batches of several configs (tfjs cpu backend as the reference,
 * tf.variableGrads of MultiTaskModel.loss), a short Adam training curve, and the dispatches of one step.
 * Correctness only: SwiftShader is a CPU emulation, its timings say nothing about a GPU.
 */
import { expect, test } from '@playwright/test';
import type { EngineCheckHook } from '../src/app/engine-check/main.ts';
import type { ModelConfig } from '../src/model/model.ts';

/**
 * Largest allowed ‖g_engine − g_tfjs‖₂ / ‖g_tfjs‖₂ per parameter tensor, and |Δloss|/|loss|. Float32 with a
 * different summation order; measured here (SwiftShader) well below it (the spec prints the figures).
 */
const GRAD_TOLERANCE = 1e-4;

const CONFIGS: { name: string; config: ModelConfig; batch: number; terms: object }[] = [
  {
    name: 'numeric + categorical, 2 conv, 2 heads, class weights + FedProx + FedDyn',
    config: {
      numNumeric: 4,
      catVocab: [3, 5],
      numClasses: 3,
      dModel: 8,
      heads: 2,
      ffDim: 12,
      convLayers: 2,
      mosWeight: 0.5,
    },
    batch: 6,
    terms: { classWeights: true, mu: 0.1, linear: true },
  },
  {
    name: 'categorical only, 1 conv, 3 heads',
    config: {
      numNumeric: 0,
      catVocab: [4, 2, 3],
      numClasses: 4,
      dModel: 12,
      heads: 3,
      ffDim: 8,
      convLayers: 1,
      mosWeight: 1,
    },
    batch: 5,
    terms: {},
  },
  {
    name: 'numeric only, no conv, 1 head, class weights',
    config: {
      numNumeric: 7,
      catVocab: [],
      numClasses: 2,
      dModel: 16,
      heads: 1,
      ffDim: 32,
      convLayers: 0,
      mosWeight: 0.25,
    },
    batch: 8,
    terms: { classWeights: true },
  },
  {
    name: 'default sizes (d 32, 2 heads, ff 64, 2 conv), FedProx + FedDyn',
    config: {
      numNumeric: 10,
      catVocab: [6, 4, 3],
      numClasses: 5,
      dModel: 32,
      heads: 2,
      ffDim: 64,
      convLayers: 2,
      mosWeight: 0.5,
    },
    batch: 12,
    terms: { mu: 0.01, linear: true },
  },
];

test.describe.configure({ mode: 'serial' });

test.beforeEach(async ({ page }) => {
  await page.goto('/engine-check.html');
  await page.waitForFunction(() => window.__pqfedEngine !== undefined);
  expect(await page.evaluate(() => 'gpu' in navigator), 'WebGPU is exposed').toBe(true);
});

test('loss and every gradient match tfjs on random batches of several configs', async ({ page }) => {
  for (const [i, c] of CONFIGS.entries()) {
    const r = await page.evaluate(
      ([config, opts]) => (window.__pqfedEngine as EngineCheckHook).checkGradients(config, opts),
      [c.config, { seed: 11 + i, batch: c.batch, ...c.terms }] as const,
    );
    console.log(
      JSON.stringify({
        config: c.name,
        params: r.params,
        reference: r.tfjsBackend,
        engineLoss: r.engineLoss,
        tfjsLoss: r.tfjsLoss,
        lossRelError: r.lossRelError,
        maxGradRelError: r.maxRelError,
        worst: [...r.tensors].sort((a, b) => b.relError - a.relError).slice(0, 3),
      }),
    );
    expect(r.tfjsBackend).toBe('cpu');
    const nonEmpty =
      (c.config.numNumeric > 0 ? 2 : 0) +
      (c.config.catVocab.length > 0 ? 2 : 0) +
      2 * c.config.convLayers +
      18;
    expect(r.tensors.length, 'every non-empty parameter tensor was compared').toBe(nonEmpty);
    expect(Number.isFinite(r.engineLoss)).toBe(true);
    expect(r.lossRelError, `${c.name}: loss`).toBeLessThanOrEqual(GRAD_TOLERANCE);
    for (const t of r.tensors) {
      expect(t.norm, `${c.name}: ${t.name} has a non-zero reference gradient`).toBeGreaterThan(0);
      expect(t.relError, `${c.name}: gradient of ${t.name}`).toBeLessThanOrEqual(GRAD_TOLERANCE);
    }
  }
});
