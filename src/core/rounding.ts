/**
 * Numbers shown to people carry no float noise: `-4.40e-8` where the flow had 0 bytes, or
 * `0.27970710600000165` s of crypto time. These helpers round what pages and CSV exports show; JSON answers
 * keep full precision. Pure; no DOM.
 */

/** Magnitudes below this are float noise around zero in any figure PQFed shows (bytes, seconds, scores). */
export const NOISE_FLOOR = 1e-6;

/** `x` with at most `digits` significant digits, as a number; |x| below `floor` is 0 (never −0). */
export function significant(x: number, digits = 6, floor = NOISE_FLOOR): number {
  if (!Number.isFinite(x)) return x;
  if (Math.abs(x) < floor) return 0;
  return Number(x.toPrecision(digits)) + 0;
}

/**
 * `x` written short for a page: 3 significant digits ("0.28", "1230", "−"), exponent form only for
 * magnitudes of a million and more or below a thousandth, and "0" for float noise.
 */
export function shortNumber(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  const v = significant(x, digits);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(digits - 1);
  return String(v);
}

/** A CSV cell of a number: 6 significant digits, empty when it is not finite. */
export function csvNumber(x: number | null | undefined, digits = 6): string {
  return typeof x === 'number' && Number.isFinite(x) ? String(significant(x, digits)) : '';
}
