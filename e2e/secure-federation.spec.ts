/**
 * Secure aggregation with browser tabs: `pqfed serve` with `"secureAggregation": true`, three tabs from the
 * join link; each tab's worker runs SecAgg+ (ML-KEM-768, ML-DSA-65 with the key its connection proved)
 * while it trains and sends its masked input instead of a sealed update; the server recovers the sum of all
 * three, round after round, and never sees a tab's update or loss.
 */
import { type BrowserContext, expect, test } from '@playwright/test';
import { type Served, SMALL_EXPERIMENT, serve, until } from './aggregator.ts';
import { clientIdOf } from './tab.ts';

let server: Served;
let context: BrowserContext;

test.beforeAll(async ({ browser }) => {
  server = await serve({
    ...SMALL_EXPERIMENT,
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

interface SecureStatus {
  history: { round: number; participants: number; contributed: string[]; clientMetrics: unknown[] }[];
  secureAggregation: {
    enabled: boolean;
    lastRound: { members: number; survivors: number; outcome: string } | null;
  };
}

test('three tabs complete two secure rounds: the server recovers the sum of all three', async () => {
  test.setTimeout(300_000);
  const pages = await Promise.all([0, 1, 2].map(() => context.newPage()));
  for (const p of pages) await p.goto(`${server.join.replace('/?autojoin=1', '/?autojoin=1&backend=wasm')}`);
  const ids = await Promise.all(pages.map(clientIdOf));
  const status = async () => (await (await fetch(`${server.local}/api/status`)).json()) as SecureStatus;
  await until(
    '2 secure rounds with all three tabs',
    async () =>
      (await status()).history.filter((h) => ids.every((id) => h.contributed.includes(id))).length >= 2,
    240_000,
  );
  const s = await status();
  expect(s.secureAggregation.enabled).toBe(true);
  expect(s.secureAggregation.lastRound).toMatchObject({ members: 3, survivors: 3, outcome: 'recovered' });
  for (const h of s.history.filter((x) => x.participants > 0)) expect(h.clientMetrics).toEqual([]);
  for (const p of pages) {
    await expect
      .poll(async () => Number(await p.locator('#fed-rounds').textContent()))
      .toBeGreaterThanOrEqual(2);
  }
});
