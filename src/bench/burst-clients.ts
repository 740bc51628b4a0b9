/**
 * The clients of an update burst (a worker thread): N raw sealed clients, each with its own ML-DSA-65
 * identity and the real handshake, join an aggregator; once every client has the round's model, each
 * pre-seals its update (small random weights, sealed to the round key and signed, then sealed on its
 * channel), so that the burst measures the server's work only; on the main thread's 'go' all N are sent at
 * once. Optionally polls `GET /api/status` every 50 ms during the burst (the event-loop bench).
 * Used by src/bench/aggregator.ts (`pqfed bench`) and bench/event-loop.ts; this module runs the clients when
 * it is loaded as a worker with `workerData.kind === 'pqfed-bench-clients'`.
 */
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import type { ChannelSpec } from '../cli/channels.ts';
import { maxFrameBytes } from '../core/limits.ts';
import { decodeServerFrame, encodeFrame, type ServerMessage } from '../core/protocol.ts';
import { generateIdentity } from '../crypto/identity.ts';
import { pqClientChannels } from '../crypto/pq-channels.ts';

/** Milliseconds since the epoch, comparable across threads (each thread has its own timeOrigin). */
export const now = (): number => performance.timeOrigin + performance.now();

export interface ClientInput {
  kind: 'pqfed-bench-clients';
  url: string;
  /** Poll this URL every 50 ms during the burst (omit: no polling). */
  statusUrl?: string;
  spec: ChannelSpec;
  n: number;
}

export type ClientReport =
  | { kind: 'joined'; at: number }
  | { kind: 'ready'; at: number; sealMs: number }
  | {
      kind: 'done';
      firstSendAt: number;
      lastSendAt: number;
      lastAckAt: number;
      acks: number;
      refused: string[];
      polls: { at: number; ms: number }[];
    }
  | { kind: 'error'; message: string };

