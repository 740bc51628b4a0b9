/**
 * The fused engine's data-parallel step (src/engine/threads.ts) in Chromium, on the built app served with
 * COOP/COEP (cross-origin isolated, so SharedArrayBuffer): in a trainer worker with a nested helper worker,
 * 10 Adam steps at batch 128 on 2 threads, each from the same state as the single-thread engine's step, agree
 * with it within 1e-6 (loss, and the weights after the step, norm-wise); and /bench measures the 2-thread
 * row beside the one-thread row in one run; a tab in a federation probes threads at its first local training
 * and says what it chose and why. Speeds are printed, never asserted.
 */
import { expect, test } from '@playwright/test';
import type { BenchResult } from '../src/core/benchmark-result.ts';
import { SMALL_EXPERIMENT, serve, until } from './aggregator.ts';
import { clientIdOf } from './tab.ts';

test('the threaded fused engine matches the single-thread step in a cross-origin-isolated page', async ({
  page,
}) => {
  test.setTimeout(120_000);
  await page.goto('/');
  expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
  await page.waitForFunction(() => window.__pqfed !== undefined);
  const r = await page.evaluate(() =>
    window.__pqfed!.fusedThreadsCheck({ threads: 2, batch: 128, steps: 10 }),
  );
  console.log(JSON.stringify(r));
  expect(r).toMatchObject({ threads: 2, batch: 128, steps: 10, crossOriginIsolated: true });
  expect(r.worstLoss).toBeLessThan(1e-6);
  expect(r.worstWeights).toBeLessThan(1e-6);
  expect(r.threadedSamplesPerSec).toBeGreaterThan(0);
});

test('/bench measures the fused engine on 1 and 2 threads in one run', async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto('/bench?steps=20&warmup=2&seconds=2&backends=fused-wasm,fused-wasm-threads&crypto=0');
  await page.locator('#bench-run').click();
  await expect(page.locator('body')).toHaveAttribute('data-bench-state', 'done', { timeout: 150_000 });
  const result = JSON.parse((await page.locator('#bench-json').textContent()) ?? '') as BenchResult;
  expect(result.training.map((t) => `${t.id}:${t.status}`)).toEqual([
    'fused-wasm:measured',
    'fused-wasm-threads:measured',
  ]);
  const [one, two] = result.training;
  if (one?.status !== 'measured' || two?.status !== 'measured') throw new Error('not measured');
  expect(one).toMatchObject({ threads: 1, simd: true, batchSize: 64 });
  expect(two).toMatchObject({ threads: 2, simd: true, batchSize: 64 });
  console.log(JSON.stringify({ fused1: one.samplesPerSec, fused2: two.samplesPerSec }));
  await expect(page.locator('#bench-rows tr[data-config="fused-wasm-threads"] th')).toHaveText(
    'fused WASM engine, SIMD, 2 threads (batch split)',
  );
});

test('a tab on the fused WASM engine probes threads at its first round and says what it chose and why', async ({
  page,
}) => {
  test.setTimeout(180_000);
  const server = await serve({ ...SMALL_EXPERIMENT, clientsPerRound: { fraction: 1, min: 1, max: 10 } });
  try {
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
    await page.goto(server.join.replace('/?autojoin=1', '/?autojoin=1&backend=wasm'));
    const id = await clientIdOf(page);
    await until(
      'a round with the tab',
      async () => (await server.status()).history.some((h) => h.contributed.includes(id)),
      150_000,
    );
    const s = await server.status();
    expect(s.clientList.find((c) => c.id === id)?.backend).toBe('wasm-fused');
    const log = await page.evaluate(() => (window as unknown as { statusLog: string[] }).statusLog);
    const choice = log.filter((l) => l.startsWith('Fused WASM engine threads: '));
    console.log(JSON.stringify(choice));
    expect(choice).toHaveLength(1);
    expect(choice[0]).toMatch(
      /^Fused WASM engine threads: (2 threads: \d+\.\d\d× one thread's speed in a probe here|one thread: (2 threads ran \d+\.\d\d× its speed in a probe here \(they need ≥ 1\.2×\)|a batch of \d+ rows is one 32-row chunk))\.$/,
    );
  } finally {
    await server.stop();
  }
});

test('a page that is not cross-origin isolated gets no threads, and /bench says why', async ({ page }) => {
  test.setTimeout(120_000);
  // The same app without its COOP/COEP headers: no SharedArrayBuffer.
  await page.route('**/*', async (route) => {
    const response = await route.fetch();
    const headers = { ...response.headers() };
    delete headers['cross-origin-opener-policy'];
    delete headers['cross-origin-embedder-policy'];
    await route.fulfill({ response, headers });
  });
  await page.goto('/bench?steps=5&warmup=1&seconds=1&backends=fused-wasm,fused-wasm-threads&crypto=0');
  expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(false);
  await page.locator('#bench-run').click();
  await expect(page.locator('body')).toHaveAttribute('data-bench-state', 'done', { timeout: 100_000 });
  const result = JSON.parse((await page.locator('#bench-json').textContent()) ?? '') as BenchResult;
  expect(result.training.map((t) => `${t.id}:${t.status}`)).toEqual([
    'fused-wasm:measured',
    'fused-wasm-threads:unavailable',
  ]);
  const threaded = result.training[1]!;
  expect(threaded.status === 'unavailable' && threaded.reason).toMatch(/not cross-origin isolated/);
});
