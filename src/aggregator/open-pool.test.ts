import { afterAll, describe, expect, it } from 'vitest';
import { fromHex } from '../crypto/bytes.ts';
import {
  clientHandshake,
  makeServerHello,
  parseClientHello,
  startServerHandshake,
} from '../crypto/channel.ts';
import {
  createRoundKey,
  type OpenUpdateExpectations,
  openUpdate,
  parseUpdate,
  type SealUpdateInput,
  sealUpdate,
} from '../crypto/envelope.ts';
import { CryptoError } from '../crypto/errors.ts';
import { pqServerChannels } from '../crypto/pq-channels.ts';
import {
  flipBit,
  refusal,
  sameBytes,
  testIdentity,
  testPayload,
  testSeed,
  testSession,
} from '../crypto/test-support.ts';
import { createOpenPool, OpenPoolError } from './open-pool.ts';

const client = testIdentity(2);
const forger = testIdentity(3);
const session = testSession(1);
const roundKey = createRoundKey('xwing', testSeed(10));

function input(payload: Uint8Array, over: Partial<SealUpdateInput> = {}): SealUpdateInput {
  return {
    suite: 'xwing',
    roundPublicKey: roundKey.publicKey,
    session,
    round: 5,
    clientId: 'client-0007',
    modelVersion: 5,
    payload,
    identity: client,
    ...over,
  };
}

function expectations(over: Partial<OpenUpdateExpectations> = {}): OpenUpdateExpectations {
  return {
    suite: 'xwing',
    roundSecretKey: roundKey.secretKey,
    session,
    round: 5,
    clientPublicKey: client.publicKey,
    expectedClientId: 'client-0007',
    modelVersion: 5,
    maxPayloadBytes: 1 << 24,
    ...over,
  };
}

