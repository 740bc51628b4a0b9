/**
 * Access control of a real aggregator: a join token (class code) sent in the first message, never in a URL,
 * and an Origin allowlist for browsers.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeFrame } from '../src/core/protocol.ts';
import {
  rawConnection,
  smallExperiment,
  startTestAggregator,
  type TestAggregator,
  waitFor,
} from './federation.ts';

let t: TestAggregator;
beforeAll(async () => {
  t = await startTestAggregator(
    await smallExperiment({
      autoStart: false,
      joinToken: 'class-42',
      allowedOrigins: ['https://lab.example'],
    }),
  );
});
afterAll(async () => {
  await t.agg.close();
});

function upgradeStatus(origin: string): Promise<number> {
  return new Promise((ok) => {
    const ws = new WebSocket(t.url, { origin });
    ws.once('open', () => {
      ws.terminate();
      ok(101);
    });
    ws.once('unexpected-response', (_req, res) => ok(res.statusCode ?? 0));
    ws.once('error', () => {});
  });
}

describe('access control', () => {
  it('refuses a hello without the join token, or with a wrong one, and closes the connection', async () => {
    for (const token of [undefined, 'class-41']) {
      const c = await rawConnection(t.url, t.spec);
      const hello = { type: 'hello' as const, name: 'x', backend: 'test', numSamples: 1 };
      await c.send(encodeFrame(token ? { ...hello, token } : hello));
      const refused = await c.nextOf('refused');
      expect(refused.reason).toBe('unauthorized');
      expect(refused.message).toMatch(/join token/);
      await waitFor(() => c.closed() !== null, 5000, 'the connection to close');
      expect(c.closed()!.code).toBe(1008);
    }
    expect(t.agg.coordinator.refusals.unauthorized).toBe(2);
    expect(t.agg.coordinator.status(null).clients).toBe(0);
  });

  it('welcomes a client with the right token', async () => {
    const c = await rawConnection(t.url, t.spec);
    await c.send(
      encodeFrame({ type: 'hello', name: 'ok', backend: 'test', numSamples: 1, token: 'class-42' }),
    );
    const w = await c.nextOf('welcome');
    expect(w.clientId).toMatch(/^c-/);
    c.ws.terminate();
  });

  it('lets browsers connect only from its own origin or an allowed one', async () => {
    const host = new URL(t.url).host;
    expect(await upgradeStatus(`http://${host}`)).toBe(101);
    expect(await upgradeStatus('https://lab.example')).toBe(101);
    expect(await upgradeStatus('https://evil.example')).toBe(403);
    expect(t.agg.coordinator.refusals['origin-refused']).toBe(1);
  });
});
