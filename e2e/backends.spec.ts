/**
 * The trainer worker on every backend: WebGPU (SwiftShader), WASM (SIMD, cross-origin isolated) and CPU
 * train the same model from the same seeded weights over the same batches to the same losses, without
 * leaking tensors; and the page's button trains in the worker while the page stays responsive.
 */
import { expect, test } from '@playwright/test';
import type { PqfedHook } from '../src/app/main.ts';
import { SYNTHETIC_NOTICE } from '../src/data/synthetic.ts';
import type { BackendName } from '../src/model/backend.ts';

type Run = Awaited<ReturnType<PqfedHook['lossTrace']>>;

/** Same rows, seed, batches and initial weights on every backend. */
const OPTS = { rows: 600, seed: 7, steps: 8, batchSize: 32, learningRate: 2e-3 };

/**
 * Largest allowed |loss − loss_cpu| / |loss_cpu| at any step. Measured here (2 cores, Chromium, SwiftShader):
 * webgpu 9.5e-8, wasm 1.8e-7 (float32 rounding); 1e-3 leaves room for real GPUs, which fuse differently.
 */
const TOLERANCE: Record<'webgpu' | 'wasm', number> = { webgpu: 1e-3, wasm: 1e-3 };

test('webgpu, wasm and cpu give the same loss trace, with a flat tensor count', async ({ page }) => {
  await page.goto('/');
  expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
  await page.waitForFunction(() => window.__pqfed !== undefined);

  const runs = {} as Record<BackendName, Run>;
  for (const backend of ['cpu', 'wasm', 'webgpu'] as const) {
    runs[backend] = await page.evaluate(([b, o]) => window.__pqfed!.lossTrace(b, o), [
      backend,
      OPTS,
    ] as const);
  }

  for (const backend of ['cpu', 'wasm', 'webgpu'] as const) {
    const { report, trace } = runs[backend];
    expect(report.name, `${backend} really ran`).toBe(backend);
    expect(trace.backend).toBe(backend);
    expect(trace.losses).toHaveLength(OPTS.steps);
    for (const l of trace.losses) expect(Number.isFinite(l), `${backend} loss ${l} is finite`).toBe(true);
    expect(trace.losses.at(-1)!, `${backend} loss decreases`).toBeLessThan(trace.losses[0]!);
    // Step 1 creates the optimizer's slots; from step 2 on, every step must free what it allocates.
    expect(trace.numTensors.slice(1), `${backend} tensor count is flat`).toEqual(
      trace.numTensors.slice(1).map(() => trace.numTensors[1]),
    );
  }
  expect(runs.webgpu.report.adapter, 'WebGPU reports its adapter').toBeTruthy();
  expect(runs.wasm.report.simd).toBe(true);
  expect(runs.wasm.report.crossOriginIsolated).toBe(true);
  expect(runs.wasm.report.threads).toBeGreaterThanOrEqual(1);

  const cpu = runs.cpu.trace.losses;
  const deviation: Record<string, number> = {};
  for (const backend of ['webgpu', 'wasm'] as const) {
    const rel = runs[backend].trace.losses.map((l, i) => Math.abs(l - cpu[i]!) / Math.abs(cpu[i]!));
    deviation[backend] = Math.max(...rel);
  }
  console.log(
    JSON.stringify({
      maxRelativeLossDeviationVsCpu: deviation,
      wasm: { simd: runs.wasm.report.simd, threads: runs.wasm.report.threads },
      webgpuAdapter: runs.webgpu.report.adapter,
      losses: Object.fromEntries(Object.entries(runs).map(([b, r]) => [b, r.trace.losses])),
      numTensors: Object.fromEntries(Object.entries(runs).map(([b, r]) => [b, r.trace.numTensors])),
    }),
  );
  for (const backend of ['webgpu', 'wasm'] as const) {
    expect(deviation[backend]!, `${backend} agrees with cpu at every step`).toBeLessThanOrEqual(
      TOLERANCE[backend],
    );
  }
});

test('the button trains in the worker with visible progress while the page stays responsive', async ({
  page,
}) => {
  await page.goto('/');
  const status = page.locator('#status');
  await expect(status).toContainText('Ready', { timeout: 120_000 });
  await page.getByLabel('Compute backend').selectOption('wasm');
  await expect(page.locator('#backend-name')).toHaveText('wasm');
  await expect(status).toContainText('Ready: training runs on wasm');
  await expect(page.getByText(SYNTHETIC_NOTICE)).toBeVisible();
  // tfjs, whose 300 steps take long enough to watch (the default on WASM, the fused engine, is ~3× faster:
  // fused-engine-integration.spec.ts)
  await page.getByLabel('Training engine').selectOption('tfjs');
  await expect(page.locator('#engine-name')).toHaveText('tfjs × wasm');

  await page.getByRole('button', { name: 'Train on synthetic sample' }).click();
  const progress = page.getByRole('progressbar', { name: 'Training progress' });
  const value = () => progress.evaluate((p) => (p as HTMLProgressElement).value);
  await expect.poll(value, { timeout: 60_000 }).toBeGreaterThan(0);
  const first = await value();

  // The main thread answers at once while the worker trains (a main-thread loop would block it for steps).
  const t0 = Date.now();
  expect(await page.evaluate(() => 6 * 7)).toBe(42);
  const roundTripMs = Date.now() - t0;
  console.log(JSON.stringify({ evaluateRoundTripWhileTrainingMs: roundTripMs }));
  expect(roundTripMs).toBeLessThan(2_000);

  await expect.poll(value, { timeout: 60_000 }).toBeGreaterThan(first);
  await expect(page.locator('#train-loss')).toHaveText(/^\d+\.\d{4}$/);
  await expect(page.locator('#train-speed')).toHaveText(/^\d+$/);

  await page.getByRole('button', { name: 'Stop training' }).click();
  await expect(status).toContainText(/(Stopped|Done) after \d+ steps on wasm/);
  await expect(page.getByRole('button', { name: 'Train on synthetic sample' })).toBeEnabled();
});
