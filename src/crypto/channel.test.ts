import { describe, expect, it } from 'vitest';
import { concatBytes, u64be } from './bytes.ts';
import {
  clientHandshake,
  createServerHandshake,
  FRAME_OVERHEAD,
  parseClientHello,
  parseServerHello,
  type SecureChannel,
} from './channel.ts';
import type { CryptoError } from './errors.ts';
import { fingerprint } from './identity.ts';
import { KEM_SIZES, KEM_SUITES, type KemSuite, ML_DSA_65_SIZES } from './suites.ts';
import { flipBit, refusal, sameBytes, testIdentity, testPayload, testSession } from './test-support.ts';

const serverId = testIdentity(1);
const clientId = testIdentity(2);
const pin = fingerprint(serverId.publicKey);

async function connect(suite: KemSuite = 'xwing', session = testSession(1)) {
  const server = createServerHandshake({ identity: serverId, suite, session });
  const client = await clientHandshake({
    identity: clientId,
    pinnedFingerprint: pin,
    serverHello: server.hello,
  });
  const serverChannel = await server.finish(client.clientHello);
  return { server, client, serverChannel, clientChannel: client.channel };
}

/** Offsets of every field boundary of a hello: header bytes, then each field's length and end. */
function boundaries(fieldLengths: number[]): number[] {
  const out = [0, 1, 2, 3, 4, 5];
  let at = 5;
  for (const n of fieldLengths) {
    out.push(at + 2, at + 4, at + 4 + n);
    at += 4 + n;
  }
  out.pop(); // the last boundary is the whole message
  return out;
}

describe.each(KEM_SUITES)('handshake over %s', (suite) => {
  it('establishes a channel that carries frames both ways', async () => {
    const { client, serverChannel, clientChannel } = await connect(suite);
    expect(client.serverFingerprint).toBe(pin);
    expect(client.session).toEqual(testSession(1));
    expect(clientChannel.suite).toBe(suite);
    expect(serverChannel.suite).toBe(suite);
    expect(clientChannel.peerIdentity).toEqual(serverId.publicKey);
    expect(serverChannel.peerIdentity).toEqual(clientId.publicKey);
    for (let i = 0; i < 3; i++) {
      const up = testPayload(100 + i);
      const wire = await clientChannel.seal(up);
      expect(wire.length).toBe(up.length + FRAME_OVERHEAD);
      expect(await serverChannel.open(wire)).toEqual(up);
      const down = testPayload(7 * i);
      expect(await clientChannel.open(await serverChannel.seal(down))).toEqual(down);
    }
    const big = testPayload(1 << 20);
    expect(sameBytes(await serverChannel.open(await clientChannel.seal(big)), big)).toBe(true);
  });

  it('has messages of the documented sizes', async () => {
    const { server, client } = await connect(suite);
    const sizes = KEM_SIZES[suite];
    expect(server.hello.length).toBe(5 + 4 * 5 + 16 + 1952 + sizes.publicKey + 32 + 3309);
    expect(client.clientHello.length).toBe(5 + 4 * 5 + 16 + sizes.cipherText + 1952 + 32 + 3309);
  });
});

