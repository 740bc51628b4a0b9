/**
 * Hostile suite, part 1 (issue 12): what one stranger can hold or learn with a few connections to a real
 * aggregator (real WebSockets, the post-quantum channel, the crypto pool). Every loop is bounded; traffic
 * stays on loopback. The handshake flood is in hostile-flood.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startAggregator } from '../src/aggregator/aggregator.ts';
import { ConfigError, parseConfig } from '../src/aggregator/config.ts';
import { OpenPoolError } from '../src/aggregator/open-pool.ts';
import { serverChannelsFor } from '../src/cli/channels.ts';
import { HOSTILE, PROTOCOL } from '../src/core/limits.ts';
import { encodeFrame } from '../src/core/protocol.ts';
import { generateIdentity } from '../src/crypto/identity.ts';
import { pqClientChannels } from '../src/crypto/pq-channels.ts';
import {
  rawConnection,
  smallExperiment,
  startTestAggregator,
  type TestAggregator,
  waitFor,
} from './federation.ts';

const TOKEN = 'class-4242';
let t: TestAggregator;
beforeAll(async () => {
  t = await startTestAggregator(await smallExperiment({ autoStart: false, joinToken: TOKEN }));
}, 120_000);
afterAll(async () => {
  await t.agg.close();
});

const refusals = () => t.agg.coordinator.refusals as Record<string, number | undefined>;

/** A bare WebSocket to the aggregator: its close, and its first message (the ServerHello). */
async function bare() {
  const ws = new WebSocket(t.url, { perMessageDeflate: false });
  ws.binaryType = 'arraybuffer';
  const closed = new Promise<{ code: number; reason: string }>((ok) =>
    ws.on('close', (code, reason) => ok({ code, reason: reason.toString() })),
  );
  const first = new Promise<Uint8Array>((ok) =>
    ws.once('message', (d: ArrayBuffer) => ok(new Uint8Array(d))),
  );
  ws.on('error', () => {});
  await new Promise<void>((ok, fail) => {
    ws.once('open', () => ok());
    ws.once('error', fail);
  });
  return { ws, closed, first };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, fail) => setTimeout(() => fail(new Error(`no ${what} within ${ms} ms`)), ms)),
  ]);
}

describe('finding 2: memory a connection can pin before its channel is up', () => {
  it('closes a connection that sends a frame before the ServerHello', async () => {
    const before = refusals()['early-frame'] ?? 0;
    const c = await bare();
    c.ws.send(new Uint8Array(64));
    const closed = await within(c.closed, 5000, 'close');
    expect(closed.code).toBe(1008);
    expect(refusals()['early-frame']).toBe(before + 1);
  });

  it('closes a connection that sends large frames behind its ClientHello (they were queued unbounded)', async () => {
    const c = await bare();
    const done = await pqClientChannels({ identity: generateIdentity(), ...t.spec }).accept(await c.first);
    c.ws.send(done.reply);
    // Frames below this small model's frame cap (the finding's were 590 KiB under a larger model), sent
    // while the ClientHello is checked in the crypto pool.
    const junk = new Uint8Array(400 * 1024);
    for (let i = 0; i < 20; i++) c.ws.send(junk);
    const closed = await within(c.closed, 5000, 'close');
    expect(closed.code).toBe(1009);
    expect(refusals()['frame-too-large']).toBeGreaterThanOrEqual(1);
  });

  it('keeps at most the ClientHello and the hello behind it in flight: a third frame closes', async () => {
    const before = refusals()['frame-flood'] ?? 0;
    const c = await bare();
    const done = await pqClientChannels({ identity: generateIdentity(), ...t.spec }).accept(await c.first);
    c.ws.send(done.reply);
    for (let i = 0; i < 3; i++) c.ws.send(new Uint8Array(200));
    const closed = await within(c.closed, 5000, 'close');
    expect(closed.code).toBe(1008);
    expect(refusals()['frame-flood']).toBe(before + 1);
  });
});

describe('finding 3: slots held without hello', () => {
  it(
    'drops a finished handshake that never sends hello at the hello deadline, counted',
    async () => {
      const before = refusals()['hello-timeout'] ?? 0;
      const idle = await Promise.all([0, 1, 2].map(() => rawConnection(t.url, t.spec)));
      await waitFor(
        () => idle.every((c) => c.closed() !== null),
        PROTOCOL.helloTimeoutMs + 5000,
        'the idle channels to be dropped',
      );
      for (const c of idle) expect(c.closed()).toEqual({ code: 1008, reason: 'hello timeout' });
      expect(refusals()['hello-timeout']).toBe(before + 3);
    },
    PROTOCOL.helloTimeoutMs + 20_000,
  );
});

