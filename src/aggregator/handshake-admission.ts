/**
 * Who may make the aggregator spend a handshake's cryptography (an ML-DSA-65 signature and a KEM key
 * generation, ≈12 ms of a thread): checked on the raw upgrade, before `ws` answers it, so a refusal costs
 * an HTTP status line and nothing else (issue 12, finding 1: one address opened 1,840 upgrades a second).
 * - a token bucket per address (address-key.ts): `HOSTILE.upgradeBurst` upgrades at once, refilled at
 *   `upgradesPerSecond`; beyond it, HTTP 429 with Retry-After, counted `upgrade-rate-limited`;
 * - at most `handshakesPerAddress` handshakes of one address whose cryptography is queued or running
 *   (HTTP 503, `handshake-busy-address`), and `handshakesInFlight` over all addresses
 *   (HTTP 503, `handshake-busy`).
 * An admitted upgrade holds a ticket until its ServerHello is made (or its socket closes); the crypto pool
 * drops the queued work of a closed socket (open-pool.ts), so a client that closes right after the 101
 * frees its place at once.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { HOSTILE } from '../core/limits.ts';
import { addressKey, BoundedMap } from './address-key.ts';
import { clientAddressOf } from './client-address.ts';
import type { Coordinator } from './coordinator.ts';
import { throttledLog } from './log-throttle.ts';
import { refuseUpgrade } from './upgrade-refusal.ts';

export interface AdmissionLimits {
  upgradesPerSecond: number;
  upgradeBurst: number;
  handshakesPerAddress: number;
  handshakesInFlight: number;
}

/**
 * No limits: for harnesses whose every client is local and started by themselves (`pqfed simulate`,
 * `pqfed bench`), where hundreds of clients join from one loopback address at once. Never for `serve`.
 */
export const TRUSTED_LOCAL_ADMISSION: AdmissionLimits = {
  upgradesPerSecond: Number.POSITIVE_INFINITY,
  upgradeBurst: Number.POSITIVE_INFINITY,
  handshakesPerAddress: Number.POSITIVE_INFINITY,
  handshakesInFlight: Number.POSITIVE_INFINITY,
};

/** The crypto pool's handshake queue for those harnesses: as deep as its update queue. */
export const TRUSTED_LOCAL_HANDSHAKE_QUEUE = 4096;

/** A place in the handshake queue; `release` is idempotent. */
export interface HandshakeTicket {
  release(): void;
}

export interface HandshakeAdmission {
  /** A ticket when the upgrade may go on; null when it was refused (answered, counted, socket ended). */
  admit(req: IncomingMessage, socket: Duplex): HandshakeTicket | null;
  /** Handshakes holding a ticket now. */
  readonly inFlight: number;
}

interface Bucket {
  tokens: number;
  at: number;
  inFlight: number;
}

export function handshakeAdmission(opts: {
  coordinator: Pick<Coordinator, 'count'>;
  log: (line: string) => void;
  limits?: Partial<AdmissionLimits>;
  now?: () => number;
}): HandshakeAdmission {
  const limits: AdmissionLimits = { ...HOSTILE, ...opts.limits };
  const now = opts.now ?? (() => performance.now());
  const buckets = new BoundedMap<Bucket>(HOSTILE.maxTrackedAddresses);
  const log = throttledLog(opts.log);
  let inFlight = 0;

  function refuse(socket: Duplex, status: string, reason: string, line: string, extra = ''): null {
    opts.coordinator.count(reason);
    log(reason, line);
    refuseUpgrade(socket, `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n${extra}\r\n`);
    return null;
  }

  return {
    get inFlight() {
      return inFlight;
    },
    admit(req, socket) {
      const key = addressKey(clientAddressOf(req));
      const t = now();
      const b = buckets.touch(key, () => ({ tokens: limits.upgradeBurst, at: t, inFlight: 0 }));
      const refill = Number.isFinite(limits.upgradesPerSecond)
        ? ((t - b.at) / 1000) * limits.upgradesPerSecond
        : Number.POSITIVE_INFINITY;
      b.tokens = Math.min(limits.upgradeBurst, b.tokens + refill);
      b.at = t;
      if (b.tokens < 1) {
        const wait = Math.ceil((1 - b.tokens) / limits.upgradesPerSecond);
        return refuse(
          socket,
          '429 Too Many Requests',
          'upgrade-rate-limited',
          `upgrade: ${key} starts more than ${limits.upgradesPerSecond} connections a second; refused`,
          `Retry-After: ${wait}\r\n`,
        );
      }
      if (b.inFlight >= limits.handshakesPerAddress) {
        return refuse(
          socket,
          '503 Service Unavailable',
          'handshake-busy-address',
          `upgrade: ${key} already has ${limits.handshakesPerAddress} handshakes waiting; refused`,
          'Retry-After: 1\r\n',
        );
      }
      if (inFlight >= limits.handshakesInFlight) {
        return refuse(
          socket,
          '503 Service Unavailable',
          'handshake-busy',
          `upgrade: ${limits.handshakesInFlight} handshakes are waiting; refused ${key}`,
          'Retry-After: 1\r\n',
        );
      }
      b.tokens -= 1;
      b.inFlight++;
      inFlight++;
      let held = true;
      const ticket = {
        release() {
          if (!held) return;
          held = false;
          b.inFlight--;
          inFlight--;
        },
      };
      socket.once('close', ticket.release);
      return ticket;
    },
  };
}
