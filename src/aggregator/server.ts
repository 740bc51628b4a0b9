/**
 * The aggregator's network face: one Node HTTP server serves the built app (with the cross-origin isolation
 * headers WASM threads need), `/healthz`, `/api/status`, the admin API (bearer admin token) and, on `/ws`,
 * the federated protocol through `ws` in noServer mode: permessage-deflate off, `maxPayload` derived from the
 * model size, heartbeats, a handshake deadline, a frame-rate limit, and per-socket backpressure.
 *
 * A connection goes: server hello → client reply (the channel is established) → sealed frames only. Every
 * frame is opened by the channel, then parsed and validated by `decodeClientFrame`, and only then handed to
 * the coordinator. A bad frame is refused with its reason (logged and counted); the connection and the other
 * clients go on.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import type { SecureChannel, ServerChannels } from '../core/channel.ts';
import { maxFrameBytes, PROTOCOL } from '../core/limits.ts';
import { decodeClientFrame, ProtocolError } from '../core/protocol.ts';
import type { Explanation, FlowSuggestion } from '../model/explain.ts';
import { BenchmarkStore } from './benchmarks.ts';
import { ROUND_FIELDS } from './checkpoint.ts';
import { ConfigError, parseConfig } from './config.ts';
import { type Coordinator, type Peer, sameSecret } from './coordinator.ts';
import { SECURITY_HEADERS, serveStatic } from './static.ts';

export interface AggregatorServerOptions {
  coordinator: Coordinator;
  channels: ServerChannels;
  modelSize: number;
  adminToken: string;
  /** Folder of the built app (dist/); null serves the API only. */
  staticRoot: string | null;
  /** Browser origins allowed besides the server's own. */
  allowedOrigins?: string[];
  /** The server's public base URL (e.g. `http://192.168.1.5:8080`), or a getter for it once the port is
   * bound: /api/status's `join` link is built on it (null in the status when there is none). */
  publicUrl?: string | (() => string | undefined);
  /** The global model as tfjs artifacts (src/model/exported.ts), for `GET /api/admin/model`. */
  exportModel?: () => unknown;
  /** Explanations of the global model on the held-out rows, for the public `GET /api/explain`. */
  explain?: {
    /** Rows that can be explained: `row` is in [0, rows). */
    rows: number;
    explain(row: number): Promise<Explanation>;
    suggestions(): Promise<FlowSuggestion[]>;
  };
  log?: (line: string) => void;
  /** Where the browser benchmark table (`benchmarks.json`) is kept; null or absent: in memory only. */
  dataDir?: string | null;
}

