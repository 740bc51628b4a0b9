/**
 * Integration: a real aggregator and real clients (tfjs models, the post-quantum channel, loopback
 * WebSockets). A killed client and a hung client, a client joining mid-session, and an aggregator killed with
 * SIGKILL mid-round and restarted on the same data directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CHECKPOINT_FILE, decodeCheckpoint, type RoundRecord } from '../src/aggregator/checkpoint.ts';
import type { ChannelSpec } from '../src/cli/channels.ts';
import { clientChannelsFor } from '../src/cli/channels.ts';
import type { SimulateWorkerData } from '../src/cli/simulate-worker.ts';
import { tsWorker } from '../src/cli/workers.ts';
import { type ClientStatus, FederatedClient, type LocalTrainer } from '../src/client/client.ts';
import { ModelTrainer } from '../src/client/model-trainer.ts';
import { encodeFrame } from '../src/core/protocol.ts';
import { type ClientUpdate, createStrategy, type Strategy } from '../src/core/strategies/index.ts';
import {
  nodeSocket,
  rawConnection,
  SMALL,
  smallExperiment,
  startTestAggregator,
  type TestAggregator,
  waitFor,
} from './federation.ts';

/** What a recording trainer saw in one round: the global weights it trained from and the delta it sent back. */
interface Seen {
  round: number;
  global: Float32Array;
  delta?: Float32Array;
}

/** A trainer that remembers the global weights of every round it trained, and the delta it returned. */
function recording(inner: LocalTrainer): LocalTrainer & { seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    get backend() {
      return inner.backend;
    },
    get numSamples() {
      return inner.numSamples;
    },
    prepare: (e) => inner.prepare(e),
    async fit(global, fit, round) {
      const entry: Seen = { round, global: global.slice() };
      seen.push(entry);
      const result = await inner.fit(global, fit, round);
      entry.delta = result.delta.slice();
      return result;
    },
  };
}

async function client(
  url: string,
  spec: ChannelSpec,
  trainer: LocalTrainer,
  name: string,
  statuses?: ClientStatus[],
) {
  return new FederatedClient({
    url,
    name,
    trainer,
    channels: await clientChannelsFor(spec),
    connect: nodeSocket,
    backoff: { initialMs: 200, maxMs: 1000, factor: 2 },
    onStatus: (s) => statuses?.push(s),
  });
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('federation over real sockets', () => {
  it('closes a round at its deadline without a hung client, fails a killed one, and a late joiner trains from the current model', async () => {
    const exp = await smallExperiment({
      rounds: 2,
      autoStart: false,
      roundDeadlineSeconds: 8,
      quorum: 3,
      clientsPerRound: { fraction: 1, min: 3, max: 20 },
    });
    const t: TestAggregator = await startTestAggregator(exp);
    cleanups.push(() => t.agg.close());
    const shards = exp.shards(7, { kind: 'iid' });
    const honest = await Promise.all(
      [0, 1, 2, 3, 4].map(async (i) => {
        const tr = recording(new ModelTrainer(shards[i]!, 'wasm'));
        return { trainer: tr, client: await client(t.url, t.spec, tr, `honest-${i}`) };
      }),
    );
    const runs = honest.map((h) => h.client.run());
    cleanups.push(async () => {
      for (const h of honest) h.client.stop();
      await Promise.allSettled(runs);
    });
    // A client that joins and then hangs: it never answers its round (its socket stays open).
    const hung = await rawConnection(t.url, t.spec);
    cleanups.push(() => hung.ws.terminate());
    await hung.send(encodeFrame({ type: 'hello', name: 'hung', backend: 'test', numSamples: 100 }));
    const hungId = (await hung.nextOf('welcome')).clientId;
    // A client in its own worker thread, killed (terminated) once its round has started.
    const wd: SimulateWorkerData = { url: t.url, name: 'doomed', shard: shards[5]!, channel: t.spec };
    const doomed = tsWorker(new URL('../src/cli/simulate-worker.ts', import.meta.url), wd);
    cleanups.push(async () => void (await doomed.terminate()));
    const co = t.agg.coordinator;
    await waitFor(() => co.status(null).clients === 7, 60_000, '7 clients');
    const doomedId = co.status(null).clientList.find((c) => c.name === 'doomed')!.id;

    const ended: RoundRecord[] = [];
    co.on('round-end', (r: RoundRecord) => {
      ended.push(r);
      if (r.round === 1) co.pause(); // hold round 2 until the late client has joined
    });
    co.once('round-start', () => void doomed.terminate());
    co.start();
    await waitFor(() => ended.length >= 1, 60_000, 'round 1 to end');
    const r1 = ended[0]!;
    expect(r1.outcome).toBe('aggregated');
    expect(r1.participants).toBe(5);
    expect(r1.selected).toHaveLength(7);
    expect(r1.failed).toContainEqual({ clientId: hungId, reason: 'missed the deadline' });
    expect(r1.failed).toContainEqual({ clientId: doomedId, reason: 'disconnected' });
    // It waited for the hung client until the deadline, not longer.
    expect(r1.seconds).toBeGreaterThanOrEqual(7.9);
    expect(r1.seconds).toBeLessThan(20);
    expect(Number.isFinite(r1.macroF1)).toBe(true);
    const afterRound1 = co.globalWeights();

    // A client joining mid-session trains from the current global model.
    hung.ws.terminate();
    const late = recording(new ModelTrainer(shards[6]!, 'wasm'));
    const lateClient = await client(t.url, t.spec, late, 'late');
    const lateRun = lateClient.run();
    cleanups.push(async () => {
      lateClient.stop();
      await lateRun;
    });
    await waitFor(
      () => co.status(null).clientList.some((c) => c.name === 'late') && co.status(null).clients === 6,
      10_000,
      'the late client to join and the hung one to be gone',
    );
    co.start();
    await waitFor(() => ended.length >= 2, 60_000, 'round 2 to end');
    expect(late.seen).toHaveLength(1);
    expect(late.seen[0]!.round).toBe(2);
    expect(Buffer.from(late.seen[0]!.global.buffer).equals(Buffer.from(afterRound1.buffer))).toBe(true);
    expect(ended[1]!.contributed).toContain(lateClient.clientId);
    expect(ended[1]!.participants).toBe(6);
  }, 180_000);
});

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => ok(p));
    });
  });
}

