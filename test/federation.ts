/**
 * Helpers for the federation's integration tests: a real aggregator (real WebSockets, the post-quantum
 * channel, real evaluation) on a small slice of the real TON_IoT subset, real clients, and a raw sealed
 * connection that can send hand-made frames.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { type RunningAggregator, type StartOptions, startAggregator } from '../src/aggregator/aggregator.ts';
import { type ExperimentConfig, parseConfig } from '../src/aggregator/config.ts';
import { type PreparedExperiment, prepareExperiment } from '../src/aggregator/experiment.ts';
import { type ChannelSpec, clientChannelsFor, serverChannelsFor } from '../src/cli/channels.ts';
import { loadTable } from '../src/cli/import.ts';
import { type ClientStatus, FederatedClient, type WebSocketLike } from '../src/client/client.ts';
import { ModelTrainer } from '../src/client/model-trainer.ts';
import type { SecureChannel } from '../src/core/channel.ts';
import { decodeServerFrame, encodeFrame, type ServerMessage } from '../src/core/protocol.ts';
import { generateIdentity } from '../src/crypto/identity.ts';
import { pqClientChannels } from '../src/crypto/pq-channels.ts';
import type { KemSuite } from '../src/crypto/suites.ts';
import type { FlowTable } from '../src/data/import.ts';
import { useBackend } from '../src/model/backend.ts';

export const EMBEDDED = new URL('../public/data/ton_iot_network.sample.csv.gz', import.meta.url).pathname;

let table: Promise<FlowTable> | null = null;

/** The embedded TON_IoT sample, imported once per test file. */
export function tonTable(): Promise<FlowTable> {
  table ??= loadTable(EMBEDDED, 'toniot').then((r) => r.table);
  return table;
}

/** A small, fast experiment on real data: 2,000 training rows, 400 test rows, a small model. */
export const SMALL: Record<string, unknown> = {
  maxTrainRows: 2000,
  maxTestRows: 400,
  model: { dModel: 8, heads: 2, ffDim: 16, convLayers: 1, mosWeight: 0.5 },
  rounds: 3,
  clientsPerRound: { fraction: 1, min: 2, max: 20 },
  quorum: 2,
  roundDeadlineSeconds: 30,
  batchSize: 64,
  autoStart: true,
};

export async function smallExperiment(overrides: Record<string, unknown> = {}): Promise<PreparedExperiment> {
  await useBackend('wasm');
  const config: ExperimentConfig = parseConfig({ ...SMALL, ...overrides });
  return prepareExperiment(config, await tonTable());
}

export interface TestAggregator {
  agg: RunningAggregator;
  url: string;
  spec: ChannelSpec;
  dataDir: string;
  logs: string[];
}

export async function startTestAggregator(
  exp: PreparedExperiment,
  dataDir = mkdtempSync(join(tmpdir(), 'pqfed-test-')),
  suite: KemSuite = 'xwing',
  /** More start options (e.g. `trustProxy`, a made-up `machine`). */
  more: Partial<StartOptions> = {},
): Promise<TestAggregator> {
  const logs: string[] = [];
  const { server, client, close } = await serverChannelsFor(dataDir, suite);
  const agg = await startAggregator({
    experiment: exp,
    dataDir,
    channels: server,
    port: 0,
    host: '127.0.0.1',
    staticRoot: null,
    log: (l) => logs.push(l),
    release: close,
    ...more,
  });
  return { agg, url: `ws://127.0.0.1:${agg.port}/ws`, spec: client, dataDir, logs };
}

export function nodeSocket(url: string): WebSocketLike {
  return new WebSocket(url, { perMessageDeflate: false }) as unknown as WebSocketLike;
}

export async function testClient(
  t: TestAggregator,
  shard: PreparedExperiment['test'],
  name: string,
  statuses: ClientStatus[] = [],
): Promise<FederatedClient> {
  return new FederatedClient({
    url: t.url,
    name,
    trainer: new ModelTrainer(shard, 'wasm'),
    channels: await clientChannelsFor(t.spec),
    connect: nodeSocket,
    backoff: { initialMs: 100, maxMs: 1000, factor: 2 },
    onStatus: (s) => statuses.push(s),
  });
}

