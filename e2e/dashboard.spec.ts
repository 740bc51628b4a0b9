/**
 * The dashboard (`/dashboard`) against its own `pqfed serve` (a small experiment that waits for the
 * admin's start) and two Node clients in a process of their own (e2e/dashboard-clients.ts: the real
 * FederatedClient and trainer). It lists the clients and shows the join link's QR code; a wrong admin
 * token is refused in plain words; Start, Pause, a strategy change and Start again drive the real
 * experiment; after three rounds the charts, the participation timeline and the confusion matrix show
 * them, Start on the finished run says why it cannot, the exports download, and when the server goes away the page says it is reconnecting and keeps
 * the data.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { type Served, serve, until } from './aggregator.ts';

const EXPERIMENT = {
  maxTrainRows: 2000,
  maxTestRows: 400,
  model: { dModel: 8, heads: 2, ffDim: 16, convLayers: 1, mosWeight: 0.5 },
  rounds: 3,
  clientsPerRound: { fraction: 1, min: 2, max: 10 },
  quorum: 2,
  roundDeadlineSeconds: 60,
  batchSize: 64,
  autoStart: false,
};

interface Status {
  round: number;
  modelVersion: number;
  phase: string;
  clients: number;
  strategy: string;
  clientList: { id: string }[];
  history: { round: number; contributed: string[]; cryptoSeconds: number }[];
  evaluation: { classes: string[] } | null;
  join: string | null;
}

let server: Served;
let clients: ChildProcess | null = null;
const clientLog: string[] = [];

test.use({ viewport: { width: 1400, height: 900 } });

test.beforeAll(async () => {
  server = await serve(EXPERIMENT);
});

test.afterAll(async () => {
  if (clients && clients.exitCode === null) clients.kill('SIGTERM');
  await server?.stop();
});

async function status(): Promise<Status> {
  return (await (await fetch(`${server.base}/api/status`)).json()) as Status;
}

test('the dashboard shows a live federation, and its admin controls drive it', async ({ page }) => {
  test.setTimeout(180_000);
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));

  clients = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'e2e/dashboard-clients.ts',
      `${server.base.replace(/^http/, 'ws')}/ws`,
      server.fingerprint,
      join(server.dataDir, 'experiment.json'),
      '2',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  clients.stdout!.on('data', (d: Buffer) => clientLog.push(d.toString()));
  clients.stderr!.on('data', (d: Buffer) => clientLog.push(d.toString()));
  await until('two clients connected', async () => (await status()).clients === 2, 90_000).catch((e) => {
    throw new Error(`${(e as Error).message}\nclients said:\n${clientLog.join('').slice(-2000)}`);
  });
  const before = await status();
  expect(before.join).toBe(server.join);

  await page.goto(`${server.base}/dashboard`);
  expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
  await expect(page.locator('#connection')).toHaveText(/Live/);

  // The join link (the server's public one) as text and as a QR code; the fingerprint, readable.
  await expect(page.locator('#join-link')).toHaveText(server.join);
  const qr = page.locator('#join svg.qr');
  await expect(qr).toBeVisible();
  expect(Number(await qr.getAttribute('data-modules'))).toBeGreaterThan(20);
  await expect(qr.locator('path')).toHaveAttribute('d', /^M\d+ \d+h\d+/);
  await expect(qr).toHaveAccessibleName(`QR code of the join link ${server.join}`);
  await expect(page.locator('#server-fingerprint')).toHaveText(server.fingerprint);

  // The connected clients.
  const ids = before.clientList.map((c) => c.id).sort();
  await expect(page.locator('#clients tbody tr')).toHaveCount(2);
  for (const id of ids)
    await expect(page.locator(`#clients tr[data-client-id="${id}"]`)).toContainText('wasm');
  await expect(page.locator('#phase')).toContainText('Waiting for clients. 0 of 3 rounds done');

  // A wrong token: said in plain words (no HTTP jargon on the projector), and nothing starts.
  const token = page.getByLabel('Admin token');
  const result = page.locator('#admin-result');
  await token.fill('not-the-token');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(result).toHaveText(
    'That admin token is not right. It was printed when the server started (and is kept in .pqfed/admin-token).',
  );
  expect((await status()).round).toBe(0);

  // The right token (kept in this tab's sessionStorage only): Start, then Pause after the round in progress.
  await token.fill(server.adminToken);
  expect(await page.evaluate(() => sessionStorage.getItem('pqfed.adminToken'))).toBe(server.adminToken);
  expect(page.url()).not.toContain(server.adminToken);
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(result).toHaveText('Started.');
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await expect(result).toContainText('Paused');
  const paused = await until('the experiment to pause', async () => {
    const s = await status();
    return s.phase === 'paused' && s;
  });
  expect(paused.round).toBeGreaterThanOrEqual(1);
  expect(paused.round).toBeLessThan(3);
  await expect(page.locator('#phase')).toContainText('Paused');
  await page.waitForTimeout(1500);
  expect((await status()).round, 'no round starts while paused').toBe(paused.round);

  // Explain a suggested flow with the model of the paused round.
  const suggested = page.locator('#explain-suggested');
  await expect(suggested).toBeEnabled();
  const firstRow = await suggested.locator('option[value]:not([value=""])').first().getAttribute('value');
  await suggested.selectOption(firstRow!);
  await expect(page.locator('#explain-panel .explain-summary')).toBeVisible();
  await expect(page.locator('#explain-panel .explain-stale')).toHaveCount(0);
  const explainedWith = (await status()).modelVersion;
  expect(explainedWith).toBeGreaterThanOrEqual(1);

  // Change the strategy for the next rounds through the form, then start again.
  await page.getByLabel('Strategy').selectOption('median');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(result).toHaveText('Applied from the next round: strategy.');
  expect((await status()).strategy).toBe('median');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(result).toHaveText('Started.');
  const done = await until('three rounds', async () => {
    const s = await status();
    return s.round === 3 && s.phase === 'finished' && s;
  });
  // The explanation on screen now says it was made with an earlier model, and explains the flow again.
  const stale = page.locator('#explain-panel .explain-stale');
  await expect(stale).toContainText(`the one after round 3`);
  await expect(stale).toContainText(`after round ${explainedWith};`);
  await stale.getByRole('button', { name: `Explain row ${firstRow} again` }).click();
  await expect(stale).toHaveCount(0);
  await expect(page.locator('#explain-panel .explain-summary')).toBeVisible();
  for (const h of done.history) {
    expect(h.contributed.sort()).toEqual(ids);
    expect(h.cryptoSeconds).toBeGreaterThan(0);
  }

  // Charts: three rounds each, drawn on a canvas, with a text alternative.
  for (const id of ['quality', 'loss', 'mos', 'client-loss', 'bytes', 'crypto']) {
    const fig = page.locator(`#chart-${id}`);
    await expect(fig).toHaveAttribute('data-rounds', '3');
    await expect(fig.locator('.chart-canvas canvas').first()).toBeAttached();
    await expect(fig.locator('table.chart-data tbody tr')).toHaveCount(3);
  }
  await expect(page.locator('#chart-client-loss')).toHaveAttribute('data-series', '2');
  await expect(page.locator('#chart-quality .chart-summary')).toContainText('majority baseline accuracy');
  await expect(page.locator('#chart-crypto .chart-summary')).toContainText(/crypto time \d/);

  // Timeline: the two clients × three rounds, all contributed; they left when the experiment finished.
  const timeline = page.locator('#timeline');
  await expect(timeline).toHaveAttribute('data-rounds', '3');
  await expect(timeline).toHaveAttribute('data-clients', '2');
  await expect(timeline.locator('tbody tr')).toHaveCount(2);
  await expect(timeline.locator('td[data-kind="contributed"]')).toHaveCount(6);
  await expect(timeline.locator('tr[data-present="false"]')).toHaveCount(2);
  await expect(page.locator('#clients')).toHaveAttribute('data-clients', '0');

  // Confusion matrix: one row and one column per class, with recall beside it.
  const classes = done.evaluation!.classes;
  const confusion = page.locator('#confusion');
  await expect(confusion).toHaveAttribute('data-classes', String(classes.length));
  await expect(confusion.locator('tbody tr')).toHaveCount(classes.length);
  await expect(confusion.locator('thead th.predicted')).toHaveCount(classes.length);
  await expect(confusion.locator('tbody td.recall')).toHaveCount(classes.length);
  await expect(page.locator('#phase')).toContainText('Finished. 3 of 3 rounds done');
  // Start on a finished run says why nothing happens, and what to do.
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(result).toContainText('The experiment is finished: 3 of 3 rounds are done');
  await expect(result).toContainText('Start a new class');
  await expect(result).toHaveAttribute('data-state', 'error');

  // Exports, fetched with the token and saved as downloads.
  const [csv] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'History as CSV' }).click(),
  ]);
  expect(csv.suggestedFilename()).toMatch(/^pqfed-history-[0-9a-f]{8}-r3\.csv$/);
  const csvText = readFileSync((await csv.path())!, 'utf8')
    .trim()
    .split('\n');
  expect(csvText[0]).toMatch(/^round,participants,accuracy,/);
  expect(csvText).toHaveLength(4);
  const [model] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Global model (tfjs JSON)' }).click(),
  ]);
  const artifacts = JSON.parse(readFileSync((await model.path())!, 'utf8'));
  expect(artifacts.format).toBe('pqfed-multitask');
  expect(artifacts.modelTopology.version).toBe(3);

  // The server goes away: the page says so and keeps the last data.
  expect(problems).toEqual([]);
  await server.stop();
  await expect(page.locator('#connection')).toContainText('Reconnecting', { timeout: 15_000 });
  await expect(page.locator('#chart-quality')).toHaveAttribute('data-rounds', '3');
  await expect(timeline.locator('tbody tr')).toHaveCount(2);
});
