/**
 * The clients of an update burst (a worker thread): N raw sealed clients, each with its own ML-DSA-65
 * identity and the real handshake, join an aggregator; once every client has the round's model, each
 * pre-seals its update (small random weights, sealed to the round key and signed, then sealed on its
 * channel), so that the burst measures the server's work only; on the main thread's 'go' all N are sent at
 * once. Optionally polls `GET /api/status` every 50 ms during the burst (the event-loop bench).
 *
 * With `rounds: R` (the load bench, bench/load.ts) the clients instead take part in R full rounds: each
 * answers every `round` frame at once with a freshly sealed and signed update (sealing to that round's key
 * is part of the round, as for a real client; there is no training and the round's signatures are not
 * checked), and the thread reports each round when all N have their answer.
 *
 * Used by src/bench/aggregator.ts (`pqfed bench`), bench/event-loop.ts and bench/load.ts; this module runs
 * the clients when it is loaded as a worker with `workerData.kind === 'pqfed-bench-clients'`.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
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
  /** Clients per loopback address (127.0.0.1, 127.0.0.2, …); default: 250 (the server allows 256
   * connections per address), all on 127.0.0.1 up to 250 clients. */
  perAddress?: number;
  /** Take part in this many full rounds (see the module comment) instead of one pre-sealed burst. */
  rounds?: number;
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
  | {
      /** Rounds mode: all N clients have their answer to the `index`-th round they were sent. */
      kind: 'round';
      index: number;
      round: number;
      firstRoundAt: number;
      lastRoundAt: number;
      lastAckAt: number;
      acks: number;
      refused: string[];
      /** Milliseconds this client thread was busy (event-loop utilisation) since the previous report: the
       * clients' sealing and signing of this round, their sockets and acks. */
      clientBusyMs: number;
      /** The client thread's longest event-loop stall since the previous report (ms; 20 ms resolution): a
       * stalled client thread answers pings late. */
      clientLoopMaxMs: number;
    }
  | { kind: 'error'; message: string };

/**
 * Runs tasks one at a time, each started on a new turn of the event loop (after the loop has polled its
 * sockets). N clients share this thread: sealing and signing an update is ≈ 13 ms of CPU, and when their
 * round frames are opened in one batch N seals run back to back — the thread stalled 21 s with 1,000
 * clients, missed the server's pings, and 753 of them were dropped. In turn, the thread keeps answering.
 */
class InTurn {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(() => new Promise<void>((ok) => setImmediate(ok))).then(task);
    this.tail = next.catch(() => {});
    return next;
  }
}

/** A one-way mailbox: `put` before or after `take`, in order. */
class Mailbox<T> {
  private readonly items: T[] = [];
  private readonly takers: ((t: T) => void)[] = [];
  put(t: T): void {
    const w = this.takers.shift();
    if (w) w(t);
    else this.items.push(t);
  }
  take(): Promise<T> {
    return this.items.length
      ? Promise.resolve(this.items.shift()!)
      : new Promise<T>((ok) => this.takers.push(ok));
  }
}

