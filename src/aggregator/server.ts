/**
 * The aggregator's network face: one Node HTTP server (HTTPS when given a certificate: tls.ts) serves the
 * built app (with the cross-origin isolation headers WASM threads need), `/healthz`, `/api/status`,
 * `/api/explain`, `/api/benchmarks`, the admin API (http/admin.ts) and, on `/ws`, the federated protocol
 * through `ws` in noServer mode (permessage-deflate off, `maxPayload` derived from the model size). An
 * upgrade passes the cheap checks of upgrade-gate.ts before any cryptography; each admitted connection
 * lives in connection.ts. Client addresses come from client-address.ts (`--trust-proxy`).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { ServerChannels } from '../core/channel.ts';
import { maxFrameBytes, PROTOCOL } from '../core/limits.ts';
import { logField } from '../core/log-field.ts';
import { BenchmarkStore } from './benchmarks.ts';
import { resolveClientAddress } from './client-address.ts';
import { serveConnection } from './connection.ts';
import type { Coordinator } from './coordinator.ts';
import { GuessBackoff } from './guess-backoff.ts';
import { type AdmissionLimits, handshakeAdmission } from './handshake-admission.ts';
import { adminRoutes } from './http/admin.ts';
import { type ExplainSource, explainRoute } from './http/explain.ts';
import { json } from './http/respond.ts';
import { redirectPlainHttp } from './https-front.ts';
import { InboxBudget } from './inbox-budget.ts';
import { throttledLog } from './log-throttle.ts';
import { SECURITY_HEADERS, serveStatic } from './static.ts';
import { upgradeGate } from './upgrade-gate.ts';

export interface AggregatorServerOptions {
  coordinator: Coordinator;
  channels: ServerChannels;
  modelSize: number;
  adminToken: string;
  /** Folder of the built app (dist/); null serves the API only. */
  staticRoot: string | null;
  /** The browser origins allowed to open `/ws` (network.ts `browserOrigins`), read at each upgrade; absent:
   * none (browsers are refused, Node clients, which send no Origin, connect). */
  browserOrigins?: () => ReadonlySet<string>;
  /** A certificate and key (PEM): the app, the API and `wss` are served over HTTPS. */
  tls?: { cert: string; key: string };
  /** Behind a reverse proxy: the client address (limits, logs) comes from `Forwarded`/`X-Forwarded-For`. */
  trustProxy?: boolean;
  /** The server's public base URL (e.g. `http://192.168.1.5:8080`), or a getter for it once the port is
   * bound: /api/status's `join` link is built on it (null in the status when there is none). */
  publicUrl?: string | (() => string | undefined);
  /** The global model as tfjs artifacts (src/model/exported.ts), for `GET /api/admin/model`. */
  exportModel?: () => unknown;
  /** Explanations of the global model on the held-out rows, for the public `GET /api/explain`. */
  explain?: ExplainSource;
  log?: (line: string) => void;
  /** Handshake admission limits (default: `HOSTILE`'s); only local harnesses relax them. */
  admission?: Partial<AdmissionLimits>;
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
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxFrame, perMessageDeflate: false });
  const benchmarks = new BenchmarkStore(opts.dataDir ?? null, log);
  const admin = adminRoutes({
    coordinator,
    channels,
    adminToken: opts.adminToken,
    ...(opts.exportModel && { exportModel: opts.exportModel }),
    guesses: new GuessBackoff(),
    log,
  });
  const trustProxy = opts.trustProxy ?? false;
  const noOrigins: ReadonlySet<string> = new Set();
  const gate = upgradeGate({
    coordinator,
    origins: opts.browserOrigins ?? (() => noOrigins),
    trustProxy,
    log,
  });
  // Rate and concurrency of handshakes per address, before any cryptography (handshake-admission.ts).
  const admission = handshakeAdmission({
    coordinator,
    log,
    ...(opts.admission && { limits: opts.admission }),
  });
  const connection = {
    coordinator,
    channels,
    modelSize: opts.modelSize,
    maxFrame,
    log,
    inbox: new InboxBudget(),
    joinGuesses: new GuessBackoff(),
    floodLog: throttledLog(log),
  };
  const explain = explainRoute(opts.explain, (reason) => coordinator.count(reason));

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    resolveClientAddress(req, trustProxy);
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    handleHttp(req, res).catch((e: Error) => {
      log(`http ${logField(req.method)} ${logField(req.url)}: ${e.name}: ${logField(e.message)}`);
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
    });
  };
  const server: Server = opts.tls ? createHttpsServer(opts.tls, onRequest) : createServer(onRequest);
  // HTTPS: plain HTTP on the same port is redirected to https (https-front.ts).
  const front = opts.tls ? redirectPlainHttp(server) : null;

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (path === '/healthz') return json(res, 200, { ok: true });
    if (path === '/api/status' && req.method === 'GET') {
      const base = typeof opts.publicUrl === 'function' ? opts.publicUrl() : opts.publicUrl;
      const join = base ? `${base.replace(/\/+$/, '')}/?autojoin=1#fp=${channels.fingerprint ?? ''}` : null;
      const listed = PROTOCOL.statusListedClients;
      return json(res, 200, { ...coordinator.status(channels.fingerprint, { listed }), join });
    }
    if (path === '/api/explain') return explain(req, res, url);
    if (path === '/api/benchmarks') return benchmarks.handle(req, res);
    if (path.startsWith('/api/admin/')) return admin(req, res, path.slice('/api/admin/'.length));
    if (path.startsWith('/api/')) return json(res, 404, { error: `no such endpoint ${path}` });
    if (opts.staticRoot) return serveStatic(req, res, opts.staticRoot, path);
    return json(res, 404, { error: 'this server has no app to serve' });
  }

  server.on('upgrade', (req, socket, head) => {
    // Node hands an upgrading socket over without its error listener: a client that resets it while it is
    // refused (a flood does) would otherwise end the process with an unhandled ECONNRESET.
    socket.on('error', () => socket.destroy());
    if (!gate.admit(req, socket)) return;
    const ticket = admission.admit(req, socket);
    if (!ticket) return;
    wss.handleUpgrade(req, socket, head, (ws) => void serveConnection(ws, req, connection, ticket));
  });

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
      front?.closeAllConnections();
      await closed;
    },
  };
}
