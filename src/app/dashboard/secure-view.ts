/**
 * "What the server sees" under secure aggregation, for the class (issue 13; docs/secure-aggregation.md,
 * "What the class sees"): the server's own view of the last recovered secure round — a few elements of one
 * client's masked input beside the same elements of the sum it recovers (src/core/round/secure-view.ts) —
 * validated as it arrives (`/api/status` → `secureAggregation.view`, or the in-tab federation's event), and
 * put into words and bars. Pure; no DOM (the panel is secure-view-panel.ts).
 */
import { SECAGG } from '../../core/limits.ts';
import type { SecureRoundView } from '../../core/round/secure-view.ts';
import { type PrivacyJson, privacyLine } from './privacy.ts';

export type SecureViewJson = SecureRoundView;

/** Which of the two the panel shows. */
export type SecureViewMode = 'masked' | 'sum';
export const SECURE_VIEW_MODES: readonly SecureViewMode[] = ['masked', 'sum'];

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const count = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const share = (x: unknown): x is number => finite(x) && x >= 0 && x <= 1;

function numbers(x: unknown, length?: number): x is number[] {
  return (
    Array.isArray(x) &&
    x.length <= SECAGG.viewElements &&
    (length === undefined || x.length === length) &&
    x.every(finite)
  );
}

/**
 * The view from untrusted JSON, or null when there is none or it is not one: every field checked (finite
 * numbers, at most SECAGG.viewElements of each kind, the three samples of one length).
 */
export function parseSecureView(raw: unknown): SecureViewJson | null {
  if (!isObject(raw)) return null;
  const v = raw;
  if (!count(v.round) || !count(v.length) || !count(v.contributors) || !count(v.totalWeight)) return null;
  if (!finite(v.scale) || v.scale <= 0 || !finite(v.ringBound) || v.ringBound <= 0) return null;
  if (!numbers(v.masked) || !numbers(v.sum, v.masked.length) || !numbers(v.mean, v.masked.length))
    return null;
  if (v.masked.length > v.length) return null;
  if (!share(v.maskedRingShare) || !share(v.sumRingShare)) return null;
  if (v.correlation !== null && !(finite(v.correlation) && Math.abs(v.correlation) <= 1)) return null;
  if (!finite(v.errorBound) || v.errorBound < 0) return null;
  return {
    round: v.round,
    length: v.length,
    contributors: v.contributors,
    totalWeight: v.totalWeight,
    scale: v.scale,
    ringBound: v.ringBound,
    masked: v.masked.slice(),
    sum: v.sum.slice(),
    mean: v.mean.slice(),
    maskedRingShare: v.maskedRingShare,
    sumRingShare: v.sumRingShare,
    correlation: v.correlation as number | null,
    errorBound: v.errorBound,
  };
}

/**
 * The ε spent so far beside the view, in the privacy panel's words (privacy.ts), or null when differential
 * privacy is off (the line is then left out).
 */
export function secureViewPrivacy(p: PrivacyJson | undefined): string | null {
  return p && p.delta !== null ? privacyLine(p) : null;
}

/** A number for people: 3 significant digits, no exponent between 0.001 and 100,000. */
export function shortValue(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(2).replace('e+', 'e');
  return String(Number(x.toPrecision(3)));
}

/**
 * A share of the ring as a percentage with enough digits to tell 99.98 % from 100 % (rounded down near the
 * top: a span of n values never covers the whole ring) and 0.002 % from 0.
 */
export function ringPercent(x: number): string {
  const p = x * 100;
  if (p === 0) return '0 %';
  if (p >= 99 && p < 100) return `${(Math.floor(p * 100) / 100).toFixed(2)} %`;
  if (p >= 1) return `${p.toFixed(1)} %`;
  return `${Number(p.toPrecision(2))} %`;
}

/** What the samples of `mode` are, for the toggle's label. */
export const MODE_LABELS: Readonly<Record<SecureViewMode, string>> = Object.freeze({
  masked: 'One client’s masked input',
  sum: 'The sum the server recovers',
});

/** The sample shown in `mode`, and the extent of its axis (±extent). */
export function modeSeries(view: SecureViewJson, mode: SecureViewMode): { values: number[]; extent: number } {
  if (mode === 'masked') return { values: view.masked, extent: view.ringBound };
  const largest = view.sum.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  return { values: view.sum, extent: largest > 0 ? largest : 1 };
}

/** The sentences beside the bars: what the server holds in `mode`, with its scale stated in words. */
export function modeSentences(view: SecureViewJson, mode: SecureViewMode): string[] {
  const shown = `the first ${view.masked.length} of its ${view.length.toLocaleString('en')} numbers`;
  const r =
    view.correlation === null
      ? 'its correlation with the recovered sum is undefined (the sum is constant)'
      : `its correlation with the sum the server recovers is r = ${view.correlation.toFixed(3)}: no relation`;
  if (mode === 'masked') {
    return [
      `Round ${view.round}: one client’s masked input exactly as the server received it, ${shown}. It looks like noise: its values spread over ${ringPercent(view.maskedRingShare)} of the ring (±${shortValue(view.ringBound)}), and ${r}.`,
      'The server cannot unmask a single input: the masks cancel only in the sum of all of them.',
    ];
  }
  const peak = view.mean.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  return [
    `Round ${view.round}: the sum the server recovers from ${view.contributors} masked inputs (${view.totalWeight.toLocaleString('en')} samples), ${shown}. It uses only ${ringPercent(view.sumRingShare)} of the ring: the masks have cancelled.`,
    `Divided by the ${view.totalWeight.toLocaleString('en')} samples it is the mean update the model takes (largest |value| shown ${shortValue(peak)}, exact to ±${shortValue(view.errorBound)}): the model, never one client’s update.`,
  ];
}

/** One bar of the chart: in a `width` × `height` box whose middle line is zero. */
export interface Bar {
  x: number;
  y: number;
  width: number;
  height: number;
  value: number;
}

/** Bars of `values` on an axis of ±`extent` (values beyond it are drawn to the edge). */
export function bars(values: readonly number[], extent: number, width: number, height: number): Bar[] {
  if (values.length === 0 || !(extent > 0)) return [];
  const step = width / values.length;
  const gap = step > 4 ? 1 : 0;
  const mid = height / 2;
  return values.map((value, i) => {
    const f = Math.max(-1, Math.min(1, value / extent));
    const h = Math.abs(f) * mid;
    return { x: i * step, y: f >= 0 ? mid - h : mid, width: step - gap, height: h, value };
  });
}
