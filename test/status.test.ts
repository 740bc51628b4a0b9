/**
 * The HTTP surface of a real aggregator: /healthz, /api/status with the fields of DESIGN.md (before and
 * after a round), and the admin API behind the admin token (refused without it, obeyed with it, exports).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HISTORY_COLUMNS } from '../src/aggregator/http/admin.ts';
import {
  smallExperiment,
  startTestAggregator,
  type TestAggregator,
  testClient,
  waitFor,
} from './federation.ts';

let t: TestAggregator;
let base: string;

beforeAll(async () => {
  const exp = await smallExperiment({ rounds: 1, autoStart: false, quorum: 2 });
  t = await startTestAggregator(exp);
  base = `http://127.0.0.1:${t.agg.port}`;
});
afterAll(async () => {
  await t.agg.close();
});

const DESIGN_STATUS = ['session', 'round', 'phase', 'clients', 'strategy', 'serverKeyFingerprint', 'history'];
const DESIGN_HISTORY = [
  'round',
  'participants',
  'accuracy',
  'macroF1',
  'mosMAE',
  'loss',
  'bytesUp',
  'bytesDown',
  'seconds',
];

describe('HTTP API', () => {
  it('answers /healthz', async () => {
    const r = await fetch(`${base}/healthz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ ok: true });
    expect(r.headers.get('cross-origin-opener-policy')).toBe('same-origin');
  });

  it('refuses admin actions without the admin token, and counts the refusal', async () => {
    for (const auth of [undefined, 'Bearer wrong', `Bearer ${t.agg.adminToken}x`]) {
      const r = await fetch(`${base}/api/admin/start`, {
        method: 'POST',
        headers: auth ? { authorization: auth } : {},
      });
      expect(r.status).toBe(401);
    }
    expect(t.agg.coordinator.refusals['admin-unauthorized']).toBe(3);
    expect(t.agg.coordinator.status(null).phase).toBe('waiting');
  });

  it('reports the DESIGN.md status fields, runs a round on the admin start, and exports the history', async () => {
    const before = await (await fetch(`${base}/api/status`)).json();
    for (const k of DESIGN_STATUS) expect(before).toHaveProperty(k);
    expect(before.round).toBe(0);
    expect(before.history).toEqual([]);
    expect(before.serverKeyFingerprint).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4})+$/);
    expect(before.strategy).toBe('fedavg');

    const exp = await smallExperiment({ rounds: 1, autoStart: false, quorum: 2 });
    const shards = exp.shards(2, { kind: 'iid' });
    const clients = await Promise.all(shards.map((s, i) => testClient(t, s, `s${i}`)));
    const runs = clients.map((c) => c.run());
    await waitFor(() => t.agg.coordinator.status(null).clients === 2, 20_000, 'two clients');
    const bad = await fetch(`${base}/api/admin/config`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.agg.adminToken}` },
      body: JSON.stringify({ strategy: 'no-such' }),
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/strategy.*fedavg/);
    const start = await fetch(`${base}/api/admin/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.agg.adminToken}` },
    });
    expect(start.status).toBe(200);
    await Promise.all(runs);
    const after = await (await fetch(`${base}/api/status`)).json();
    expect(after.round).toBe(1);
    expect(after.phase).toBe('finished');
    expect(after.history).toHaveLength(1);
    const h = after.history[0];
    for (const k of DESIGN_HISTORY) expect(typeof h[k]).toBe('number');
    expect(h.participants).toBe(2);
    expect(h.bytesUp).toBeGreaterThan(2 * 4 * exp.model.dModel);
    expect(h.accuracy).toBeGreaterThanOrEqual(0);
    expect(h.macroF1).toBeLessThanOrEqual(1);
    expect(Object.keys(h.perClassRecall).length).toBeGreaterThan(1);
    expect(h.majorityBaseline.accuracy).toBeGreaterThan(0);

    const csv = await fetch(`${base}/api/admin/export?format=csv`, {
      headers: { authorization: `Bearer ${t.agg.adminToken}` },
    });
    const lines = (await csv.text()).trim().split('\n');
    expect(lines[0]).toBe(HISTORY_COLUMNS.join(','));
    expect(lines).toHaveLength(2);
    expect(lines[1]!.split(',')[0]).toBe('1');
    const noToken = await fetch(`${base}/api/admin/export`);
    expect(noToken.status).toBe(401);
  }, 60_000);
});