async function clients(input: ClientInput): Promise<void> {
  const post = (m: ClientReport) => parentPort!.postMessage(m);
  const BATCH = 20;
  const perAddress = input.perAddress ?? 250;
  type RoundMsg = Extract<ServerMessage, { type: 'round' }>;
  interface Conn {
    ws: WebSocket;
    /** The next `round` frame this client is sent; null once its connection has closed. */
    nextRound(): Promise<RoundMsg | null>;
    /** The answer to its next update: 'ack', or "reason: message". */
    nextAnswer(): Promise<string>;
    /** Its update for round `r`, sealed to the round key and signed, then sealed on the channel. */
    seal(r: RoundMsg): Promise<Uint8Array>;
  }
  const conns: Conn[] = [];
  let lastAckAt = 0;

  async function connect(i: number) {
    const ws = new WebSocket(input.url, {
      perMessageDeflate: false,
      ...(input.n > perAddress && { localAddress: `127.0.0.${1 + Math.floor(i / perAddress)}` }),
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
    // Closed before its welcome (e.g. the server's handshake deadline): the join fails loudly.
    const closedEarly = new Promise<never>((_, fail) =>
      ws.once('close', (code: number, why: Buffer) =>
        fail(new Error(`client ${i}: the connection closed while joining (${code} ${why.toString()})`)),
      ),
    );
    closedEarly.catch(() => {});
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
      await Promise.race([first(), closedEarly]),
    );
    ws.send(done.reply);
    let session = '';
    let clientId = '';
    let maxFrame = 64 * 1024 * 1024;
    let modelSize = 0;
    let gotWelcome!: () => void;
    const welcome = new Promise<void>((ok) => {
      gotWelcome = ok;
    });
    const rounds = new Mailbox<RoundMsg | null>();
    const answers = new Mailbox<string>();
    const answer = (a: string) => answers.put(a);
    ws.on('error', () => {});
    ws.once('close', (code: number, why: Buffer) => {
      rounds.put(null);
      answer(`connection closed: ${code} ${why.toString()}`);
    });
    const handle = async (wire: Uint8Array) => {
      const msg = decodeServerFrame(await done.channel.open(wire), { maxFrameBytes: maxFrame });
      if (msg.type === 'welcome') {
        ({ session, clientId } = msg);
        modelSize = msg.experiment.modelSize;
        maxFrame = maxFrameBytes(modelSize);
        gotWelcome();
      } else if (msg.type === 'round') rounds.put(msg);
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
    await Promise.race([welcome, closedEarly]);
    return {
      ws,
      nextRound: () => rounds.take(),
      nextAnswer: () => answers.take(),
      async seal(r: RoundMsg) {
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
  if (input.rounds !== undefined) return everyRound(conns, input.rounds);
  const firstRounds = await Promise.all(conns.map((c) => c.nextRound()));
  const s0 = performance.now();
  const wires: Uint8Array[] = [];
  for (const [i, c] of conns.entries()) {
    const r = firstRounds[i];
    if (!r) throw new Error(`client ${i}: its connection closed before the round`);
    wires.push(await c.seal(r));
  }
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
  const answers = await Promise.all(conns.map((c) => c.nextAnswer()));
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

  /** Rounds mode: every client answers each of `count` rounds as soon as it is sent; a report per round. */
  async function everyRound(all: Conn[], count: number): Promise<void> {
    const perRound = Array.from({ length: count }, () => ({
      round: 0,
      firstRoundAt: Number.POSITIVE_INFINITY,
      lastRoundAt: 0,
      lastAckAt: 0,
      answered: 0,
      acks: 0,
      refused: [] as string[],
    }));
    const turns = new InTurn();
    let elu = performance.eventLoopUtilization();
    const stalls = monitorEventLoopDelay({ resolution: 20 });
    stalls.enable();
    /** Client's answer `a` to the k-th round; the round is reported once all have answered. */
    const settle = (k: number, a: string) => {
      const p = perRound[k]!;
      if (a === 'ack') {
        p.acks++;
        p.lastAckAt = Math.max(p.lastAckAt, now());
      } else p.refused.push(a);
      if (++p.answered === all.length) {
        const busy = performance.eventLoopUtilization(elu);
        elu = performance.eventLoopUtilization();
        const { answered: _, ...rest } = p;
        post({
          kind: 'round',
          index: k,
          ...rest,
          refused: rest.refused.slice(0, 5),
          clientBusyMs: busy.active,
          clientLoopMaxMs: stalls.max / 1e6,
        });
        stalls.reset();
      }
    };
    await Promise.all(
      all.map(async (c) => {
        for (let k = 0; k < count; k++) {
          const r = await c.nextRound();
          if (!r) {
            // Its connection closed: it answers no more rounds.
            for (let j = k; j < count; j++) settle(j, 'connection closed');
            return;
          }
          const at = now();
          const p = perRound[k]!;
          p.round = r.round;
          p.firstRoundAt = Math.min(p.firstRoundAt, at);
          p.lastRoundAt = Math.max(p.lastRoundAt, at);
          c.ws.send(await turns.run(() => c.seal(r)));
          settle(k, await c.nextAnswer());
        }
      }),
    );
    // The connections stay open (the server is measured with N clients connected) until the thread ends.
    post({ kind: 'done', firstSendAt: 0, lastSendAt: 0, lastAckAt, acks: 0, refused: [], polls: [] });
  }
}

if (!isMainThread && (workerData as ClientInput | undefined)?.kind === 'pqfed-bench-clients') {
  await clients(workerData as ClientInput).catch((e: Error) =>
    parentPort!.postMessage({ kind: 'error', message: e.stack ?? e.message } satisfies ClientReport),
  );
}