describe('channel frames', () => {
  it('keeps order under concurrent seals and opens', async () => {
    const { serverChannel, clientChannel } = await connect();
    const plains = Array.from({ length: 20 }, (_, i) => testPayload(1000 * (20 - i)));
    const wires = await Promise.all(plains.map((p) => clientChannel.seal(p)));
    const opened = await Promise.all(wires.map((w) => serverChannel.open(w)));
    expect(opened.map((o, i) => sameBytes(o, plains[i]!))).toEqual(plains.map(() => true));
  });

  it('refuses a replayed frame and a reordered one, and goes on with the right next frame', async () => {
    const { serverChannel, clientChannel } = await connect();
    const f0 = await clientChannel.seal(Uint8Array.of(0));
    const f1 = await clientChannel.seal(Uint8Array.of(1));
    const f2 = await clientChannel.seal(Uint8Array.of(2));
    expect(await serverChannel.open(f0)).toEqual(Uint8Array.of(0));
    const replay = await refusal(() => serverChannel.open(f0));
    expect(replay.reason).toBe('replay');
    expect(replay.message).toBe('frame: expected sequence number 1, got 0 (replayed)');
    const reorder = await refusal(() => serverChannel.open(f2));
    expect(reorder.reason).toBe('replay');
    expect(reorder.message).toContain('reordered');
    expect(await serverChannel.open(f1)).toEqual(Uint8Array.of(1));
    expect(await serverChannel.open(f2)).toEqual(Uint8Array.of(2));
  });

  it('refuses tampered, reflected, foreign and short frames', async () => {
    const a = await connect();
    const b = await connect();
    const frame = await a.clientChannel.seal(testPayload(64));
    const tampered: [string, Uint8Array, SecureChannel, CryptoError['reason']][] = [
      ['ciphertext bit', flipBit(frame, 8), a.serverChannel, 'tampered'],
      ['tag bit', flipBit(frame, frame.length - 1), a.serverChannel, 'tampered'],
      ['sequence bit', flipBit(frame, 7), a.serverChannel, 'replay'],
      ['reflected to its sender', frame, a.clientChannel, 'tampered'],
      ['another connection', frame, b.serverChannel, 'tampered'],
      ['shorter than a frame', frame.subarray(0, FRAME_OVERHEAD - 1), a.serverChannel, 'bad-length'],
      ['sequence number only', u64be(0), a.serverChannel, 'bad-length'],
    ];
    for (const [, wire, channel, reason] of tampered) {
      expect((await refusal(() => channel.open(wire))).reason).toBe(reason);
    }
    // Refusals left the state alone: the genuine frame still opens.
    expect(await a.serverChannel.open(frame)).toEqual(testPayload(64));
    const forged = concatBytes(u64be(1), new Uint8Array(40));
    expect((await refusal(() => a.serverChannel.open(forged))).reason).toBe('tampered');
    expect((await refusal(() => a.serverChannel.seal('x' as unknown as Uint8Array))).reason).toBe(
      'malformed',
    );
  });

  it('forgets the ephemeral KEM secret at finish: a recorded ClientHello cannot be finished again', async () => {
    const { server, client } = await connect();
    const e = await refusal(() => server.finish(client.clientHello));
    expect(e.reason).toBe('replay');
    expect(e.message).toContain('already finished');
  });
});

describe('client refusals', () => {
  it('refuses a server other than the pinned one, naming both fingerprints', async () => {
    const impostor = testIdentity(3);
    const server = createServerHandshake({ identity: impostor, suite: 'xwing', session: testSession(1) });
    const e = await refusal(() =>
      clientHandshake({ identity: clientId, pinnedFingerprint: pin, serverHello: server.hello }),
    );
    expect(e.reason).toBe('fingerprint-mismatch');
    expect(e.message).toContain(pin);
    expect(e.message).toContain(fingerprint(impostor.publicKey));
    expect(e.message).toContain('not the one in the join link');
  });

  it('accepts the pin in any case and without dashes, and works unpinned', async () => {
    const server = createServerHandshake({ identity: serverId, suite: 'xwing', session: testSession(1) });
    const a = await clientHandshake({
      identity: clientId,
      pinnedFingerprint: pin.toUpperCase().replaceAll('-', ''),
      serverHello: server.hello,
    });
    expect(a.serverFingerprint).toBe(pin);
    const b = await clientHandshake({ identity: clientId, serverHello: server.hello });
    expect(b.serverFingerprint).toBe(pin);
    const e = await refusal(() =>
      clientHandshake({
        identity: clientId,
        pinnedFingerprint: 'not-a-fingerprint',
        serverHello: server.hello,
      }),
    );
    expect(e.reason).toBe('malformed');
  });

  it('refuses a suite weaker than its minimum, and takes it when allowed', async () => {
    const server = createServerHandshake({ identity: serverId, suite: 'mlkem768', session: testSession(1) });
    const e = await refusal(() =>
      clientHandshake({
        identity: clientId,
        pinnedFingerprint: pin,
        minimumSuite: 'xwing',
        serverHello: server.hello,
      }),
    );
    expect(e.reason).toBe('downgrade');
    expect(e.message).toBe('ServerHello: expected suite xwing or stronger, got mlkem768');
    const ok = await clientHandshake({
      identity: clientId,
      minimumSuite: 'mlkem768',
      serverHello: server.hello,
    });
    expect(ok.channel.suite).toBe('mlkem768');
  });

  it('refuses a ServerHello whose signed fields were changed', async () => {
    const { hello } = createServerHandshake({ identity: serverId, suite: 'xwing', session: testSession(1) });
    const kemKeyAt = 5 + 4 + 16 + 4 + 1952 + 4;
    const nonceAt = kemKeyAt + KEM_SIZES.xwing.publicKey + 4;
    const signatureAt = hello.length - ML_DSA_65_SIZES.signature;
    for (const index of [4 + 4 + 3, kemKeyAt + 10, nonceAt, signatureAt + 5, hello.length - 1]) {
      const e = await refusal(() =>
        clientHandshake({ identity: clientId, pinnedFingerprint: pin, serverHello: flipBit(hello, index) }),
      );
      expect(e.reason).toBe('bad-signature');
    }
    // A changed suite byte changes the expected key length: a layout error, found before the signature.
    const e = await refusal(() => clientHandshake({ identity: clientId, serverHello: flipBit(hello, 4, 1) }));
    expect(['bad-length', 'malformed']).toContain(e.reason);
  });

  it('refuses every truncation, trailing bytes and other message types', async () => {
    const { hello } = createServerHandshake({ identity: serverId, suite: 'xwing', session: testSession(1) });
    for (let n = 0; n < hello.length; n++) {
      const e = await refusal(() => parseServerHello(hello.subarray(0, n)));
      expect(['bad-length', 'malformed']).toContain(e.reason);
    }
    const cuts = boundaries([16, 1952, KEM_SIZES.xwing.publicKey, 32, ML_DSA_65_SIZES.signature]);
    for (const n of cuts) {
      const e = await refusal(() =>
        clientHandshake({ identity: clientId, serverHello: hello.subarray(0, n) }),
      );
      expect(['bad-length', 'malformed']).toContain(e.reason);
    }
    const longer = concatBytes(hello, Uint8Array.of(0));
    expect((await refusal(() => clientHandshake({ identity: clientId, serverHello: longer }))).reason).toBe(
      'bad-length',
    );
    const { client } = await connect();
    const e = await refusal(() => clientHandshake({ identity: clientId, serverHello: client.clientHello }));
    expect(e.reason).toBe('malformed');
    expect(e.message).toContain('expected message type 1 (serverHello), got 2 (clientHello)');
  });
});