function startServe(args: string[]): {
  child: ChildProcess;
  info: Promise<Record<string, unknown>>;
  log: string[];
} {
  const child = spawn(process.execPath, ['bin/pqfed.js', 'serve', '--json', ...args], {
    cwd: new URL('..', import.meta.url).pathname,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  child.stderr!.on('data', (d: Buffer) => log.push(...d.toString().split('\n').filter(Boolean)));
  const info = new Promise<Record<string, unknown>>((ok, fail) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) ok(JSON.parse(out.split('\n')[0]!));
    });
    child.once('exit', (code) => fail(new Error(`serve exited with ${code}: ${log.slice(-5).join(' | ')}`)));
  });
  return { child, info, log };
}

async function status(port: number) {
  const r = await fetch(`http://127.0.0.1:${port}/api/status`);
  return (await r.json()) as {
    round: number;
    phase: string;
    clients: number;
    history: RoundRecord[];
    currentRound: unknown;
  };
}

/** Every order of `items` (the aggregator adds a round's updates in arrival order). */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((x, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]),
  );
}

/** The model after one round of `strategy` from `global`, adding `updates` in their order. */
function aggregate(strategy: Strategy, round: number, global: Float32Array, updates: ClientUpdate[]) {
  const agg = strategy.begin(round, global);
  for (const u of updates) agg.add(u);
  return agg.finish();
}

