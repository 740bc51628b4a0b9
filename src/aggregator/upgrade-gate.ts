/**
 * The checks an HTTP upgrade to `/ws` passes before any cryptography is spent on it: the path, the
 * browser's Origin, and the number of connections from one address. Cheap checks first; a refused upgrade
 * is answered with a plain HTTP status and counted by reason.
 *
 * The Origin is compared with the origins the server was configured to be reached at (network.ts
 * `browserOrigins`: public URL, loopback names, hostname, LAN addresses, the experiment's
 * `allowedOrigins`), never with the request's own `Host` header: a DNS-rebinding page at
 * `http://evil.example:PORT` sends `Host: evil.example:PORT` and a matching Origin.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { PROTOCOL } from '../core/limits.ts';
import { resolveClientAddress } from './client-address.ts';
import type { Coordinator } from './coordinator.ts';
import { throttledLog } from './log-throttle.ts';
import { refuseUpgrade } from './upgrade-refusal.ts';

export interface UpgradeGateOptions {
  coordinator: Coordinator;
  /** The browser origins allowed to connect (read at each upgrade: the set is known once the port is). */
  origins: () => ReadonlySet<string>;
  /** Take the client address from `Forwarded`/`X-Forwarded-For` (behind a reverse proxy only). */
  trustProxy?: boolean;
  log: (line: string) => void;
}

export interface UpgradeGate {
  /** True when the upgrade may proceed (the socket is then counted until it closes); false when it was
   * refused and the socket ended. */
  admit(req: IncomingMessage, socket: Duplex): boolean;
}

export function upgradeGate(opts: UpgradeGateOptions): UpgradeGate {
  const { coordinator } = opts;
  // A flood from one address meets these refusals thousands of times a second: one line a second per kind.
  const log = throttledLog(opts.log);
  const perAddress = new Map<string, number>();
  return {
    admit(req, socket) {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== '/ws') {
        refuseUpgrade(socket, 'HTTP/1.1 404 Not Found\r\n\r\n');
        return false;
      }
      const ip = resolveClientAddress(req, opts.trustProxy ?? false);
      // Browsers always send Origin: only a page at one of the server's configured origins may connect, so
      // a page elsewhere cannot use a visitor's browser to join. Node clients send none.
      const origin = req.headers.origin;
      if (origin !== undefined && !opts.origins().has(origin)) {
        coordinator.count('origin-refused');
        log('origin-refused', `upgrade: refused Origin ${JSON.stringify(origin.slice(0, 100))} from ${ip}`);
        refuseUpgrade(socket, 'HTTP/1.1 403 Forbidden\r\n\r\n');
        return false;
      }
      if ((perAddress.get(ip) ?? 0) >= PROTOCOL.maxConnectionsPerAddress) {
        coordinator.count('too-many-connections');
        log(
          'too-many-connections',
          `upgrade: ${ip} already has ${PROTOCOL.maxConnectionsPerAddress} connections; refused`,
        );
        refuseUpgrade(socket, 'HTTP/1.1 429 Too Many Requests\r\n\r\n');
        return false;
      }
      perAddress.set(ip, (perAddress.get(ip) ?? 0) + 1);
      socket.once('close', () => {
        const n = (perAddress.get(ip) ?? 1) - 1;
        if (n <= 0) perAddress.delete(ip);
        else perAddress.set(ip, n);
      });
      return true;
    },
  };
}
