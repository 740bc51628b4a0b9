/**
 * "How the class's model is doing" on the client page: the global model's accuracy and macro-F1 per round
 * (a small line chart and a table of the last rounds, from the public `GET /api/status`, polled every few
 * seconds with the dashboard's poller), and this tab's own share: the rounds it contributed to and its
 * share of the samples in the last round it took part in. A new session on the server (the teacher's
 * "New class") is reported to `onNewSession`.
 */
import { byId, h, renderOnChange, setText, svg } from './dashboard/dom.ts';
import { DASH, num, pct } from './dashboard/format.ts';
import { fetchStatus, type RoundJson, type StatusJson, startPoller } from './dashboard/status.ts';

/** Rounds listed in the table (the chart shows them all). */
export const LISTED_ROUNDS = 8;

export interface ClassRound {
  round: number;
  accuracy: number | null;
  macroF1: number | null;
  participants: number;
  /** This tab's update was aggregated in the round. */
  mine: boolean;
}

export interface ClassView {
  rounds: ClassRound[];
  /** Rounds this tab contributed to, of `rounds.length`. */
  contributed: number;
  /** This tab's share of the aggregated samples, in the last round it contributed to. */
  lastShare: { round: number; samples: number; total: number } | null;
}

const finite = (x: number | null | undefined): number | null =>
  typeof x === 'number' && Number.isFinite(x) ? x : null;

export function classView(history: readonly RoundJson[], clientId: string | null): ClassView {
  const rounds = history.map(
    (h): ClassRound => ({
      round: h.round,
      accuracy: finite(h.accuracy),
      macroF1: finite(h.macroF1),
      participants: h.participants,
      mine: clientId !== null && h.contributed.includes(clientId),
    }),
  );
  let lastShare: ClassView['lastShare'] = null;
  for (let i = history.length - 1; i >= 0 && clientId !== null && !lastShare; i--) {
    const h = history[i]!;
    if (!h.contributed.includes(clientId)) continue;
    const counted = h.clientMetrics.filter((m) => h.contributed.includes(m.clientId));
    const mine = counted.find((m) => m.clientId === clientId);
    const total = counted.reduce((a, m) => a + m.numSamples, 0);
    if (mine && total > 0) lastShare = { round: h.round, samples: mine.numSamples, total };
  }
  return { rounds, contributed: rounds.filter((r) => r.mine).length, lastShare };
}

/** "This tab contributed to 3 of 5 rounds; in round 5 it gave 25.0 % of the samples (500 of 2,000)." */
export function shareLine(v: ClassView, joined: boolean): string {
  if (v.rounds.length === 0) return 'No round has finished yet.';
  if (!joined) return 'This tab has not joined yet: its share shows once it has.';
  const of = `${v.contributed} of ${v.rounds.length} round${v.rounds.length === 1 ? '' : 's'}`;
  if (!v.lastShare) return `This tab contributed to ${of}.`;
  const s = v.lastShare;
  const en = (n: number) => n.toLocaleString('en');
  return (
    `This tab contributed to ${of}; in round ${s.round} it gave ${pct(s.samples / s.total)} of the ` +
    `samples (${en(s.samples)} of ${en(s.total)}).`
  );
}

/** "After round 5: accuracy 0.812, macro-F1 0.401." */
export function classSummary(v: ClassView): string {
  const last = v.rounds.at(-1);
  if (!last) return 'No round has finished yet: the class model appears here after the first.';
  return `After round ${last.round}: accuracy ${num(last.accuracy)}, macro-F1 ${num(last.macroF1)}.`;
}

const W = 320;
const H = 120;
const PAD = 6;

/** The accuracy and macro-F1 lines over the rounds, on a 0–1 scale (hidden from screen readers: the table
 * beside it has the numbers). */
function chart(v: ClassView): SVGSVGElement {
  const out = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    class: 'class-chart',
    'aria-hidden': 'true',
    focusable: 'false',
  });
  out.append(svg('rect', { x: 0, y: 0, width: W, height: H, class: 'frame' }));
  const n = v.rounds.length;
  const x = (i: number) => (n <= 1 ? W / 2 : PAD + ((W - 2 * PAD) * i) / (n - 1));
  const y = (val: number) => H - PAD - (H - 2 * PAD) * Math.min(1, Math.max(0, val));
  for (const [key, cls] of [
    ['accuracy', 'line-accuracy'],
    ['macroF1', 'line-f1'],
  ] as const) {
    const pts = v.rounds
      .map((r, i) => (r[key] === null ? null : `${x(i).toFixed(1)},${y(r[key]!).toFixed(1)}`))
      .filter((p): p is string => p !== null);
    if (pts.length > 1) out.append(svg('polyline', { points: pts.join(' '), class: cls }));
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      out.append(svg('circle', { cx, cy, r: 2.5, class: cls }));
    }
  }
  return out;
}

function table(v: ClassView): HTMLTableElement {
  const last = v.rounds.slice(-LISTED_ROUNDS).reverse();
  return h(
    'table',
    { class: 'class-rounds' },
    h('caption', { class: 'visually-hidden' }, "The class model's accuracy and macro-F1 per round"),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['round', 'accuracy', 'macro-F1', 'devices', 'this tab'].map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h(
      'tbody',
      {},
      ...last.map((r) =>
        h(
          'tr',
          { 'data-round': r.round, 'data-mine': String(r.mine) },
          h('th', { scope: 'row' }, String(r.round)),
          h('td', {}, num(r.accuracy)),
          h('td', {}, num(r.macroF1)),
          h('td', {}, String(r.participants)),
          h('td', {}, r.mine ? 'contributed' : DASH),
        ),
      ),
    ),
  );
}

/**
 * Polls the server's status and shows the class view. `clientId()`: this tab's id once it has joined
 * (null before). `onNewSession`: the server's session changed after the first one seen.
 */
export function mountClassView(clientId: () => string | null, onNewSession: () => void): { stop(): void } {
  const summary = byId('class-summary');
  const plot = byId('class-chart');
  const rounds = byId('class-rounds');
  const share = byId('class-share');
  let session: string | null = null;
  const render = (s: StatusJson) => {
    if (session !== null && s.session !== session) onNewSession();
    session = s.session;
    const id = clientId();
    const v = classView(s.history, id);
    document.body.dataset.classRounds = String(v.rounds.length);
    setText(summary, classSummary(v));
    setText(share, shareLine(v, id !== null));
    renderOnChange(plot, JSON.stringify([s.session, v.rounds]), () => {
      plot.replaceChildren(...(v.rounds.length ? [chart(v)] : []));
      rounds.replaceChildren(...(v.rounds.length ? [table(v)] : []));
    });
  };
  return startPoller({
    fetchStatus: () => fetchStatus(),
    onStatus: render,
    onConnection: (c) => {
      if (c.state === 'reconnecting' && session === null)
        setText(
          summary,
          'No PQFed server answers here: the class model shows once this page is served by one.',
        );
    },
    intervalMs: 3000,
    maxIntervalMs: 30_000,
  });
}
