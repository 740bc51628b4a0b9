/**
 * The dashboard as a projector shows it (issue 11), against its own `pqfed serve` and four Node clients
 * with long names (e2e/dashboard-clients.ts) after a few rounds, the confusion matrix shown:
 * - at 1280×720 the QR code (at least 300 px) and the accuracy / macro-F1 chart are inside the viewport;
 * - at 1280 and 1366 px wide the page has no horizontal overflow and no table is clipped in its box;
 * - "New class" on the dashboard (a confirm, then the admin API) archives the history in the data
 *   directory, restarts at round 0 with a new session and the same server key fingerprint.
 * It takes the README's dashboard screenshot at 1280×720.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, type Page, test } from '@playwright/test';
import { type Served, serve, until } from './aggregator.ts';
import { saveScreenshot } from './screenshots.ts';

const EXPERIMENT = {
  maxTrainRows: 2000,
  maxTestRows: 400,
  model: { dModel: 8, heads: 2, ffDim: 16, convLayers: 1, mosWeight: 0.5 },
  rounds: 50,
  clientsPerRound: { fraction: 1, min: 2, max: 10 },
  quorum: 2,
  roundDeadlineSeconds: 60,
  batchSize: 64,
  autoStart: false,
};

/** Long names, one with no space to break at, one with letters outside ASCII. */
const NAMES = [
  'Crimson Narwhal of the Back Row',
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  'Überlange Zoë Ærøskøbing Ñandú 7',
  'Blue Otter',
];

interface Status {
  session: string;
  round: number;
  phase: string;
  clients: number;
  serverKeyFingerprint: string;
  clientList: { id: string; name: string }[];
  history: { round: number }[];
}

let server: Served;
let clients: ChildProcess | null = null;
const clientLog: string[] = [];

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

async function admin(action: string): Promise<number> {
  const r = await fetch(`${server.base}/api/admin/${action}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.adminToken}` },
  });
  return r.status;
}

/** The page's horizontal overflow and the tables wider than their box, at the current viewport. */
function overflow(page: Page) {
  return page.evaluate(() => {
    const d = document.documentElement;
    const clipped = [...document.querySelectorAll<HTMLElement>('.scroll, table')]
      .filter((e) => e.offsetParent !== null && !e.closest('.visually-hidden'))
      .filter((e) => e.scrollWidth > e.clientWidth + 1)
      .map((e) => `${e.id || e.className || e.tagName} ${e.scrollWidth} > ${e.clientWidth}`);
    // What sticks out of the page, outermost first (for the failure message).
    const wide = [...document.querySelectorAll<HTMLElement>('body *')]
      .filter((e) => e.getBoundingClientRect().right > d.clientWidth + 1)
      .filter((e) => !e.parentElement || e.parentElement.getBoundingClientRect().right <= d.clientWidth + 1)
      .slice(0, 5)
      .map(
        (e) =>
          `${e.tagName.toLowerCase()}#${e.id}.${e.className} right ${Math.round(e.getBoundingClientRect().right)}`,
      );
    // Nothing spills out of the side of its panel either.
    const spilled = [...document.querySelectorAll<HTMLElement>('.panel')].flatMap((panel) => {
      const right = panel.getBoundingClientRect().right;
      return [...panel.querySelectorAll<HTMLElement>('*')]
        .filter((e) => !e.closest('.visually-hidden') && e.getBoundingClientRect().right > right + 1)
        .map((e) => `${e.tagName.toLowerCase()}#${e.id} in #${panel.querySelector('h2')?.id}`);
    });
    return { scrollWidth: d.scrollWidth, clientWidth: d.clientWidth, clipped, wide, spilled };
  });
}

async function inViewport(page: Page, selector: string) {
  const box = await page.locator(selector).boundingBox();
  const vp = page.viewportSize()!;
  expect(box, `${selector} is laid out`).not.toBeNull();
  const b = box!;
  return { box: b, inside: b.x >= 0 && b.y >= 0 && b.x + b.width <= vp.width && b.y + b.height <= vp.height };
}

