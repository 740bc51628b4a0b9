/**
 * The fused engines inside the app: the client page's default (auto: the fused WASM engine on the WASM
 * backend), its "Training engine" choice (and the WebGPU engine's fallback to tfjs without an adapter), and the federated client's local training (ModelTrainer.fit with FedDyn
 * and FedProx) on the engine against tfjs, and a tab that joins a real aggregator with `&engine=fused-webgpu`. The engine's own checks are in webgpu-engine.spec.ts.
 */
import { expect, test } from '@playwright/test';
import type { EngineCheckHook } from '../src/app/engine-check/main.ts';
import { SMALL_EXPERIMENT, serve, until } from './aggregator.ts';
import { clientIdOf } from './tab.ts';

test('on the WASM backend the page defaults to the fused WASM engine, shows engine × device and trains on it', async ({
  page,
}) => {
  const engineAsset: string[] = [];
  page.on('response', (r) => {
    if (/\/engine-[\w-]+\.wasm$/.test(new URL(r.url()).pathname)) engineAsset.push(`${r.status()}`);
  });
  await page.goto('/?backend=wasm');
  const status = page.locator('#status');
  await expect(status).toContainText('Ready', { timeout: 120_000 });
  await expect(page.getByLabel('Training engine')).toHaveValue('auto');
  await expect(page.locator('#engine-name')).toHaveText('fused WASM engine × WASM SIMD');
  await expect(status).toContainText('Ready: training runs on wasm (fused WASM engine × WASM SIMD)');
  await page.getByRole('button', { name: 'Train on synthetic sample' }).click();
  // 300 steps on the fused engine take a few seconds: let them finish
  await expect(status).toContainText(/Done after 300 steps on the fused WASM engine: loss \d+\.\d{4}/, {
    timeout: 60_000,
  });
  await expect(page.getByRole('progressbar', { name: 'Training progress' })).toHaveJSProperty('value', 300);
  await expect(page.locator('#train-engine')).toHaveText('fused WASM engine × WASM SIMD');
  // the engine module is a built asset, served by the app
  expect(engineAsset).toContain('200');
  // choosing tfjs shows it at once
  await page.getByLabel('Training engine').selectOption('tfjs');
  await expect(page.locator('#engine-name')).toHaveText('tfjs × wasm');
});

test('when the engine module is not served, auto trains with tfjs and the page says why', async ({
  page,
}) => {
  await page
    .context()
    .route(/\/assets\/engine-[\w-]+\.wasm$/, (route) => route.fulfill({ status: 404, body: 'gone' }));
  await page.goto('/?backend=wasm');
  await expect(page.locator('#status')).toContainText('Ready', { timeout: 120_000 });
  await expect(page.locator('#engine-name')).toHaveText(
    /^tfjs × wasm \(the fused engine could not run: fused engine: fetching \S+\/assets\/engine-[\w-]+\.wasm gave HTTP 404\)$/,
  );
});

test('the page trains with the fused engine when chosen, and shows which engine trained', async ({
  page,
}) => {
  await page.goto('/');
  const status = page.locator('#status');
  await expect(status).toContainText('Ready', { timeout: 120_000 });
  await page.getByLabel('Training engine').selectOption('fused-webgpu');
  await page.getByRole('button', { name: 'Train on synthetic sample' }).click();
  const progress = page.getByRole('progressbar', { name: 'Training progress' });
  await expect
    .poll(() => progress.evaluate((p) => (p as HTMLProgressElement).value), { timeout: 60_000 })
    .toBeGreaterThan(0);
  await expect(page.locator('#train-loss')).toHaveText(/^\d+\.\d{4}$/);
  await expect(page.getByLabel('Training engine')).toBeDisabled();
  await page.getByRole('button', { name: 'Stop training' }).click();
  await expect(status).toContainText(/(Stopped|Done) after \d+ steps on the fused WebGPU engine/);
  await expect(page.locator('#train-engine')).toHaveText('fused WebGPU engine × WebGPU');
  await expect(page.getByLabel('Training engine')).toBeEnabled();
});

