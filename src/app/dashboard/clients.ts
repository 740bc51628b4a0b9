/**
 * The connected clients: name (the tab's friendly name, sanitized by the server), id, backend, state,
 * samples, rounds contributed, last local loss. Network addresses are left off: this page goes on a
 * projector. Long names wrap, so the table never grows wider than the page.
 */
import { h } from './dom.ts';
import { num } from './format.ts';
import type { ClientJson } from './status.ts';

const STATE: Record<string, string> = {
  idle: 'idle',
  training: 'training',
  submitted: 'update sent',
};

export function renderClients(container: HTMLElement, clients: ClientJson[]): void {
  container.dataset.clients = String(clients.length);
  if (clients.length === 0) {
    container.replaceChildren(h('p', {}, 'No client is connected. Open the join link on another device.'));
    return;
  }
  const cols = ['name', 'id', 'backend', 'state', 'samples', 'rounds contributed', 'last loss'];
  const sorted = [...clients].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  container.replaceChildren(
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
