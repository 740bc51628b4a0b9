/**
 * Differential privacy under secure aggregation in a real round (docs/differential-privacy.md, "Under secure
 * aggregation"): a real aggregator (WebSockets on 127.0.0.1, the post-quantum channel) with `privacy` and
 * `secureAggregation` on, and raw clients running real SecAggClients with the noise hook the federated
 * client installs (`secureNoiseHook`, from the round frame's `secagg.noiseVariance` and `noiseScale`). The
 * server adds no noise: the recovered sum differs from the true sum by the members' Skellam shares, of the
 * planned variance, and `/api/status` reports ε as the accountant computes it for the plan's multiplier.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RdpAccountant } from '../src/core/privacy/accountant.ts';
import { seededRandomSource, testKey } from '../src/core/privacy/random-source.ts';
import { secureNoiseHook } from '../src/core/privacy/secure-noise.ts';
import { integerSensitivity } from '../src/core/privacy/skellam.ts';
import { getStatus, type RawConnection, waitFor, within } from './federation.ts';
import { playSecureRound, SecureRoundBed, seededVector } from './secure-round-driver.ts';

const bed = new SecureRoundBed();
afterEach(() => bed.close());

/** A seeded vector of L2 norm `norm` (inside the clip norm, so clipping changes nothing). */
function vector(n: number, seed: number, norm: number): Float32Array {
  const v = Float32Array.from(seededVector(n, seed));
  let s = 0;
  for (const a of v) s += a * a;
  const f = norm / Math.sqrt(s);
  return v.map((a) => a * f);
}

describe('differential privacy under secure aggregation', () => {
  it(
    'the members add the noise: the recovered mean is the true mean plus noise of the planned variance, ε in /api/status',
    { timeout: 150_000 },
    async () => {
      const C = 0.5;
      const z = 0.8;
      const n = 5;
      const { t, ended, before } = await bed.start(n, {
        privacy: { clipNorm: C, noiseMultiplier: z, delta: 1e-5 },
      });
      const d = before.length;
      const updates = Array.from({ length: n }, (_, i) => vector(d, i + 1, 0.3));
      const cs: RawConnection[] = [];
      for (let i = 0; i < n; i++) cs.push(await bed.connect({ numSamples: 50 + i, name: `dp-secure-${i}` }));
      // Each member adds its noise share from the round frame; DP-FedAvg: equal weights (the ring's weight
      // cap is 1).
      const played = await within(
        Promise.all(
          cs.map((c, i) =>
            playSecureRound(c, {
              update: updates[i]!,
              numSamples: 1,
              noise: (info) =>
                secureNoiseHook(
                  { variance: info.noiseVariance!, scale: info.noiseScale },
                  seededRandomSource(testKey(300 + i)),
                ),
            }),
          ),
        ),
        'the secure round',
        120_000,
      );
      await waitFor(() => ended.length === 1, 30_000, 'round 1 to end');
      expect(ended[0]!.outcome).toBe('aggregated');
      expect(ended[0]!.participants).toBe(n);

      // The round frame: the clip norm for the clients, and each member's share of the noise.
      const { fit, info } = played[0]!;
      expect(fit.clipNorm).toBe(C);
      const v = info.noiseVariance!;
      const S = info.noiseScale!;
      expect(v).toBeGreaterThan(0);
      // Enough for the fewest survivors (3 of 5: SecAgg's threshold at its 3-member floor) to carry (z·Δ)².
      expect(Math.sqrt(3 * v)).toBeGreaterThanOrEqual(z * integerSensitivity(S, C, d));

      // The server added no noise: after − before − true mean is the members' noise, n shares of v ring
      // units² each, divided by S (ring → model units) and by n (the mean), i.e. variance v / (n·S²).
      const after = t.agg.coordinator.globalWeights();
      const residual = new Float64Array(d);
      for (let j = 0; j < d; j++) {
        let mean = 0;
        for (const u of updates) mean += u[j]!;
        residual[j] = after[j]! - before[j]! - mean / n;
      }
      let s2 = 0;
      for (const r of residual) s2 += r * r;
      const expected = v / (n * S * S);
      // d ≈ 20,000 coordinates: the sample variance's relative sd is √(2/d) ≈ 1 %; float32 weights add ~1e-15.
      expect(Math.abs(s2 / d / expected - 1)).toBeLessThan(0.05);

      // ε: the accountant for one round of the plan's multiplier at q = 5/5.
      const status = await getStatus(t);
      const ref = new RdpAccountant();
      ref.compose(1, z);
      expect(status.privacy).toMatchObject({
        secureAggregation: true,
        mechanism: 'skellam',
        rounds: 1,
        noiseMultiplier: z,
        epsilon: ref.epsilon(1e-5),
      });
    },
  );
});
