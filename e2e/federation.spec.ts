/**
 * Browser tabs as edge devices against a real aggregator (its own `pqfed serve`): they join from the join
 * link, build and keep their shard in IndexedDB, train in the worker, seal and send their updates; a tab
 * closed mid-round costs only itself; a reloaded tab rejoins as the same client without importing again; a
 * CSV imported through the file input survives a reload and trains; tabs on different backends contribute
 * to the same round; hidden tabs keep contributing.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type BrowserContext, expect, type Page, test } from '@playwright/test';
import { type Served, serve, until } from './aggregator.ts';
import { saveScreenshot } from './screenshots.ts';
import { clientIdOf } from './tab.ts';

test.describe.configure({ mode: 'serial' });

let server: Served;
let context: BrowserContext;

test.beforeAll(async ({ browser }) => {
  server = await serve();
  context = await browser.newContext();
});

test.afterAll(async () => {
  await context?.close();
  await server?.stop();
});

const link = (extra = '') => `${server.join.replace('/?autojoin=1', `/?autojoin=1${extra}`)}`;

/** Rounds (after `after`) in which every id in `ids` contributed. */
async function roundsWith(ids: string[], after = 0): Promise<number> {
  const s = await server.status();
  return s.history.filter((h) => h.round > after && ids.every((id) => h.contributed.includes(id))).length;
}

test('three tabs opened from the join link complete three rounds together', async () => {
  test.setTimeout(300_000);
  const pages = await Promise.all([0, 1, 2].map(() => context.newPage()));
  for (const p of pages) await p.goto(link('&backend=wasm'));
  const ids = await Promise.all(pages.map(clientIdOf));
  expect(new Set(ids).size).toBe(3);
  await until('3 rounds with all three tabs', async () => (await roundsWith(ids)) >= 3, 240_000);
  for (const p of pages) {
    // The page hears of its acks from the worker a moment after the server records the round.
    await expect
      .poll(async () => Number(await p.locator('#fed-rounds').textContent()))
      .toBeGreaterThanOrEqual(3);
    await expect(p.locator('.shard[data-kind="default"]')).toHaveCount(1);
  }
  const s = await server.status();
  // auto on the WASM backend: the fused WASM engine trains, and the server hears so
  expect(s.clientList.filter((c) => ids.includes(c.id)).map((c) => c.backend)).toEqual([
    'wasm-fused',
    'wasm-fused',
    'wasm-fused',
  ]);
  // Each tab has a friendly name of its own (not "tab-Linux x86_64"), the one the server shows.
  const named = s.clientList.filter((c) => ids.includes(c.id));
  for (const [i, p] of pages.entries()) {
    const name = await p.getByLabel("This device's name").inputValue();
    expect(name).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+$/);
    expect(named.find((c) => c.id === ids[i])?.name).toBe(name);
  }
  // The class view: the global model per round, and this tab's share.
  for (const p of pages) {
    await expect
      .poll(async () => p.locator('#class-rounds tbody tr').count(), { timeout: 15_000 })
      .toBeGreaterThanOrEqual(3);
    await expect(p.locator('#class-summary')).toHaveText(
      /^After round \d+: accuracy 0\.\d{3}, macro-F1 0\.\d{3}\.$/,
    );
    await expect(p.locator('#class-share')).toHaveText(
      /^This tab contributed to \d+ of \d+ rounds; in round \d+ it gave \d+\.\d % of the samples \(/,
    );
    await expect(p.locator('#class-chart svg polyline')).toHaveCount(2);
  }
  await saveScreenshot(pages[0]!, 'client');
  // A student renames the tab: sanitized in the page, shown by the server after the tab rejoins.
  const first = pages[0]!;
  await first.getByLabel("This device's name").fill('  Front <row> Fox\u0007 ');
  await first.getByRole('button', { name: 'Rename' }).click();
  await expect(first.getByLabel("This device's name")).toHaveValue('Front row Fox');
  await expect(first.locator('#tab-name-status')).toHaveText('Renamed to Front row Fox.');
  await until('the new name on the server', async () => {
    const c = (await server.status()).clientList.find((x) => x.id === ids[0]);
    return c?.name === 'Front row Fox';
  });
  await expect(first.locator('#fed-client')).toHaveAttribute('data-client-id', ids[0]!);
});

