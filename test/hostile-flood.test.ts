/**
 * Hostile suite, part 2 (issue 12, finding 1): a handshake flood from one address against a real
 * `pqfed serve` in its own process (so its resident memory is its own), with the post-quantum channel and
 * its crypto pool. For 10 seconds a worker thread opens WebSocket upgrades from 127.0.0.1 as fast as it
 * can and drops each one right after the answer (a reset, as the finding's client did after the 101).
 * Meanwhile, from another loopback address (127.0.0.2):
 * - a probe joins every 2 s: each must complete its handshake and be welcomed;
 * - 10 real clients join, are all selected, train and send sealed updates: the round must complete with
 *   all 10 before its deadline.
 * The server's RSS is sampled from /proc and must stay under `HOSTILE.floodRssBytes`; rate-limited
 * upgrades must show in /api/status's refusal counts. Figures (upgrades/s reached, probe latencies, round
 * time, RSS peak) are printed for the README; no timing is asserted beyond the hello deadline.
 * Loopback only; the flood is bounded in time (10 s) and in sockets at once (48).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { tsWorker } from '../src/cli/workers.ts';
import { FederatedClient, type WebSocketLike } from '../src/client/client.ts';
import { ModelTrainer } from '../src/client/model-trainer.ts';
import { HOSTILE } from '../src/core/limits.ts';
import { generateIdentity } from '../src/crypto/identity.ts';
import { pqClientChannels } from '../src/crypto/pq-channels.ts';
import { SMALL, smallExperiment, waitFor } from './federation.ts';
import type { ProbeJob, ProbeResult } from './hostile-probe-worker.ts';

const FLOOD_MS = Number(process.env.PQFED_FLOOD_MS ?? 10_000);
const FLOOD_SOCKETS = 96;
const LEGIT = '127.0.0.2';
const CLIENTS = 10;
const DEADLINE_S = 60;
const OVERRIDES = {
  rounds: 1,
  clientsPerRound: { fraction: 1, min: CLIENTS, max: CLIENTS },
  quorum: CLIENTS,
  roundDeadlineSeconds: DEADLINE_S,
  autoStart: true,
};

/** The flooder, plain JavaScript in a worker thread: `sockets` loops of connect, upgrade, answer, reset. */
const FLOODER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const { port, ms, sockets } = workerData;
const request = 'GET /ws HTTP/1.1\\r\\nHost: 127.0.0.1:' + port + '\\r\\nUpgrade: websocket\\r\\n' +
  'Connection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n';
