/**
 * The QoE target: a MOS *proxy* from the ITU-T G.107 E-model. None of these datasets has ground-truth QoE.
 *
 * Each dataset maps some of its flow columns to network impairments (one-way delay, jitter, packet loss):
 * see `impairments` in each schema. Those columns are never model inputs (schema role `qoe`), so the QoE
 * head has to predict the proxy from other evidence rather than recompute a formula of its inputs.
 *
 * E-model (ITU-T G.107, simplified as in Cole & Rosenbluth, "Voice over IP performance monitoring", 2001):
 *   Ta     = delay + 2 · jitter                               (a jitter buffer of twice the jitter)
 *   Id     = 0.024 · Ta + 0.11 · (Ta − 177.3) · H(Ta − 177.3)
 *   Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl + Bpl)              (Ie = 0, Bpl = 25.1: G.711 with PLC, G.113 App. I)
 *   R      = 93.2 − Id − Ie,eff
 *   MOS    = 1 if R ≤ 0; 4.5 if R ≥ 100; else 1 + 0.035 R + 7·10⁻⁶ R (R − 60)(100 − R)   (G.107 Annex B)
 * With no impairment, R = 93.2 and MOS ≈ 4.41.
 */

export interface Impairments {
  /** One-way delay proxy, milliseconds. */
  delayMs: number;
  /** Jitter proxy, milliseconds. */
  jitterMs: number;
  /** Packet-loss proxy, percent (0–100). */
  lossPct: number;
}

/** Maps one row's QoE columns (already parsed as numbers) to impairments. */
export type ImpairmentProxy = (qoe: Readonly<Record<string, number>>) => Impairments;

const R0 = 93.2; // default R with no impairment (G.107 default parameter values)
const IE = 0; // equipment impairment of G.711
const BPL = 25.1; // packet-loss robustness of G.711 with packet-loss concealment (G.113 Appendix I)

/** E-model transmission rating R for the impairments. */
export function rFactor({ delayMs, jitterMs, lossPct }: Impairments): number {
  const ta = Math.max(0, delayMs) + 2 * Math.max(0, jitterMs);
  const id = 0.024 * ta + (ta > 177.3 ? 0.11 * (ta - 177.3) : 0);
  const ppl = Math.min(100, Math.max(0, lossPct));
  const ieEff = IE + ((95 - IE) * ppl) / (ppl + BPL);
  return R0 - id - ieEff;
}

/** G.107 Annex B: R → MOS (conversational quality, 1–4.5). */
export function mosFromR(r: number): number {
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  // The polynomial dips just below 1 for small R (its slope at 0 is -0.007): clamp to the scale.
  return Math.max(1, 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r));
}

export function mosProxy(imp: Impairments): number {
  return mosFromR(rFactor(imp));
}

/** Maximum MOS the proxy can take (no impairment). */
export const MOS_UNIMPAIRED = mosFromR(R0);
