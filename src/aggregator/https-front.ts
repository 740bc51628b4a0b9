/**
 * One port for both schemes when the server speaks HTTPS: a student who types the short address without
 * `https://` (browsers try plain HTTP first for an address) would otherwise get an empty response. The
 * first byte of a connection tells them apart: 0x16 opens a TLS handshake record (RFC 8446 §5.1) and goes on
 * to the HTTPS server's own TLS handling; anything else is plain HTTP, answered with a 308 redirect to the
 * same host and path over https. A connection that sends nothing within `HTTPS_FRONT.firstByteMs` is closed.
 * The HTTPS server itself listens (so its own connection tracking and timeouts apply); only the dispatch of
 * its new connections is wrapped.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { HTTPS_FRONT } from '../core/limits.ts';

/** The TLS record type of a handshake (ClientHello). */
const TLS_HANDSHAKE = 0x16;

/** A Host header fit to put in a Location: a name or address and an optional port, nothing else. */
const PLAIN_HOST = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

export class HttpsFrontError extends Error {
  override name = 'HttpsFrontError';
}

/**
 * Makes `https` (an `https.Server`, before it listens) redirect plain HTTP on its port. Returns what ends
 * the connections it holds itself (no first byte yet, or being redirected), for shutdown.
 */
export function redirectPlainHttp(https: HttpServer): { closeAllConnections(): void } {
  const tlsListeners = https.listeners('connection') as ((socket: Socket) => void)[];
  if (tlsListeners.length !== 1)
    throw new HttpsFrontError(
      `expected the HTTPS server to have one connection listener (its TLS one), found ${tlsListeners.length}`,
    );
  const tlsConnection = tlsListeners[0]!;
  const redirect = createHttpServer((req, res) => {
    const host = req.headers.host ?? '';
    res.setHeader('Connection', 'close');
    if (!PLAIN_HOST.test(host)) {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('This server speaks HTTPS: open it with https://\n');
      return;
    }
    const path = (req.url ?? '/').startsWith('/') ? (req.url ?? '/') : '/';
    res.writeHead(308, { Location: `https://${host}${path}`, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`This server speaks HTTPS: https://${host}${path}\n`);
  });
  const held = new Set<Socket>();
  https.removeAllListeners('connection');
  https.on('connection', (socket: Socket) => {
    held.add(socket);
    socket.once('close', () => held.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(HTTPS_FRONT.firstByteMs, () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      if (first[0] === TLS_HANDSHAKE) {
        socket.setTimeout(0);
        held.delete(socket);
        tlsConnection.call(https, socket);
      } else {
        // Plain HTTP keeps the deadline (the redirect server does not listen, so no timeouts of its own).
        redirect.emit('connection', socket);
      }
      process.nextTick(() => socket.resume());
    });
  });
  return {
    closeAllConnections() {
      for (const s of held) s.destroy();
    },
  };
}