const t0 = Date.now();
const end = t0 + ms;
const status = {};
let started = 0, errors = 0, live = sockets;
function one() {
  if (Date.now() >= end) {
    if (--live === 0) parentPort.postMessage({ started, errors, status, seconds: (Date.now() - t0) / 1000 });
    return;
  }
  started++;
  let settled = false;
  const next = () => { if (!settled) { settled = true; setImmediate(one); } };
  const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' });
  s.setNoDelay(true);
  s.setTimeout(5000, () => s.destroy());
  s.on('connect', () => s.write(request));
  s.once('data', (d) => {
    const code = d.toString('latin1', 9, 12);
    status[code] = (status[code] || 0) + 1;
    s.resetAndDestroy();
    next();
  });
  s.on('error', () => { errors++; next(); });
  s.on('close', next);
}
for (let i = 0; i < sockets; i++) one();
`;

interface FloodResult {
  started: number;
  errors: number;
  status: Record<string, number>;
  seconds: number;
}

function legitSocket(url: string): WebSocket {
  return new WebSocket(url, { perMessageDeflate: false, localAddress: LEGIT });
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // the process has ended (the test says so)
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

let server: ChildProcess | null = null;
afterAll(() => {
  server?.kill('SIGKILL');
});

describe('finding 1: handshake flood from one address', () => {
  it('keeps legitimate joins and a 10-client round going during a 10 s flood, with bounded memory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pqfed-flood-'));
    const config = join(dir, 'experiment.json');
    writeFileSync(config, JSON.stringify({ ...SMALL, ...OVERRIDES }));
    server = spawn(
      process.execPath,
      [
        'bin/pqfed.js',
        'serve',
        ...['--port', '0', '--host', '127.0.0.1', '--data-dir', join(dir, 'data'), '--config', config],
        ...['--open-threads', '1', '--json'],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const stderr: string[] = [];
    server.stderr!.on('data', (d: Buffer) => {
      stderr.push(d.toString());
      if (stderr.length > 200) stderr.shift();
    });
    const info = await new Promise<{ url: string; serverKeyFingerprint: string }>((ok, fail) => {
      let out = '';
      server!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) ok(JSON.parse(out.split('\n')[0]!));
      });
      server!.once('exit', (code) => fail(new Error(`serve exited ${code}: ${stderr.join('')}`)));
    });
    let exited: string | null = null;
    server.once('exit', (code, signal) => {
      exited = `serve exited (${code ?? signal}): ${stderr.join('').slice(-3000)}`;
    });
    const base = info.url.replace(/\/$/, '');
    const url = `${base.replace(/^http/, 'ws')}/ws`;
    const spec = { pinnedFingerprint: info.serverKeyFingerprint, minimumSuite: 'xwing' as const };
    const exp = await smallExperiment(OVERRIDES);
    const shards = exp.shards(CLIENTS, { kind: 'iid' });
    const pid = server.pid!;
    const idleRss = rssOf(pid);

    let peakRss = idleRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssOf(pid));
    }, 200);

    // A prober in a thread of its own: one join to warm the server up, then one every 2 s while the flood
    // runs.
    const prober = tsWorker(new URL('./hostile-probe-worker.ts', import.meta.url), {
      url,
      spec,
      localAddress: LEGIT,
      count: 5,
      firstDelayMs: 500,
      intervalMs: 2000,
    } satisfies ProbeJob);
    const probing = new Promise<ProbeResult[]>((ok, fail) => {
      prober.on('message', (m: { warm?: ProbeResult; results?: ProbeResult[] }) => {
        if (m.warm) warmed(m.warm);
        if (m.results) ok(m.results);
      });
      prober.once('error', fail);
    });
    let warmed: (r: ProbeResult) => void = () => {};
    const warm = await new Promise<ProbeResult>((ok) => {
      warmed = ok;
    });
    expect(warm.ok).toBe(true);
    const flooder = new Worker(FLOODER, {
      eval: true,
      workerData: { port: Number(new URL(base).port), ms: FLOOD_MS, sockets: FLOOD_SOCKETS },
    });
    const flood = new Promise<FloodResult>((ok, fail) => {
      flooder.once('message', ok);
      flooder.once('error', fail);
    });
    const t0 = performance.now();

    // The round: 10 real clients from the other address, started 1 s into the flood.
    await new Promise((ok) => setTimeout(ok, 1000));
    const clients = await Promise.all(
      shards.map(
        async (shard, i) =>
          new FederatedClient({
            url,
            name: `legit-${i}`,
            trainer: new ModelTrainer(shard, 'wasm'),
            channels: pqClientChannels({ identity: generateIdentity(), ...spec }),
            connect: (u) => legitSocket(u) as unknown as WebSocketLike,
            backoff: { initialMs: 200, maxMs: 1000, factor: 2 },
          }),
      ),
    );
    const roundStart = performance.now();
    const runs = clients.map((c) => c.run().catch(() => {}));
    type Status = { history: { participants: number; seconds: number }[]; refusals: Record<string, number> };
    const getStatus = async () => (await (await fetch(`${base}/api/status`)).json()) as Status;
    let status: Status | null = null;
    const poller = setInterval(() => {
      getStatus().then(
        (s) => {
          status = s;
        },
        () => {},
      );
    }, 250);
    try {
      await waitFor(
        () => (status?.history.length ?? 0) >= 1 || exited !== null,
        (DEADLINE_S + 30) * 1000,
        'round 1',
      );
      if (exited) throw new Error(exited);
    } finally {
      clearInterval(poller);
      for (const c of clients) c.stop();
    }
    const roundSeconds = (performance.now() - roundStart) / 1000;
    await Promise.allSettled(runs);
    const result = await flood;
    const probes = await probing;
    await prober.terminate();
    await flooder.terminate();
    clearInterval(sampler);
    status = await getStatus();

    const upgradesPerSecond = result.started / result.seconds;
    const latencies = probes.filter((p) => p.ok).map((p) => (p as { ms: number }).ms);
    const figures = {
      cpu: 'AMD EPYC, 2 cores (shared)',
      upgradesPerSecond: Math.round(upgradesPerSecond),
      flood: result,
      probeMs: latencies.map(Math.round),
      probeMedianMs: Math.round(median(latencies)),
      probeFailures: probes.filter((p) => !p.ok),
      roundSeconds: Math.round(roundSeconds * 10) / 10,
      round: status!.history[0],
      idleRssMB: Math.round(idleRss / 2 ** 20),
      peakRssMB: Math.round(peakRss / 2 ** 20),
      refusals: status!.refusals,
      sinceFloodStart: Math.round((performance.now() - t0) / 100) / 10,
    };
    console.log(`hostile flood figures: ${JSON.stringify(figures)}`);
    expect(exited).toBeNull();
    if (figures.probeFailures.length) console.log(stderr.join('').slice(-4000));

    expect(figures.probeFailures).toEqual([]);
    expect(status!.history[0]!.participants).toBe(CLIENTS);
    // Aggregated with all ten selected: every update was opened and counted before the deadline.
    expect(status!.history[0]).toMatchObject({ outcome: 'aggregated' });
    expect(peakRss).toBeLessThan(HOSTILE.floodRssBytes);
    expect(status!.refusals['upgrade-rate-limited'] ?? 0).toBeGreaterThan(0);
  }, 150_000);
});
