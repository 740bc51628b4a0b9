/**
 * Client-level differential privacy in the in-tab federation (`/simulate`): the page as the aggregator runs
 * the aggregator's PrivacyLedger (clients clip to C, the page adds Gaussian noise of std z·C to the sum),
 * shows ε after each round beside accuracy and macro-F1, stops before the round that would cross the
 * target ε and says why; a robust strategy is refused with the experiment check's sentence.
 */
import { expect, test } from '@playwright/test';
import { RdpAccountant } from '../src/core/privacy/accountant.ts';

interface SimJson {
  state: string;
  error: string | null;
  configs: {
    state: string;
    budgetStop?: string | null;
    rounds: { round: number; outcome: string; macroF1: number | null; epsilon?: number | null }[];
  }[];
}

/** ε after `rounds` rounds with every client in every round (q = 1) at noise z and δ = 1e-5. */
function epsilonAfter(rounds: number, z: number): number {
  const a = new RdpAccountant();
  a.compose(1, z, rounds);
  return a.epsilon(1e-5);
}

test('a DP run shows ε per round and stops before the round that would cross the target ε', async ({
  page,
}) => {
  test.setTimeout(200_000);
  // z = 1: ε ≈ 7.08 after 2 rounds, ≈ 9.01 after 3, so the target 8 allows 2 of the 4 rounds.
  await page.goto(
    '/simulate?clients=2&rounds=4&configs=fedavg:iid&model=small&train-rows=600&test-rows=200&dp-clip=1&dp-noise=1&target-epsilon=8',
  );
  await expect(page.locator('#sim-errors')).toBeHidden();
  await expect(page.locator('#sim-dp-on')).toBeChecked();
  await expect(page.locator('#sim-dp-noise')).toHaveValue('1');
  await page.locator('#sim-run').click();
  await expect(page.locator('#sim-results')).toHaveAttribute('data-state', /^(done|error|stopped)$/, {
    timeout: 170_000,
  });
  const json = JSON.parse((await page.locator('#sim-json').textContent()) ?? '{}') as SimJson;
  expect(json.error).toBeNull();
  expect(json.state).toBe('done');
  const [c] = json.configs;
  expect(c!.rounds.map((r) => [r.round, r.outcome])).toEqual([
    [1, 'aggregated'],
    [2, 'aggregated'],
  ]);
  c!.rounds.forEach((r, i) => {
    expect(r.epsilon).toBeCloseTo(epsilonAfter(i + 1, 1), 9);
  });
  expect(c!.budgetStop).toMatch(/^privacy budget: round 3 would take ε from 7\.077 to 9\.010/);
  // ε beside accuracy and macro-F1 in both tables, and the reason on the page.
  await expect(page.locator('#sim-rounds-table tbody tr').nth(1)).toContainText(
    epsilonAfter(2, 1).toFixed(3),
  );
  await expect(page.locator('#sim-final tbody tr').first()).toContainText('2 of 4 (privacy budget)');
  await expect(page.locator('#sim-meta')).toContainText('stopped early: privacy budget: round 3');
});

test("DP refuses a robust strategy with the experiment check's sentence, and the run does not start", async ({
  page,
}) => {
  await page.goto('/simulate?configs=median:iid&dp-clip=1&dp-noise=1');
  await expect(page.locator('#sim-errors')).toContainText(
    '"strategy" ("median") cannot run with privacy: the server noises the mean of clipped updates',
  );
  await page.locator('#sim-dp-noise').fill('');
  await page.locator('#sim-run').click();
  await expect(page.locator('#sim-errors')).toContainText('needs a noise multiplier or a target ε');
  await expect(page.locator('#sim-dp-on')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#sim-results')).toHaveAttribute('data-state', 'idle');
});
