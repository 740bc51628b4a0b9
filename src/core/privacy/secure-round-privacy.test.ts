import { describe, expect, it } from 'vitest';
import { secAggDegree } from '../secagg/graph.ts';
import { StrategyError } from '../strategies/strategy.ts';
import { PrivacyLedger, type PrivacySettings } from './ledger.ts';
import { fewestSurvivors, secureRoundPrivacy } from './secure-round-privacy.ts';

const GRAPH = { sigma: 40, eta: 30, gamma: 0.05, delta: 0.2 };
const settings: PrivacySettings = {
  clipNorm: 0.5,
  noiseMultiplier: 1,
  targetEpsilon: null,
  delta: 1e-5,
  adaptiveClipping: null,
};

describe('the privacy side of a secure round', () => {
  it('sizes the noise for SecAgg’s smallest threshold over the member counts the round may end with', () => {
    // Complete graphs up to 10 members: t = ⌊(n + ⌈γn⌉)/2⌋ + 1, smallest at the floor of 3 members.
    expect(fewestSurvivors(3, 10, GRAPH)).toBe(secAggDegree(3, GRAPH).t);
    expect(fewestSurvivors(3, 10, GRAPH)).toBe(3);
    expect(fewestSurvivors(8, 10, GRAPH)).toBe(Math.min(...[8, 9, 10].map((n) => secAggDegree(n, GRAPH).t)));
    expect(() => fewestSurvivors(5, 4, GRAPH)).toThrow(/minMembers ≤ members/);
  });

  it('gives the ring and the frame’s noise, and charges the ledger once the sum is recovered', () => {
    const ledger = new PrivacyLedger(settings, () => 3);
    const p = secureRoundPrivacy(ledger, 6, 12, { dimension: 1000, minMembers: 3, graph: GRAPH });
    expect(p.plan!.minSurvivors).toBe(3);
    expect(p.ring).toEqual(p.plan!.ring);
    expect(p.ring.maxWeight).toBe(1);
    expect(p.info).toEqual({ noiseVariance: p.plan!.shareVariance, noiseScale: p.plan!.scale });
    expect(ledger.status().rounds).toBe(0);
    p.onRecovered({ contributors: ['a', 'b', 'c', 'd'] });
    expect(ledger.status()).toMatchObject({ rounds: 1, samplingRate: 0.5 });
    // A sum with fewer contributors than planned is refused as an aggregation failure, and not charged.
    expect(() => p.onRecovered({ contributors: ['a', 'b'] })).toThrow(StrategyError);
    expect(ledger.status().rounds).toBe(1);
  });

  it('without noise (z = 0): no shares, the ring at C with weight 1, ε = ∞', () => {
    const ledger = new PrivacyLedger({ ...settings, noiseMultiplier: 0 }, () => 3);
    const p = secureRoundPrivacy(ledger, 4, 4, { dimension: 100, minMembers: 3, graph: GRAPH });
    expect(p.plan).toBeNull();
    expect(p.info).toEqual({});
    expect(p.ring).toEqual({ clip: 0.5, maxWeight: 1 });
    p.onRecovered({ contributors: ['a', 'b', 'c'] });
    expect(ledger.epsilon).toBe(Number.POSITIVE_INFINITY);
  });
});