async function clients(input: ClientInput): Promise<void> {
  const post = (m: ClientReport) => parentPort!.postMessage(m);
  const BATCH = 20;
  type RoundMsg = Extract<ServerMessage, { type: 'round' }>;
  const conns: {
    ws: WebSocket;
    round: Promise<RoundMsg>;
    answered: Promise<'ack' | string>;
    prepare(): Promise<Uint8Array>;
  }[] = [];
  let lastAckAt = 0;

  async function connect(i: number) {
    const ws = new WebSocket(input.url, {
      perMessageDeflate: false,
      ...(input.n > 250 && { localAddress: `127.0.0.${1 + Math.floor(i / 250)}` }),
    });
    ws.binaryType = 'arraybuffer';
    const inbox: Uint8Array[] = [];
    let waiter: ((b: Uint8Array) => void) | null = null;
    ws.on('message', (d: ArrayBuffer) => {
      const b = new Uint8Array(d);
      if (waiter) {
        const w = waiter;
        waiter = null;
        w(b);
      } else inbox.push(b);
    });
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok());
      ws.once('error', fail);
    });
    const first = () =>
      inbox.length
        ? Promise.resolve(inbox.shift()!)
        : new Promise<Uint8Array>((ok) => {
            waiter = ok;
          });
    const done = await pqClientChannels({ ...input.spec, identity: generateIdentity() }).accept(
      await first(),
    );
    ws.send(done.reply);
    let session = '';
    let clientId = '';
    let maxFrame = 64 * 1024 * 1024;
    let modelSize = 0;
    let gotWelcome!: () => void;
    let gotRound!: (m: RoundMsg) => void;
    let answer!: (a: string) => void;
    const welcome = new Promise<void>((ok) => {
      gotWelcome = ok;
    });
    const round = new Promise<RoundMsg>((ok) => {
      gotRound = ok;
    });
    const answered = new Promise<string>((ok) => {
      answer = ok;
    });
    const handle = async (wire: Uint8Array) => {
      const msg = decodeServerFrame(await done.channel.open(wire), { maxFrameBytes: maxFrame });
      if (msg.type === 'welcome') {
        ({ session, clientId } = msg);
        modelSize = msg.experiment.modelSize;
        maxFrame = maxFrameBytes(modelSize);
        gotWelcome();
      } else if (msg.type === 'round') gotRound(msg);
      else if (msg.type === 'ack') {
        lastAckAt = now();
        answer('ack');
      } else if (msg.type === 'refused') answer(`${msg.reason}: ${msg.message}`);
    };
    // Frames are opened strictly in order (the channel takes exactly the next sequence number).
    let queue = Promise.resolve();
    const enqueue = (b: Uint8Array) => {
      queue = queue.then(() => handle(b)).catch((e: Error) => answer(`client error: ${e.message}`));
    };
    for (const b of inbox.splice(0)) enqueue(b);
    waiter = null;
    ws.removeAllListeners('message');
    ws.on('message', (d: ArrayBuffer) => enqueue(new Uint8Array(d)));
    ws.send(
      await done.channel.seal(
        encodeFrame({ type: 'hello', name: `bench-${i}`, backend: 'bench', numSamples: 100 }),
      ),
    );
    await welcome;
    return {
      ws,
      round,
      answered,
      /** The update, sealed to the round key and signed, then sealed on the channel: ready to send. */
      async prepare() {
        const r = await round;
        const delta = new Float32Array(modelSize);
        for (let k = 0; k < delta.length; k++) delta[k] = (Math.random() - 0.5) * 1e-3;
        const payload = encodeFrame({
          type: 'update',
          round: r.round,
          baseVersion: r.version,
          numSamples: 100,
          metrics: { loss: 1, seconds: 0.01, samplesPerSec: 10_000 },
          delta,
        });
        const envelope = await done.crypto.sealUpdate({
          session,
          round: r.round,
          clientId,
          version: r.version,
          payload,
          seal: r.seal,
        });
        return done.channel.seal(encodeFrame({ type: 'sealed-update', round: r.round, envelope }));
      },
    };
  }

  for (let i = 0; i < input.n; i += BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(BATCH, input.n - i) }, (_, j) => connect(i + j)),
    );
    conns.push(...batch);
  }
  post({ kind: 'joined', at: now() });
  await Promise.all(conns.map((c) => c.round));
  const s0 = performance.now();
  const wires: Uint8Array[] = [];
  for (const c of conns) wires.push(await c.prepare());
  post({ kind: 'ready', at: now(), sealMs: (performance.now() - s0) / conns.length });

  await new Promise<void>((ok) => parentPort!.once('message', () => ok()));
  const polls: { at: number; ms: number }[] = [];
  const inflight = new Set<Promise<void>>();
  const statusUrl = input.statusUrl;
  const poll = () => {
    if (!statusUrl) return;
    const at = now();
    const p = fetch(statusUrl)
      .then((r) => r.arrayBuffer())
      .then(() => void polls.push({ at, ms: now() - at }))
      .catch(() => void polls.push({ at, ms: Number.NaN }))
      .finally(() => inflight.delete(p));
    inflight.add(p);
  };
  const poller = statusUrl ? setInterval(poll, 50) : undefined;
  const firstSendAt = now();
  poll();
  for (const [i, c] of conns.entries()) c.ws.send(wires[i]!);
  const lastSendAt = now();
  const answers = await Promise.all(conns.map((c) => c.answered));
  clearInterval(poller);
  await Promise.all(inflight);
  post({
    kind: 'done',
    firstSendAt,
    lastSendAt,
    lastAckAt,
    acks: answers.filter((a) => a === 'ack').length,
    refused: answers.filter((a) => a !== 'ack'),
    polls,
  });
  for (const c of conns) c.ws.terminate();
}

if (!isMainThread && (workerData as ClientInput | undefined)?.kind === 'pqfed-bench-clients') {
  await clients(workerData as ClientInput).catch((e: Error) =>
    parentPort!.postMessage({ kind: 'error', message: e.stack ?? e.message } satisfies ClientReport),
  );
}
