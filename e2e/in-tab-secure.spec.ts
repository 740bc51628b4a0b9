/**
 * Secure aggregation in the in-tab federation (`/simulate?secagg=1`): the page as the aggregator runs every
 * round through the round core's SecureRound with the real FederatedClients in Web Workers (SecAgg+ with
 * ML-KEM-768 and ML-DSA-65 over their MessagePorts); the rounds aggregate the recovered sum of all clients.
 * A strategy that compares single updates is refused before the run. With differential privacy the clients
 * add the noise (distributed Skellam shares) and the page shows ε after each round and says so.
 */
import { expect, test } from '@playwright/test';

interface SimJson {
  state: string;
  error: string | null;
  privacy: { delta: number; noise: string } | null;
  configs: {
    state: string;
    rounds: {
      round: number;
      participants: number;
      outcome: string;
      macroF1: number | null;
      epsilon?: number | null;
    }[];
  }[];
}

test('a secure in-tab run aggregates the sum of every client in every round', async ({ page }) => {
  test.setTimeout(220_000);
  await page.goto(
    '/simulate?clients=3&rounds=2&configs=fedavg:iid&model=small&train-rows=600&test-rows=200&secagg=1',
  );
  await expect(page.locator('#sim-errors')).toBeHidden();
  await page.locator('#sim-run').click();
  await expect(page.locator('#sim-results')).toHaveAttribute('data-state', /^(done|error|stopped)$/, {
    timeout: 200_000,
  });
  const json = JSON.parse((await page.locator('#sim-json').textContent()) ?? '{}') as SimJson;
  expect(json.error).toBeNull();
  expect(json.state).toBe('done');
  const [c] = json.configs;
  expect(c!.rounds.map((r) => [r.round, r.participants, r.outcome])).toEqual([
    [1, 3, 'aggregated'],
    [2, 3, 'aggregated'],
  ]);
  for (const r of c!.rounds) expect(Number.isFinite(r.macroF1)).toBe(true);
});

test('secure aggregation refuses median before the run', async ({ page }) => {
  await page.goto('/simulate?configs=median:iid&clients=3&secagg=1');
  await expect(page.locator('#sim-errors')).toContainText('median compares single client updates');
});

test('a secure in-tab run with DP shows ε per round and says the clients add the noise', async ({ page }) => {
  test.setTimeout(220_000);
  await page.goto(
    '/simulate?clients=3&rounds=2&configs=fedavg:iid&model=small&train-rows=600&test-rows=200&secagg=1&dp-clip=1&dp-noise=1',
  );
  await expect(page.locator('#sim-errors')).toBeHidden();
  await expect(page.locator('#sim-dp-on')).toBeChecked();
  await page.locator('#sim-run').click();
  await expect(page.locator('#sim-results')).toHaveAttribute('data-state', /^(done|error|stopped)$/, {
    timeout: 200_000,
  });
  const json = JSON.parse((await page.locator('#sim-json').textContent()) ?? '{}') as SimJson;
  expect(json.error).toBeNull();
  expect(json.state).toBe('done');
  expect(json.privacy).toEqual({ delta: 1e-5, noise: 'distributed' });
  const [c] = json.configs;
  expect(c!.rounds.map((r) => [r.round, r.participants, r.outcome])).toEqual([
    [1, 3, 'aggregated'],
    [2, 3, 'aggregated'],
  ]);
  const eps = c!.rounds.map((r) => r.epsilon);
  for (const e of eps) expect(Number.isFinite(e) && e! > 0).toBe(true);
  expect(eps[1]!).toBeGreaterThan(eps[0]!);
  // On the page: ε at δ after the last round, and who adds the noise.
  const note = page.locator('#sim-privacy-note');
  await expect(note).toBeVisible();
  await expect(note).toContainText(
    `ε spent at δ = 0.00001 (FedAvg IID: ε = ${eps[1]!.toFixed(3)} after round 2`,
  );
  await expect(note).toContainText('The noise is distributed: each client adds its share');
  await expect(note).toContainText('never sees an un-noised sum');
  await expect(page.locator('#sim-final tbody tr').first()).toContainText(eps[1]!.toFixed(3));
});
