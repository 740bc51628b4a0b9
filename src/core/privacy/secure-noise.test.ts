import { describe, expect, it } from 'vitest';
import { decodeSum, encodeUpdate, ringScale } from '../secagg/ring.ts';
import { RdpAccountant } from './accountant.ts';
import { ADAPTIVE_CLIP_DEFAULTS } from './clip.ts';
import { PrivacyLedger, type PrivacySettings } from './ledger.ts';
import { seededRandomSource, testKey } from './random-source.ts';
import { planSecureNoise, SecureNoiseError, secureNoiseHook, shareVarianceAt } from './secure-noise.ts';
import { integerSensitivity } from './skellam.ts';

const D = 20_000;
const base = {
  clipNorm: 0.5,
  noiseMultiplier: 1.5,
  dimension: D,
  members: 10,
  minMembers: 6,
  minSurvivors: 5,
};

/** A unit vector of norm `norm` in `d` coordinates, deterministic. */
function update(d: number, norm: number, phase: number): Float32Array {
  const u = new Float32Array(d);
  let s = 0;
  for (let i = 0; i < d; i++) {
    u[i] = Math.sin(i * 0.37 + phase);
    s += u[i]! * u[i]!;
  }
  const f = norm / Math.sqrt(s);
  for (let i = 0; i < d; i++) u[i] = u[i]! * f;
  return u;
}

