/**
 * The participation timeline: one row per client that ever took part or is connected (clients who left
 * are kept), one column per round (the round in progress last). A cell says whether the client
 * contributed, was selected and failed (with the reason), was selected in a round that closed without
 * aggregating, or was not selected.
 */
import { h } from './dom.ts';
import { num } from './format.ts';
import type { ClientJson, RoundJson, StatusJson } from './status.ts';

export type CellKind = 'contributed' | 'failed' | 'selected' | 'not-selected' | 'training' | 'submitted';

export interface TimelineCell {
  kind: CellKind;
  /** What the cell means, in words (its tooltip and its accessible text). */
  title: string;
}

export interface TimelineRow {
  id: string;
  name: string;
  /** Connected now. */
  present: boolean;
  cells: TimelineCell[];
}

export interface TimelineModel {
  rounds: { round: number; outcome: RoundJson['outcome'] | 'in progress' }[];
  rows: TimelineRow[];
}

const SYMBOL: Record<CellKind, string> = {
  contributed: '✓',
  submitted: '✓',
  failed: '✗',
  selected: '○',
  training: '…',
  'not-selected': '·',
};

/**
 * The timeline from the history, the connected clients and the round in progress. `names` maps ids to the
 * names seen so far (a client's name is only known while it is connected); it is updated here.
 */
export function buildTimeline(
  status: Pick<StatusJson, 'history' | 'clientList' | 'currentRound'>,
  names: Map<string, string> = new Map(),
): TimelineModel {
  for (const c of status.clientList) names.set(c.id, c.name);
  const order: string[] = [];
  const seen = new Set<string>();
  const add = (id: string) => {
    if (!seen.has(id)) {
      seen.add(id);
      order.push(id);
    }
  };
  for (const h of status.history) {
    for (const id of [...h.selected].sort()) add(id);
    for (const m of h.clientMetrics) add(m.clientId);
    for (const f of h.failed) add(f.clientId);
  }
  const cur = status.currentRound;
  if (cur) for (const id of [...cur.selected].sort()) add(id);
  for (const c of [...status.clientList].sort((a, b) => a.id.localeCompare(b.id))) add(c.id);

  const present = new Set(status.clientList.map((c: ClientJson) => c.id));
  const rounds: TimelineModel['rounds'] = status.history.map((h) => ({ round: h.round, outcome: h.outcome }));
  if (cur) rounds.push({ round: cur.round, outcome: 'in progress' });

  const rows = order.map((id): TimelineRow => {
    const cells = status.history.map((h) => historyCell(h, id));
    if (cur) cells.push(currentCell(cur, id));
    return { id, name: names.get(id) ?? '', present: present.has(id), cells };
  });
  return { rounds, rows };
}

function historyCell(h: RoundJson, id: string): TimelineCell {
  const r = `Round ${h.round}`;
  const failed = h.failed.find((f) => f.clientId === id);
  if (failed) return { kind: 'failed', title: `${r}: selected, failed: ${failed.reason}` };
  if (h.contributed.includes(id)) {
    const m = h.clientMetrics.find((x) => x.clientId === id);
    const detail = m ? ` (local loss ${num(m.loss)}, ${m.numSamples} samples)` : '';
    return { kind: 'contributed', title: `${r}: contributed${detail}` };
  }
  if (h.selected.includes(id)) {
    const why =
      h.outcome === 'closed'
        ? 'the round closed without aggregating (quorum missed)'
        : 'its update was not aggregated';
    return { kind: 'selected', title: `${r}: selected; ${why}` };
  }
  return { kind: 'not-selected', title: `${r}: not selected` };
}

function currentCell(cur: NonNullable<StatusJson['currentRound']>, id: string): TimelineCell {
  const r = `Round ${cur.round} (in progress)`;
  if (cur.failed.includes(id)) return { kind: 'failed', title: `${r}: selected, failed` };
  if (cur.submitted.includes(id)) return { kind: 'submitted', title: `${r}: update received` };
  if (cur.selected.includes(id)) return { kind: 'training', title: `${r}: training` };
  return { kind: 'not-selected', title: `${r}: not selected` };
}

/** The timeline as a table (rows: clients, columns: rounds). */
export function renderTimeline(container: HTMLElement, model: TimelineModel): void {
  container.dataset.rounds = String(model.rounds.length);
  container.dataset.clients = String(model.rows.length);
  if (model.rows.length === 0) {
    container.replaceChildren(h('p', {}, 'No client has joined yet.'));
    return;
  }
  const head = h(
    'tr',
    {},
    h('th', { scope: 'col' }, 'Client'),
    ...model.rounds.map((r) =>
      h(
        'th',
        {
          scope: 'col',
          'data-outcome': r.outcome,
          title: r.outcome === 'aggregated' ? undefined : `Round ${r.round}: ${r.outcome}`,
        },
        String(r.round),
      ),
    ),
  );
  const body = model.rows.map((row) =>
    h(
      'tr',
      { 'data-client-id': row.id, 'data-present': String(row.present) },
      h(
        'th',
        { scope: 'row' },
        h('span', { class: 'client-name' }, row.name || row.id),
        row.name ? h('span', { class: 'client-id' }, ` ${row.id}`) : null,
        row.present ? null : h('span', { class: 'client-left' }, ' (left)'),
      ),
      ...row.cells.map((c) =>
        h(
          'td',
          { 'data-kind': c.kind, title: c.title },
          h('span', { 'aria-hidden': 'true' }, SYMBOL[c.kind]),
          h('span', { class: 'visually-hidden' }, c.title),
        ),
      ),
    ),
  );
  const failures = model.rows.flatMap((row) =>
    row.cells
      .filter((c) => c.kind === 'failed')
      .map((c) => h('li', {}, `${row.name || row.id}: ${c.title.replace(/^Round /, 'round ')}`)),
  );
  container.replaceChildren(
    h(
      'table',
      { class: 'timeline' },
      h('caption', { class: 'visually-hidden' }, 'Participation per client and round'),
      h('thead', {}, head),
      h('tbody', {}, ...body),
    ),
  );
  if (failures.length)
    container.append(h('ul', { class: 'failures', 'aria-label': 'Failures' }, ...failures));
}
