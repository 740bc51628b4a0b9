import { beforeAll, describe, expect, it } from 'vitest';
import { concatBytes } from './bytes.ts';
import {
  createRoundKey,
  modelSignedBytes,
  type OpenUpdateExpectations,
  openUpdate,
  parseUpdate,
  type SealUpdateInput,
  sealUpdate,
  signModel,
  signRoundKey,
  updateSignedBytes,
  verifyModel,
  verifyRoundKey,
  weightsDigest,
} from './envelope.ts';
import type { CryptoRefusal } from './errors.ts';
import { type Identity, SIGNATURE_CONTEXT, sign } from './identity.ts';
import { KEM_SIZES, KEM_SUITES, type KemSuite, ML_DSA_65_SIZES } from './suites.ts';
import {
  flipBit,
  refusal,
  sameBytes,
  testIdentity,
  testPayload,
  testSeed,
  testSession,
} from './test-support.ts';

const server = testIdentity(1);
const client = testIdentity(2);
const session = testSession(1);
const roundKeys = {
  xwing: createRoundKey('xwing', testSeed(10)),
  mlkem768: createRoundKey('mlkem768', testSeed(11)),
};

function input(suite: KemSuite, payload: Uint8Array, over: Partial<SealUpdateInput> = {}): SealUpdateInput {
  return {
    suite,
    roundPublicKey: roundKeys[suite].publicKey,
    session,
    round: 5,
    clientId: 'client-0007',
    modelVersion: 5,
    payload,
    identity: client,
    ...over,
  };
}

function expectations(suite: KemSuite, over: Partial<OpenUpdateExpectations> = {}): OpenUpdateExpectations {
  return {
    suite,
    roundSecretKey: roundKeys[suite].secretKey,
    session,
    round: 5,
    clientPublicKey: client.publicKey,
    expectedClientId: 'client-0007',
    modelVersion: 5,
    maxPayloadBytes: 1 << 24,
    ...over,
  };
}

/** Re-signs a (modified) update with `identity`, as a client that holds its key could. */
async function resign(bytes: Uint8Array, identity: Identity = client): Promise<Uint8Array> {
  const u = parseUpdate(bytes, 1 << 30);
  const signed = await updateSignedBytes(u.header, u.cipherText, u.sealed);
  const signature = sign(identity.secretKey, signed, { context: SIGNATURE_CONTEXT.update });
  const out = bytes.slice();
  out.set(signature, out.length - signature.length);
  return out;
}

/** Offsets of the fields of an update (relative to its first byte). */
function offsets(bytes: Uint8Array) {
  const u = parseUpdate(bytes, 1 << 30);
  const at = (v: Uint8Array) => v.byteOffset - bytes.byteOffset;
  return {
    suite: 4,
    session: at(u.session),
    round: at(u.session) + 16,
    clientId: at(u.session) + 16 + 4 + 4,
    modelVersion: u.header.length - 8,
    payloadLength: u.header.length - 4,
    cipherText: at(u.cipherText),
    sealed: at(u.sealed),
    tag: at(u.sealed) + u.sealed.length - 16,
    signature: at(u.signature),
  };
}

describe.each(KEM_SUITES)('update envelope over %s', (suite) => {
  it('round-trips the default model (82,092 bytes) with the documented size', async () => {
    const payload = testPayload(82_092);
    const bytes = await sealUpdate(input(suite, payload));
    const overhead =
      5 + (4 + 16) + 4 + (4 + 11) + 4 + 4 + (4 + KEM_SIZES[suite].cipherText) + (4 + 16) + 4 + 3309;
    expect(bytes.length).toBe(payload.length + overhead);
    expect(sameBytes(await openUpdate(bytes, expectations(suite)), payload)).toBe(true);
  });

  it('encapsulates afresh for every update and is deterministic only with a seed', async () => {
    const payload = testPayload(100);
    const a = await sealUpdate(input(suite, payload));
    const b = await sealUpdate(input(suite, payload));
    expect(a).not.toEqual(b);
    expect(await openUpdate(b, expectations(suite))).toEqual(payload);
    const s = await sealUpdate(input(suite, payload, { seed: testSeed(5) }));
    expect(await sealUpdate(input(suite, payload, { seed: testSeed(5) }))).toEqual(s);
    // The same seed for another payload draws another encapsulation.
    const t = await sealUpdate(input(suite, testPayload(101), { seed: testSeed(5) }));
    expect(parseUpdate(t, 1000).cipherText).not.toEqual(parseUpdate(s, 1000).cipherText);
    expect(await openUpdate(s, expectations(suite))).toEqual(payload);
    expect(await openUpdate(await sealUpdate(input(suite, new Uint8Array(0))), expectations(suite))).toEqual(
      new Uint8Array(0),
    );
  });
});

