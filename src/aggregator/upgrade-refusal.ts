/**
 * How a refused WebSocket upgrade is answered: its HTTP status line, then the socket is destroyed at once
 * rather than half-closed. A fresh socket's send buffer takes the few bytes whole, so the client still
 * reads the status (and its Retry-After); the server then neither keeps the socket until the client
 * closes its side (a flooder that never does held one descriptor per refusal) nor builds an ECONNRESET
 * error when the client resets it (a flood's every refusal did). Issue 12, finding 1.
 */
import type { Duplex } from 'node:stream';

export function refuseUpgrade(socket: Duplex, response: string): void {
  socket.end(response);
  socket.destroy();
}
