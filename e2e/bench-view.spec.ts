/**
 * The benchmark view (`/bench`) against a server of its own: one visit installs the service worker, which
 * precaches the app; with the server stopped and the browser offline the page still loads from the cache,
 * still cross-origin isolated (the cached responses keep their COOP/COEP headers), and measures every
 * backend — each either measured (samples/s > 0) or marked unavailable with its reason — and the crypto.
 * Online, a result is shared with the server and shows on the dashboard. Small step counts keep it short:
 * WebGPU here is SwiftShader (~50 samples/s).
 */
import { readFileSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import { expect, type Page, test } from '@playwright/test';
import { BENCH_CONFIG_IDS, type BenchResult } from '../src/core/benchmark-result.ts';
import { type Served, serve } from './aggregator.ts';

const QUICK = 'steps=3&warmup=1&seconds=1&crypto-ms=50';
const WCAG = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** Headers of the service worker's cached copies of the files whose URL contains `part`. */
function cachedHeaders(
  page: Page,
  part: string,
): Promise<{ url: string; headers: Record<string, string> }[]> {
  return page.evaluate(async (p) => {
    const out: { url: string; headers: Record<string, string> }[] = [];
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const req of await cache.keys()) {
        if (!req.url.includes(p)) continue;
        const res = await cache.match(req);
        out.push({ url: req.url, headers: Object.fromEntries(res?.headers.entries() ?? []) });
      }
    }
    return out;
  }, part);
}

/** Runs the benchmark from the keyboard (focus the button, Enter) and returns the JSON the page shows. */
async function runFromKeyboard(page: Page): Promise<BenchResult> {
  await expect(page.locator('#bench-run')).toBeEnabled();
  await page.locator('#bench-run').focus();
  await page.keyboard.press('Enter');
  await expect(page.locator('body')).toHaveAttribute('data-bench-state', 'running');
  await expect(page.locator('body')).toHaveAttribute('data-bench-state', 'done', { timeout: 180_000 });
  return JSON.parse((await page.locator('#bench-json').textContent()) ?? '') as BenchResult;
}

