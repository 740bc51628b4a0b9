import { describe, expect, it } from 'vitest';
import { isSecAggError } from './errors.ts';
import {
  combineShares,
  evaluatePolynomial,
  invMod,
  lagrangeAtZero,
  recoverSecret,
  SHAMIR_PRIME,
  SHARE_BYTES,
  shareSecret,
  splitSecret,
} from './shamir.ts';

describe('Shamir over a small prime, by hand', () => {
  it('shares 5 with f(x) = 5 + 3x over GF(17): f(1)=8, f(2)=11, f(3)=14, and any 2 give 5 back', () => {
    const shares = splitSecret(5n, 2, [1n, 2n, 3n], 17n, [3n]);
    expect(shares.map((s) => s.y)).toEqual([8n, 11n, 14n]);
    expect(combineShares([shares[0]!, shares[2]!], 2, 17n)).toBe(5n);
    expect(combineShares([shares[2]!, shares[1]!], 2, 17n)).toBe(5n);
  });

  it('shares 11 with f(x) = 11 + 2x + 7x² over GF(13): f(1)=7, f(2)=4, f(4)=1, rebuilt from those three', () => {
    // f(1) = 20 mod 13 = 7; f(2) = 11 + 4 + 28 = 43 mod 13 = 4; f(4) = 11 + 8 + 112 = 131 mod 13 = 1.
    const shares = splitSecret(11n, 3, [1n, 2n, 4n], 13n, [2n, 7n]);
    expect(shares.map((s) => s.y)).toEqual([7n, 4n, 1n]);
    expect(combineShares(shares, 3, 13n)).toBe(11n);
    // Lagrange at 0 for x = 1, 2, 4 over GF(13): ℓ1 = 2·4/((2−1)(4−1)) = 8/3, ℓ2 = 1·4/((1−2)(4−2)) = −2, ℓ4 = 1·2/((1−4)(2−4)) = 1/3.
    const inv3 = invMod(3n, 13n); // 9, since 3·9 = 27 = 1 mod 13
    expect(inv3).toBe(9n);
    expect(lagrangeAtZero([1n, 2n, 4n], 13n)).toEqual([(8n * inv3) % 13n, 11n, inv3]);
    expect(evaluatePolynomial([11n, 2n, 7n], 0n, 13n)).toBe(11n);
  });

  it('t − 1 shares reveal nothing: over GF(17) with t = 3, exactly one polynomial passes through two fixed shares for every candidate secret', () => {
    // Fix two shares (x=1 → 4, x=2 → 9). For each candidate secret s, count polynomials s + a·x + b·x² through both.
    const counts = new Map<bigint, number>();
    for (let s = 0n; s < 17n; s++) {
      let c = 0;
      for (let a = 0n; a < 17n; a++) {
        for (let b = 0n; b < 17n; b++) {
          if (evaluatePolynomial([s, a, b], 1n, 17n) === 4n && evaluatePolynomial([s, a, b], 2n, 17n) === 9n)
            c++;
        }
      }
      counts.set(s, c);
    }
    expect(new Set(counts.values())).toEqual(new Set([1]));
  });

  it('refuses too few shares, repeated holders and a threshold above the holder count', () => {
    const shares = splitSecret(5n, 2, [1n, 2n, 3n], 17n, [3n]);
    expect(() => combineShares([shares[0]!], 2, 17n)).toThrow(/at least 2 shares/);
    expect(() => combineShares([shares[0]!, shares[0]!], 2, 17n)).toThrow(/distinct holder points/);
    expect(() => splitSecret(5n, 4, [1n, 2n, 3n], 17n)).toThrow(/threshold in \[1, 3\]/);
    expect(() => splitSecret(5n, 2, [0n, 2n], 17n)).toThrow(/holder points in \[1, p\)/);
  });
});

describe('32-byte secrets over 2^130 − 5', () => {
  it('uses the Poly1305 prime', () => {
    expect(SHAMIR_PRIME).toBe(2n ** 130n - 5n);
  });

  it('rebuilds a 32-byte secret from any t of n shares, and not from a different subset with an altered share', () => {
    const secret = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 255) & 0xff);
    secret[0] = 0xff; // the largest chunks still fit: each chunk < 2^128 < p
    const xs = [3, 5, 8, 13, 21, 34];
    const shares = shareSecret(secret, 4, xs);
    expect(shares.every((s) => s.length === SHARE_BYTES)).toBe(true);
    const pick = (idx: number[]) => idx.map((i) => ({ x: xs[i]!, share: shares[i]! }));
    expect(recoverSecret(pick([0, 1, 2, 3]), 4)).toEqual(secret);
    expect(recoverSecret(pick([5, 2, 4, 0]), 4)).toEqual(secret);
    const bad = pick([1, 2, 3, 4]);
    bad[0] = { x: bad[0]!.x, share: bad[0]!.share.slice() };
    bad[0].share[33]! ^= 1;
    let rebuilt: Uint8Array | undefined;
    try {
      rebuilt = recoverSecret(bad, 4);
    } catch (e) {
      expect(isSecAggError(e, 'bad-share')).toBe(true);
    }
    if (rebuilt) expect(rebuilt).not.toEqual(secret);
  });

  it('refuses fewer than t shares with too-many-dropouts', () => {
    const shares = shareSecret(new Uint8Array(32).fill(1), 3, [1, 2, 3]);
    try {
      recoverSecret(
        shares.slice(0, 2).map((share, i) => ({ x: i + 1, share })),
        3,
      );
      expect.unreachable();
    } catch (e) {
      expect(isSecAggError(e, 'too-many-dropouts')).toBe(true);
    }
  });

  it('draws fresh polynomials: sharing one secret twice gives different shares', () => {
    const secret = new Uint8Array(32).fill(7);
    expect(shareSecret(secret, 2, [1, 2])[0]).not.toEqual(shareSecret(secret, 2, [1, 2])[0]);
  });
});
