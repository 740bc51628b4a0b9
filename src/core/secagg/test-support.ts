/**
 * Helpers for the secure-aggregation tests (src/core/secagg/, src/core/round/, test/; not part of the
 * library). Written apart from secure-view.ts's one-pass correlation, so that the tests check it.
 * @module
 */

/** Pearson's correlation of `a` and `b` (equal lengths), in two passes, float64. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`pearson: lengths differ (${a.length} and ${b.length})`);
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}
