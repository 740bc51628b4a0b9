import { afterAll, describe, expect, it } from 'vitest';
import { fromHex } from '../crypto/bytes.ts';
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
});
