/**
 * Access control of a real aggregator: a join token (class code) sent in the first message, never in a URL,
 * and an Origin allowlist for browsers.
 */

import { request } from 'node:http';
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

  it('judges Origin by its configured origins, never by the Host header a DNS-rebinding page controls', async () => {
    const port = Number(new URL(t.url).port);
    const before = t.agg.coordinator.refusals['origin-refused'] ?? 0;
    // A page at http://evil.example:PORT whose name now resolves to this server: Host and Origin agree.
    expect(
      await rawUpgrade(port, { host: `evil.example:${port}`, origin: `http://evil.example:${port}` }),
    ).toBe(403);
    // No Host header at all, and the Origin a naive `http://${host}` would build from it.
    expect(await rawUpgrade(port, { origin: 'http://undefined' })).toBe(403);
    expect(await rawUpgrade(port, { host: 'undefined', origin: 'http://undefined' })).toBe(403);
    // Loopback names at the server's port are its own, whatever Host says.
    expect(await rawUpgrade(port, { host: 'anything', origin: `http://localhost:${port}` })).toBe(101);
    expect(await rawUpgrade(port, { host: 'anything', origin: `http://[::1]:${port}` })).toBe(101);
    expect(await rawUpgrade(port, { host: `127.0.0.1:${port}`, origin: `https://127.0.0.1:${port}` })).toBe(
      403,
    );
    expect(t.agg.coordinator.refusals['origin-refused']).toBe(before + 4);
  });

  it('lets browsers connect only from its own origin or an allowed one', async () => {
    const host = new URL(t.url).host;
    const before = t.agg.coordinator.refusals['origin-refused'] ?? 0;
    expect(await upgradeStatus(`http://${host}`)).toBe(101);
    expect(await upgradeStatus('https://lab.example')).toBe(101);
    expect(await upgradeStatus('https://evil.example')).toBe(403);
    expect(t.agg.coordinator.refusals['origin-refused']).toBe(before + 1);
  });
});

/** A WebSocket upgrade with exactly these headers (no Host unless given); resolves to the status. */
function rawUpgrade(
  port: number,
  headers: { host?: string; origin?: string; [k: string]: string | undefined },
) {
  return new Promise<number>((ok, fail) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/ws',
      setHost: false,
      headers: {
        ...Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)),
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    req.once('upgrade', (res, socket) => {
      socket.destroy();
      ok(res.statusCode ?? 0);
    });
    req.once('response', (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    });
    req.once('error', fail);
    req.end();
  });
}

describe('a classroom server on every interface, behind a reverse proxy', () => {
  let lan: TestAggregator;
  beforeAll(async () => {
    // A made-up machine: the test never looks up, or aims at, this machine's own addresses.
    lan = await startTestAggregator(await smallExperiment({ autoStart: false }), undefined, 'xwing', {
      host: '127.0.0.1',
      machine: {
        hostname: 'teacher-laptop',
        interfaces: { wlan0: [{ address: '192.0.2.5', family: 'IPv4', internal: false }] },
      },
      publicUrl: 'https://fl.school.example',
      trustProxy: true,
    });
  });
  afterAll(async () => {
    await lan.agg.close();
  });

  it('allows the public URL and the machine hostname; its join link is on the public URL', async () => {
    const port = lan.agg.port;
    expect(await rawUpgrade(port, { host: 'fl.school.example', origin: 'https://fl.school.example' })).toBe(
      101,
    );
    expect(await rawUpgrade(port, { host: 'x', origin: `http://teacher-laptop:${port}` })).toBe(101);
    expect(await rawUpgrade(port, { host: 'x', origin: `http://evil.example:${port}` })).toBe(403);
    const status = (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as { join: string };
    expect(status.join).toMatch(/^https:\/\/fl\.school\.example\/\?autojoin=1#fp=/);
  });

  it('takes the client address from X-Forwarded-For only when told to trust a proxy', async () => {
    const origin = 'http://refused.example';
    // Refusals of one kind are logged at most once a second (upgrade-gate.ts): past the earlier tests' ones.
    const nextLogWindow = () => new Promise((ok) => setTimeout(ok, 1100));
    await nextLogWindow();
    await rawUpgrade(lan.agg.port, { origin, 'x-forwarded-for': '10.9.8.7, 203.0.113.9' });
    expect(lan.logs.some((l) => l.includes('from 203.0.113.9'))).toBe(true);
    await nextLogWindow();
    await rawUpgrade(Number(new URL(t.url).port), { origin, 'x-forwarded-for': '203.0.113.77' });
    expect(t.logs.filter((l) => l.includes(origin)).at(-1)).toMatch(
      /from 127\.0\.0\.1( \(and \d+ more like it\))?$/,
    );
    expect(t.logs.some((l) => l.includes('203.0.113.77'))).toBe(false);
  });
});
