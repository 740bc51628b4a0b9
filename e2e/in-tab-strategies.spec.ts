/**
 * The new strategies in the in-tab federation (`/simulate`): FedYogi, FedAdagrad, FedAvgM and FedDyn (whose
 * clients keep g_k in their workers' trainers) run in the page as the aggregator, with virtual clients in
 * Web Workers (real handshake, sealed and signed updates), every round aggregated. Small caps keep the run
 * short; no figure is checked for speed or quality, only that the strategies run end to end and are labelled.
 */
import { expect, test } from '@playwright/test';

interface SimJson {
  state: string;
  error: string | null;
  configs: {
    label: string;
    strategy: string;
    alpha: number | null;
    state: string;
    rounds: { round: number; participants: number; outcome: string; macroF1: number | null }[];
    verifiedUpdates: number;
  }[];
}

test('FedYogi, FedAdagrad, FedAvgM and FedDyn run in the tab: 2 clients × 2 rounds each', async ({
  page,
}) => {
  test.setTimeout(200_000);
  await page.goto(
    '/simulate?clients=2&rounds=2&configs=fedyogi:iid,fedadagrad:0.5,fedavgm:0.5,feddyn:0.5&model=small&train-rows=600&test-rows=200',
  );
  await expect(page.locator('#cfg-0-strategy')).toHaveValue('fedyogi');
  await expect(page.locator('#cfg-0-strategy option:checked')).toHaveText('FedYogi');
  await page.locator('#sim-run').click();
  await expect(page.locator('#sim-results')).toHaveAttribute('data-state', /^(done|error|stopped)$/, {
    timeout: 170_000,
  });
  const json = JSON.parse((await page.locator('#sim-json').textContent()) ?? '{}') as SimJson;
  expect(json.error).toBeNull();
  expect(json.state).toBe('done');
  expect(json.configs.map((c) => [c.strategy, c.alpha, c.label])).toEqual([
    ['fedyogi', null, 'FedYogi IID'],
    ['fedadagrad', 0.5, 'FedAdagrad α=0.5'],
    ['fedavgm', 0.5, 'FedAvgM α=0.5'],
    ['feddyn', 0.5, 'FedDyn α=0.5'],
  ]);
  for (const c of json.configs) {
    expect(c.state).toBe('done');
    expect(c.rounds.map((r) => [r.round, r.outcome])).toEqual([
      [1, 'aggregated'],
      [2, 'aggregated'],
    ]);
    for (const r of c.rounds) {
      expect(r.macroF1).toBeGreaterThanOrEqual(0);
      expect(r.macroF1).toBeLessThanOrEqual(1);
    }
  }
});
