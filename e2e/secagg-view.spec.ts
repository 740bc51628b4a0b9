/**
 * "What the server sees" (issue 13, for the class): `pqfed serve` with `"secureAggregation": true` and three
 * tabs from the join link. The dashboard, open before the round, shows the panel empty; after the secure
 * round it shows one client's masked input (noise over the whole ring, uncorrelated with the sum) and, with
 * the toggle worked from the keyboard, the sum the server recovers; axe finds no WCAG A/AA violation in it.
 * `/api/status` carries the same bounded view and no client id. Then `/simulate?secagg=1` shows the same
 * panel from the in-tab federation.
 */
import AxeBuilder from '@axe-core/playwright';
import { type BrowserContext, expect, type Page, test } from '@playwright/test';
import { type Served, SMALL_EXPERIMENT, serve, until } from './aggregator.ts';
import { clientIdOf } from './tab.ts';

let server: Served;
let context: BrowserContext;

test.beforeAll(async ({ browser }) => {
  server = await serve({
    ...SMALL_EXPERIMENT,
    rounds: 1,
    clientsPerRound: { fraction: 1, min: 3, max: 10 },
    quorum: 3,
    secureAggregation: true,
  });
  context = await browser.newContext();
});

test.afterAll(async () => {
  await context?.close();
  await server?.stop();
});

interface ViewStatus {
  secureAggregation: {
    enabled: boolean;
    view: { round: number; masked: number[]; sum: number[]; maskedRingShare: number } | null;
  };
  clientList: { id: string }[];
}

/** The panel shows `mode` (toggled from the keyboard) with 64 bars and says `words`. */
async function expectMode(panel: ReturnType<Page['locator']>, mode: string, words: RegExp) {
  await expect(panel).toHaveAttribute('data-mode', mode);
  await expect(panel.locator('svg.secagg-bars')).toHaveAttribute('data-bars', '64');
  await expect(panel.locator('svg.secagg-bars rect')).toHaveCount(64);
  await expect(panel.locator('figcaption')).toContainText(words);
}

/** Tab's arrow keys switch the radio group: the masked input, then the sum, then back. */
async function toggleFromKeyboard(page: Page, id: string) {
  const panel = page.locator(`#${id}`);
  await expectMode(panel, 'masked', /It looks like noise: its values spread over 9\d/);
  await expect(panel.locator('figcaption')).toContainText(/r = -?0\.0\d\d: no relation/);
  await page.locator(`#${id}-mode-masked`).focus();
  await page.keyboard.press('ArrowRight');
  await expect(page.locator(`#${id}-mode-sum`)).toBeChecked();
  await expectMode(panel, 'sum', /the masks have cancelled/);
  await expect(panel.locator('figcaption')).toContainText('mean update the model takes');
  await page.keyboard.press('ArrowLeft');
  await expectMode(panel, 'masked', /looks like noise/);
}

test('the dashboard shows one masked input beside the recovered sum, with a keyboard toggle', async () => {
  test.setTimeout(300_000);
  const dash = await context.newPage();
  await dash.goto(`${server.local}/dashboard`);
  await expect(dash.locator('#secagg-section')).toBeVisible();
  await expect(dash.locator('#secagg-view')).toContainText('No secure round has recovered its sum yet.');

  const tabs = await Promise.all([0, 1, 2].map(() => context.newPage()));
  for (const p of tabs) await p.goto(server.join.replace('/?autojoin=1', '/?autojoin=1&backend=wasm'));
  const ids = await Promise.all(tabs.map(clientIdOf));
  const status = async () => (await (await fetch(`${server.local}/api/status`)).json()) as ViewStatus;
  await until(
    'a recovered secure round',
    async () => (await status()).secureAggregation.view !== null,
    240_000,
  );
  const s = await status();
  const view = s.secureAggregation.view!;
  expect(view.round).toBe(1);
  expect(view.masked).toHaveLength(64);
  expect(view.sum).toHaveLength(64);
  expect(view.maskedRingShare).toBeGreaterThan(0.9);
  const json = JSON.stringify(s.secureAggregation);
  for (const id of ids) expect(json).not.toContain(id);
  for (const p of tabs) await p.close();

  await expect(dash.locator('#secagg-view')).toHaveAttribute('data-round', '1', { timeout: 30_000 });
  await toggleFromKeyboard(dash, 'secagg-view');
  const axe = await new AxeBuilder({ page: dash })
    .include('#secagg-section')
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  expect(axe.violations.map((v) => v.id)).toEqual([]);
  // The projector's constraint: nothing wider than the page at 1280 px.
  await dash.setViewportSize({ width: 1280, height: 720 });
  expect(await dash.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
});

test('/simulate?secagg=1 shows the same view from the in-tab federation', async () => {
  test.setTimeout(240_000);
  const page = await context.newPage();
  await page.goto(
    `${server.local}/simulate?clients=3&rounds=1&configs=fedavg:iid&model=small&train-rows=600&test-rows=200&secagg=1`,
  );
  await expect(page.locator('#sim-secagg-section')).toBeHidden();
  await page.locator('#sim-run').click();
  await expect(page.locator('#sim-secagg-section')).toBeVisible({ timeout: 200_000 });
  await expect(page.locator('#sim-secagg-view')).toHaveAttribute('data-round', '1');
  await toggleFromKeyboard(page, 'sim-secagg-view');
});
