/**
 * The connected clients: name (the tab's friendly name, sanitized by the server), id, backend, state,
 * samples, rounds contributed, last local loss. Network addresses are left off: this page goes on a
 * projector. Long names wrap, so the table never grows wider than the page. With more clients than
 * /api/status lists (PROTOCOL.statusListedClients, 100), the table has the listed ones (the first by id)
 * and a line above it counts them all by state, so a class of 1,000 costs the page a 100-row table.
 */
import { h } from './dom.ts';
import { num } from './format.ts';
import type { ClientCounts, ClientJson } from './status.ts';

const STATE: Record<string, string> = {
  idle: 'idle',
  training: 'training',
  submitted: 'update sent',
};

/** The line above a table that lists only some of the clients; null when it lists them all. */
export function clientsNote(counts: ClientCounts | undefined): string | null {
  if (!counts || counts.listed >= counts.total) return null;
  const n = (x: number) => x.toLocaleString('en');
  const states = (['training', 'submitted', 'idle'] as const)
    .filter((k) => counts[k] > 0)
    .map((k) => `${n(counts[k])} ${STATE[k]}`);
  return (
    `${n(counts.total)} clients connected (${states.join(', ')}); ` +
    `the first ${n(counts.listed)} by id are listed.`
  );
}

export function renderClients(container: HTMLElement, clients: ClientJson[], counts?: ClientCounts): void {
  container.dataset.clients = String(clients.length);
  container.dataset.total = String(counts?.total ?? clients.length);
  if (clients.length === 0) {
    container.replaceChildren(h('p', {}, 'No client is connected. Open the join link on another device.'));
    return;
  }
  const cols = ['name', 'id', 'backend', 'state', 'samples', 'rounds contributed', 'last loss'];
  const sorted = [...clients].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  const note = clientsNote(counts);
  container.replaceChildren(
    note === null ? '' : h('p', { class: 'clients-note' }, note),
    h(
      'table',
      { class: 'clients' },
      h('caption', { class: 'visually-hidden' }, 'Connected clients'),
      h('thead', {}, h('tr', {}, ...cols.map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        {},
        ...sorted.map((c) =>
          h(
            'tr',
            { 'data-client-id': c.id, 'data-state': c.state },
            h('th', { scope: 'row', class: 'client-name' }, c.name || 'unnamed'),
            h('td', {}, h('code', {}, c.id)),
            h('td', {}, c.backend),
            h('td', {}, STATE[c.state] ?? c.state),
            h('td', { class: 'num' }, String(c.numSamples)),
            h('td', { class: 'num' }, String(c.rounds)),
            h('td', { class: 'num' }, num(c.lastLoss)),
          ),
        ),
      ),
    ),
  );
}