describe('secure noise plan', () => {
  it('sizes the shares so that minSurvivors of them carry (z·Δ)² at least, in a ring with headroom', () => {
    const p = planSecureNoise(base);
    expect(p.ring.maxWeight).toBe(1);
    expect(p.ring.clip).toBeGreaterThan(base.clipNorm); // headroom for the noise
    expect(p.scale).toBe(ringScale(p.ring, base.members));
    expect(p.sensitivity).toBe(integerSensitivity(p.scale, base.clipNorm, D));
    expect(p.centralVariance).toBeCloseTo(p.shareVariance * base.minSurvivors, 0);
    expect(Math.sqrt(p.centralVariance)).toBeGreaterThanOrEqual(base.noiseMultiplier * p.sensitivity);
    expect(p.effectiveNoiseMultiplier).toBe(base.noiseMultiplier);
    expect(p.wrapProbability).toBeLessThanOrEqual(1e-9);
    // Precision: the rounding's √d is a small part of the sensitivity.
    expect(Math.sqrt(D) / p.sensitivity).toBeLessThan(0.01);
  });

  it('refuses a ring without headroom (ring-overflow), and one whose shares exceed the sampler', () => {
    // The ring of plain SecAgg (clip = C): the signal alone fills Z_2^32.
    const err = (() => {
      try {
        planSecureNoise({ ...base, ring: { clip: base.clipNorm, maxWeight: 1 } });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SecureNoiseError);
    expect((err as SecureNoiseError).reason).toBe('ring-overflow');
    expect((err as Error).message).toMatch(/wraps with probability/);
    // The plan's own ring passes the same check.
    const p = planSecureNoise(base);
    expect(planSecureNoise({ ...base, ring: p.ring }).shareVariance).toBeCloseTo(p.shareVariance, 0);
    // A weighted ring is not DP-FedAvg's.
    expect(() => planSecureNoise({ ...base, ring: { clip: 10, maxWeight: 100 } })).toThrow(/weight cap 1/);
  });

  it('refuses noise so large that no ring keeps both precision and headroom (no-precision)', () => {
    expect(() =>
      planSecureNoise({ ...base, noiseMultiplier: 1e4, members: 2000, minMembers: 2000, minSurvivors: 1 }),
    ).toThrow(expect.objectContaining({ name: 'SecureNoiseError', reason: 'no-precision' }));
  });

  it('the shares of the survivors add up to the planned variance (seeded, 20,000 coordinates, ±4 %)', () => {
    const p = planSecureNoise(base);
    const sum = new Float64Array(D + 1);
    for (let c = 0; c < base.minSurvivors; c++) {
      const hook = secureNoiseHook(
        { variance: p.shareVariance, scale: p.scale },
        seededRandomSource(testKey(100 + c)),
      );
      const share = hook({ scale: p.scale, length: D + 1 });
      expect(share[D]).toBe(0); // the weight element gets no noise
      for (let i = 0; i < D; i++) sum[i] = sum[i]! + share[i]!;
    }
    let m = 0;
    for (let i = 0; i < D; i++) m += sum[i]!;
    m /= D;
    let s2 = 0;
    for (let i = 0; i < D; i++) s2 += (sum[i]! - m) ** 2;
    const variance = s2 / (D - 1);
    // The sample variance of 20,000 draws has relative sd √(2/20,000) = 1 %: 4 % is four of them.
    expect(Math.abs(variance / p.centralVariance - 1)).toBeLessThan(0.04);
    expect(Math.abs(m)).toBeLessThan((4 * Math.sqrt(p.centralVariance)) / Math.sqrt(D));
  });

  it('a member of a smaller round (larger scale) raises its variance with the scale², keeping z', () => {
    const p = planSecureNoise(base);
    const s7 = ringScale(p.ring, 7);
    const v7 = shareVarianceAt(p.shareVariance, p.scale, s7);
    expect(v7).toBeCloseTo(p.shareVariance * (s7 / p.scale) ** 2, 0);
    const z7 = Math.sqrt(v7 * base.minSurvivors) / integerSensitivity(s7, base.clipNorm, D);
    expect(z7).toBeGreaterThanOrEqual(base.noiseMultiplier);
    // Never below the plan.
    expect(shareVarianceAt(p.shareVariance, p.scale, p.scale / 2)).toBe(p.shareVariance);
  });

  it('through the real ring: the decoded noisy sum of clipped updates is the true sum plus the planned noise', () => {
    const p = planSecureNoise(base);
    const n = base.members;
    const truth = new Float64Array(D);
    const ring = new Uint32Array(D + 1);
    for (let c = 0; c < n; c++) {
      // Every member at the clip norm, all with the same sign pattern: the largest signal the ring holds.
      const u = update(D, base.clipNorm, c === 0 ? 0 : 0.001 * c);
      for (let i = 0; i < D; i++) truth[i] = truth[i]! + u[i]!;
      const v = encodeUpdate(u, 1, p.ring, p.scale);
      const noise = secureNoiseHook(
        { variance: p.shareVariance, scale: p.scale },
        seededRandomSource(testKey(200 + c)),
      )({ scale: p.scale, length: D + 1 });
      for (let i = 0; i <= D; i++) ring[i] = (ring[i]! + v[i]! + noise[i]!) >>> 0;
    }
    const { weightedSum, totalWeight } = decodeSum(ring, p.scale);
    expect(totalWeight).toBe(n);
    let s2 = 0;
    for (let i = 0; i < D; i++) s2 += (weightedSum[i]! - truth[i]!) ** 2;
    // n shares of v each: variance n·v ring units², i.e. n·v / S² model units² per coordinate.
    const expected = (n * p.shareVariance) / p.scale ** 2;
    expect(Math.abs(s2 / D / expected - 1)).toBeLessThan(0.04);
  });
});

describe('privacy ledger, secure rounds', () => {
  const settings: PrivacySettings = {
    clipNorm: 0.5,
    noiseMultiplier: null,
    targetEpsilon: 4,
    delta: 1e-5,
    adaptiveClipping: null,
  };

  it('charges the effective multiplier: ε equals the accountant for it, and the target stops the run', () => {
    const l = new PrivacyLedger(settings, () => 5, null, seededRandomSource(testKey(1)));
    const ref = new RdpAccountant();
    let rounds = 0;
    while (l.refusal(10, 10) === null) {
      const plan = l.planSecure(10, 10, { dimension: D, minMembers: 6, minSurvivors: 5 })!;
      expect(plan.effectiveNoiseMultiplier).toBe(l.status().noiseMultiplier);
      l.chargeSecure(plan, 10, 10, 8);
      ref.compose(1, plan.effectiveNoiseMultiplier);
      rounds++;
      expect(l.epsilon).toBe(ref.epsilon(1e-5));
      expect(rounds).toBeLessThan(10);
    }
    // Calibrated for 5 rounds: 5 run, the 6th would cross ε = 4 and is refused.
    expect(rounds).toBe(5);
    expect(l.epsilon).toBeLessThanOrEqual(4);
    expect(l.status()).toMatchObject({ secureAggregation: true, mechanism: 'skellam', rounds: 5 });
    expect(l.status().stopped).toMatch(/above the target ε = 4/);
  });

  it('refuses a sum with fewer contributors than planned, and adaptive clipping', () => {
    const l = new PrivacyLedger({ ...settings, noiseMultiplier: 1 }, () => 5);
    const plan = l.planSecure(10, 10, { dimension: D, minMembers: 6, minSurvivors: 5 })!;
    expect(() => l.chargeSecure(plan, 10, 10, 4)).toThrow(/at least 5 contributors/);
    expect(l.status().rounds).toBe(0);
    const adaptive = new PrivacyLedger(
      {
        ...settings,
        noiseMultiplier: 1,
        adaptiveClipping: { ...ADAPTIVE_CLIP_DEFAULTS, targetQuantile: 0.5 },
      },
      () => 5,
    );
    expect(() => adaptive.planSecure(10, 10, { dimension: D, minMembers: 6, minSurvivors: 5 })).toThrow(
      /adaptive clipping/,
    );
  });
});
