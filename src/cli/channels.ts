/**
 * Which channel a `serve`/`simulate` run uses, as plain data (it crosses into worker threads). The default
 * and only channel of the CLI is the post-quantum one; the plaintext channel exists for protocol unit tests.
 */
import { loadOrCreateServerIdentity } from '../aggregator/identity-store.ts';
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

/** The server's channels for a run whose identity lives in `dataDir`, and what its clients need to pin it. */
export async function serverChannelsFor(
  dataDir: string,
  suite: KemSuite = 'xwing',
): Promise<{ server: ServerChannels; client: ChannelSpec }> {
  const { identity } = loadOrCreateServerIdentity(dataDir);
  const server = pqServerChannels(identity, suite);
  return { server, client: { kind: 'pq', pinnedFingerprint: server.fingerprint!, minimumSuite: suite } };
}
