/**
 * The dashboard and classroom view (`/dashboard`): polls `GET /api/status` about once a second and shows
 * the experiment live — the join link and its QR code, where the experiment is, the global model's
 * metrics per round beside the majority baseline, each client's local loss, bytes and server crypto time
 * per round, who took part in which round, the confusion matrix, the connected clients, an explanation
 * of any held-out flow (explain-panel.ts), under secure aggregation what the server sees (secure-view-panel.ts) — plus the admin controls. When the server stops answering the page says it is reconnecting and keeps the last data.
 */
import { AdminPanel } from './admin.ts';
import { mountBenchmarks } from './benchmarks.ts';
import { Charts } from './charts.ts';
import { renderCheckpointBanner } from './checkpoint-banner.ts';
import { renderClients } from './clients.ts';
import { renderConfusion } from './confusion.ts';
import { byId, renderOnChange, setText } from './dom.ts';
import { mountExplainPanel } from './explain-panel.ts';
import { joinLink, phaseLine } from './format.ts';
import { renderJoin } from './join.ts';
import { privacyLine } from './privacy.ts';
import { parseSecureView, secureViewPrivacy } from './secure-view.ts';
import { mountSecureView } from './secure-view-panel.ts';
import { buildCharts } from './series.ts';
import { type Connection, fetchStatus, type StatusJson, startPoller } from './status.ts';
import { buildTimeline, renderTimeline } from './timeline.ts';

const names = new Map<string, string>();
// The accuracy / macro-F1 chart leads the page, beside the QR code: both fit a 1280×720 projector.
const charts = new Charts(byId('charts'), { quality: { container: byId('charts-lead'), height: 260 } });
const connection = byId('connection');
let lastAt = 0;

function render(s: StatusJson): void {
  const phase = byId('phase');
  phase.dataset.phase = s.phase;
  setText(phase, phaseLine(s));
  setText(byId('ov-strategy'), s.strategy);
  setText(byId('ov-dataset'), String(s.config.dataset ?? '–'));
  setText(byId('ov-rounds'), `${s.round} of ${s.rounds}`);
  setText(byId('ov-clients'), String(s.clients));
  setText(byId('ov-per-round'), perRound(s));
  const refused = Object.values(s.refusals).reduce((a, b) => a + b, 0);
  setText(byId('ov-refusals'), refusalsLine(s.refusals, refused));
  setText(byId('ov-session'), s.session.slice(0, 12));
  setText(byId('ov-privacy'), privacyLine(s.privacy));
  renderSecureView(s);

  const link = joinLink(s, location.origin);
  renderOnChange(byId('join'), `${link}\n${s.serverKeyFingerprint}`, () =>
    renderJoin(byId('join'), link, s.serverKeyFingerprint),
  );
  for (const c of s.clientList) names.set(c.id, c.name);
  renderOnChange(byId('charts'), JSON.stringify([s.history, [...names]]), () =>
    charts.update(buildCharts(s.history, names)),
  );
  const timelineKey = JSON.stringify([
    s.history.map((h) => [h.round, h.outcome, h.selected, h.contributed, h.failed]),
    s.clientList.map((c) => [c.id, c.name]),
    s.currentRound,
  ]);
  renderOnChange(byId('timeline'), timelineKey, () =>
    renderTimeline(byId('timeline'), buildTimeline(s, names)),
  );
  renderOnChange(byId('confusion'), JSON.stringify([s.round, s.evaluation]), () =>
    renderConfusion(byId('confusion'), s.evaluation, s.round),
  );
  renderOnChange(byId('clients'), JSON.stringify([s.clientList, s.clientCounts]), () =>
    renderClients(byId('clients'), s.clientList, s.clientCounts),
  );
  admin.update(s);
  renderCheckpointBanner(s.checkpoint);
  if (s.modelVersion !== undefined) explainPanel.modelChanged(s.modelVersion);
  document.body.dataset.round = String(s.round);
}

/** "What the server sees": shown while secure aggregation is on, with ε beside it when DP is on too. */
function renderSecureView(s: StatusJson): void {
  const on = s.secureAggregation?.enabled === true;
  byId('secagg-section').hidden = !on;
  if (!on) return;
  const view = parseSecureView(s.secureAggregation?.view);
  const privacy = secureViewPrivacy(s.privacy);
  renderOnChange(byId('secagg-view'), JSON.stringify([view?.round, s.session, privacy]), () =>
    secureView.update(view, privacy),
  );
}

function perRound(s: StatusJson): string {
  const c = s.config.clientsPerRound;
  return `${Math.round(c.fraction * 100)} % of the clients (${c.min} to ${c.max})`;
}

function refusalsLine(refusals: Record<string, number>, total: number): string {
  if (total === 0) return 'none';
  const top = Object.entries(refusals)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k, v]) => `${k} ${v}`);
  return `${total} (${top.join(', ')})`;
}

function showConnection(c: Connection): void {
  document.body.dataset.connection = c.state;
  connection.dataset.state = c.state;
  if (c.state === 'connecting') setText(connection, 'Connecting to the server…');
  else if (c.state === 'live') {
    lastAt = c.at;
    setText(connection, 'Live: updated every second.');
  } else {
    const when = lastAt ? ` Showing the data from ${new Date(lastAt).toLocaleTimeString()}.` : '';
    setText(connection, `Reconnecting to the server…${when} (${c.error})`);
  }
}

const secureView = mountSecureView(byId('secagg-view'));
const explainPanel = mountExplainPanel(byId('explain-panel'), { heading: false });
mountBenchmarks(document.querySelector('main')!);
const admin = new AdminPanel(() => poller.pollNow());
const poller = startPoller({
  fetchStatus: () => fetchStatus(),
  onStatus: render,
  onConnection: showConnection,
});
