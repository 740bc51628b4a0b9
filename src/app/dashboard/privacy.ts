/**
 * The dashboard's privacy line (`/api/status`'s `privacy`, docs/differential-privacy.md): off, or ε spent so
 * far at δ beside the target, the noise multiplier and clip norm, and why the budget ended the session.
 */

/** `/api/status`'s `privacy` (absent on older servers; `delta: null` when DP is off). */
export interface PrivacyJson {
  secureAggregation: boolean;
  epsilon: number | null;
  delta: number | null;
  targetEpsilon?: number | null;
  noiseMultiplier?: number | null;
  clipNorm?: number;
  adaptiveClipping?: boolean;
  rounds?: number;
  stopped?: string | null;
}

/** One line for people: "ε = 1.23 of 8 at δ = 1e-5 after 4 rounds (noise ×1.10, clip 0.500)". */
export function privacyLine(p: PrivacyJson | undefined): string {
  if (!p || p.delta === null) return 'off (no differential privacy)';
  const eps = p.epsilon === null ? 'no finite ε (no noise)' : `ε = ${p.epsilon.toFixed(2)}`;
  const target = p.targetEpsilon == null ? '' : ` of ${p.targetEpsilon}`;
  const noise = p.noiseMultiplier == null ? '' : `noise ×${p.noiseMultiplier.toFixed(2)}, `;
  const clip =
    p.clipNorm === undefined
      ? ''
      : `clip ${p.clipNorm.toPrecision(3)}${p.adaptiveClipping ? ' (adaptive)' : ''}`;
  const rounds = p.rounds === undefined ? '' : ` after ${p.rounds} round${p.rounds === 1 ? '' : 's'}`;
  const stop = p.stopped ? ' — budget reached, the session stopped' : '';
  return `${eps}${target} at δ = ${p.delta}${rounds} (${noise}${clip})${stop}`;
}