test('/bench loads offline from the cache, measures every backend, and shares a result', async ({
  page,
  context,
}) => {
  test.setTimeout(300_000);
  let server: Served | undefined = await serve();
  try {
    const base = server.base;
    // 1. Online, a quick run on the CPU backend only: the service worker installs meanwhile, and the
    //    result goes to the server's shared table.
    await page.goto(`${base}/bench?${QUICK}&backends=cpu&crypto=0`);
    expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
    await expect(page.locator('#offline')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
    const quick = await runFromKeyboard(page);
    expect(quick.training.map((t) => [t.id, t.status])).toEqual([['cpu', 'measured']]);
    await expect(page.locator('#bench-submit')).toBeEnabled();
    const download = page.waitForEvent('download');
    await page.locator('#bench-download').click();
    expect(JSON.parse(readFileSync(await (await download).path(), 'utf8'))).toEqual(quick);
    await page.locator('#bench-submit').click();
    await expect(page.locator('#submit-status')).toHaveAttribute('data-state', 'sent');
    const listed = (await (await fetch(`${base}/api/benchmarks`)).json()) as {
      entries: { result: BenchResult }[];
    };
    expect(listed.entries.map((e) => e.result)).toEqual([quick]);
    // The cache holds the pages, the WASM binaries and the data with the headers they were served with.
    for (const part of ['/bench.html', '.wasm', '/trainer.worker-', '/data/ton_iot_network.sample.csv.gz']) {
      const copies = await cachedHeaders(page, part);
      expect(copies.length, `${part} is cached`).toBeGreaterThan(0);
      for (const c of copies) {
        expect(c.headers, c.url).toMatchObject({
          'cross-origin-opener-policy': 'same-origin',
          'cross-origin-embedder-policy': 'require-corp',
          'cross-origin-resource-policy': 'same-origin',
        });
      }
    }
    // Online, pages come from the network, not the cache: the dashboard's Date is newer than its cached copy's.
    const [cachedDashboard] = await cachedHeaders(page, '/dashboard.html');
    const dashboard = await page.goto(`${base}/dashboard`);
    expect(Date.parse(dashboard!.headers().date!)).toBeGreaterThan(
      Date.parse(cachedDashboard!.headers.date!),
    );
    await expect(page.locator('#benchmarks tbody tr')).toHaveCount(1);
    await expect(page.locator('#benchmarks tbody th')).toHaveText(/Chrome \d+/);
    const onDashboard = await new AxeBuilder({ page }).include('#benchmarks').withTags(WCAG).analyze();
    expect(onDashboard.violations.map((v) => v.id)).toEqual([]);

    // 2. The server stops and the browser goes offline: the page comes from the service worker's cache.
    await server.stop();
    server = undefined;
    await context.setOffline(true);
    await page.goto(`${base}/bench?${QUICK}`);
    await expect(page.locator('h1')).toHaveText('PQFed — browser benchmark');
    const isolated = await page.evaluate(() => globalThis.crossOriginIsolated);
    console.log(JSON.stringify({ offline: true, crossOriginIsolated: isolated }));
    expect(isolated, 'the cached page keeps COOP/COEP, so it is still cross-origin isolated').toBe(true);
    await expect(page.locator('#offline')).toHaveAttribute('data-state', 'ready');

    // Stop works at once, even in the middle of a slow first step: what did not run is listed as skipped.
    await page.locator('#bench-run').click();
    await expect(page.locator('#bench-stop')).toBeEnabled();
    await page.locator('#bench-stop').click();
    await expect(page.locator('body')).toHaveAttribute('data-bench-state', 'done', { timeout: 30_000 });
    await expect(page.locator('#bench-status')).toContainText('Stopped.');
    const stopped = JSON.parse((await page.locator('#bench-json').textContent()) ?? '') as BenchResult;
    expect(stopped.training.some((t) => t.status === 'skipped')).toBe(true);
    expect(stopped.crypto).toBeNull();

    // 3. The full run, offline: every configuration measured or unavailable with a reason; crypto present.
    const result = await runFromKeyboard(page);
    console.log(JSON.stringify(result));
    expect(result.training.map((t) => t.id)).toEqual([...BENCH_CONFIG_IDS]);
    for (const t of result.training) {
      if (t.status === 'measured') {
        expect(t.samplesPerSec, `${t.id} samples/s`).toBeGreaterThan(0);
        expect(t.timeToFirstStepMs, `${t.id} time to the first step`).toBeGreaterThan(0);
        expect(t.peakTensorBytes, `${t.id} peak tensor bytes`).toBeGreaterThan(0);
      } else {
        expect(t.status, `${t.id}: ${t.reason}`).toBe('unavailable');
        expect(t.reason.trim(), `${t.id} says why it is unavailable`).not.toBe('');
      }
    }
    // Here (Chromium, isolated, SwiftShader) every configuration exists.
    expect(result.training.filter((t) => t.status === 'measured').map((t) => t.id)).toEqual([
      ...BENCH_CONFIG_IDS,
    ]);
    const wasm = result.training.find((t) => t.id === 'wasm');
    expect(wasm?.status === 'measured' && wasm.simd).toBe(true);
    const plain = result.training.find((t) => t.id === 'wasm-plain');
    expect(plain?.status === 'measured' && plain.simd).toBe(false);
    expect(result.browser.crossOriginIsolated).toBe(true);
    expect(result.crypto).not.toBeNull();
    for (const [k, v] of Object.entries(result.crypto!)) {
      if (typeof v === 'number') expect(v, k).toBeGreaterThan(0);
    }

    // The table and the chart show it; sharing says there is no server.
    await expect(page.locator('#bench-rows tr')).toHaveCount(BENCH_CONFIG_IDS.length);
    await expect(page.locator('#bench-figure')).toBeVisible();
    await expect(page.locator('#bench-submit')).toBeDisabled();
    await expect(page.locator('#submit-status')).toContainText('No PQFed server answers');

    // 4. The page passes axe's WCAG 2 A/AA rules, offline and with results on it.
    const { violations } = await new AxeBuilder({ page }).withTags(WCAG).analyze();
    expect(violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual(
      [],
    );
  } finally {
    await context.setOffline(false);
    await server?.stop();
  }
});