describe('openUpdate refusals', () => {
  const suite = 'xwing';
  const payload = testPayload(300);
  let update: Uint8Array;
  const open = (bytes: Uint8Array, over: Partial<OpenUpdateExpectations> = {}) =>
    openUpdate(bytes, expectations(suite, over));
  const reasonOf = async (bytes: Uint8Array, over: Partial<OpenUpdateExpectations> = {}) =>
    (await refusal(() => open(bytes, over))).reason;

  beforeAll(async () => {
    update = await sealUpdate(input(suite, payload));
    expect(await open(update)).toEqual(payload);
  });

  it('refuses one flipped bit anywhere, each with the reason of what it changed', async () => {
    const o = offsets(update);
    const cases: [string, number, CryptoRefusal][] = [
      ['AES ciphertext', o.sealed + 3, 'tampered'],
      ['AES tag', o.tag + 15, 'tampered'],
      ['KEM ciphertext', o.cipherText + 40, 'tampered'],
      ['signature', o.signature + 1000, 'bad-signature'],
      ['session', o.session + 15, 'stale-round'],
      ['round', o.round + 3, 'stale-round'],
      ['client id', o.clientId + 10, 'wrong-context'],
      ['model version', o.modelVersion + 3, 'wrong-context'],
      ['payload length', o.payloadLength + 3, 'bad-length'],
      ['suite', o.suite, 'malformed'],
    ];
    for (const [field, index, reason] of cases) {
      expect([field, await reasonOf(flipBit(update, index, 1))]).toEqual([field, reason]);
    }
  });

  it('refuses ciphertext, tag and KEM changes that the client re-signed: the AEAD catches them', async () => {
    const o = offsets(update);
    for (const index of [
      o.sealed,
      o.sealed + 299,
      o.tag,
      o.tag + 15,
      o.cipherText + 7,
      o.cipherText + 1119,
    ]) {
      expect(await reasonOf(await resign(flipBit(update, index)))).toBe('tampered');
    }
  });

  it('binds session, round, client id and version in the AEAD: re-signed and expected, still refused', async () => {
    const o = offsets(update);
    const changed: [number, Partial<OpenUpdateExpectations>][] = [
      [o.session, { session: flipBit(session, 0) }],
      [o.round + 3, { round: 4 }],
      [o.clientId + 10, { expectedClientId: 'client-0006' }],
      [o.modelVersion + 3, { modelVersion: 4 }],
    ];
    for (const [index, over] of changed) {
      expect(await reasonOf(await resign(flipBit(update, index)), over)).toBe('tampered');
    }
  });

  it("refuses a previous round's valid update in the next round", async () => {
    const next = createRoundKey(suite);
    const e = await refusal(() => open(update, { round: 6, roundSecretKey: next.secretKey }));
    expect(e.reason).toBe('replay');
    expect(e.message).toBe("update: expected round 6, got round 5 (an earlier round's update replayed)");
    const early = await refusal(() => open(update, { round: 4 }));
    expect([early.reason, early.message]).toEqual(['stale-round', 'update: expected round 4, got round 5']);
    expect(await reasonOf(update, { session: testSession(2) })).toBe('stale-round');
  });

  it('refuses another client, another version, another signer, another suite and another round key', async () => {
    expect(await reasonOf(update, { expectedClientId: 'client-0008' })).toBe('wrong-context');
    expect(await reasonOf(update, { modelVersion: 6 })).toBe('wrong-context');
    expect(await reasonOf(update, { clientPublicKey: testIdentity(3).publicKey })).toBe('bad-signature');
    expect(await reasonOf(await resign(update, testIdentity(3)))).toBe('bad-signature');
    const weak = await sealUpdate(input('mlkem768', payload));
    const e = await refusal(() => open(weak));
    expect(e.reason).toBe('downgrade');
    expect(e.message).toBe("update: expected suite xwing (this round's key), got mlkem768");
    expect(await reasonOf(update, { roundSecretKey: createRoundKey(suite).secretKey })).toBe('tampered');
  });

  it('checks in the documented order: suite, session and round, context, decryption, then signature', async () => {
    const o = offsets(update);
    const everythingWrong = flipBit(flipBit(update, o.signature + 9), o.round + 3);
    // Round 5 became round 4: an earlier round, so a replay.
    expect(await reasonOf(everythingWrong, { expectedClientId: 'x', modelVersion: 1 })).toBe('replay');
    expect(await reasonOf(flipBit(update, o.signature + 9), { expectedClientId: 'x' })).toBe('wrong-context');
    expect(await reasonOf(flipBit(flipBit(update, o.signature + 9), o.tag + 2))).toBe('tampered');
    expect(await reasonOf(flipBit(update, o.signature + 9))).toBe('bad-signature');
    const weak = await sealUpdate(input('mlkem768', payload, { round: 9 }));
    expect(await reasonOf(weak)).toBe('downgrade');
  });

  it('refuses a payload above the limit before any cryptography, and every truncation', async () => {
    const e = await refusal(() => open(update, { maxPayloadBytes: 299 }));
    expect(e.reason).toBe('bad-length');
    expect(e.message).toBe('update: expected a payload of at most 299 bytes, got one of 300 bytes');
    expect(await open(update, { maxPayloadBytes: 300 })).toEqual(payload);
    for (let n = 0; n < update.length; n++) {
      const reason = await reasonOf(update.subarray(0, n));
      if (reason !== 'bad-length' && reason !== 'malformed') throw new Error(`prefix ${n}: ${reason}`);
    }
    expect(await reasonOf(concatBytes(update, Uint8Array.of(0)))).toBe('bad-length');
    expect(await reasonOf(new Uint8Array(0))).toBe('bad-length');
  });

  it('refuses a client id that is not UTF-8 before checking anything else', async () => {
    const o = offsets(update);
    const bad = update.slice();
    bad[o.clientId] = 0xff;
    expect(await reasonOf(bad)).toBe('malformed');
  });
});

