import { describe, expect, it } from 'vitest';
import { SECAGG } from '../../core/limits.ts';
import { secureRoundView } from '../../core/round/secure-view.ts';
import { decodeMessage } from '../../core/secagg/messages.ts';
import { makeMembers, simulateRound } from '../../core/secagg/simulation.ts';
import { privacyLine } from './privacy.ts';
import {
  bars,
  modeSentences,
  modeSeries,
  parseSecureView,
  ringPercent,
  type SecureViewJson,
  secureViewPrivacy,
  shortValue,
} from './secure-view.ts';

/** A real view: one in-process SecAgg+ round of 3 members, d = 200, as `/api/status` sends it (JSON). */
function realView(): SecureViewJson {
  let masked: Uint32Array | null = null;
  const report = simulateRound(makeMembers(3, 200, { maxSamples: 300 }), {
    ring: { clip: 1, maxWeight: 300 },
    onServerReceive: (_, bytes) => {
      const m = decodeMessage(bytes);
      if (m.type === 'masked-input') masked ??= m.vector;
    },
  });
  return JSON.parse(JSON.stringify(secureRoundView(4, masked!, report.result!))) as SecureViewJson;
}

describe('parseSecureView', () => {
  const view = realView();

  it('takes the view the server sends, field for field', () => {
    expect(parseSecureView(view)).toEqual(view);
    expect(view.masked).toHaveLength(SECAGG.viewElements);
  });

  it('refuses anything that is not one: missing, oversized, non-finite, mismatched or out of range', () => {
    expect(parseSecureView(null)).toBeNull();
    expect(parseSecureView(undefined)).toBeNull();
    expect(parseSecureView('view')).toBeNull();
    const long = Array.from({ length: SECAGG.viewElements + 1 }, () => 1);
    expect(parseSecureView({ ...view, masked: long, sum: long, mean: long })).toBeNull();
    expect(parseSecureView({ ...view, masked: [...view.masked.slice(1), 'x'] })).toBeNull();
    expect(parseSecureView({ ...view, sum: view.sum.slice(1) })).toBeNull();
    expect(parseSecureView({ ...view, mean: [...view.mean.slice(1), null] })).toBeNull();
    expect(parseSecureView({ ...view, correlation: 1.5 })).toBeNull();
    expect(parseSecureView({ ...view, maskedRingShare: -0.1 })).toBeNull();
    expect(parseSecureView({ ...view, ringBound: 0 })).toBeNull();
    expect(parseSecureView({ ...view, round: -1 })).toBeNull();
    expect(parseSecureView({ ...view, length: 10 })).toBeNull();
    expect(parseSecureView({ ...view, correlation: null })).toMatchObject({ correlation: null });
  });
});

describe('what the panel says', () => {
  const view = realView();

  it('the masked input: noise over the whole ring, uncorrelated with the sum', () => {
    const [first, second] = modeSentences(view, 'masked');
    expect(first).toMatch(/^Round 4: one client’s masked input exactly as the server received it/);
    expect(first).toContain('the first 64 of its 200 numbers');
    expect(first).toMatch(/It looks like noise: its values spread over 9\d(\.\d+)? % of the ring \(±/);
    expect(first).toMatch(/r = -?0\.\d{3}: no relation/);
    expect(second).toMatch(/masks cancel only in the sum/);
    expect(modeSeries(view, 'masked')).toEqual({ values: view.masked, extent: view.ringBound });
  });

  it('the sum: the masks cancelled, a small share of the ring, the mean update the model takes', () => {
    const [first, second] = modeSentences(view, 'sum');
    expect(first).toContain(`from 3 masked inputs (${view.totalWeight.toLocaleString('en')} samples)`);
    expect(first).toMatch(/uses only \d(\.\d+)? % of the ring: the masks have cancelled/);
    expect(second).toMatch(/mean update the model takes/);
    const { values, extent } = modeSeries(view, 'sum');
    expect(values).toBe(view.sum);
    expect(extent).toBe(Math.max(...view.sum.map(Math.abs)));
    expect(modeSentences({ ...view, correlation: null }, 'masked')[0]).toContain('undefined');
  });

  it('beside it, the ε spent so far in the privacy panel’s words, or nothing when DP is off', () => {
    const p = {
      secureAggregation: true,
      epsilon: 2.5,
      delta: 1e-5,
      targetEpsilon: 8,
      noiseMultiplier: 1.1,
      clipNorm: 1,
      rounds: 3,
    };
    expect(secureViewPrivacy(p)).toBe(privacyLine(p));
    expect(secureViewPrivacy(p)).toMatch(/^ε = 2\.50 of 8 at δ = 0\.00001 after 3 rounds/);
    expect(secureViewPrivacy({ secureAggregation: true, epsilon: null, delta: null })).toBeNull();
    expect(secureViewPrivacy(undefined)).toBeNull();
  });
});

describe('bars and numbers', () => {
  it('draws bars up from and down to the middle line, clamped to the axis', () => {
    const b = bars([1, -0.5, 4, 0], 2, 100, 40);
    expect(b).toHaveLength(4);
    expect(b[0]).toEqual({ x: 0, y: 10, width: 24, height: 10, value: 1 });
    expect(b[1]).toEqual({ x: 25, y: 20, width: 24, height: 5, value: -0.5 });
    expect(b[2]).toMatchObject({ y: 0, height: 20 });
    expect(b[3]).toMatchObject({ y: 20, height: 0 });
    expect(bars([], 1, 100, 40)).toEqual([]);
    expect(bars([1], 0, 100, 40)).toEqual([]);
  });

  it('writes ring shares and values so 99.99 % and 0.002 % read as such', () => {
    expect(ringPercent(0.99994)).toBe('99.99 %');
    expect(ringPercent(0.99985)).toBe('99.98 %');
    expect(ringPercent(0.991)).toBe('99.10 %');
    expect(ringPercent(0.5)).toBe('50.0 %');
    expect(ringPercent(0.0000234)).toBe('0.0023 %');
    expect(ringPercent(0)).toBe('0 %');
    expect(shortValue(1234.5678)).toBe('1230');
    expect(shortValue(-0.012345)).toBe('-0.0123');
    expect(shortValue(2.5e-7)).toBe('2.50e-7');
    expect(shortValue(3e9)).toBe('3.00e9');
    expect(shortValue(0)).toBe('0');
  });
});
