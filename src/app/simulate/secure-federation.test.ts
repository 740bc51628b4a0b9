/**
 * The in-tab federation with secure aggregation: the aggregator side (federation.ts) runs every round
 * through the round core's SecureRound (secure-federation.ts) with real FederatedClients over MessagePorts,
 * real cryptography; the strategy gets only the sum.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunPlan } from './federation.ts';
import { inTabHarness, runPlan } from './federation-test-support.ts';
import { optionsFromQuery, queryFor } from './options.ts';
import { secureProblem } from './secure-federation.ts';

const MODEL_SIZE = 6;

/** Client k's delta is k+1 everywhere (inside the clip bound 4), so FedAvg is easy to predict. */
const harness = inTabHarness({ modelSize: MODEL_SIZE });
afterEach(harness.stopAll);

const plan = (o: Partial<RunPlan> = {}): RunPlan =>
  runPlan({ secure: { clip: 4, dropoutFraction: 0.2 }, ...o });

describe('in-tab federation with secure aggregation', () => {
  it('runs FedAvg rounds on the recovered sum of every client', { timeout: 60_000 }, async () => {
    const { rounds, evaluated, events } = await harness.run(plan());
    expect(rounds.map((r) => [r.round, r.selected, r.participants, r.outcome])).toEqual([
      [1, 3, 3, 'aggregated'],
      [2, 3, 3, 'aggregated'],
    ]);
    // (10·1 + 30·2 + 60·3) / 100 = 2.5 per round, within the ring's error bound (W = 60, C = 4, n = 3).
    const bound = 3 / (2 * ((2 ** 31 - 1 - 3) / (3 * 60 * 4)) * 100);
    for (let j = 0; j < MODEL_SIZE; j++) {
      expect(Math.abs(evaluated[0]![j]! - 2.5)).toBeLessThanOrEqual(bound + 1e-6);
      expect(Math.abs(evaluated[1]![j]! - 5)).toBeLessThanOrEqual(2 * bound + 1e-6);
    }
    // No local loss crosses in the clear.
    expect(rounds.map((r) => r.meanLocalLoss)).toEqual([null, null]);
    expect(rounds.flatMap((r) => r.refused)).toEqual([]);
    expect(events.filter((e) => e.kind === 'update' && e.accepted)).toHaveLength(6);
  });

  it('refuses a strategy that needs single updates and too few clients', async () => {
    expect(secureProblem('median', 5)).toMatch(/compares single client updates/);
    expect(secureProblem('fedavg', 2)).toMatch(/at least 3 clients/);
    expect(secureProblem('fedadam', 3)).toBeNull();
    await expect(
      harness.run(plan(), { spec: { strategy: 'krum', partition: { kind: 'iid' } }, samples: [10, 10, 10] }),
    ).rejects.toThrow(/secure aggregation: krum compares single client updates/);
  });

  it('is the URL option secagg=1, which refuses robust strategies and too few clients, and takes DP', () => {
    const on = optionsFromQuery(new URLSearchParams('secagg=1'));
    expect(on.errors).toEqual([]);
    expect(on.options.secureAggregation).toBe(true);
    expect(queryFor(on.options)).toBe('?secagg=1');
    expect(optionsFromQuery(new URLSearchParams('')).options.secureAggregation).toBe(false);
    const bad = optionsFromQuery(new URLSearchParams('secagg=1&configs=median:iid&clients=2'));
    expect(bad.errors.join('\n')).toMatch(/median compares single client updates/);
    expect(bad.errors.join('\n')).toMatch(/at least 3 clients, got 2/);
    const dp = optionsFromQuery(new URLSearchParams('secagg=1&dp-clip=1&dp-noise=1'));
    // DP with secure aggregation: the clients add the noise (secure-privacy-federation.test.ts).
    expect(dp.errors).toEqual([]);
    expect(dp.options).toMatchObject({
      secureAggregation: true,
      privacy: { clipNorm: 1, noiseMultiplier: 1 },
    });
  });
});