const sameBits = (a: Float32Array, b: Float32Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('aggregator killed with SIGKILL', () => {
  it('resumes at the last completed round with a bit-identical model and server state, and the clients reconnect by themselves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pqfed-kill-'));
    // A strategy with server state (FedYogi: the moments and the step), which must come back from the
    // checkpoint exactly. Every stateful strategy's state goes the same way (checkpoint-strategies.test.ts).
    const strategy = 'fedyogi';
    const overrides = {
      strategy,
      rounds: 8,
      quorum: 3,
      clientsPerRound: { fraction: 1, min: 3, max: 3 },
      roundDeadlineSeconds: 60,
    };
    const configFile = join(dir, 'experiment.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        ...SMALL,
        ...overrides,
        data: new URL('../public/data/ton_iot_network.sample.csv.gz', import.meta.url).pathname,
      }),
    );
    const exp = await smallExperiment(overrides);
    const shards = exp.shards(3, exp.config.partition);
    const port = await freePort();
    const dataDir = join(dir, 'data');
    const first = startServe([
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--data-dir',
      dataDir,
      '--config',
      configFile,
    ]);
    cleanups.push(() => void first.child.kill('SIGKILL'));
    const info = await first.info;
    const spec: ChannelSpec = {
      kind: 'pq',
      pinnedFingerprint: String(info.serverKeyFingerprint),
      minimumSuite: 'xwing',
    };
    const url = `ws://127.0.0.1:${port}/ws`;
    const statuses: ClientStatus[][] = [[], [], []];
    const trainers = shards.map((s) => recording(new ModelTrainer(s, 'wasm')));
    const clients = await Promise.all(trainers.map((tr, i) => client(url, spec, tr, `c${i}`, statuses[i])));
    const runs = clients.map((c) => c.run());
    cleanups.push(async () => {
      for (const c of clients) c.stop();
      await Promise.allSettled(runs);
    });
    // Kill it while round 3 is open (two rounds completed and checkpointed).
    await waitFor(() => trainers.every((t) => t.seen.some((s) => s.round === 3)), 120_000, 'round 3 to open');
    first.child.kill('SIGKILL');
    await new Promise((ok) => first.child.once('exit', ok));
    const saved = decodeCheckpoint(readFileSync(join(dataDir, CHECKPOINT_FILE)));
    expect(saved.round).toBe(2);
    expect(saved.history.map((h) => h.round)).toEqual([1, 2]);

    const second = startServe([
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--data-dir',
      dataDir,
      '--config',
      configFile,
    ]);
    cleanups.push(() => void second.child.kill('SIGKILL'));
    const info2 = await second.info;
    expect(info2.resumedAfterRound).toBe(2);
    expect(info2.session).toBe(info.session);
    expect(info2.serverKeyFingerprint).toBe(info.serverKeyFingerprint);
    await waitFor(
      () => trainers.every((t) => t.seen.filter((s) => s.round === 3).length === 2),
      120_000,
      'round 3 again',
    );
    // The round restarted from exactly the model of the last completed round.
    for (const t of trainers) {
      const again = t.seen.filter((s) => s.round === 3)[1]!;
      expect(Buffer.from(again.global.buffer).equals(Buffer.from(saved.weights.buffer))).toBe(true);
    }
    for (const s of statuses) expect(s.some((x) => x.state === 'reconnecting')).toBe(true);
    await waitFor(() => true, 0, '');
    let st = await status(port);
    const t0 = Date.now();
    while (st.round < 3 && Date.now() - t0 < 60_000) {
      await new Promise((ok) => setTimeout(ok, 200));
      st = await status(port);
    }
    expect(st.round).toBeGreaterThanOrEqual(3);
    expect(st.history[2]!.participants).toBe(3);

    // Round 3 after the restart: the resumed server state, fed the three updates it got, must give exactly
    // the model it then sent out for round 4 (in one of the orders the updates can arrive in). A server that
    // lost its state (a fresh strategy) gives another model whenever the strategy keeps state.
    await waitFor(() => trainers.every((t) => t.seen.some((s) => s.round === 4)), 120_000, 'round 4 to open');
    const sentForRound4 = trainers[0]!.seen.find((s) => s.round === 4)!.global;
    // Each update weighs what the server gave it (its declared samples, capped by its assigned shard's rows).
    const weightOf = new Map(st.history[2]!.clientMetrics.map((m) => [m.clientId, m.numSamples]));
    const updates: ClientUpdate[] = trainers.map((t, i) => {
      const clientId = clients[i]!.clientId!;
      return {
        clientId,
        delta: t.seen.filter((s) => s.round === 3)[1]!.delta!,
        numSamples: weightOf.get(clientId)!,
      };
    });
    expect(updates.every((u) => u.numSamples > 0)).toBe(true);
    const resumed = () => {
      const s = createStrategy(strategy);
      s.importState(saved.strategyState);
      return s;
    };
    const expected = permutations(updates).map((order) => aggregate(resumed(), 3, saved.weights, order));
    expect(expected.some((w) => sameBits(w, sentForRound4))).toBe(true);
    const stateful = Object.keys(saved.strategyState).length > 0;
    expect(stateful, `${strategy} keeps server state`).toBe(true);
    const forgetful = permutations(updates).map((order) =>
      aggregate(createStrategy(strategy), 3, saved.weights, order),
    );
    expect(forgetful.some((w) => sameBits(w, sentForRound4))).toBe(false);
  }, 300_000);
});
