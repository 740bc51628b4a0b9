/**
 * The federated client, one implementation for a browser tab and for `pqfed simulate`'s worker threads:
 * connect, establish the sealed channel, say hello, receive the model of a round, check the server's
 * signatures over it (nothing is loaded otherwise), train through the `LocalTrainer`, seal the update to
 * the round's key and sign it, send it, wait; on a lost connection (a server restart, a network blip) reconnect
 * with exponential backoff and jitter, resuming as the same client id.
 *
 * Nothing here depends on Node or the DOM: the socket comes from a factory (`WebSocket` in browsers, `ws` in
 * Node), the trainer is a tfjs model in a Web Worker or in the current thread.
 */
import type { ClientChannels, ClientCrypto, SecureChannel } from '../core/channel.ts';
import { LIMITS, maxFrameBytes, SECAGG } from '../core/limits.ts';
import { clipInPlace } from '../core/privacy/clip.ts';
import {
  type ClientMessage,
  decodeServerFrame,
  type ExperimentInfo,
  encodeFrame,
  type FitSettings,
  type LocalMetrics,
  type RefusalReason,
  type ServerMessage,
} from '../core/protocol.ts';
import { SecureRoundClient } from './secure-round-client.ts';

/** The part of the WebSocket API the client uses (browsers' WebSocket and `ws` both have it). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketFactory = (url: string) => WebSocketLike;

/** Local training, wherever it runs. */
export interface LocalTrainer {
  readonly backend: string;
  readonly numSamples: number;
  /**
   * Gets the data ready and builds the model for this experiment (`shard`: this client's shard of
   * `experiment.shardSource`, when the server offers one); throws when the local data does not fit it.
   * `numSamples` may change here (a browser joins with 0 and builds its shard now).
   */
  prepare(experiment: ExperimentInfo, shard?: number): Promise<void>;
  /** Trains from `global`; returns local − global. */
  fit(
    global: Float32Array,
    fit: FitSettings,
    round: number,
  ): Promise<{ delta: Float32Array; metrics: LocalMetrics }>;
}

export type ClientStatus =
  | { state: 'connecting'; attempt: number }
  | { state: 'waiting'; round: number; message: string }
  | { state: 'training'; round: number }
  | { state: 'sending'; round: number }
  | { state: 'refused'; reason: RefusalReason | string; message: string }
  | { state: 'reconnecting'; inMs: number; attempt: number; why: string }
  | { state: 'finished'; rounds: number }
  | { state: 'stopped' };

export interface ClientOptions {
  url: string;
  name: string;
  trainer: LocalTrainer;
  channels: ClientChannels;
  connect: WebSocketFactory;
  /** Previous id, to rejoin as the same client. */
  clientId?: string;
  token?: string;
  backoff?: { initialMs: number; maxMs: number; factor: number };
  onStatus?: (s: ClientStatus) => void;
  log?: (line: string) => void;
  /** Random numbers for the backoff jitter (tests pass a seeded one). */
  random?: () => number;
}

export class ClientError extends Error {
  override name = 'ClientError';
}

/** The client gives up for good (never retried): the server is not the pinned one, its signatures do not
 * verify, the class code is wrong, or this device cannot train for the experiment. `run()` ends with this
 * refusal as its last status, so the page says why instead of "Not joined". */
export class FatalClientError extends ClientError {
  override name = 'FatalClientError';
  constructor(
    readonly reason: RefusalReason | string,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_BACKOFF = { initialMs: 500, maxMs: 15_000, factor: 2 };

/** Incoming frames as an async queue, ended by the socket's close. */
class Inbox {
  private items: Uint8Array[] = [];
  private waiter: ((v: Uint8Array | null) => void) | null = null;
  closed: { code: number; reason: string } | null = null;

  push(b: Uint8Array): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(b);
    } else this.items.push(b);
  }

  end(code: number, reason: string): void {
    this.closed ??= { code, reason };
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(null);
    }
  }

  next(): Promise<Uint8Array | null> {
    const b = this.items.shift();
    if (b) return Promise.resolve(b);
    if (this.closed) return Promise.resolve(null);
    return new Promise((ok) => {
      this.waiter = ok;
    });
  }
}