test('a tab closed mid-round: the next rounds go on with the others', async () => {
  test.setTimeout(240_000);
  const pages = context.pages();
  // The third tab rejoins (the same client) training on tfjs's CPU backend: tens of samples/s, so a round's
  // local training takes seconds and the tab can be closed in the middle of it. On the default fused engine
  // it took a fraction of a second, and the update was often in before the close (seen in CI).
  await pages[2]!.goto(link('&backend=cpu&engine=tfjs'));
  const ids = await Promise.all(pages.map(clientIdOf));
  const [keep1, keep2, gone] = ids as [string, string, string];
  // Close the third tab while a round that selected it is open.
  const open = await until('a round selecting the third tab', async () => {
    const s = await server.status();
    return s.currentRound?.selected.includes(gone) && !s.currentRound.submitted.includes(gone)
      ? s.currentRound
      : undefined;
  });
  await pages[2]!.close();
  const after = open.round;
  await until(
    'two more rounds without the closed tab',
    async () => (await roundsWith([keep1, keep2], after)) >= 2,
  );
  const s = await server.status();
  const closedRound = s.history.find((h) => h.round === open.round)!;
  expect(closedRound.contributed).not.toContain(gone);
  expect(s.clientList.map((c) => c.id)).not.toContain(gone);
});

test('a reloaded tab rejoins as the same client with its stored shard, without importing again', async () => {
  test.setTimeout(240_000);
  const page = context.pages()[0]!;
  const id = await clientIdOf(page);
  const fetched: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/data/')) fetched.push(r.url());
  });
  const before = (await server.status()).round;
  await page.reload();
  expect(await clientIdOf(page)).toBe(id);
  await until(
    'a round after the reload with the reloaded tab',
    async () => (await roundsWith([id], before)) >= 1,
  );
  expect(fetched).toEqual([]);
  await expect(page.locator('.shard[data-kind="default"]')).toHaveCount(1);
});

test('a CSV chosen in the file input is imported with progress, survives a reload, and trains', async () => {
  test.setTimeout(240_000);
  // The first 10,000 rows of the sample as a plain CSV file (duplicates are dropped on import).
  const lines = gunzipSync(readFileSync('public/data/ton_iot_network.sample.csv.gz')).toString().split('\n');
  const csv = join(mkdtempSync(join(tmpdir(), 'pqfed-csv-')), 'my-network.csv');
  writeFileSync(csv, `${lines.slice(0, 10_001).join('\n')}\n`);
  const page = await context.newPage();
  await page.goto(`${server.base}/?backend=wasm`);
  await page.locator('#import-file').setInputFiles(csv);
  await expect(page.locator('#import-text')).toContainText('Imported', { timeout: 60_000 });
  expect(await page.locator('#import-progress').evaluate((p: HTMLProgressElement) => p.value / p.max)).toBe(
    1,
  );
  const rows = Number(await page.locator('.shard[data-kind="imported"]').getAttribute('data-rows'));
  expect(rows).toBeGreaterThan(500);
  await page.reload();
  await expect(page.locator('.shard[data-kind="imported"]')).toHaveAttribute('data-rows', String(rows));
  await page.locator('#fed-fingerprint').fill(server.fingerprint);
  await page.getByRole('button', { name: 'Join the federation' }).click();
  const id = await clientIdOf(page);
  const s0 = await server.status();
  await until('a round with the imported tab', async () => (await roundsWith([id], s0.round)) >= 1).catch(
    async (e) => {
      throw new Error(`${e.message}; the tab says: ${await page.locator('#fed-status').textContent()}`);
    },
  );
  const me = (await server.status()).clientList.find((c) => c.id === id)!;
  expect(me.numSamples).toBe(rows);
  await page.close();
});

test('tabs on WebGPU (SwiftShader) and WASM contribute to the same round', async () => {
  test.setTimeout(300_000);
  const gpu = await context.newPage();
  await gpu.goto(link('&backend=webgpu'));
  await expect(gpu.locator('#backend-name')).toHaveText('webgpu', { timeout: 60_000 });
  const gpuId = await clientIdOf(gpu);
  const wasmId = await clientIdOf(context.pages()[0]!);
  const before = (await server.status()).round;
  await until(
    'a round with both backends',
    async () => (await roundsWith([gpuId, wasmId], before)) >= 1,
    240_000,
  );
  const backends = Object.fromEntries((await server.status()).clientList.map((c) => [c.id, c.backend]));
  expect([backends[gpuId], backends[wasmId]]).toEqual(['webgpu', 'wasm-fused']);
  await gpu.close();
});

/**
 * Chromium throttles a hidden tab's page timers; the client must not depend on them. Playwright's headless
 * Chromium keeps every page visible (microsoft/playwright#2286), so this does something stricter than hiding:
 * it reports the tabs hidden (visibilityState, visibilitychange) and then pauses their pages' main threads
 * in the debugger, so no page timer or handler runs at all. The worker, which holds the socket and trains,
 * must keep contributing.
 */
