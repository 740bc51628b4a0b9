/**
 * The fused WebGPU training engine (src/engine/webgpu) against the tfjs model in Chromium on SwiftShader:
 * loss and every gradient on random batches of several configs (tfjs cpu backend as the reference,
 * tf.variableGrads of MultiTaskModel.loss), a short Adam training curve, and the dispatches of one step.
 * Correctness only: SwiftShader is a CPU emulation, its timings say nothing about a GPU.
 */
import { expect, type Page, test } from '@playwright/test';
import type { EngineCheckHook } from '../src/app/engine-check/main.ts';
import type { ModelConfig } from '../src/model/model.ts';

/**
 * Largest allowed ‖g_engine − g_tfjs‖₂ / max(‖g_tfjs‖₂, 0.01·‖G_tfjs‖₂) per parameter tensor (G: the whole
 * gradient; see src/engine/webgpu/check.ts for why the floor), and |Δloss|/|loss|. Float32 with another
 * summation order; the spec prints the measured figures, the plain ‖Δ‖/‖g‖ included.
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
    // Above the gradient's 16-sample chunk (kernels.ts gradChunking): three chunks, the last one partial.
    batch: 37,
    terms: { mu: 0.01, linear: true },
  },
];

test.describe.configure({ mode: 'serial' });

async function openCheckPage(page: Page): Promise<void> {
  await page.goto('/engine-check.html');
  await page.waitForFunction(() => window.__pqfedEngine !== undefined);
  expect(await page.evaluate(() => 'gpu' in navigator), 'WebGPU is exposed').toBe(true);
}

test('loss and every gradient match tfjs on random batches of several configs', async ({ page }) => {
  await openCheckPage(page);
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
        maxPlainGradRelError: Math.max(...r.tensors.map((t) => t.plainRelError)),
        worst: [...r.tensors].sort((a, b) => b.plainRelError - a.plainRelError).slice(0, 3),
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

/**
 * Largest allowed |loss_engine − loss_tfjs| / |loss_tfjs| at any step of the training curve. Adam divides
 * by √v, so float32 rounding differences of near-zero gradient components grow over steps; the printed
 * figures show the measured gap.
 */
const CURVE_TOLERANCE = 1e-2;

test('a short Adam training curve follows tfjs', async ({ page }) => {
  await openCheckPage(page);
  // The config with every loss term; the default model's curve is in the trainFused test below.
  const c = CONFIGS[0]!;
  const steps = 40;
  const r = await page.evaluate(
    ([config, opts]) => (window.__pqfedEngine as EngineCheckHook).trainingCurves(config, opts),
    [c.config, { seed: 5, batch: 8, rows: 32, steps, learningRate: 3e-3, ...c.terms }] as const,
  );
  const rel = r.engine.map((l, s) => Math.abs(l - r.tfjs[s]!) / Math.abs(r.tfjs[s]!));
  console.log(
    JSON.stringify({
      config: c.name,
      steps,
      reference: r.tfjsBackend,
      maxRelLossGap: Math.max(...rel),
      engine: { first: r.engine[0], last: r.engine.at(-1) },
      tfjs: { first: r.tfjs[0], last: r.tfjs.at(-1) },
    }),
  );
  expect(r.engine).toHaveLength(steps);
  expect(r.tfjs).toHaveLength(steps);
  for (const l of r.engine) expect(Number.isFinite(l)).toBe(true);
  // Average of the last 8 steps (each batch a quarter of the data) below the first 8: it learns.
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  expect(mean(r.engine.slice(-8)), "the engine's loss falls").toBeLessThan(0.9 * mean(r.engine.slice(0, 8)));
  expect(Math.max(...rel), 'engine and tfjs losses agree at every step').toBeLessThanOrEqual(CURVE_TOLERANCE);
});

test('one engine step takes at most a tenth of the dispatches of a tfjs WebGPU step', async ({ page }) => {
  await openCheckPage(page);
  const r = await page.evaluate(() =>
    (window.__pqfedEngine as EngineCheckHook).countDispatches({ batch: 16, seed: 3 }),
  );
  console.log(
    JSON.stringify({
      model: 'TON_IoT default (modelConfigFor on synthetic rows)',
      params: r.params,
      batch: 16,
      dispatchesPerStep: { tfjsWebgpu: r.tfjs, engine: r.engine },
      ratio: r.tfjs / r.engine,
    }),
  );
  expect(r.engine, 'the engine records its four dispatches (fwdbwd, loss, partial, update)').toBe(4);
  expect(r.tfjs, 'tfjs really ran on WebGPU').toBeGreaterThan(30);
  expect(r.engine).toBeLessThanOrEqual(r.tfjs / 10);
});

test('trainFused and predictFused keep the contract of train and predict (default model, TON_IoT rows)', async ({
  page,
}) => {
  await openCheckPage(page);
  const steps = 8;
  const r = await page.evaluate((o) => (window.__pqfedEngine as EngineCheckHook).compareTrainLoop(o), {
    rows: 96,
    steps,
    batch: 16,
    seed: 4,
    learningRate: 3e-3,
  });
  const rel = r.engine.map((l, s) => Math.abs(l - r.tfjs[s]!) / Math.abs(r.tfjs[s]!));
  console.log(
    JSON.stringify({
      params: r.params,
      steps,
      maxRelLossGap: Math.max(...rel),
      engine: r.engine,
      tfjs: r.tfjs,
      predict: r.predict,
    }),
  );
  expect(r.engine).toHaveLength(steps);
  expect(r.tfjs).toHaveLength(steps);
  expect(Math.max(...rel)).toBeLessThanOrEqual(CURVE_TOLERANCE);
  // Same weights (read back from the GPU buffer, set into tfjs): the same predictions.
  expect(Math.abs(r.predict.lossEngine - r.predict.lossTfjs) / r.predict.lossTfjs).toBeLessThanOrEqual(1e-4);
  expect(r.predict.classAgreement).toBeGreaterThanOrEqual(0.99);
  expect(r.predict.maxMosGap).toBeLessThanOrEqual(1e-4);
});
