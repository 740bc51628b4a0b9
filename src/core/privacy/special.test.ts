/**
 * log Γ and log erfc against scipy 1.17.1 (`special.gammaln`; `log(2) + special.log_ndtr(−x·√2)`, the form
 * dp-accounting uses), printed once with `python3 -c` and copied here.
 */
import { describe, expect, it } from 'vitest';
import { logAdd, logErfc, logGamma } from './special.ts';

const LOG_ERFC: [number, number][] = [
  [-5, 0.6931471805591766],
  [-1, 0.6112323176780705],
  [0.3, -0.39843005144008525],
  [1, -1.849605509933249],
  [2, -5.36494126461664],
  [2.49, -7.753382843710986],
  [2.5, -7.806815272727267],
  [3, -10.720363041981116],
  [10, -102.87988902484493],
  [40, -1604.2615566532743],
  [1000, -1000007.4801207221],
];
const LOG_GAMMA: [number, number][] = [
  [0.1, 2.252712651734206],
  [0.5, 0.5723649429247],
  [2.5, 0.2846828704729192],
  [10, 12.801827480081469],
  [100.5, 361.43554046777757],
  [1024, 6071.28041294445],
  [-0.5, 1.2655121234846454],
  [-3.7, -1.3797399049658245],
  [-999.3, -5905.93597954453],
];

describe('special functions', () => {
  it('log erfc matches scipy to 1e-13 relative, far into the tail where erfc underflows', () => {
    expect(logErfc(0)).toBe(0);
    for (const [x, v] of LOG_ERFC)
      expect(Math.abs(logErfc(x) - v), `x = ${x}`).toBeLessThan(1e-13 * Math.abs(v));
  });

  it('log Γ matches scipy to 1e-13 relative, with the reflection below ½', () => {
    for (const [x, v] of LOG_GAMMA)
      expect(Math.abs(logGamma(x) - v), `x = ${x}`).toBeLessThan(1e-13 * Math.abs(v));
    expect(logGamma(-2)).toBe(Number.POSITIVE_INFINITY);
  });

  it('adds in log space without overflow', () => {
    expect(logAdd(Math.log(2), Math.log(3))).toBeCloseTo(Math.log(5), 14);
    expect(logAdd(Number.NEGATIVE_INFINITY, 7)).toBe(7);
    expect(logAdd(1000, 1000)).toBeCloseTo(1000 + Math.LN2, 12);
  });
});
