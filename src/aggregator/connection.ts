/**
 * One WebSocket connection's life on the aggregator: the post-quantum handshake (its costly steps run in the
 * crypto pool), then sealed frames only, each opened by the channel, parsed and validated by
 * `decodeClientFrame` and only then handed to the coordinator; heartbeats, the hello deadline, a
 * frame-rate limit and per-socket backpressure. A bad frame is refused with its reason (logged and
 * counted); the connection and the other clients go on.
 *
 * What a stranger can hold with one connection is bounded (issue 12):
 * - its handshake cryptography is cancelled when the socket closes (queued: dropped; running: discarded);
 * - before the channel is up, one frame (the ClientHello) may be in flight and one small one (the hello)
 *   wait behind it, each at most `HOSTILE.maxPreChannelFrameBytes`: a frame before the ServerHello, a
 *   larger one or a third one closes the connection;
 * - after it, at most `HOSTILE.maxQueuedFrames` frames wait behind the one being handled (more: closed),
 *   and all connections together hold at most `HOSTILE.maxQueuedBytes` of waiting frames (inbox-budget.ts);
 * - the hello deadline holds until `hello` is accepted, not merely until the handshake ends;
 * - wrong join tokens back off per address (guess-backoff.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { SecureChannel, ServerChannels } from '../core/channel.ts';
import { HOSTILE, PROTOCOL } from '../core/limits.ts';
import { logField } from '../core/log-field.ts';
import { decodeClientFrame, encodeFrame, ProtocolError } from '../core/protocol.ts';
import { addressKey } from './address-key.ts';
import { clientAddressOf } from './client-address.ts';
import type { Coordinator, Peer } from './coordinator.ts';
import type { GuessBackoff } from './guess-backoff.ts';
import type { HandshakeTicket } from './handshake-admission.ts';
import type { InboxBudget } from './inbox-budget.ts';

export interface ConnectionContext {
  coordinator: Coordinator;
  channels: ServerChannels;
  modelSize: number;
  /** Largest frame accepted (bytes). */
  maxFrame: number;
  log: (line: string) => void;
  /** Waiting frames' bytes, all connections together. */
  inbox: InboxBudget;
  /** Wrong join tokens per address. */
  joinGuesses: GuessBackoff;
  /** Log lines of events a flood repeats (handshake failures), at most one per kind a second. */
  floodLog: (kind: string, line: string) => void;
}