describe('open pool (worker threads, real crypto)', () => {
  const pool = createOpenPool({ size: 2 });
  afterAll(() => pool.close());

  it('starts no thread until an update needs one', () => {
    expect(createOpenPool({ size: 3 }).threads).toBe(0);
    expect(pool.threads).toBe(0);
  });

  it('opens a valid update to the same bytes as openUpdate in this thread, without touching the inputs', async () => {
    const payload = testPayload(82_092);
    const bytes = await sealUpdate(input(payload));
    const before = bytes.slice();
    const key = roundKey.secretKey.slice();
    const plain = await pool.open(bytes, expectations());
    expect(sameBytes(plain, payload)).toBe(true);
    expect(sameBytes(plain, await openUpdate(bytes, expectations()))).toBe(true);
    // The caller's envelope and round key are neither detached nor zeroed (the worker had copies).
    expect(sameBytes(bytes, before)).toBe(true);
    expect(sameBytes(roundKey.secretKey, key)).toBe(true);
    expect(pool.threads).toBeGreaterThan(0);
  }, 60_000);

  it('keeps the refusal reason across the thread boundary', async () => {
    const bytes = await sealUpdate(input(testPayload(300)));
    const u = parseUpdate(bytes, 1 << 24);
    const tag = u.sealed.byteOffset - bytes.byteOffset + u.sealed.length - 1;
    const tampered = await refusal(() => pool.open(flipBit(bytes, tag), expectations()));
    expect(tampered).toBeInstanceOf(CryptoError);
    expect(tampered.reason).toBe('tampered');
    // A valid ciphertext, signed by someone else than the registered client.
    const forged = await sealUpdate(input(testPayload(300), { identity: forger }));
    const e = await refusal(() => pool.open(forged, expectations()));
    expect(e.reason).toBe('bad-signature');
    const inThread = await refusal(() => openUpdate(forged, expectations()));
    expect(e.message).toBe(inThread.message);
    expect((await refusal(() => pool.open(bytes, expectations({ round: 6 })))).reason).toBe('replay');
    expect((await refusal(() => pool.open(bytes.subarray(0, 100), expectations()))).reason).toBe(
      'bad-length',
    );
  }, 60_000);

  it('completes many concurrent opens, in any order, each with its own answer', async () => {
    const updates = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        sealUpdate(input(testPayload(1000 + i), { clientId: `client-${i}` })),
      ),
    );
    const results = await Promise.allSettled(
      updates.map((u, i) =>
        pool.open(
          i % 5 === 4 ? flipBit(u, u.length - 1) : u,
          expectations({ expectedClientId: `client-${i}` }),
        ),
      ),
    );
    results.forEach((r, i) => {
      if (i % 5 === 4) {
        expect(r.status).toBe('rejected');
        expect(((r as PromiseRejectedResult).reason as CryptoError).reason).toBe('bad-signature');
      } else {
        expect(r.status).toBe('fulfilled');
        expect(sameBytes((r as PromiseFulfilledResult<Uint8Array>).value, testPayload(1000 + i))).toBe(true);
      }
    });
    expect(pool.threads).toBeLessThanOrEqual(2);
    expect(pool.pending).toBe(0);
  }, 60_000);

  it('refuses what is queued beyond its bound, and everything once closed; close() ends the threads', async () => {
    const small = createOpenPool({ size: 1, maxQueue: 1 });
    const bytes = await sealUpdate(input(testPayload(100)));
    // Two go to the thread (one opened, one waiting in its port), one waits in the queue, the next is refused.
    const taken = [small.open(bytes, expectations()), small.open(bytes, expectations())];
    const queued = small.open(bytes, expectations());
    expect(small.pending).toBe(3);
    await expect(small.open(bytes, expectations())).rejects.toBeInstanceOf(OpenPoolError);
    for (const p of [...taken, queued]) expect(sameBytes(await p, testPayload(100))).toBe(true);
    expect(small.threads).toBe(1);
    const inFlight = expect(small.open(bytes, expectations())).rejects.toBeInstanceOf(OpenPoolError);
    await small.close();
    await inFlight;
    expect(small.threads).toBe(0);
    await expect(small.open(bytes, expectations())).rejects.toThrow(/closed/);
    await small.close(); // idempotent
  }, 60_000);

  it('plugs into the server channels: updates still waiting when their round closes are refused as stale-round', async () => {
    const one = createOpenPool({ size: 1 });
    try {
      const server = pqServerChannels(testIdentity(1), 'xwing', { openUpdate: one.open });
      const sessionHex = '01'.repeat(16);
      const round = await server.openRound({
        session: sessionHex,
        round: 1,
        version: 0,
        weights: new Float32Array(10),
      });
      const bytes = await sealUpdate({
        ...input(testPayload(500)),
        roundPublicKey: round.seal.publicKey,
        session: fromHex(sessionHex),
        round: 1,
        modelVersion: 0,
      });
      const who = { clientId: 'client-0007', publicKey: client.publicKey };
      // Two are taken by the thread at once, each with a copy of the key; the third waits for it.
      const taken = [round.open(bytes, who, 1 << 20), round.open(bytes, who, 1 << 20)];
      const waiting = round.open(bytes, who, 1 << 20);
      round.close();
      for (const p of taken) expect(sameBytes(await p, testPayload(500))).toBe(true);
      expect((await refusal(() => waiting)).reason).toBe('stale-round');
      expect((await refusal(() => round.open(bytes, who, 1 << 20))).reason).toBe('stale-round');
    } finally {
      await one.close();
    }
  }, 60_000);

  it('runs both costly steps of a server handshake: the same bytes as this thread, a working channel', async () => {
    const server = testIdentity(1);
    const secretBefore = server.secretKey.slice();
    // Seeded, the thread's ServerHello is the exact bytes this thread makes.
    const seeded = { identity: server, suite: 'xwing' as const, session, seed: testSeed(30) };
    const there = await pool.makeServerHello(seeded);
    const here = makeServerHello(seeded);
    expect(sameBytes(there.hello, here.hello)).toBe(true);
    expect(sameBytes(there.ephemeralSecretKey, here.ephemeralSecretKey)).toBe(true);
    // The caller's identity key was copied, not zeroed.
    expect(sameBytes(server.secretKey, secretBefore)).toBe(true);

    const hs = await startServerHandshake({ identity: server, suite: 'xwing', session }, pool);
    const c = await clientHandshake({ identity: client, serverHello: hs.hello });
    const channel = await hs.finish(c.clientHello);
    expect(sameBytes(channel.peerIdentity, client.publicKey)).toBe(true);
    const frame = testPayload(1000);
    expect(sameBytes(await c.channel.open(await channel.seal(frame)), frame)).toBe(true);
    expect(sameBytes(await channel.open(await c.channel.seal(frame)), frame)).toBe(true);
    // Single-use, as on this thread.
    expect((await refusal(() => hs.finish(c.clientHello))).reason).toBe('replay');
  }, 60_000);

  it("keeps a handshake's refusal reasons across the thread boundary and wipes the caller's ephemeral key", async () => {
    const server = testIdentity(1);
    const answer = async (s = session) => {
      const { hello, ephemeralSecretKey } = await pool.makeServerHello({
        identity: server,
        suite: 'xwing',
        session: s,
      });
      const c = await clientHandshake({ identity: client, serverHello: hello });
      return { hello, ephemeralSecretKey, clientHello: c.clientHello };
    };
    // A ClientHello whose signature is broken.
    const a = await answer();
    const signed = parseClientHello(a.clientHello);
    const sigAt = signed.signature.byteOffset - a.clientHello.byteOffset + 10;
    const forged = await refusal(() =>
      pool.checkClientHello({
        suite: 'xwing',
        session,
        serverHello: a.hello,
        clientHello: flipBit(a.clientHello, sigAt),
        ephemeralSecretKey: a.ephemeralSecretKey,
      }),
    );
    expect(forged.reason).toBe('bad-signature');
    expect(a.ephemeralSecretKey.every((b) => b === 0)).toBe(true);
    // An answer for another session, and one for another suite.
    const b = await answer(testSession(9));
    const other = await refusal(() =>
      pool.checkClientHello({
        suite: 'xwing',
        session,
        serverHello: b.hello,
        clientHello: b.clientHello,
        ephemeralSecretKey: b.ephemeralSecretKey,
      }),
    );
    expect(other.reason).toBe('stale-round');
    const c = await answer();
    const suite = await refusal(() =>
      pool.checkClientHello({
        suite: 'mlkem768',
        session,
        serverHello: c.hello,
        clientHello: c.clientHello,
        ephemeralSecretKey: c.ephemeralSecretKey,
      }),
    );
    expect(suite.reason).toBe('downgrade');
    // The valid one decapsulates to the client's secret: both ends derive working keys.
    const d = await answer();
    const ok = await pool.checkClientHello({
      suite: 'xwing',
      session,
      serverHello: d.hello,
      clientHello: d.clientHello,
      ephemeralSecretKey: d.ephemeralSecretKey,
    });
    expect(sameBytes(ok.peerIdentity, client.publicKey)).toBe(true);
    expect(ok.sharedSecret.length).toBe(32);
  }, 60_000);

  it('takes keys held in Node Buffers of a one allocation (as read from a file) without detaching them', async () => {
    const server = testIdentity(1);
    // Both keys are views of one Buffer, as when an identity file is read and cut into its keys.
    const file = Buffer.concat([server.publicKey, server.secretKey]);
    const identity = {
      publicKey: file.subarray(0, server.publicKey.length),
      secretKey: file.subarray(server.publicKey.length),
    };
    const shared = Buffer.from([1, 2, 3]);
    const hs = await startServerHandshake({ identity, suite: 'xwing', session }, pool);
    const c = await clientHandshake({ identity: client, serverHello: hs.hello });
    expect(sameBytes((await hs.finish(c.clientHello)).peerIdentity, client.publicKey)).toBe(true);
    expect(sameBytes(identity.secretKey, server.secretKey)).toBe(true);
    expect(Array.from(shared)).toEqual([1, 2, 3]);
  }, 60_000);

  it('fails a task it cannot hand to a thread alone, and keeps serving the next ones', async () => {
    const one = createOpenPool({ size: 1 });
    try {
      const server = testIdentity(1);
      // A value that cannot be cloned into a thread: postMessage throws.
      const bad = {
        identity: server,
        suite: 'xwing' as const,
        session,
        seed: (() => 0) as unknown as Uint8Array,
      };
      for (let i = 0; i < 3; i++) {
        await expect(one.makeServerHello(bad)).rejects.toBeInstanceOf(OpenPoolError);
      }
      expect(one.pending).toBe(0);
      const ok = await one.makeServerHello({ identity: server, suite: 'xwing', session });
      expect(ok.hello.length).toBeGreaterThan(0);
    } finally {
      await one.close();
    }
  }, 60_000);

  it('takes a waiting update before waiting handshakes, so a crowd joining never delays a round (issue 12)', async () => {
    const one = createOpenPool({ size: 1 });
    try {
      const server = testIdentity(1);
      const order: string[] = [];
      const sealed = await sealUpdate(input(testPayload(64)));
      const hellos = Array.from({ length: 10 }, (_, i) =>
        one.makeServerHello({ identity: server, suite: 'xwing', session }).then(() => order.push(`hs${i}`)),
      );
      const update = one.open(sealed, expectations()).then(() => order.push('update'));
      await Promise.all([...hellos, update]);
      // Two handshakes were already handed to the thread (one running, one in its port); the update is
      // handed over next, and the thread runs its tasks one at a time in order, so nothing overtakes it
      // while it awaits WebCrypto. First-come order would put it last (10).
      expect(order.indexOf('update')).toBeLessThanOrEqual(2);
    } finally {
      await one.close();
    }
  }, 60_000);

  it('drops queued tasks whose signal aborts (their socket closed) and discards a running one', async () => {
    const one = createOpenPool({ size: 1 });
    try {
      const server = testIdentity(1);
      const gone = new AbortController();
      const tasks = Array.from({ length: 6 }, () =>
        one.makeServerHello({ identity: server, suite: 'xwing', session }, gone.signal),
      );
      gone.abort();
      const settled = await Promise.allSettled(tasks);
      for (const r of settled) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(OpenPoolError);
      }
      expect(one.cancelled).toBe(6);
      // What was dropped never ran; the thread serves the next task.
      const ok = await one.makeServerHello({ identity: server, suite: 'xwing', session });
      expect(ok.hello.length).toBeGreaterThan(0);
      expect(one.pending).toBe(0);
      // Already aborted: refused before it is queued.
      await expect(
        one.makeServerHello({ identity: server, suite: 'xwing', session }, gone.signal),
      ).rejects.toBeInstanceOf(OpenPoolError);
    } finally {
      await one.close();
    }
  }, 60_000);

  it('bounds the handshake queue apart from the update queue', async () => {
    const one = createOpenPool({ size: 1, maxHandshakeQueue: 2 });
    try {
      const server = testIdentity(1);
      const hs = () => one.makeServerHello({ identity: server, suite: 'xwing', session });
      // Two handed to the thread, two queued: the fifth is refused; an update still queues.
      const accepted = [hs(), hs(), hs(), hs()];
      await expect(hs()).rejects.toBeInstanceOf(OpenPoolError);
      const update = one.open(await sealUpdate(input(testPayload(64))), expectations());
      await Promise.all([...accepted, update]);
    } finally {
      await one.close();
    }
  }, 60_000);
});
