/**
 * `/bench` fills its table as each configuration finishes (issue 11: it said "Not run yet" until all were
 * done), and the "WASM, threads + SIMD" row says how many threads tfjs really used, and why it is one on a
 * 2-core machine: tfjs-backend-wasm caps its pool at half the logical cores the browser reports
 * (`setThreadsCount` cannot raise it).
 */
import { expect, test } from '@playwright/test';
import { tfjsWasmThreads } from '../src/app/bench/format.ts';
import type { BenchResult } from '../src/core/benchmark-result.ts';

test('/bench shows each configuration as it finishes, and the threaded WASM row its real threads', async ({
  page,
}) => {
  test.setTimeout(180_000);
  await page.goto('/bench?steps=2&warmup=1&seconds=1&backends=wasm,wasm-simd,cpu&crypto=0');
  expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
  await page.locator('#bench-run').click();
  // While the run goes on, the first configuration is already in the table and a later one is not.
  await expect
    .poll(
      () =>
        page.evaluate(() => ({
          state: document.body.dataset.benchState,
          rows: [...document.querySelectorAll<HTMLElement>('#bench-rows tr')].map(
            (r) => `${r.dataset.config}:${r.dataset.status}`,
          ),
        })),
      { timeout: 120_000, intervals: [100] },
    )
    .toEqual({ state: 'running', rows: ['wasm:measured', 'wasm-simd:measuring', 'cpu:waiting'] });
  await expect(page.locator('#bench-rows tr[data-config="wasm"]')).toContainText(/\d thread/);
  await expect(page.locator('body')).toHaveAttribute('data-bench-state', 'done', { timeout: 120_000 });
  const result = JSON.parse((await page.locator('#bench-json').textContent()) ?? '') as BenchResult;
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const wasm = result.training.find((t) => t.id === 'wasm');
  const single = result.training.find((t) => t.id === 'wasm-simd');
  expect(wasm?.status).toBe('measured');
  if (wasm?.status !== 'measured' || single?.status !== 'measured') throw new Error('not measured');
  console.log(JSON.stringify({ cores, wasmThreads: wasm.threads, wasmSimdThreads: single.threads }));
  expect(wasm.threads).toBe(tfjsWasmThreads(cores));
  const row = page.locator('#bench-rows tr[data-config="wasm"]');
  await expect(row).toContainText(
    wasm.threads === 1
      ? `1 thread (tfjs uses half of the ${cores} logical core${cores === 1 ? '' : 's'} this browser reports)`
      : `${wasm.threads} threads`,
  );
  await expect(page.locator('#bench-rows tr[data-status="measured"]')).toHaveCount(3);
});

test('/bench measures the fused WASM engine next to tfjs WASM in one run (engine × device rows)', async ({
  page,
}) => {
  test.setTimeout(180_000);
  await page.goto('/bench?steps=40&warmup=2&seconds=2&backends=wasm-simd,fused-wasm&crypto=0');
  await page.locator('#bench-run').click();
  await expect(page.locator('body')).toHaveAttribute('data-bench-state', 'done', { timeout: 150_000 });
  const result = JSON.parse((await page.locator('#bench-json').textContent()) ?? '') as BenchResult;
  expect(result.training.map((t) => `${t.id}:${t.status}`)).toEqual([
    'wasm-simd:measured',
    'fused-wasm:measured',
  ]);
  const [tfjs, fused] = result.training;
  if (tfjs?.status !== 'measured' || fused?.status !== 'measured') throw new Error('not measured');
  expect(fused).toMatchObject({ backend: 'wasm', threads: 1, simd: true, batchSize: 64 });
  expect(fused.samplesPerSec).toBeGreaterThan(0);
  console.log(
    JSON.stringify({
      tfjsWasmSimd1: tfjs.samplesPerSec,
      fusedWasm: fused.samplesPerSec,
      ratio: fused.samplesPerSec / tfjs.samplesPerSec,
    }),
  );
  await expect(page.locator('#bench-rows tr[data-config="fused-wasm"] th')).toHaveText(
    'fused WASM engine, SIMD, one thread',
  );
});
