/**
 * Which channel a `serve`/`simulate` run uses, as plain data (it crosses into worker threads). The default
 * and only channel of the CLI is the post-quantum one; the plaintext channel exists for protocol unit tests.
 */
import { loadOrCreateServerIdentity } from '../aggregator/identity-store.ts';
import { createOpenPool } from '../aggregator/open-pool.ts';
import type { ClientChannels, ServerChannels } from '../core/channel.ts';
import { generateIdentity } from '../crypto/identity.ts';
import { pqClientChannels, pqServerChannels } from '../crypto/pq-channels.ts';
import type { KemSuite } from '../crypto/suites.ts';

export interface ChannelSpec {
  kind: 'pq';
  /** The server fingerprint the client pins. */
  pinnedFingerprint: string;
  minimumSuite: KemSuite;
}

/** A client's side, with a fresh ML-DSA-65 identity for this client. */
export async function clientChannelsFor(spec: ChannelSpec): Promise<ClientChannels> {
  return pqClientChannels({
    identity: generateIdentity(),
    pinnedFingerprint: spec.pinnedFingerprint,
    minimumSuite: spec.minimumSuite,
  });
}

export interface ServerChannelsOptions {
  /**
   * Worker threads that open sealed updates and run the handshakes' costly steps
   * (src/aggregator/open-pool.ts); 0 runs them on the event loop's thread. Default: available cores − 1,
   * at least 1.
   */
  openThreads?: number;
  /** Most handshake steps waiting in the pool (default `HOSTILE.maxQueuedHandshakes`, which `serve`'s
   * admission limits keep it below); local harnesses that let hundreds join at once raise it. */
  maxHandshakeQueue?: number;
}

/**
 * The server's channels for a run whose identity lives in `dataDir`, what its clients need to pin it, and
 * `close`, which ends the threads that open updates: pass it as `startAggregator`'s `release`.
 */
export async function serverChannelsFor(
  dataDir: string,
  suite: KemSuite = 'xwing',
  options: ServerChannelsOptions = {},
): Promise<{ server: ServerChannels; client: ChannelSpec; close(): Promise<void> }> {
  const { identity } = loadOrCreateServerIdentity(dataDir);
  const pool =
    options.openThreads === 0
      ? null
      : createOpenPool({
          ...(options.openThreads !== undefined && { size: options.openThreads }),
          ...(options.maxHandshakeQueue !== undefined && { maxHandshakeQueue: options.maxHandshakeQueue }),
        });
  const channels = pqServerChannels(identity, suite, pool ? { openUpdate: pool.open, handshake: pool } : {});
  // The threads start with the first handshake or round, so a server nobody joins pays nothing for them;
  // every thread is started when a round opens (they load while the clients train).
  const server: ServerChannels = pool
    ? {
        ...channels,
        openRound(info) {
          pool.warm();
          return channels.openRound(info);
        },
      }
    : channels;
  return {
    server,
    client: { kind: 'pq', pinnedFingerprint: server.fingerprint!, minimumSuite: suite },
    close: async () => pool?.close(),
  };
}