/** A connection that completes the real handshake and then sends whatever frames a test makes. */
export async function rawConnection(url: string, spec: ChannelSpec, identity = generateIdentity()) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.binaryType = 'arraybuffer';
  const inbox: Uint8Array[] = [];
  const waiters: ((b: Uint8Array) => void)[] = [];
  let closed: { code: number; reason: string } | null = null;
  ws.on('message', (d: ArrayBuffer) => {
    const b = new Uint8Array(d);
    const w = waiters.shift();
    if (w) w(b);
    else inbox.push(b);
  });
  ws.on('close', (code, reason) => {
    closed = { code, reason: reason.toString() };
  });
  await new Promise<void>((ok, fail) => {
    ws.once('open', () => ok());
    ws.once('error', fail);
  });
  const nextRaw = () =>
    inbox.length ? Promise.resolve(inbox.shift()!) : new Promise<Uint8Array>((ok) => waiters.push(ok));
  const channels = pqClientChannels({ ...spec, identity });
  const done = await channels.accept(await nextRaw());
  ws.send(done.reply);
  const channel: SecureChannel = done.channel;
  let session = '';
  let clientId = '';
  return {
    ws,
    identity,
    crypto: done.crypto,
    /** The session and id of the last welcome received. */
    joined: () => ({ session, clientId }),
    closed: () => closed,
    /** An update frame (`payload`, usually an encoded UpdateFrame) sealed to `round`'s key and signed. */
    async envelope(round: Extract<ServerMessage, { type: 'round' }>, payload: Uint8Array, id = clientId) {
      return done.crypto.sealUpdate({
        session,
        round: round.round,
        clientId: id,
        version: round.version,
        payload,
        seal: round.seal,
      });
    },
    /** Seals `payload` for `round` and sends it as a `sealed-update`. */
    async sendUpdate(round: Extract<ServerMessage, { type: 'round' }>, payload: Uint8Array) {
      const envelope = await this.envelope(round, payload);
      await this.send(encodeFrame({ type: 'sealed-update', round: round.round, envelope }));
    },
    /** Seals and sends one (possibly malformed) protocol frame. */
    async send(frame: Uint8Array) {
      ws.send(await channel.seal(frame));
    },
    /** Seals one frame in this connection's sequence without sending it (for replays). */
    seal(frame: Uint8Array): Promise<Uint8Array> {
      return channel.seal(frame);
    },
    /** Sends raw bytes, unsealed. */
    sendRaw(bytes: Uint8Array) {
      ws.send(bytes);
    },
    /** The next message from the server, opened and validated. */
    async next(): Promise<ServerMessage> {
      const wire = await nextRaw();
      const msg = decodeServerFrame(await channel.open(wire), { maxFrameBytes: 64 * 1024 * 1024 });
      if (msg.type === 'welcome') ({ session, clientId } = msg);
      return msg;
    },
    /** Waits for a message of the given type, skipping others. */
    async nextOf<T extends ServerMessage['type']>(type: T): Promise<Extract<ServerMessage, { type: T }>> {
      for (;;) {
        const m = await this.next();
        if (m.type === type) return m as Extract<ServerMessage, { type: T }>;
      }
    },
  };
}

export async function getStatus(t: TestAggregator) {
  const port = t.agg.port;
  const r = await fetch(`http://127.0.0.1:${port}/api/status`);
  return (await r.json()) as ReturnType<RunningAggregator['coordinator']['status']>;
}

export function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((ok, fail) => {
    const t0 = Date.now();
    const tick = () => {
      if (cond()) return ok();
      if (Date.now() - t0 > timeoutMs)
        return fail(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

/** `p`, or a rejection naming `what` after `ms`. */
export function within<T>(p: Promise<T>, what: string, ms = 15_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** A raw sealed connection (`rawConnection`). */
export type RawConnection = Awaited<ReturnType<typeof rawConnection>>;

/** Sends `hello` with `numSamples` and waits for the welcome; returns it. */
export async function joinRaw(c: RawConnection, numSamples = 50, name = 'test') {
  await c.send(encodeFrame({ type: 'hello', name, backend: 'test', numSamples }));
  return c.nextOf('welcome');
}

/** Answers the next round with a delta of `size` weights, all `fill`; returns the round's number. */
export async function answerRound(
  c: RawConnection,
  size: number,
  { fill = 0.001, numSamples = 50 }: { fill?: number; numSamples?: number } = {},
): Promise<number> {
  const round = await c.nextOf('round');
  await c.sendUpdate(
    round,
    encodeFrame({
      type: 'update',
      round: round.round,
      baseVersion: round.version,
      numSamples,
      metrics: { loss: 1, seconds: 0.1, samplesPerSec: 500 },
      delta: new Float32Array(size).fill(fill),
    }),
  );
  return round.round;
}

/** Two raw sealed clients joined with 50 samples each, and the model size from the welcome. */
export async function twoClients(t: TestAggregator) {
  const a = await rawConnection(t.url, t.spec);
  const b = await rawConnection(t.url, t.spec);
  const size = (await joinRaw(a)).experiment.modelSize;
  await joinRaw(b);
  return { a, b, size };
}