export async function serveConnection(
  ws: WebSocket,
  req: IncomingMessage,
  ctx: ConnectionContext,
  ticket: HandshakeTicket = { release() {} },
): Promise<void> {
  const { coordinator, channels, log, maxFrame, inbox } = ctx;
  const address = `${clientAddressOf(req)}:${req.socket.remotePort ?? '?'}`;
  const key = addressKey(clientAddressOf(req));
  const gone = new AbortController();
  let alive = true;
  ws.on('pong', () => {
    alive = true;
  });
  const heartbeat = setInterval(() => {
    if (!alive) {
      log(`heartbeat: ${address} missed a pong; dropping it`);
      ws.terminate();
      return;
    }
    alive = false;
    ws.ping();
  }, PROTOCOL.heartbeatMs);

  let channel: SecureChannel | null = null;
  let identity: Peer['identity'] = null;
  let joined = false;
  let flushed: Promise<void> = Promise.resolve();
  const peer: Peer = {
    address,
    get identity() {
      return identity;
    },
    async send(frame) {
      if (!channel) throw new Error('channel not established');
      const wire = await channel.seal(frame);
      if (ws.readyState !== ws.OPEN) throw new Error('connection closed');
      // Backpressure: wait for this socket's earlier frames to flush before queueing more.
      if (ws.bufferedAmount > PROTOCOL.maxBufferedBytes) await flushed;
      flushed = new Promise<void>((ok) => ws.send(wire, { binary: true }, () => ok()));
      return wire.length;
    },
    close(code, reason) {
      ws.close(code, reason);
    },
  };

  /** Set when the socket closed, or is being closed: its frames are no longer read or handled. */
  let closed = false;
  /** Refuses, counts and closes: the connection broke a bound on what it may hold. */
  function drop(reason: string, message: string, code: number, closeReason: string): void {
    closed = true;
    coordinator.refuseFrame(peer, reason, message);
    ws.close(code, closeReason);
    // The close frame goes out first; a peer that does not answer it is cut off soon after, not in ws's 30 s.
    setTimeout(() => ws.terminate(), 1000).unref();
  }

  let handshake: Awaited<ReturnType<ServerChannels['begin']>> | null = null;
  // The hello deadline times the client's turn: from our ServerHello on the wire until its hello is
  // accepted. Making the ServerHello waits in the crypto pool's queue, which many clients joining at once
  // or the pool's threads starting on a busy machine made longer than the deadline (bench/load.ts): counted
  // from the connection, it dropped clients that had done nothing wrong. Admission (handshake-admission.ts)
  // bounds how long a connection can wait for its ServerHello.
  let helloTimer: ReturnType<typeof setTimeout> | undefined;
  const startHelloDeadline = () => {
    helloTimer = setTimeout(() => {
      if (joined) return;
      const what = channel ? 'hello' : 'handshake';
      log(
        `${what}: ${address} did not join in ${PROTOCOL.helloTimeoutMs} ms after the server hello; dropped`,
      );
      coordinator.count(`${what}-timeout`);
      ws.close(1008, `${what} timeout`);
    }, PROTOCOL.helloTimeoutMs);
  };

  let window = Date.now();
  let frames = 0;
  const waiting: { bytes: Uint8Array; isBinary: boolean }[] = [];
  let busy = false;
  ws.on('message', (data, isBinary) => {
    if (closed) return;
    const now = Date.now();
    if (now - window >= 1000) {
      window = now;
      frames = 0;
    }
    if (++frames > PROTOCOL.maxFramesPerSecond) {
      return drop(
        'rate-limit',
        `more than ${PROTOCOL.maxFramesPerSecond} frames a second`,
        1008,
        'too many frames',
      );
    }
    if (!channel) {
      if (!handshake) {
        return drop('early-frame', 'a frame before the ServerHello', 1008, 'wait for the server hello');
      }
      if (byteLength(data) > HOSTILE.maxPreChannelFrameBytes) {
        return drop(
          'frame-too-large',
          `a frame of ${byteLength(data)} bytes before the channel is up (the most is ${HOSTILE.maxPreChannelFrameBytes})`,
          1009,
          'frame too large before the channel is up',
        );
      }
      // The ClientHello, and the sealed hello a client sends right behind it: nothing more until it is up.
      if (waiting.length + (busy ? 1 : 0) >= 2) {
        return drop(
          'frame-flood',
          'a third frame while the ClientHello is being checked',
          1008,
          'wait for the channel before sending more',
        );
      }
    } else if (waiting.length >= HOSTILE.maxQueuedFrames) {
      return drop(
        'frame-queue-full',
        `more than ${HOSTILE.maxQueuedFrames} frames waiting to be handled`,
        1008,
        'too many frames waiting',
      );
    }
    const bytes = toBytes(data);
    inbox.take(bytes.length, ws);
    waiting.push({ bytes, isBinary });
    void pumpFrames();
  });

  /** Frames of one connection are handled in order (opening is asynchronous), one at a time. */
  async function pumpFrames(): Promise<void> {
    if (busy) return;
    busy = true;
    try {
      for (let f = waiting.shift(); f; f = waiting.shift()) {
        try {
          if (!closed) await onFrame(f.bytes, f.isBinary);
        } finally {
          inbox.give(f.bytes.length);
        }
      }
    } finally {
      busy = false;
    }
  }

  async function onFrame(bytes: Uint8Array, isBinary: boolean): Promise<void> {
    if (!isBinary) {
      coordinator.refuseFrame(peer, 'malformed', 'text frame: the protocol is binary');
      return;
    }
    if (!channel) {
      if (!handshake) return;
      try {
        const done = await handshake.finish(bytes, gone.signal);
        channel = done.channel;
        identity = { publicKey: done.peerIdentity, fingerprint: done.peerFingerprint };
      } catch (e) {
        if (gone.signal.aborted) return;
        closed = true; // the hello queued behind it is not tried as a second ClientHello
        const reason = (e as { reason?: string }).reason ?? 'failed';
        coordinator.refuseFrame(peer, `handshake-${reason}`, `handshake refused: ${(e as Error).message}`);
        ws.close(1008, 'handshake refused');
      }
      return;
    }
    let plain: Uint8Array;
    try {
      plain = await channel.open(bytes);
    } catch (e) {
      const reason = (e as { reason?: string }).reason ?? 'tampered';
      coordinator.refuseFrame(peer, `channel-${reason}`, `sealed frame refused: ${(e as Error).message}`);
      return;
    }
    try {
      const msg = decodeClientFrame(plain, { maxFrameBytes: maxFrame, modelSize: ctx.modelSize });
      // Closed while this frame was being opened: its close was already handled, so a hello now would
      // register a client that never leaves (found by test/live-fuzz.test.ts).
      if (ws.readyState !== ws.OPEN) return;
      if (msg.type === 'hello' && !joined && !admitJoinToken(msg.token)) return;
      await coordinator.handle(peer, msg, bytes.length);
      if (msg.type === 'hello' && !joined && coordinator.hasJoined(peer)) {
        joined = true;
        clearTimeout(helloTimer);
      }
    } catch (e) {
      if (e instanceof ProtocolError) coordinator.refuseFrame(peer, e.reason, e.message);
      else {
        log(`frame from ${address}: ${(e as Error).name}: ${logField((e as Error).message)}`);
        coordinator.refuseFrame(peer, 'malformed', 'frame could not be handled');
      }
    }
  }

  /** False (and the connection refused) while this address is locked out for wrong join tokens; a wrong
   * token is recorded here, then refused by the coordinator as before. */
  function admitJoinToken(token: string | undefined): boolean {
    const wait = ctx.joinGuesses.lockedFor(key);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      coordinator.count('join-token-backoff');
      ctx.floodLog(
        'join-token-backoff',
        `hello from ${address}: locked out for wrong join tokens (${seconds} s)`,
      );
      const message = `hello: too many wrong join tokens from your address; try again in ${seconds} s`;
      void peer
        .send(encodeFrame({ type: 'refused', reason: 'unauthorized', message }))
        .catch(() => 0)
        .then(() => ws.close(1008, 'join token locked out'));
      return false;
    }
    if (!coordinator.acceptsJoinToken(token)) {
      const lock = ctx.joinGuesses.wrong(key);
      if (lock > 0) log(`hello from ${address}: wrong join token; ${key} locked out for ${lock} ms`);
    }
    return true;
  }

  ws.on('close', () => {
    closed = true;
    gone.abort();
    ticket.release();
    inbox.forget(ws);
    clearInterval(heartbeat);
    clearTimeout(helloTimer);
    coordinator.disconnected(peer);
  });
  ws.on('error', (e) => log(`socket ${address}: ${logField(e.message)}`));

  try {
    const started = await channels.begin(coordinator.session, gone.signal);
    if (closed) return;
    handshake = started;
    ws.send(handshake.hello, { binary: true });
    startHelloDeadline();
  } catch (e) {
    if (gone.signal.aborted || closed) return;
    coordinator.count('handshake-failed');
    ctx.floodLog('handshake-failed', `handshake: could not start for ${address}: ${(e as Error).message}`);
    ws.close(1011, 'handshake failed');
  } finally {
    ticket.release();
  }
}

function byteLength(data: Buffer | ArrayBuffer | Buffer[]): number {
  return Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
}

function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
