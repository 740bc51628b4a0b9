/**
 * The handshake deadline (PROTOCOL.helloTimeoutMs) times the client's turn only. With 1,000 clients
 * joining at once the server's hellos wait in its crypto pool's queue (bench/load.ts); a deadline running
 * from the connection dropped clients that had done nothing wrong. A real aggregator whose hello is made
 * later than the deadline (its channels delayed, as a long queue delays them) must still let a real client
 * join, and must still drop a client that never answers its hello.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startAggregator } from '../src/aggregator/aggregator.ts';
import { serverChannelsFor } from '../src/cli/channels.ts';
import type { ServerChannels } from '../src/core/channel.ts';
import { PROTOCOL } from '../src/core/limits.ts';
import { encodeFrame } from '../src/core/protocol.ts';
import { rawConnection, smallExperiment, type TestAggregator, within } from './federation.ts';

const QUEUED_MS = PROTOCOL.helloTimeoutMs + 1000;
let t: TestAggregator;

beforeAll(async () => {
  const exp = await smallExperiment({ autoStart: false });
  const dataDir = mkdtempSync(join(tmpdir(), 'pqfed-test-'));
  const { server, client, close } = await serverChannelsFor(dataDir, 'xwing');
  // Every hello is made QUEUED_MS late, as behind a long queue of other clients' handshakes.
  const queued: ServerChannels = {
    ...server,
    begin: (session) => new Promise((ok) => setTimeout(ok, QUEUED_MS)).then(() => server.begin(session)),
  };
  const logs: string[] = [];
  const agg = await startAggregator({
    experiment: exp,
    dataDir,
    channels: queued,
    port: 0,
    host: '127.0.0.1',
    staticRoot: null,
    log: (l) => logs.push(l),
    release: close,
  });
  t = { agg, url: `ws://127.0.0.1:${agg.port}/ws`, spec: client, dataDir, logs };
});
afterAll(async () => {
  await t.agg.close();
});

it('lets a client join when the server’s own hello came later than the deadline', async () => {
  const joined = (async () => {
    const c = await rawConnection(t.url, t.spec);
    await c.send(
      encodeFrame({
        type: 'hello',
        name: 'patient',
        backend: 'node',
        numSamples: 10,
      }),
    );
    const welcome = await c.nextOf('welcome');
    c.ws.terminate();
    return welcome.clientId;
  })();
  // A client that gets the hello and never answers it is still dropped, the deadline after the hello.
  const silent = new WebSocket(t.url, { perMessageDeflate: false });
  const closed = new Promise<{ code: number; reason: string; helloAt: number; closedAt: number }>((ok) => {
    let helloAt = 0;
    silent.on('message', () => {
      helloAt ||= Date.now();
    });
    silent.on('close', (code, reason) =>
      ok({ code, reason: reason.toString(), helloAt, closedAt: Date.now() }),
    );
  });
  // Before the fix the server closed it 'handshake timeout' before its hello was even made.
  expect(await within(joined, 'the welcome of a client whose hello was queued', QUEUED_MS + 10_000)).toMatch(
    /^c-/,
  );
  const c = await closed;
  expect([c.code, c.reason]).toEqual([1008, 'handshake timeout']);
  expect(c.helloAt).toBeGreaterThan(0);
  expect(t.agg.coordinator.refusals['handshake-timeout']).toBe(1);
}, 60_000);