test('without a WebGPU adapter, choosing the fused engine falls back to tfjs and says why', async ({
  playwright,
  baseURL,
}) => {
  // Chromium without --enable-unsafe-webgpu here: navigator.gpu is there, requestAdapter() gives null.
  const browser = await playwright.chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ baseURL });
    await page.goto('/');
    const status = page.locator('#status');
    await expect(status).toContainText('Ready', { timeout: 120_000 });
    await page.getByLabel('Training engine').selectOption('fused-webgpu');
    await page.getByRole('button', { name: 'Train on synthetic sample' }).click();
    const progress = page.getByRole('progressbar', { name: 'Training progress' });
    await expect
      .poll(() => progress.evaluate((p) => (p as HTMLProgressElement).value), { timeout: 60_000 })
      .toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Stop training' }).click();
    await expect(status).toContainText(/(Stopped|Done) after \d+ steps on (wasm|cpu):/);
    await expect(page.locator('#train-engine')).toHaveText(
      /^tfjs × (wasm|cpu) \(the fused engine could not run: engine: navigator\.gpu gave no adapter\)$/,
    );
  } finally {
    await browser.close();
  }
});

test("the federated client's local training (ModelTrainer.fit, FedDyn + FedProx) runs on the fused engine", async ({
  page,
}) => {
  await page.goto('/engine-check.html');
  await page.waitForFunction(() => window.__pqfedEngine !== undefined);
  const r = await page.evaluate(() =>
    (window.__pqfedEngine as EngineCheckHook).compareClientFit({ rows: 48, seed: 9 }),
  );
  console.log(JSON.stringify(r));
  expect(r.rounds).toHaveLength(2);
  for (const round of r.rounds) {
    expect(round.deltaNorm, 'the round trained').toBeGreaterThan(0);
    // Norm-wise over every weight but the key bias, whose true gradient is 0 (see compareClientFit).
    expect(round.deltaRelError, 'local − global matches tfjs').toBeLessThanOrEqual(1e-3);
    expect(Math.abs(round.lossEngine - round.lossTfjs) / Math.abs(round.lossTfjs)).toBeLessThanOrEqual(1e-4);
  }
  expect(r.dynStateRelError, "FedDyn's g_k matches tfjs").toBeLessThanOrEqual(1e-3);
});

test('a tab joined with &engine=fused-webgpu contributes rounds trained on the fused engine', async ({
  page,
}) => {
  test.setTimeout(180_000);
  const server = await serve({ ...SMALL_EXPERIMENT, clientsPerRound: { fraction: 1, min: 1, max: 10 } });
  try {
    // Every text the Federation section's preparation line shows, in order (they replace each other quickly).
    await page.addInitScript(() => {
      const log: string[] = [];
      (window as unknown as { statusLog: string[] }).statusLog = log;
      document.addEventListener('DOMContentLoaded', () => {
        const el = document.getElementById('fed-prepare-text')!;
        new MutationObserver(() => log.push(el.textContent ?? '')).observe(el, {
          childList: true,
          characterData: true,
          subtree: true,
        });
      });
    });
    await page.goto(server.join.replace('/?autojoin=1', '/?autojoin=1&backend=wasm&engine=fused-webgpu'));
    await expect(page.getByLabel('Training engine')).toHaveValue('fused-webgpu');
    const id = await clientIdOf(page);
    await until(
      'two rounds with the fused tab',
      async () => (await server.status()).history.filter((h) => h.contributed.includes(id)).length >= 2,
      150_000,
    );
    const s = await server.status();
    expect(s.clientList.find((c) => c.id === id)?.backend, 'the server sees the fused engine').toBe(
      'webgpu-fused',
    );
    const log = await page.evaluate(() => (window as unknown as { statusLog: string[] }).statusLog);
    expect(log).toContain('Local training runs on the fused WebGPU engine.');
    expect(log.filter((l) => l.includes('could not run'))).toEqual([]);
  } finally {
    await server.stop();
  }
});