describe('sealUpdate inputs', () => {
  it('refuses bad arguments with CryptoErrors naming them', async () => {
    const p = testPayload(10);
    const cases: [Partial<SealUpdateInput>, CryptoRefusal, string][] = [
      [{ clientId: '' }, 'malformed', 'client id'],
      [{ clientId: 'x'.repeat(257) }, 'malformed', 'client id'],
      [{ round: -1 }, 'malformed', 'round'],
      [{ modelVersion: 2 ** 32 }, 'malformed', 'model version'],
      [{ session: new Uint8Array(15) }, 'bad-length', 'session id'],
      [{ roundPublicKey: roundKeys.mlkem768.publicKey }, 'bad-length', 'round public key'],
      [
        { identity: { publicKey: client.publicKey, secretKey: new Uint8Array(10) } },
        'bad-length',
        'secret key',
      ],
      [{ suite: 'rsa' as KemSuite }, 'malformed', 'KEM suite'],
    ];
    for (const [over, reason, word] of cases) {
      const e = await refusal(() => sealUpdate(input('xwing', p, over)));
      expect([e.reason, e.message.includes(word)]).toEqual([reason, true]);
    }
    const e = await refusal(() =>
      openUpdate(new Uint8Array(0), expectations('xwing', { maxPayloadBytes: -1 })),
    );
    expect(e.reason).toBe('malformed');
  });
});