export interface AggregatorServer {
  server: Server;
  wss: WebSocketServer;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

export function newAdminToken(): string {
  return randomBytes(24).toString('base64url');
}

export function createAggregatorServer(opts: AggregatorServerOptions): AggregatorServer {
  const { coordinator, channels } = opts;
  const log = opts.log ?? (() => {});
  const maxFrame = maxFrameBytes(opts.modelSize);
  const perAddress = new Map<string, number>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxFrame, perMessageDeflate: false });
  const benchmarks = new BenchmarkStore(opts.dataDir ?? null, log);

  const server = createServer((req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    handleHttp(req, res).catch((e: Error) => {
      log(`http ${req.method} ${req.url}: ${e.name}: ${e.message}`);
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
    });
  });

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (path === '/healthz') return json(res, 200, { ok: true });
    if (path === '/api/status' && req.method === 'GET') {
      const base = typeof opts.publicUrl === 'function' ? opts.publicUrl() : opts.publicUrl;
      const join = base ? `${base.replace(/\/+$/, '')}/?autojoin=1#fp=${channels.fingerprint ?? ''}` : null;
      return json(res, 200, { ...coordinator.status(channels.fingerprint), join });
    }
    if (path === '/api/explain') return explain(req, res, url);
    if (path === '/api/benchmarks') return benchmarks.handle(req, res);
    if (path.startsWith('/api/admin/')) return admin(req, res, path.slice('/api/admin/'.length));
    if (path.startsWith('/api/')) return json(res, 404, { error: `no such endpoint ${path}` });
    if (opts.staticRoot) return serveStatic(req, res, opts.staticRoot, path);
    return json(res, 404, { error: 'this server has no app to serve' });
  }

  /** `GET /api/explain` → `{rows, suggestions}`; `GET /api/explain?row=N` → one flow's explanation. */
  async function explain(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'GET') return json(res, 405, { error: 'explain: use GET' });
    const ex = opts.explain;
    if (!ex) return json(res, 404, { error: 'explain: this server has no explainer' });
    const given = url.searchParams.getAll('row');
    if (given.length === 0) return json(res, 200, { rows: ex.rows, suggestions: await ex.suggestions() });
    const raw = given[0]!;
    const shown = JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
    const row = given.length === 1 && /^(0|[1-9][0-9]{0,9})$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(row < ex.rows)) {
      const expected =
        ex.rows > 0
          ? `one integer in [0, ${ex.rows}) (a held-out row, 0 to ${ex.rows - 1})`
          : 'nothing: there are no held-out rows';
      const got = given.length > 1 ? `${given.length} row parameters` : shown;
      return json(res, 400, { error: `explain: row must be ${expected}, got ${got}` });
    }
    return json(res, 200, await ex.explain(row));
  }

  async function admin(req: IncomingMessage, res: ServerResponse, action: string): Promise<void> {
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (!token || !sameSecret(token, opts.adminToken)) {
      coordinator.count('admin-unauthorized');
      log(`admin ${action}: refused, missing or wrong admin token from ${req.socket.remoteAddress}`);
      return json(res, 401, { error: 'admin token required: send "Authorization: Bearer <token>"' });
    }
    if (action === 'export' && req.method === 'GET') {
      const status = coordinator.status(channels.fingerprint);
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.searchParams.get('format') === 'csv') {
        res.setHeader('Content-Type', 'text/csv; charset=utf-8');
        res.end(historyCsv(status.history));
        return;
      }
      return json(res, 200, status);
    }
    if (action === 'model' && req.method === 'GET') {
      if (!opts.exportModel) return json(res, 404, { error: 'admin model: this server has no model export' });
      return json(res, 200, opts.exportModel());
    }
    if (req.method !== 'POST') return json(res, 405, { error: `admin ${action}: use POST` });
    switch (action) {
      case 'start':
        coordinator.start();
        break;
      case 'pause':
        coordinator.pause();
        break;
      case 'stop':
        coordinator.stop();
        break;
      case 'config': {
        let change: Record<string, unknown>;
        try {
          change = JSON.parse(await readBody(req, 64 * 1024)) as Record<string, unknown>;
        } catch (e) {
          if (e instanceof ConfigError) return json(res, 413, { error: e.message });
          return json(res, 400, { error: 'admin config: expected a JSON object' });
        }
        if (typeof change !== 'object' || change === null || Array.isArray(change)) {
          return json(res, 400, { error: 'admin config: expected a JSON object' });
        }
        const allowed = ['rounds', 'clientsPerRound', 'strategy', 'strategyParams'];
        const extra = Object.keys(change).filter((k) => !allowed.includes(k));
        if (extra.length) {
          return json(res, 400, {
            error: `admin config: only ${allowed.join(', ')} can change, got ${extra}`,
          });
        }
        try {
          const parsed = parseConfig(change);
          coordinator.reconfigure({
            ...(change.rounds !== undefined && { rounds: parsed.rounds }),
            ...(change.clientsPerRound !== undefined && { clientsPerRound: parsed.clientsPerRound }),
            ...(change.strategy !== undefined && { strategy: parsed.strategy }),
            ...(change.strategyParams !== undefined && { strategyParams: parsed.strategyParams }),
          });
        } catch (e) {
          if (e instanceof ConfigError) return json(res, 400, { error: e.message });
          throw e;
        }
        break;
      }
      default:
        return json(res, 404, {
          error: `no admin action "${action}" (start, pause, stop, config, export, model)`,
        });
    }
    log(`admin ${action}`);
    const s = coordinator.status(channels.fingerprint);
    return json(res, 200, { ok: true, phase: s.phase, round: s.round });
  }

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    // Browsers always send Origin: only the server's own page (or a configured origin) may connect, so a
    // page elsewhere cannot use a visitor's browser to join. Node clients send none.
    const origin = req.headers.origin;
    if (origin !== undefined) {
      const own = [`http://${req.headers.host}`, `https://${req.headers.host}`];
      if (!own.includes(origin) && !(opts.allowedOrigins ?? []).includes(origin)) {
        coordinator.count('origin-refused');
        log(`upgrade: refused Origin ${origin.slice(0, 100)} from ${req.socket.remoteAddress}`);
        socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
        return;
      }
    }
    const ip = req.socket.remoteAddress ?? '?';
    if ((perAddress.get(ip) ?? 0) >= PROTOCOL.maxConnectionsPerAddress) {
      coordinator.count('too-many-connections');
      log(`upgrade: ${ip} already has ${PROTOCOL.maxConnectionsPerAddress} connections; refused`);
      socket.end('HTTP/1.1 429 Too Many Requests\r\n\r\n');
      return;
    }
    perAddress.set(ip, (perAddress.get(ip) ?? 0) + 1);
    socket.once('close', () => {
      const n = (perAddress.get(ip) ?? 1) - 1;
      if (n <= 0) perAddress.delete(ip);
      else perAddress.set(ip, n);
    });
    wss.handleUpgrade(req, socket, head, (ws) => void connection(ws, req));
  });

  async function connection(ws: WebSocket, req: IncomingMessage): Promise<void> {
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
        coordinator.refuseFrame(
          peer,
          'rate-limit',
          `more than ${PROTOCOL.maxFramesPerSecond} frames a second`,
        );
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
        const msg = decodeClientFrame(plain, { maxFrameBytes: maxFrame, modelSize: opts.modelSize });
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

  return {
    server,
    wss,
    listen(port, host) {
      return new Promise((ok, fail) => {
        server.once('error', fail);
        server.listen(port, host, () => ok((server.address() as AddressInfo).port));
      });
    },
    async close() {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((ok) => wss.close(() => ok()));
      // close() waits for every open connection to end: a page polling /api/status with keep-alive, or a
      // request in flight, would hold it. Ending them right after it stops accepting is what shutdown means.
      const closed = new Promise<void>((ok) => server.close(() => ok()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.statusCode = code;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        fail(new ConfigError(`request body: at most ${max} bytes accepted`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

export const HISTORY_COLUMNS = [...ROUND_FIELDS, 'outcome', 'strategy', 'cryptoSeconds'] as const;

export function historyCsv(history: Record<string, unknown>[]): string {
  const lines = [HISTORY_COLUMNS.join(',')];
  for (const h of history) lines.push(HISTORY_COLUMNS.map((k) => String(h[k] ?? '')).join(','));
  return `${lines.join('\n')}\n`;
}
