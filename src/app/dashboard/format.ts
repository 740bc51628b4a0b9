/** How the dashboard writes numbers, sizes, times, phases and the join link. Pure; no DOM. */
import type { Metric, StatusJson } from './status.ts';

export const DASH = '–';

const finite = (x: Metric | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

/** A metric with `digits` decimals, or a dash when there is none. */
export function num(x: Metric | undefined, digits = 3): string {
  return finite(x) ? x.toFixed(digits) : DASH;
}

/** A share in [0, 1] as a percentage. */
export function pct(x: Metric | undefined, digits = 1): string {
  return finite(x) ? `${(x * 100).toFixed(digits)} %` : DASH;
}

/** A byte count in B, KiB or MiB. */
export function bytes(n: Metric | undefined): string {
  if (!finite(n)) return DASH;
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

/** A duration: milliseconds below one second, seconds otherwise. */
export function duration(seconds: Metric | undefined): string {
  if (!finite(seconds)) return DASH;
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/** The fingerprint's groups (it is written `abcd-efgh-…`), for a display that breaks between them. */
export function fingerprintGroups(fp: string | null | undefined): string[] {
  if (!fp) return [];
  return fp.split('-').filter(Boolean);
}

/**
 * The join link students open: the server's public one when it has one, else this page's origin with the
 * server key's fingerprint in the fragment (never sent to a server).
 */
export function joinLink(status: Pick<StatusJson, 'join' | 'serverKeyFingerprint'>, origin: string): string {
  if (status.join) return status.join;
  return `${origin}/?autojoin=1#fp=${status.serverKeyFingerprint ?? ''}`;
}

/**
 * What a student types when the QR code cannot be scanned: the join link without its scheme and fragment
 * (`192.168.1.5:8080/?autojoin=1`). A tab opened there takes the fingerprint its own server announces; over
 * HTTPS the server redirects the plain-HTTP request a browser makes for a typed address.
 */
export function shortAddress(link: string): string {
  return link.replace(/^[a-z]+:\/\//i, '').replace(/#.*$/, '');
}

const PHASES: Record<string, string> = {
  waiting: 'Waiting for clients',
  training: 'Training',
  evaluating: 'Evaluating the new global model',
  paused: 'Paused',
  finished: 'Finished',
};

/** One line on where the experiment is. */
export function phaseLine(
  s: Pick<StatusJson, 'phase' | 'round' | 'rounds' | 'currentRound' | 'clients'>,
): string {
  const phase = PHASES[s.phase] ?? s.phase;
  const clients = `${s.clients} client${s.clients === 1 ? '' : 's'} connected`;
  if (s.currentRound) {
    const r = s.currentRound;
    const retry = r.attempt > 0 ? ` (retry ${r.attempt})` : '';
    const inNow = r.submittedCount ?? r.submitted.length;
    const of = r.selectedCount ?? r.selected.length;
    return `${phase} round ${r.round} of ${s.rounds}${retry}: ${inNow} of ${of} updates in. ${clients}.`;
  }
  return `${phase}. ${s.round} of ${s.rounds} rounds done. ${clients}.`;
}

/** `pqfed-history-<session8>-r<round>.<ext>`: a download's file name. */
export function exportName(kind: 'history' | 'model', session: string, round: number, ext: string): string {
  const safe = session.replace(/[^0-9a-zA-Z]/g, '').slice(0, 8) || 'session';
  return `pqfed-${kind}-${safe}-r${round}.${ext}`;
}