test('the projector view at 1280×720, no clipped table at 1280 and 1366 px, and a new class', async ({
  page,
}) => {
  test.setTimeout(240_000);
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

  clients = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'e2e/dashboard-clients.ts',
      `${server.base.replace(/^http/, 'ws')}/ws`,
      server.fingerprint,
      join(server.dataDir, 'experiment.json'),
      String(NAMES.length),
      NAMES.join('|'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  clients.stdout!.on('data', (d: Buffer) => clientLog.push(d.toString()));
  clients.stderr!.on('data', (d: Buffer) => clientLog.push(d.toString()));
  await until('four clients connected', async () => (await status()).clients === NAMES.length, 90_000).catch(
    (e) => {
      throw new Error(`${(e as Error).message}\nclients said:\n${clientLog.join('').slice(-2000)}`);
    },
  );
  expect((await status()).clientList.map((c) => c.name).sort()).toEqual([...NAMES].sort());
  expect(await admin('start')).toBe(200);
  await until('three rounds', async () => (await status()).round >= 3, 180_000);
  expect(await admin('pause')).toBe(200);
  const before = await until('the pause', async () => {
    const s = await status();
    return s.phase === 'paused' && s;
  });

  await page.setViewportSize({ width: 1280, height: 720 });
  await page.goto(`${server.base}/dashboard`);
  await expect(page.locator('#connection')).toHaveText(/Live/);
  await expect(page.locator('#chart-quality')).toHaveAttribute('data-rounds', String(before.round));
  await expect(page.locator('#chart-quality .chart-canvas canvas').first()).toBeAttached();
  await expect(page.locator('#confusion tbody tr').first()).toBeVisible();
  await expect(page.locator('#clients tbody tr')).toHaveCount(NAMES.length);
  for (const name of NAMES) await expect(page.locator('#clients')).toContainText(name);

  // The QR code (≥ 300 px) and the convergence chart, without scrolling.
  await page.evaluate(() => window.scrollTo(0, 0));
  const qr = await inViewport(page, '#join svg.qr');
  expect(qr.box.width).toBeGreaterThanOrEqual(300);
  expect(qr.box.height).toBeGreaterThanOrEqual(300);
  expect(qr.inside, `QR code at ${JSON.stringify(qr.box)}`).toBe(true);
  const chart = await inViewport(page, '#chart-quality');
  expect(chart.inside, `accuracy chart at ${JSON.stringify(chart.box)}`).toBe(true);
  expect((await inViewport(page, '#chart-quality .chart-canvas canvas')).inside).toBe(true);
  // The short address to type when the QR code cannot be scanned: the join link without scheme or fragment.
  await expect(page.locator('#join-short')).toHaveText(/^[^/#]+:\d+\/\?autojoin=1$/);
  await saveScreenshot(page, 'dashboard', { fullPage: false });

  // No horizontal overflow, and no table clipped in its box, at a projector's widths.
  for (const size of [
    { width: 1280, height: 720 },
    { width: 1366, height: 768 },
  ]) {
    await page.setViewportSize(size);
    await page.waitForTimeout(300);
    const o = await overflow(page);
    expect(o.scrollWidth, `page width at ${size.width} px: ${o.wide.join('; ')}`).toBeLessThanOrEqual(
      o.clientWidth,
    );
    expect(o.clipped, `tables clipped at ${size.width} px`).toEqual([]);
    expect(o.spilled, `out of their panel at ${size.width} px`).toEqual([]);
  }

  // New class, clicking the button and accepting the confirm.
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.getByLabel('Admin token').fill(server.adminToken);
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'New class…' }).click();
  const result = page.locator('#admin-result');
  await expect(result).toContainText('New class started');
  await expect(result).toContainText('at round 0');
  const after = await status();
  expect(after.session).not.toBe(before.session);
  expect(after.round).toBe(0);
  expect(after.history).toEqual([]);
  expect(after.serverKeyFingerprint).toBe(before.serverKeyFingerprint);
  expect(after.serverKeyFingerprint).toBe(server.fingerprint);
  const files = readdirSync(join(server.dataDir, 'archive'));
  expect(files).toHaveLength(1);
  expect(files[0]!.startsWith(before.session)).toBe(true);
  await expect(result).toContainText(`archive/${files[0]}`);
  const archive = JSON.parse(readFileSync(join(server.dataDir, 'archive', files[0]!), 'utf8'));
  expect(archive.session).toBe(before.session);
  expect(archive.history.map((h: { round: number }) => h.round)).toEqual(before.history.map((h) => h.round));
  await expect(page.locator('#ov-rounds')).toHaveText(/^0 of 50$/);
  await expect(page.locator('#ov-session')).toHaveText(after.session.slice(0, 12));
  await expect(page.locator('#server-fingerprint')).toHaveText(before.serverKeyFingerprint);
  // The clients were asked to join again, and are back in the new session.
  await until('the clients back', async () => (await status()).clients === NAMES.length, 60_000);
  expect(problems).toEqual([]);
});
