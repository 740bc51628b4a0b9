import { describe, expect, it } from 'vitest';
import { privacyLine } from './privacy.ts';

describe('privacyLine', () => {
  it('says off when the server runs without DP or is older', () => {
    expect(privacyLine(undefined)).toBe('off (no differential privacy)');
    expect(privacyLine({ secureAggregation: false, epsilon: null, delta: null })).toBe(
      'off (no differential privacy)',
    );
  });

  it('shows ε of the target at δ, the noise and the clip norm, and the stop', () => {
    const p = {
      secureAggregation: false,
      epsilon: 1.23456,
      delta: 1e-5,
      targetEpsilon: 8,
      noiseMultiplier: 1.1,
      clipNorm: 0.5,
      adaptiveClipping: true,
      rounds: 4,
      stopped: null,
    };
    expect(privacyLine(p)).toBe(
      'ε = 1.23 of 8 at δ = 0.00001 after 4 rounds (noise ×1.10, clip 0.500 (adaptive))',
    );
    expect(privacyLine({ ...p, stopped: 'privacy budget: …' })).toMatch(
      /budget reached, the session stopped$/,
    );
    expect(privacyLine({ ...p, epsilon: null, noiseMultiplier: 0 })).toMatch(
      /^no finite ε \(no noise\) of 8/,
    );
  });
});
