/**
 * The post-quantum channel plugged into the federation's seam (src/core/channel.ts): the server's side
 * signs a fresh ephemeral KEM key per connection with its ML-DSA-65 identity; the client pins the server's
 * fingerprint and refuses a weaker suite than its minimum. This is the default of serve, simulate and the
 * browser.
 */
import type { ClientChannels, ServerChannels } from '../core/channel.ts';
import { fromHex } from './bytes.ts';
import { clientHandshake, createServerHandshake } from './channel.ts';
import { fingerprint, type Identity } from './identity.ts';
import type { KemSuite } from './suites.ts';

export function pqServerChannels(identity: Identity, suite: KemSuite = 'xwing'): ServerChannels {
  return {
    suite,
    fingerprint: fingerprint(identity.publicKey),
    async begin(session: string) {
      const hs = createServerHandshake({ identity, suite, session: fromHex(session) });
      return {
        hello: hs.hello,
        async finish(reply: Uint8Array) {
          const channel = await hs.finish(reply);
          return { channel, peerIdentity: channel.peerIdentity };
        },
      };
    },
  };
}

export function pqClientChannels(opts: {
  identity: Identity;
  pinnedFingerprint?: string;
  minimumSuite?: KemSuite;
}): ClientChannels {
  return {
    async accept(hello: Uint8Array) {
      const r = await clientHandshake({ ...opts, serverHello: hello });
      return { reply: r.clientHello, channel: r.channel, serverFingerprint: r.serverFingerprint };
    },
  };
}