test('with only one tab visible, the hidden tabs keep contributing', async () => {
  test.setTimeout(240_000);
  const [a, b] = context.pages() as [Page, Page];
  const ids = [await clientIdOf(a), await clientIdOf(b)];
  const front = await context.newPage();
  await front.goto(`${server.base}/healthz`);
  await front.bringToFront();
  const paused = [];
  for (const p of [a, b]) {
    await p.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    const cdp = await context.newCDPSession(p);
    await cdp.send('Debugger.enable');
    await cdp.send('Debugger.pause');
    paused.push(cdp);
  }
  // The pages' main threads are stopped: evaluating anything there does not return.
  const stuck = await Promise.race([
    a.evaluate(() => 1).then(() => false),
    new Promise<boolean>((ok) => setTimeout(() => ok(true), 2000)),
  ]);
  expect(stuck).toBe(true);
  const before = (await server.status()).round;
  await until(
    'two rounds while the tabs are hidden and paused',
    async () => (await roundsWith(ids, before)) >= 2,
  );
  for (const cdp of paused) await cdp.send('Debugger.resume');
  // Resumed, the page catches up on the worker's messages.
  await expect
    .poll(async () => Number(await a.locator('#fed-rounds').textContent()))
    .toBeGreaterThanOrEqual(2);
  await front.close();
});

test('after the server is killed and restarted, the tabs reconnect by themselves as the same clients', async () => {
  test.setTimeout(240_000);
  const [a, b] = context.pages() as [Page, Page];
  const ids = [await clientIdOf(a), await clientIdOf(b)];
  const before = (await server.status()).round;
  await server.kill();
  await expect(a.locator('#fed-status')).toHaveAttribute('data-state', 'reconnecting', { timeout: 30_000 });
  await expect(a.locator('#fed-status')).toContainText('reconnecting in');
  await server.restart();
  await until('a round after the restart with both tabs', async () => (await roundsWith(ids, before)) >= 1);
  expect([await clientIdOf(a), await clientIdOf(b)]).toEqual(ids);
});

/** The first 10,000 lines of the sample as a plain CSV file. */
function smallCsv(): string {
  const lines = gunzipSync(readFileSync('public/data/ton_iot_network.sample.csv.gz')).toString().split('\n');
  const csv = join(mkdtempSync(join(tmpdir(), 'pqfed-csv-')), 'small.csv');
  writeFileSync(csv, `${lines.slice(0, 10_001).join('\n')}\n`);
  return csv;
}

const SAMPLE_GZ = 'public/data/ton_iot_network.sample.csv.gz';

test('an import interrupted by a reload leaves the previous data intact', async () => {
  test.setTimeout(120_000);
  const page = await context.newPage();
  await page.goto(`${server.base}/?backend=wasm`);
  await page.locator('#import-file').setInputFiles(smallCsv());
  await expect(page.locator('#import-text')).toContainText('Imported', { timeout: 60_000 });
  const rows = await page.locator('.shard[data-kind="imported"]').getAttribute('data-rows');
  // The whole sample (141,625 rows) takes seconds: reload as soon as it is under way.
  await page.locator('#import-file').setInputFiles(SAMPLE_GZ);
  await expect(page.locator('#import-text')).toContainText('rows read', { timeout: 30_000 });
  await page.reload();
  await expect(page.locator('.shard[data-kind="imported"]')).toHaveAttribute('data-rows', rows!);
  await page.close();
});

test('a full storage quota gives a clear message and keeps the previous data', async ({ browser }) => {
  test.setTimeout(120_000);
  // A context of its own: Chromium reads an origin's quota when its storage is first opened and keeps it
  // while any tab of that profile holds it open, so the other tests' tabs would keep the real quota.
  const own = await browser.newContext();
  const page = await own.newPage();
  // Chromium's own quota, lowered for this origin to 1 MB before anything opens storage: the whole sample
  // (tens of MB once imported) cannot fit.
  const cdp = await own.newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.base, quotaSize: 1_000_000 });
  await page.goto(`${server.base}/?backend=wasm`);
  await expect(page.locator('#shard-list')).toContainText('No data stored yet');
  await page.locator('#import-file').setInputFiles(SAMPLE_GZ);
  await expect(page.locator('#import-text')).toContainText('storage for the site is full', {
    timeout: 90_000,
  });
  await expect(page.locator('#import-text')).toContainText('the stored data is unchanged');
  await expect(page.locator('#shard-list')).toContainText('No data stored yet');
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.base });
  await own.close();
});
