import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { handshakeAdmission } from './handshake-admission.ts';

const REQUEST =
  'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

let server: Server | null = null;
const clients: Socket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
  server = null;
});

const connections = (s: Server) =>
  new Promise<number>((ok, fail) => s.getConnections((e, n) => (e ? fail(e) : ok(n))));

describe('a refused upgrade', () => {
  it('is answered with its status and closed by the server, even when the client never closes its side', async () => {
    // Every upgrade refused (an empty bucket): the server's raw-upgrade path, on real loopback sockets.
    const admission = handshakeAdmission({
      coordinator: { count() {} },
      log: () => {},
      limits: { upgradeBurst: 0, upgradesPerSecond: 1 },
    });
    const s = createServer();
    server = s;
    s.on('upgrade', (req, socket) => {
      socket.on('error', () => socket.destroy());
      admission.admit(req, socket)?.release();
    });
    await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
    const port = (s.address() as AddressInfo).port;
    const n = 20;
    // Clients that read the answer and the server's end, and never end or close their own side.
    const answers = await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<{ head: string; ended: boolean }>((ok) => {
            const c = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
            clients.push(c);
            let head = '';
            c.on('data', (d: Buffer) => {
              head += d.toString('latin1');
            });
            c.on('end', () => ok({ head, ended: true }));
            c.on('error', () => ok({ head, ended: false }));
            c.write(REQUEST);
          }),
      ),
    );
    for (const a of answers) {
      expect(a.head).toMatch(/^HTTP\/1.1 429 Too Many Requests\r\n.*Retry-After: 1\r\n/s);
      expect(a.ended).toBe(true);
    }
    // The server holds none of them (they were half-closed and held until the client closed).
    const deadline = Date.now() + 5000;
    while ((await connections(s)) > 0 && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 20));
    expect(await connections(s)).toBe(0);
  });
});