describe('model announcements', () => {
  const weights = new Float32Array(20_523).map((_, i) => Math.sin(i));
  const announcement = { session, round: 7, modelVersion: 7, weights };

  it('signs SHA-256 of the weights bound to session, round and version', async () => {
    const digest = await weightsDigest(weights);
    expect(digest.length).toBe(32);
    const signature = await signModel(server.secretKey, announcement);
    expect(signature.length).toBe(ML_DSA_65_SIZES.signature);
    expect(await verifyModel(server.publicKey, announcement, signature)).toBe(true);
    expect(
      await verifyModel(
        server.publicKey,
        { session, round: 7, modelVersion: 7, weightsDigest: digest },
        signature,
      ),
    ).toBe(true);
    expect(await modelSignedBytes(announcement)).toEqual(
      await modelSignedBytes({ session, round: 7, modelVersion: 7, weightsDigest: digest }),
    );
    const bytesView = new Uint8Array(weights.buffer);
    expect(await verifyModel(server.publicKey, { ...announcement, weights: bytesView }, signature)).toBe(
      true,
    );
  });

  it('refuses any other weights, session, round, version, key or signature', async () => {
    const signature = await signModel(server.secretKey, announcement);
    const changedWeights = weights.slice();
    changedWeights[100] = changedWeights[100]! + 1e-6;
    const refusals = [
      verifyModel(server.publicKey, { ...announcement, weights: changedWeights }, signature),
      verifyModel(server.publicKey, { ...announcement, session: testSession(2) }, signature),
      verifyModel(server.publicKey, { ...announcement, round: 8 }, signature),
      verifyModel(server.publicKey, { ...announcement, modelVersion: 8 }, signature),
      verifyModel(client.publicKey, announcement, signature),
      verifyModel(server.publicKey, announcement, flipBit(signature, 3)),
      verifyModel(server.publicKey, announcement, signature.subarray(1)),
      verifyModel(
        server.publicKey,
        { session, round: 7, modelVersion: 7, weightsDigest: new Uint8Array(31) },
        signature,
      ),
      verifyModel(server.publicKey, { ...announcement, round: -1 }, signature),
    ];
    expect(await Promise.all(refusals)).toEqual(refusals.map(() => false));
    // An update signature never passes as a model signature (contexts differ).
    const message = await modelSignedBytes(announcement);
    const wrongContext = sign(server.secretKey, message, { context: SIGNATURE_CONTEXT.update });
    expect(await verifyModel(server.publicKey, announcement, wrongContext)).toBe(false);
  });

  it('is deterministic on request', async () => {
    const a = await signModel(server.secretKey, announcement, { deterministic: true });
    expect(await signModel(server.secretKey, announcement, { deterministic: true })).toEqual(a);
  });
});

describe('round key announcements', () => {
  it('signs the round key bound to suite, session and round', () => {
    const announcement = { suite: 'xwing' as const, session, round: 3, publicKey: roundKeys.xwing.publicKey };
    const signature = signRoundKey(server.secretKey, announcement);
    expect(verifyRoundKey(server.publicKey, announcement, signature)).toBe(true);
    expect(verifyRoundKey(server.publicKey, { ...announcement, round: 4 }, signature)).toBe(false);
    expect(verifyRoundKey(server.publicKey, { ...announcement, session: testSession(3) }, signature)).toBe(
      false,
    );
    expect(
      verifyRoundKey(
        server.publicKey,
        { ...announcement, publicKey: createRoundKey('xwing').publicKey },
        signature,
      ),
    ).toBe(false);
    expect(verifyRoundKey(client.publicKey, announcement, signature)).toBe(false);
    expect(verifyRoundKey(server.publicKey, { ...announcement, suite: 'mlkem768' }, signature)).toBe(false);
  });
});
