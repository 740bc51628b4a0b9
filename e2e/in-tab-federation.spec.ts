/**
 * The in-tab federation (`/simulate`): virtual clients in Web Workers (the real FederatedClient, each with
 * its own ML-DSA-65 key) and the page as the aggregator, with the real handshake, signed round keys, sealed
 * and signed updates and the real strategies, and no network: the page never calls `/api` or `/ws`.
 * Small caps and the small model keep a run short; the figures are checked for shape, never for speed.
 */
import { readFileSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import { expect, type Page, test } from '@playwright/test';
import { type Served, serve } from './aggregator.ts';

interface RoundJson {
  round: number;
  selected: number;
  participants: number;
  outcome: string;
  accuracy: number | null;
  macroF1: number | null;
  mosMAE: number | null;
  perClassRecall: Record<string, number> | null;
  refused: { client: string; reason: string; message: string }[];
}

interface SimJson {
  state: string;
  error: string | null;
  clients: number;
  rounds: number;
  workers: number;
  backend: string | null;
  engine: string | null;
  engineDevice: string | null;
  engineFallback: string | null;
  majorityBaseline: { class: string; accuracy: number; macroF1: number } | null;
  classes: string[];
  configs: {
    label: string;
    strategy: string;
    alpha: number | null;
    state: string;
    rounds: RoundJson[];
    verifiedUpdates: number;
    refusals: Record<string, number>;
    shardRows: number[];
  }[];
  verifiedUpdates: number;
  refusals: Record<string, number>;
}

const SMALL = 'model=small&train-rows=2000&test-rows=400';

/** Every URL the page (and its workers) requested, and every WebSocket it opened. */
function watchNetwork(page: Page): { urls: string[]; sockets: string[] } {
  const seen = { urls: [] as string[], sockets: [] as string[] };
  page.on('request', (r) => seen.urls.push(r.url()));
  page.on('websocket', (ws) => seen.sockets.push(ws.url()));
  page.on('worker', (w) => seen.urls.push(w.url()));
  return seen;
}

async function finished(page: Page): Promise<SimJson> {
  await expect(page.locator('#sim-results')).toHaveAttribute('data-state', /^(done|error|stopped)$/, {
    timeout: 170_000,
  });
  const json = JSON.parse((await page.locator('#sim-json').textContent()) ?? '{}') as SimJson;
  expect(json.error).toBeNull();
  expect(json.state).toBe('done');
  return json;
}

function expectNoServer(seen: { urls: string[]; sockets: string[] }): void {
  const server = seen.urls.filter((u) => /\/api\/|\/ws(\?|$)/.test(new URL(u).pathname + new URL(u).search));
  expect(server).toEqual([]);
  expect(seen.sockets).toEqual([]);
  // The sample came from the same origin, once.
  expect(seen.urls.filter((u) => u.endsWith('/data/ton_iot_network.sample.csv.gz'))).toHaveLength(1);
}

test('4 virtual clients × 3 rounds, two configurations, every update verified, no server', async ({
  page,
}) => {
  test.setTimeout(200_000);
  const seen = watchNetwork(page);
  await page.goto(`/simulate?clients=4&rounds=3&configs=fedavg:0.5,median:iid&${SMALL}`);
  // Started from the keyboard: focus Run and press Enter.
  await page.locator('#sim-run').focus();
  await page.keyboard.press('Enter');
  await expect(page.locator('#sim-stop')).toBeEnabled();
  await expect(page.locator('#sim-status')).toContainText(/round|Importing|Preparing|Starting|Fetching/);
  const json = await finished(page);

  expect(json.clients).toBe(4);
  expect(json.rounds).toBe(3);
  expect(json.backend).toBe('wasm');
  // The clients train on the fused WASM engine (auto on the WASM backend), as a tab does; the page says so.
  expect([json.engine, json.engineDevice, json.engineFallback]).toEqual(['fused-wasm', 'WASM SIMD', null]);
  await expect(page.locator('#sim-meta')).toContainText(
    'training engine × device: fused WASM engine × WASM SIMD',
  );
  expect(json.workers).toBeGreaterThanOrEqual(1);
  expect(json.workers).toBeLessThanOrEqual(4);
  expect(json.configs.map((c) => [c.strategy, c.alpha])).toEqual([
    ['fedavg', 0.5],
    ['median', null],
  ]);
  for (const c of json.configs) {
    expect(c.state).toBe('done');
    expect(c.shardRows).toHaveLength(4);
    expect(c.rounds.map((r) => r.round)).toEqual([1, 2, 3]);
    for (const r of c.rounds) {
      expect(r.participants).toBe(4);
      expect(r.outcome).toBe('aggregated');
      expect(r.refused).toEqual([]);
      expect(r.accuracy).toBeGreaterThanOrEqual(0);
      expect(r.accuracy).toBeLessThanOrEqual(1);
      expect(r.macroF1).toBeGreaterThanOrEqual(0);
      expect(r.macroF1).toBeLessThanOrEqual(1);
      expect(Number.isFinite(r.mosMAE)).toBe(true);
      expect(Object.keys(r.perClassRecall ?? {}).sort()).toEqual([...json.classes].sort());
    }
    // Every update opened: decrypted with the round key and its client's signature verified.
    expect(c.verifiedUpdates).toBe(4 * 3);
    expect(c.refusals).toEqual({});
  }
  expect(json.verifiedUpdates).toBe(2 * 4 * 3);
  expect(json.majorityBaseline?.macroF1).toBeGreaterThan(0);

  // The chart shows 3 rounds of both configurations; its text alternatives say the same.
  const chart = page.locator('#sim-chart');
  await expect(chart).toHaveAttribute('data-rounds', '3');
  await expect(chart).toHaveAttribute('data-series', '2');
  await expect(chart).toHaveAttribute('data-config-rounds', '3,3');
  await expect(page.locator('#sim-chart-canvas canvas')).toHaveCount(1);
  await expect(page.locator('#sim-final tbody tr')).toHaveCount(2);
  await expect(page.locator('#sim-rounds-table tbody tr')).toHaveCount(6);
  // Per-class recall beside accuracy: a row per class, a column per configuration, from the last round.
  expect(json.classes.length).toBeGreaterThan(1);
  await expect(page.locator('#sim-recall tbody tr')).toHaveCount(json.classes.length);
  await expect(page.locator('#sim-recall thead th')).toHaveCount(1 + 2);
  const firstClass = json.classes[0]!;
  const recall = json.configs.map((c) => c.rounds.at(-1)!.perClassRecall![firstClass]!.toFixed(3));
  await expect(page.locator('#sim-recall tbody tr').first()).toHaveText(
    new RegExp(`${firstClass}\\s*${recall.join('\\s*')}`),
  );
  // Both exports: the JSON equals what the page shows; the CSV has a line per round and a recall column per class.
  const jsonFile = page.waitForEvent('download');
  await page.locator('#sim-download-json').click();
  expect(JSON.parse(readFileSync(await (await jsonFile).path(), 'utf8'))).toEqual(json);
  const csvFile = page.waitForEvent('download');
  await page.locator('#sim-download-csv').click();
  const csv = readFileSync(await (await csvFile).path(), 'utf8')
    .trimEnd()
    .split('\n');
  expect(csv).toHaveLength(1 + 6);
  expect(csv[0]).toContain(`recall:${firstClass}`);
  await expect(page.locator('#sim-chart-summary')).toContainText('macro-F1');
  await expect(page.locator('#sim-baseline')).toContainText('Majority-class baseline');
  await expect(page.locator('#sim-status')).toContainText('24 updates verified');
  // The metric switch redraws the chart with accuracy.
  await page.locator('#sim-metric').selectOption('accuracy');
  await expect(chart).toHaveAttribute('data-metric', 'accuracy');

  expectNoServer(seen);

  // No WCAG 2 A/AA violations on the finished page.
  const { violations } = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  expect(violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
});

test('the aggregator refuses a tampered envelope: that round aggregates 3 of 4 (engine=tfjs)', async ({
  page,
}) => {
  test.setTimeout(200_000);
  const seen = watchNetwork(page);
  await page.goto(`/simulate?clients=4&rounds=3&configs=fedavg:0.5&${SMALL}&tamper=1&engine=tfjs&run=1`);
  const json = await finished(page);
  // `engine=tfjs` is honoured as on the client page: the clients train with tfjs on the WASM backend.
  expect([json.engine, json.engineDevice, json.engineFallback]).toEqual(['tfjs', 'wasm', null]);
  await expect(page.locator('#sim-engine')).toHaveValue('tfjs');
  await expect(page.locator('#sim-meta')).toContainText('training engine × device: tfjs × wasm');
  const [c] = json.configs;
  expect(c!.rounds.map((r) => r.participants)).toEqual([4, 3, 4]);
  expect(c!.rounds[1]!.refused).toHaveLength(1);
  expect(c!.rounds[1]!.refused[0]).toMatchObject({ client: 'sim-2', reason: 'tampered' });
  expect(c!.rounds[1]!.outcome).toBe('aggregated');
  expect(c!.verifiedUpdates).toBe(11);
  expect(json.refusals).toEqual({ tampered: 1 });
  await expect(page.locator('#sim-final tbody tr').first()).toContainText('tampered 1');
  await expect(page.locator('#sim-status')).toContainText('refused: tampered 1');
  expectNoServer(seen);
});

test('bad settings are named, and the run does not start', async ({ page }) => {
  await page.goto('/simulate?clients=0&configs=fedavg:0.1');
  await expect(page.locator('#sim-errors')).toContainText('clients: expected an integer in [1, 64], got 0');
  await page.locator('#sim-clients').fill('');
  await page.locator('#sim-run').click();
  await expect(page.locator('#sim-errors')).toContainText('clients: expected an integer');
  await expect(page.locator('#sim-clients')).toBeFocused();
  await expect(page.locator('#sim-clients')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#sim-results')).toHaveAttribute('data-state', 'idle');
  // Configurations are added and removed from the keyboard, with their own accessible names.
  await page.locator('#sim-add-config').focus();
  await page.keyboard.press('Enter');
  await expect(page.locator('#sim-configs li')).toHaveCount(2);
  await expect(page.locator('#cfg-1-strategy')).toBeFocused();
  await expect(page.locator('#cfg-1-strategy')).toHaveAccessibleName('Strategy of configuration 2');
  await expect(page.locator('#cfg-1-alpha')).toHaveAccessibleName('α of configuration 2');
});

test('once visited, /simulate runs a federation offline with its server stopped', async ({
  page,
  context,
}) => {
  test.setTimeout(200_000);
  let server: Served | undefined = await serve();
  const base = server.base;
  try {
    await page.goto(`${base}/simulate`);
    await expect(page.locator('#offline')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
    await server.stop();
    server = undefined;
    await context.setOffline(true);
    await page.goto(`${base}/simulate?clients=2&rounds=2&configs=fedavg:iid&${SMALL}&run=1`);
    expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
    const json = await finished(page);
    expect(json.configs[0]!.rounds.map((r) => [r.round, r.participants, r.outcome])).toEqual([
      [1, 2, 'aggregated'],
      [2, 2, 'aggregated'],
    ]);
    expect(json.verifiedUpdates).toBe(4);
    // The engine's module came from the offline cache: the fused engine trained, nothing fell back.
    expect([json.engine, json.engineFallback]).toEqual(['fused-wasm', null]);
  } finally {
    await context.setOffline(false);
    await server?.stop();
  }
});
