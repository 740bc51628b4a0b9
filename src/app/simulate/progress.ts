/**
 * What the page's live region says during a run, and how far along the run is (for the progress bar).
 * Pure; no DOM.
 */
import type { FederationEvent } from './federation.ts';
import { fmt, fmtEpsilon } from './results.ts';

export interface RunPosition {
  /** 0-based configuration index, and how many. */
  config: number;
  configs: number;
  label: string;
  rounds: number;
  clients: number;
}

/** "Configuration 1 of 2 (FedAvg α=0.1), round 2 of 3: client 3 of 4 training." */
export function describe(p: RunPosition, e: FederationEvent): string {
  const head = `Configuration ${p.config + 1} of ${p.configs} (${p.label})`;
  switch (e.kind) {
    case 'connecting':
      return `${head}: ${e.clients} clients connecting (post-quantum handshake).`;
    case 'round-start':
      return `${head}, round ${e.round} of ${p.rounds}: sending the signed model.`;
    case 'training':
      return `${head}, round ${e.round} of ${p.rounds}: client ${e.client + 1} of ${p.clients} training.`;
    case 'update':
      return e.accepted
        ? `${head}, round ${e.round} of ${p.rounds}: update of client ${e.client + 1} verified.`
        : `${head}, round ${e.round} of ${p.rounds}: update of client ${e.client + 1} refused (${e.reason}).`;
    case 'evaluating':
      return `${head}, round ${e.round} of ${p.rounds}: evaluating the new global model.`;
    case 'round-end': {
      const r = e.result;
      const refused = r.refused.length
        ? `, ${r.refused.length} refused (${r.refused.map((x) => x.reason).join(', ')})`
        : '';
      const figures =
        r.outcome === 'aggregated'
          ? `accuracy ${fmt(r.accuracy)}, macro-F1 ${fmt(r.macroF1)}`
          : 'no valid update: the model is unchanged';
      const eps = r.epsilon === undefined ? '' : `, ε = ${fmtEpsilon(r.epsilon)}`;
      return `${head}, round ${r.round} of ${p.rounds} done: ${r.participants} updates verified${refused}; ${figures}${eps}.`;
    }
    case 'budget-stop':
      return `${head}: stopped before round ${e.round}, ${e.reason}.`;
    case 'secure-view':
      return `${head}, round ${e.view.round} of ${p.rounds}: the sum of ${e.view.contributors} masked inputs recovered.`;
  }
}

/**
 * The share of the run done: each configuration is an equal part, each of its rounds an equal part of that,
 * and within a round each client's answered update.
 */
export function fractionDone(p: RunPosition, round: number, answered: number): number {
  const perConfig = 1 / Math.max(1, p.configs);
  const perRound = perConfig / Math.max(1, p.rounds);
  const inRound = Math.min(1, answered / Math.max(1, p.clients));
  const done = p.config * perConfig + Math.max(0, round - 1) * perRound + inRound * perRound;
  return Math.min(1, Math.max(0, done));
}
