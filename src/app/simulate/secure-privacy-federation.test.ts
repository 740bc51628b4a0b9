/**
 * Differential privacy under secure aggregation in the in-tab federation: real FederatedClients over
 * MessagePorts, real cryptography. The round frame carries the aggregator's noise plan
 * (src/core/privacy/secure-round-privacy.ts), every client adds its Skellam share in the ring before
 * masking, the in-tab aggregator adds none, the ledger charges the plan's effective multiplier, and the
 * target ε stops the run before the round that would cross it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RdpAccountant } from '../../core/privacy/accountant.ts';
import { ADAPTIVE_CLIP_DEFAULTS } from '../../core/privacy/clip.ts';
import { PrivacyLedger } from '../../core/privacy/ledger.ts';
import { seededRandomSource } from '../../core/privacy/random-source.ts';
import { planSecureNoise } from '../../core/privacy/secure-noise.ts';
import type { RunPlan } from './federation.ts';
import { inTabHarness, runPlan } from './federation-test-support.ts';
import { IN_TAB_SECURE_DEFAULTS, inTabSecurePrivacy } from './secure-federation.ts';

/** d: enough coordinates for a variance estimate (2 rounds × 2,000 noise draws). */
const D = 2000;
/** Client k's delta is (k+1)·A everywhere: L2 norm (k+1)·A·√d ≤ 0.68 < C, so clipping leaves it as is. */
const A = 0.005;
const C = 1;
const Z = 1;
const DELTA = 1e-5;

const harness = inTabHarness({
  modelSize: D,
  delta: (k) => (k + 1) * A,
  // Seeded noise shares: the statistics below are the same on every run.
  noiseRandom: (k) => seededRandomSource(new Uint8Array(32).fill(k + 1)),
});
afterEach(harness.stopAll);

const plan = (o: Partial<RunPlan> = {}): RunPlan =>
  runPlan({
    rounds: 3,
    // z = 1, q = 1: ε ≈ 7.08 after 2 rounds and ≈ 9.01 after 3, so the target 8 allows 2 of the 3 rounds.
    privacy: { clipNorm: C, noiseMultiplier: Z, targetEpsilon: 8, delta: DELTA, adaptiveClipping: null },
    secure: IN_TAB_SECURE_DEFAULTS,
    ...o,
  });

describe('in-tab federation with secure aggregation and differential privacy', () => {
  it(
    'the clients add the planned noise, the ledger charges the effective multiplier, the target ε stops the run',
    { timeout: 120_000 },
    async () => {
      const { rounds, evaluated, trainers, events } = await harness.run(plan());
      expect(rounds.map((r) => [r.round, r.participants, r.outcome])).toEqual([
        [1, 3, 'aggregated'],
        [2, 3, 'aggregated'],
      ]);
      expect(events.find((e) => e.kind === 'budget-stop')).toMatchObject({
        round: 3,
        reason: expect.stringMatching(/^privacy budget: round 3 would take ε from 7\.07\d to 9\.0\d\d/),
      });
      // Every client clipped to C (the fit settings carry it).
      for (const t of trainers) expect(t.fits.map((f) => f.fit.clipNorm)).toEqual([C, C]);

      // The plan the aggregator's engine makes for 3 members (t = 3), computed here independently.
      const expected = planSecureNoise({
        clipNorm: C,
        noiseMultiplier: Z,
        dimension: D,
        members: 3,
        minMembers: 3,
        minSurvivors: 3,
      });
      const engine = inTabSecurePrivacy(
        new PrivacyLedger(plan().privacy!, () => 3),
        3,
        D,
        IN_TAB_SECURE_DEFAULTS,
      );
      expect(engine.plan).toEqual(expected);
      expect(expected.effectiveNoiseMultiplier).toBeGreaterThan(0.999 * Z);

      // ε after each round is the accountant's for the plan's effective multiplier at q = 1.
      rounds.forEach((r, i) => {
        const a = new RdpAccountant();
        a.compose(1, expected.effectiveNoiseMultiplier, i + 1);
        expect(r.epsilon).toBeCloseTo(a.epsilon(DELTA), 9);
        expect(r.epsilon).toBeGreaterThan(0);
      });
      expect(rounds[1]!.epsilon!).toBeGreaterThan(rounds[0]!.epsilon!);

      // The recovered mean minus the plain one (weight 1 each: (A + 2A + 3A)/3 = 2A) is the noise: the sum of
      // 3 shares of variance v (ring units², at scale S) divided by S and by 3, so variance v/(3S²) per
      // coordinate. FedAvg adds the mean to the global model: round r's mean is evaluated[r] − evaluated[r−1].
      const residual: number[] = [];
      for (let r = 0; r < 2; r++) {
        for (let j = 0; j < D; j++) {
          const before = r === 0 ? 0 : evaluated[r - 1]![j]!;
          residual.push(evaluated[r]![j]! - before - 2 * A);
        }
      }
      const n = residual.length;
      const variance = expected.shareVariance / (3 * expected.scale ** 2);
      const mean = residual.reduce((s, x) => s + x, 0) / n;
      const sampleVariance = residual.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
      // Tolerances: the sample variance of 4,000 draws has a relative std of √(2/4000) ≈ 2.2 %: ±10 % is
      // 4.5 std; the mean's std is √(variance/4000): ±5 of them. Without the shares the residual would be the
      // ring's rounding alone (< 1e-6), far outside both.
      expect(sampleVariance / variance).toBeGreaterThan(0.9);
      expect(sampleVariance / variance).toBeLessThan(1.1);
      expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt(variance / n));
      // The noise has the std of the central mechanism: z·C/3 in the mean, up to the rounding term √d/S.
      expect(Math.sqrt(variance)).toBeGreaterThan((Z * C) / 3);
      expect(Math.sqrt(variance)).toBeLessThan(((Z * C) / 3) * 1.01);
    },
  );

  it('refuses adaptive clipping with the aggregator’s sentence: SecAgg hides the count it needs', async () => {
    await expect(
      harness.run(
        plan({
          privacy: {
            clipNorm: C,
            noiseMultiplier: Z,
            targetEpsilon: null,
            delta: DELTA,
            adaptiveClipping: ADAPTIVE_CLIP_DEFAULTS,
          },
        }),
        { samples: [10, 10, 10] },
      ),
    ).rejects.toThrow(
      /adaptive clipping needs the count of unclipped updates, which secure aggregation hides/,
    );
  });
});