describe('finding 7: join-token and admin-token guessing', () => {
  async function tryToken(token: string) {
    const c = await rawConnection(t.url, t.spec);
    await c.send(encodeFrame({ type: 'hello', name: 'guess', backend: 'test', numSamples: 1, token }));
    for (;;) {
      const m = await within(c.next(), 5000, 'answer to hello');
      if (m.type === 'refused' || m.type === 'welcome') {
        c.ws.close();
        return m;
      }
    }
  }

  it('locks an address out after a few wrong class codes; while locked even the right one is refused', async () => {
    for (let i = 0; i <= HOSTILE.freeGuesses; i++) {
      const m = await tryToken(`wrong-${i}`);
      expect(m.type === 'refused' && m.reason).toBe('unauthorized');
    }
    const locked = await tryToken(TOKEN);
    expect(locked.type).toBe('refused');
    expect(locked.type === 'refused' && locked.message).toMatch(
      /too many wrong join tokens.*try again in \d+ s/,
    );
    expect(refusals()['join-token-backoff']).toBe(1);
    // The first lockout is short; after it the right code joins.
    await new Promise((ok) => setTimeout(ok, HOSTILE.guessLockoutMs + 200));
    expect((await tryToken(TOKEN)).type).toBe('welcome');
  }, 60_000);

  it('locks an address out of the admin API after a few wrong admin tokens (429, even for the right one)', async () => {
    const url = `http://127.0.0.1:${t.agg.port}/api/admin/export`;
    const get = (token: string) => fetch(url, { headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i <= HOSTILE.freeGuesses; i++) expect((await get(`wrong-${i}`)).status).toBe(401);
    const locked = await get(t.agg.adminToken);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refusals()['admin-backoff']).toBe(1);
    await new Promise((ok) => setTimeout(ok, HOSTILE.guessLockoutMs + 200));
    expect((await get(t.agg.adminToken)).status).toBe(200);
  }, 60_000);

  it('refuses a class code shorter than 6 characters in an experiment file', () => {
    expect(() => parseConfig({ joinToken: '1234' })).toThrow(ConfigError);
    expect(() => parseConfig({ joinToken: '1234' })).toThrow(/at least 6 characters/);
    expect(parseConfig({ joinToken: '123456' }).joinToken).toBe('123456');
  });

  it('`pqfed serve` exits 2 with a clear error on a short --join-token or PQFED_ADMIN_TOKEN', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pqfed-weak-'));
    const serve = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(
        process.execPath,
        ['bin/pqfed.js', 'serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, ...args],
        { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } },
      );
    const short = serve(['--join-token', '4242']);
    expect(short.status).toBe(2);
    expect(short.stderr).toMatch(/"joinToken" must be at least 6 characters/);
    const admin = serve([], { PQFED_ADMIN_TOKEN: 'hunter2' });
    expect(admin.status).toBe(2);
    expect(admin.stderr).toMatch(/PQFED_ADMIN_TOKEN must be at least 16 characters/);
  }, 120_000);
});

describe('finding 10: log injection', () => {
  it("escapes a client's name and backend in the server log: no forged line, no terminal escape", async () => {
    const c = await rawConnection(t.url, t.spec);
    const name = 'ann\n16:20:00 admin stop';
    const backend = 'wasm\u001b[2J\r';
    await c.send(encodeFrame({ type: 'hello', name, backend, numSamples: 1, token: TOKEN }));
    await within(c.nextOf('welcome'), 5000, 'welcome');
    const join = t.logs.find((l) => l.startsWith('join ') && l.includes('ann'));
    // The name and backend are sanitized when the client joins (core/display-name.ts) and every network
    // field is escaped in the log (core/log-field.ts): the visible text stays on the join line.
    expect(join).toMatch(/ann.*admin stop.*wasm/);
    for (const line of t.logs) {
      for (const c of ['\n', '\r', '\u001b']) expect(line).not.toContain(c);
    }
    c.ws.close();
  });
});

describe('finding 1: a handshake the server cannot start is a counted refusal', () => {
  it('closes with 1011 and counts handshake-failed when the crypto pool refuses the ServerHello', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pqfed-full-'));
    const real = await serverChannelsFor(dataDir);
    const full = {
      ...real.server,
      begin: async () => {
        throw new OpenPoolError('open pool: 256 handshake steps are already waiting (the most is 256)');
      },
    };
    const agg = await startAggregator({
      experiment: await smallExperiment({ autoStart: false }),
      dataDir,
      channels: full,
      port: 0,
      host: '127.0.0.1',
      staticRoot: null,
      release: real.close,
    });
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${agg.port}/ws`, { perMessageDeflate: false });
      ws.on('error', () => {});
      const closed = await within(
        new Promise<number>((ok) => ws.on('close', (code) => ok(code))),
        5000,
        'close',
      );
      expect(closed).toBe(1011);
      const status = (await (await fetch(`http://127.0.0.1:${agg.port}/api/status`)).json()) as {
        refusals: Record<string, number>;
      };
      expect(status.refusals['handshake-failed']).toBe(1);
    } finally {
      await agg.close();
    }
  }, 60_000);
});