export class FederatedClient {
  clientId: string | undefined;
  session: string | undefined;
  serverFingerprint: string | null = null;
  /** This client's shard of the experiment's shard source, as the server assigned it. */
  shard: number | undefined;
  /** Rounds this client contributed an update to (acknowledged). */
  roundsContributed = 0;
  lastStatus: ClientStatus = { state: 'stopped' };
  private ws: WebSocketLike | null = null;
  private stopped = false;
  private finished = false;
  private preparedFor = '';
  private readonly backoff: { initialMs: number; maxMs: number; factor: number };
  private readonly random: () => number;
  /** The training of a secure round, which runs beside the frame loop (never two trainings at once). */
  private training: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ClientOptions) {
    this.clientId = opts.clientId;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.random = opts.random ?? Math.random;
  }

  private status(s: ClientStatus): void {
    this.lastStatus = s;
    this.opts.onStatus?.(s);
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  /** Runs until the experiment finishes, `stop()` is called, or the server refuses the client for good. */
  async run(): Promise<void> {
    let attempt = 0;
    let refusal: ClientStatus | null = null;
    while (!this.stopped && !this.finished) {
      this.status({ state: 'connecting', attempt });
      let why: string;
      try {
        const welcomed = await this.session1();
        if (welcomed) attempt = 0;
        why = 'connection closed';
      } catch (e) {
        if (e instanceof FatalClientError) {
          this.stopped = true;
          refusal = { state: 'refused', reason: e.reason, message: e.message };
          this.log(`fatal (${e.reason}): ${e.message}`);
          break;
        }
        why = (e as Error).message;
      }
      if (this.stopped || this.finished) break;
      const base = Math.min(this.backoff.maxMs, this.backoff.initialMs * this.backoff.factor ** attempt);
      const inMs = Math.round(base * (0.5 + 0.5 * this.random()));
      attempt++;
      this.status({ state: 'reconnecting', inMs, attempt, why });
      this.log(`reconnecting in ${inMs} ms (${why})`);
      await sleep(inMs);
    }
    this.status(
      this.finished
        ? { state: 'finished', rounds: this.roundsContributed }
        : (refusal ?? { state: 'stopped' }),
    );
  }

  stop(): void {
    this.stopped = true;
    this.ws?.close(1000, 'client stopped');
  }

  /** One connection; resolves true when the server welcomed us. */
  private async session1(): Promise<boolean> {
    const ws = this.opts.connect(this.opts.url);
    this.ws = ws;
    ws.binaryType = 'arraybuffer';
    const inbox = new Inbox();
    const opened = new Promise<void>((ok, fail) => {
      ws.onopen = () => ok();
      ws.onerror = () => fail(new ClientError(`cannot connect to ${this.opts.url}`));
    });
    ws.onmessage = (ev) => {
      if (ev.data instanceof ArrayBuffer) inbox.push(new Uint8Array(ev.data));
      else if (ArrayBuffer.isView(ev.data)) {
        const v = ev.data as ArrayBufferView;
        inbox.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      }
    };
    ws.onclose = (ev) => inbox.end(ev.code, ev.reason);
    let welcomed = false;
    try {
      await Promise.race([
        opened,
        new Promise<void>((_, fail) => {
          const prev = ws.onclose;
          ws.onclose = (ev) => {
            prev?.(ev);
            fail(new ClientError(`connection refused or closed (${ev.code})`));
          };
        }),
      ]);
      ws.onerror = null;
      const hello = await inbox.next();
      if (!hello) throw new ClientError(`server closed before its handshake (${inbox.closed?.code})`);
      let channel: SecureChannel;
      let crypto: ClientCrypto;
      try {
        const done = await this.opts.channels.accept(hello);
        channel = done.channel;
        crypto = done.crypto;
        this.serverFingerprint = done.serverFingerprint;
        ws.send(done.reply);
      } catch (e) {
        const reason = (e as { reason?: string }).reason ?? 'handshake';
        this.status({ state: 'refused', reason, message: (e as Error).message });
        // A server that is not the pinned one, or offers a weaker suite, is never retried silently.
        throw new FatalClientError(reason, (e as Error).message);
      }
      const send = async (msg: ClientMessage) => {
        const wire = await channel.seal(encodeFrame(msg));
        if (ws.readyState !== 1) throw new ClientError('connection closed while sending');
        ws.send(wire);
      };
      const t = this.opts.trainer;
      const hi: ClientMessage = {
        type: 'hello',
        name: this.opts.name,
        backend: t.backend,
        numSamples: t.numSamples,
      };
      if (this.clientId) hi.clientId = this.clientId;
      if (this.opts.token) hi.token = this.opts.token;
      await send(hi);
      let declared = t.numSamples;
      let secure: SecureRoundClient | null = null;
      let maxFrame = maxFrameBytes(LIMITS.maxModelParams);
      let modelSize: number | undefined;
      for (;;) {
        const wire = await inbox.next();
        if (!wire) return welcomed;
        const msg: ServerMessage = decodeServerFrame(await channel.open(wire), {
          maxFrameBytes: maxFrame,
          modelSize,
        });
        switch (msg.type) {
          case 'welcome': {
            welcomed = true;
            this.clientId = msg.clientId;
            this.session = msg.session;
            this.shard = msg.shard;
            modelSize = msg.experiment.modelSize;
            // A secure round's key list and relay grow with the neighbour count k, not the model.
            maxFrame = Math.max(maxFrameBytes(modelSize), SECAGG.maxMessageBytes);
            const key = JSON.stringify([msg.experiment, msg.shard]);
            if (key !== this.preparedFor) {
              try {
                await t.prepare(msg.experiment, msg.shard);
              } catch (e) {
                throw new FatalClientError(
                  'cannot-train',
                  `this client cannot train for the experiment: ${(e as Error).message}`,
                );
              }
              this.preparedFor = key;
            }
            if (t.numSamples !== declared && t.numSamples > 0) {
              await send({ type: 'ready', numSamples: t.numSamples });
              declared = t.numSamples;
            }
            this.log(`joined session ${msg.session} as ${msg.clientId}`);
            this.status({ state: 'waiting', round: msg.round, message: `joined; ${msg.round} rounds done` });
            if (msg.phase === 'finished') {
              this.finished = true;
              return welcomed;
            }
            break;
          }
          case 'round': {
            const session = this.session;
            const clientId = this.clientId;
            if (session === undefined || clientId === undefined) {
              throw new ClientError('the server sent a round before welcoming this client');
            }
            const round = { session, round: msg.round, version: msg.version, seal: msg.seal };
            try {
              await crypto.verifyRound({ ...round, weights: msg.weights });
            } catch (e) {
              const reason = (e as { reason?: string }).reason ?? 'bad-signature';
              this.status({ state: 'refused', reason, message: (e as Error).message });
              // The channel is authenticated, so a bad signature here is the server's doing: stop trusting it.
              throw new FatalClientError(reason, (e as Error).message);
            }
            this.status({ state: 'training', round: msg.round });
            if (msg.secagg) {
              // A secure round: SecAgg+ runs while the model trains; the masked input replaces the update.
              secure?.close();
              secure = this.secureRound(msg, crypto, clientId, session, send);
              break;
            }
            await this.training; // a secure round's training still running
            const { delta, metrics } = await t.fit(msg.weights, msg.fit, msg.round);
            if (msg.fit.clipNorm !== undefined) clipInPlace(delta, msg.fit.clipNorm);
            if (ws.readyState !== 1) return welcomed;
            this.status({ state: 'sending', round: msg.round });
            const inner = encodeFrame({
              type: 'update',
              round: msg.round,
              baseVersion: msg.version,
              numSamples: t.numSamples,
              metrics,
              delta,
            });
            const envelope = await crypto.sealUpdate({ ...round, clientId, payload: inner });
            await send({ type: 'sealed-update', round: msg.round, envelope });
            break;
          }
          case 'secagg':
            if (secure?.round === msg.round) await secure.receive(msg.payload);
            else this.log(`secagg frame for round ${msg.round} ignored: no secure round of that number here`);
            break;
          case 'ack':
            this.roundsContributed++;
            this.status({
              state: 'waiting',
              round: msg.round,
              message: `update for round ${msg.round} accepted`,
            });
            break;
          case 'refused':
            this.log(`refused (${msg.reason}): ${msg.message}`);
            this.status({ state: 'refused', reason: msg.reason, message: msg.message });
            if (msg.reason === 'unauthorized') throw new FatalClientError(msg.reason, msg.message);
            break;
          case 'status':
            if (msg.phase === 'finished') {
              this.finished = true;
              ws.close(1000, 'finished');
              return welcomed;
            }
            this.status({ state: 'waiting', round: msg.round, message: msg.message });
            break;
        }
      }
    } finally {
      if (ws.readyState === 0 || ws.readyState === 1) ws.close(1000, 'client done');
      this.ws = null;
    }
  }

  /**
   * Starts this client's part of a secure round: its SecAgg+ state machine (signing with the identity its
   * connection proved) answers the server's `secagg` frames while the model trains; once trained, the
   * update (Δ, its sample count) becomes its masked input. No sealed update, no metrics in the clear.
   */
  private secureRound(
    msg: Extract<ServerMessage, { type: 'round' }>,
    crypto: ClientCrypto,
    clientId: string,
    session: string,
    send: (m: ClientMessage) => Promise<void>,
  ): SecureRoundClient {
    const identity = crypto.identity;
    if (!identity) {
      throw new FatalClientError(
        'cannot-train',
        'this client has no identity to sign secure-aggregation messages',
      );
    }
    const t = this.opts.trainer;
    const secure = new SecureRoundClient({
      clientId,
      identity,
      session,
      round: msg.round,
      noiseVariance: msg.secagg?.noiseVariance,
      noiseScale: msg.secagg?.noiseScale,
      send: (payload) => send({ type: 'secagg', round: msg.round, payload }),
      log: (line) => this.log(line),
    });
    // One training at a time: a newer round (a retry) trains after the one still running.
    const previous = this.training;
    const run = (async () => {
      await previous;
      if (secure.closed) return;
      try {
        const { delta } = await t.fit(msg.weights, msg.fit, msg.round);
        if (msg.fit.clipNorm !== undefined) clipInPlace(delta, msg.fit.clipNorm);
        this.status({ state: 'sending', round: msg.round });
        await secure.setInput(delta, t.numSamples);
      } catch (e) {
        this.log(`secure round ${msg.round}: ${(e as Error).name}: ${(e as Error).message}`);
        secure.close();
      }
    })();
    this.training = run;
    return secure;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}
