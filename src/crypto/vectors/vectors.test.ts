import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../bytes.ts';
import { createServerHandshake, parseClientHello, parseServerHello } from '../channel.ts';
import { createRoundKey, openUpdate, verifyModel, verifyRoundKey } from '../envelope.ts';
import { fingerprint } from '../identity.ts';
import announcements from './announcements.json';
import { computeVectors, VECTOR_INPUTS, vectorIdentities } from './compute.ts';
import handshake from './handshake.json';
import update from './update.json';

// Regenerate with `npx tsx src/crypto/vectors/generate.ts` after an intended format change, and review the diff.
describe('known-answer vectors', () => {
  it('recomputes every recorded byte exactly', async () => {
    const v = await computeVectors();
    expect(v.handshake.inputs).toEqual(handshake.inputs);
    expect(v.update.inputs).toEqual(update.inputs);
    expect(v.announcements.inputs).toEqual(announcements.inputs);
    expect(v.handshake.cases).toHaveLength(handshake.cases.length);
    for (const [i, recorded] of handshake.cases.entries()) {
      for (const [field, hex] of Object.entries(recorded)) {
        expect([field, (v.handshake.cases[i] as unknown as Record<string, string>)[field]]).toEqual([
          field,
          hex,
        ]);
      }
    }
    expect(v.update.cases).toEqual(update.cases);
    expect(v.announcements.cases).toEqual(announcements.cases);
  });

  it('records handshakes that a fresh server and client accept', async () => {
    const { server, client } = vectorIdentities();
    for (const c of handshake.cases) {
      expect(c.serverFingerprint).toBe(fingerprint(server.publicKey));
      expect(c.clientFingerprint).toBe(fingerprint(client.publicKey));
      const hello = parseServerHello(fromHex(c.serverHello));
      expect(hello.suite).toBe(c.suite);
      expect(toHex(hello.session)).toBe(VECTOR_INPUTS.session);
      expect(parseClientHello(fromHex(c.clientHello)).clientPublicKey).toEqual(client.publicKey);
      const hs = createServerHandshake({
        identity: server,
        suite: hello.suite,
        session: hello.session,
        seed: fromHex(VECTOR_INPUTS.serverSeed),
      });
      expect(toHex(hs.hello)).toBe(c.serverHello);
      const channel = await hs.finish(fromHex(c.clientHello));
      expect(toHex(await channel.open(fromHex(c.clientToServerFrame)))).toBe(VECTOR_INPUTS.clientFrame);
    }
  });

  it('records updates and announcements that open and verify', async () => {
    const { server, client } = vectorIdentities();
    const i = VECTOR_INPUTS;
    for (const c of update.cases) {
      const suite = c.suite as 'xwing' | 'mlkem768';
      const roundKey = createRoundKey(suite, fromHex(i.roundKeySeed));
      expect(toHex(roundKey.publicKey)).toBe(c.roundPublicKey);
      const payload = await openUpdate(fromHex(c.update), {
        suite,
        roundSecretKey: roundKey.secretKey,
        session: fromHex(i.session),
        round: i.round,
        clientPublicKey: client.publicKey,
        expectedClientId: i.clientId,
        modelVersion: i.modelVersion,
        maxPayloadBytes: 64,
      });
      expect(toHex(payload)).toBe(i.payload);
    }
    const a = announcements.cases[0]!;
    const session = fromHex(i.session);
    const model = {
      session,
      round: i.round,
      modelVersion: i.modelVersion,
      weightsDigest: fromHex(a.weightsDigest),
    };
    expect(await verifyModel(server.publicKey, model, fromHex(a.modelSignature))).toBe(true);
    const roundKey = createRoundKey('xwing', fromHex(i.roundKeySeed));
    const roundAnnouncement = {
      suite: 'xwing' as const,
      session,
      round: i.round,
      publicKey: roundKey.publicKey,
    };
    expect(verifyRoundKey(server.publicKey, roundAnnouncement, fromHex(a.roundKeySignature))).toBe(true);
  });
});