describe('server refusals', () => {
  async function answer(hello: Uint8Array, identity = clientId) {
    return (await clientHandshake({ identity, serverHello: hello })).clientHello;
  }

  it('refuses a ClientHello with a bad signature', async () => {
    const server = createServerHandshake({ identity: serverId, suite: 'xwing', session: testSession(1) });
    const clientHello = await answer(server.hello);
    const e = await refusal(() => server.finish(flipBit(clientHello, clientHello.length - 10)));
    expect(e.reason).toBe('bad-signature');
  });

  it('refuses a ClientHello that answered another ServerHello (replayed from another connection)', async () => {
    const first = createServerHandshake({ identity: serverId, suite: 'xwing', session: testSession(1) });
    const second = createServerHandshake({ identity: serverId, suite: 'xwing', session: testSession(1) });
    const clientHello = await answer(first.hello);
    expect((await refusal(() => second.finish(clientHello))).reason).toBe('bad-signature');
  });

  it('refuses a suite other than the one it offered, and another session', async () => {
    const weak = createServerHandshake({ identity: serverId, suite: 'mlkem768', session: testSession(1) });
    const strong = createServerHandshake({ identity: serverId, suite: 'xwing', session: testSession(1) });
    const e = await refusal(async () => strong.finish(await answer(weak.hello)));
    expect(e.reason).toBe('downgrade');
    expect(e.message).toBe('ClientHello: expected suite xwing (offered), got mlkem768');
    const other = createServerHandshake({ identity: serverId, suite: 'xwing', session: testSession(2) });
    const here = createServerHandshake({ identity: serverId, suite: 'xwing', session: testSession(1) });
    expect((await refusal(async () => here.finish(await answer(other.hello)))).reason).toBe('stale-round');
  });

  it('is single-use: a second ClientHello is refused, even after a failed first one', async () => {
    const server = createServerHandshake({ identity: serverId, suite: 'xwing', session: testSession(1) });
    const clientHello = await answer(server.hello);
    expect((await refusal(() => server.finish(clientHello.subarray(1)))).reason).toBe('malformed');
    expect((await refusal(() => server.finish(clientHello))).reason).toBe('replay');
  });

  it('refuses every truncation of a ClientHello and trailing bytes', async () => {
    const server = createServerHandshake({ identity: serverId, suite: 'mlkem768', session: testSession(1) });
    const clientHello = await answer(server.hello);
    for (let n = 0; n < clientHello.length; n++) {
      const e = await refusal(() => parseClientHello(clientHello.subarray(0, n)));
      expect(['bad-length', 'malformed']).toContain(e.reason);
    }
    const cuts = boundaries([16, KEM_SIZES.mlkem768.cipherText, 1952, 32, ML_DSA_65_SIZES.signature]);
    for (const n of [...cuts, clientHello.length + 1]) {
      const fresh = createServerHandshake({ identity: serverId, suite: 'mlkem768', session: testSession(1) });
      const input =
        n > clientHello.length ? concatBytes(clientHello, Uint8Array.of(0)) : clientHello.subarray(0, n);
      const e = await refusal(() => fresh.finish(input));
      expect(['bad-length', 'malformed']).toContain(e.reason);
    }
  });
});
