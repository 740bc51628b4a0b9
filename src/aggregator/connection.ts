/**
 * One WebSocket connection's life on the aggregator: the post-quantum handshake (its costly steps run in the
 * crypto pool), then sealed frames only, each opened by the channel, parsed and validated by
 * `decodeClientFrame` and only then handed to the coordinator; heartbeats, the handshake deadline, a
 * frame-rate limit and per-socket backpressure. A bad frame is refused with its reason (logged and
 * counted); the connection and the other clients go on.
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { SecureChannel, ServerChannels } from '../core/channel.ts';
import { PROTOCOL } from '../core/limits.ts';
import { decodeClientFrame, ProtocolError } from '../core/protocol.ts';
import type { Coordinator, Peer } from './coordinator.ts';

export interface ConnectionContext {
  coordinator: Coordinator;
  channels: ServerChannels;
  modelSize: number;
  /** Largest frame accepted (bytes). */
  maxFrame: number;
  log: (line: string) => void;
}

export async function serveConnection(
  ws: WebSocket,
  req: IncomingMessage,
  ctx: ConnectionContext,
): Promise<void> {
  const { coordinator, channels, log, maxFrame } = ctx;
  const address = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
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

  let handshake: Awaited<ReturnType<ServerChannels['begin']>> | null = null;
  const helloTimer = setTimeout(() => {
    if (!channel) {
      log(`handshake: ${address} did not complete the handshake in ${PROTOCOL.helloTimeoutMs} ms`);
      coordinator.count('handshake-timeout');
      ws.close(1008, 'handshake timeout');
    }
  }, PROTOCOL.helloTimeoutMs);

  let window = Date.now();
  let frames = 0;
  let queue: Promise<void> = Promise.resolve();
  ws.on('message', (data, isBinary) => {
    const now = Date.now();
    if (now - window >= 1000) {
      window = now;
      frames = 0;
    }
    if (++frames > PROTOCOL.maxFramesPerSecond) {
      coordinator.refuseFrame(peer, 'rate-limit', `more than ${PROTOCOL.maxFramesPerSecond} frames a second`);
      ws.close(1008, 'too many frames');
      return;
    }
    const bytes = toBytes(data);
    // Frames of one connection are handled in order (opening is asynchronous).
    queue = queue.then(() => onFrame(bytes, isBinary));
  });

  async function onFrame(bytes: Uint8Array, isBinary: boolean): Promise<void> {
    if (!isBinary) {
      coordinator.refuseFrame(peer, 'malformed', 'text frame: the protocol is binary');
      return;
    }
    if (!channel) {
      // A frame before our hello was even sent (the hello is made in the crypto pool): a client that did
      // not wait for it; dropped, and the hello timeout still applies.
      if (!handshake) return;
      try {
        const done = await handshake.finish(bytes);
        channel = done.channel;
        identity = { publicKey: done.peerIdentity, fingerprint: done.peerFingerprint };
        clearTimeout(helloTimer);
      } catch (e) {
        const reason = (e as { reason?: string }).reason ?? 'handshake';
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
      await coordinator.handle(peer, msg, bytes.length);
    } catch (e) {
      if (e instanceof ProtocolError) coordinator.refuseFrame(peer, e.reason, e.message);
      else {
        log(`frame from ${address}: ${(e as Error).name}: ${(e as Error).message}`);
        coordinator.refuseFrame(peer, 'malformed', 'frame could not be handled');
      }
    }
  }

  ws.on('close', () => {
    clearInterval(heartbeat);
    clearTimeout(helloTimer);
    coordinator.disconnected(peer);
  });
  ws.on('error', (e) => log(`socket ${address}: ${e.message}`));

  try {
    handshake = await channels.begin(coordinator.session);
    ws.send(handshake.hello, { binary: true });
  } catch (e) {
    log(`handshake: could not start for ${address}: ${(e as Error).message}`);
    ws.close(1011, 'handshake failed');
  }
}

function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
