/**
 * The channel seam: every frame between a client and the aggregator passes through a `SecureChannel`
 * established by a two-message handshake (the server speaks first). The post-quantum channel
 * (src/crypto/) is the default of `serve`, `simulate` and the browser; the plaintext channel below exists
 * for unit tests of the protocol only, and a client accepts it only when told to explicitly.
 */

export interface SecureChannel {
  /** Seals one protocol frame for the peer. */
  seal(plain: Uint8Array): Promise<Uint8Array>;
  /** Opens one frame from the peer; throws (never returns unauthenticated bytes). */
  open(wire: Uint8Array): Promise<Uint8Array>;
}

/** The aggregator's side: the first frame of a connection, and the channel made from the client's reply. */
export interface ServerChannels {
  readonly suite: string;
  /** Readable fingerprint of the server's identity key (null for plaintext). */
  readonly fingerprint: string | null;
  begin(session: string): Promise<{
    hello: Uint8Array;
    finish(reply: Uint8Array): Promise<{ channel: SecureChannel; peerIdentity: Uint8Array | null }>;
  }>;
}

/** The client's side: checks the server's first frame and answers it. */
export interface ClientChannels {
  accept(
    hello: Uint8Array,
  ): Promise<{ reply: Uint8Array; channel: SecureChannel; serverFingerprint: string | null }>;
}

export class ChannelError extends Error {
  override name = 'ChannelError';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const PLAINTEXT_HELLO = new TextEncoder().encode('PQFED-PLAINTEXT-v1');

const identity: SecureChannel = {
  seal: async (b) => b,
  open: async (b) => b,
};

function isPlaintextHello(b: Uint8Array): boolean {
  return b.length === PLAINTEXT_HELLO.length && b.every((x, i) => x === PLAINTEXT_HELLO[i]);
}

/** Unsealed frames (tests of the protocol only; never the default of serve, simulate or the browser). */
export const plaintextServer: ServerChannels = {
  suite: 'plaintext',
  fingerprint: null,
  async begin() {
    return {
      hello: PLAINTEXT_HELLO,
      async finish(reply) {
        if (!isPlaintextHello(reply))
          throw new ChannelError('malformed', 'plaintext handshake: unexpected reply');
        return { channel: identity, peerIdentity: null };
      },
    };
  },
};

export const plaintextClient: ClientChannels = {
  async accept(hello) {
    if (!isPlaintextHello(hello))
      throw new ChannelError('malformed', 'plaintext handshake: unexpected hello');
    return { reply: PLAINTEXT_HELLO, channel: identity, serverFingerprint: null };
  },
};
