/**
 * The JavaScript fallback for pages without WebCrypto (plain HTTP from a LAN address): AES-256-GCM from
 * @noble/ciphers and SHA-256 from @noble/hashes must give the very bytes WebCrypto gives, and a side without
 * WebCrypto must interoperate with a side that has it.
 */
import { inspect } from 'node:util';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type AesKey, destroyAesKey, JsAesKey, makeNonce, open, seal } from './aead.ts';
import { fromHex, toHex } from './bytes.ts';
import { clientHandshake, createServerHandshake, type SecureChannel } from './channel.ts';
import { createRoundKey, openUpdate, type SealUpdateInput, sealUpdate, weightsDigest } from './envelope.ts';
import { fingerprint } from './identity.ts';
import { importAesKey } from './kdf.ts';
import { setWebCryptoForTesting, webCrypto } from './platform.ts';
import { KEM_SUITES } from './suites.ts';
import {
  flipBit,
  refusal,
  sameBytes,
  testIdentity,
  testPayload,
  testSeed,
  testSession,
} from './test-support.ts';
import announcements from './vectors/announcements.json';
import { computeVectors } from './vectors/compute.ts';
import handshake from './vectors/handshake.json';
import update from './vectors/update.json';

const platformSubtle = globalThis.crypto.subtle;

/**
 * Runs `fn` as on a plain-HTTP page: `crypto.getRandomValues` but no `crypto.subtle`. Any WebCrypto call
 * made meanwhile, even one on a CryptoKey imported before, fails (WebCryptoUnavailableError).
 */
async function withoutWebCrypto<T>(fn: () => Promise<T>): Promise<T> {
  vi.stubGlobal('crypto', { getRandomValues: globalThis.crypto.getRandomValues.bind(globalThis.crypto) });
  try {
    return await fn();
  } finally {
    vi.unstubAllGlobals();
  }
}

/** Both kinds of key for the same bytes. */
async function bothKeys(raw: Uint8Array): Promise<{ web: AesKey; js: AesKey }> {
  const web = await importAesKey(raw);
  const js = await withoutWebCrypto(() => importAesKey(raw));
  expect(web).not.toBeInstanceOf(JsAesKey);
  expect(js).toBeInstanceOf(JsAesKey);
  return { web, js };
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  setWebCryptoForTesting(undefined);
});

describe('platform detection', () => {
  it('finds no WebCrypto where crypto.subtle is missing, or where a test says so', async () => {
    expect(webCrypto()).toBe(platformSubtle);
    await withoutWebCrypto(async () => {
      expect(webCrypto()).toBeNull();
      expect(await importAesKey(new Uint8Array(32))).toBeInstanceOf(JsAesKey);
    });
    setWebCryptoForTesting(null);
    expect(webCrypto()).toBeNull();
    expect(await importAesKey(new Uint8Array(32))).toBeInstanceOf(JsAesKey);
    setWebCryptoForTesting(undefined);
    expect(webCrypto()).toBe(platformSubtle);
    expect(await importAesKey(new Uint8Array(32))).not.toBeInstanceOf(JsAesKey);
  });
});

describe('AES-256-GCM without WebCrypto', () => {
  // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (as in aead.test.ts).
  it('matches the GCM specification test case 16', async () => {
    setWebCryptoForTesting(null);
    const key = await importAesKey(
      fromHex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308'),
    );
    const iv = fromHex('cafebabefacedbaddecaf888');
    const aad = fromHex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
    const sealed = await seal(
      key,
      iv,
      fromHex(
        'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
      ),
      aad,
    );
    expect(toHex(sealed)).toBe(
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662' +
        '76fc6ece0f4e1768cddf8853bb2d551b',
    );
  });

  it.each([
    0,
    1,
    15,
    16,
    17,
    100,
    4096,
    65_539,
    1 << 20,
  ])('seals %i bytes to exactly the bytes WebCrypto seals, and each opens the other', async (size) => {
    const raw = Uint8Array.from({ length: 32 }, (_, i) => (i * 29 + size) & 0xff);
    const { web, js } = await bothKeys(raw);
    const nonce = makeNonce('clientToServer', size);
    const ad = testPayload(size % 50);
    const plain = testPayload(size);
    const fromWeb = await seal(web, nonce, plain, ad);
    // The JS path must not reach for WebCrypto at all.
    const fromJs = await withoutWebCrypto(() => seal(js, nonce, plain, ad));
    expect(fromJs.length).toBe(size + 16);
    expect(sameBytes(fromJs, fromWeb)).toBe(true);
    expect(sameBytes(await open(web, nonce, fromJs, ad), plain)).toBe(true);
    expect(sameBytes(await withoutWebCrypto(() => open(js, nonce, fromWeb, ad)), plain)).toBe(true);
  });

  it('refuses any change with "tampered", on both paths, and returns nothing', async () => {
    const { web, js } = await bothKeys(testSeed(3));
    const { web: otherWeb, js: otherJs } = await bothKeys(testSeed(4));
    const nonce = makeNonce('update', 0);
    const ad = Uint8Array.of(1, 2, 3);
    for (const size of [0, 4, 1 << 20]) {
      const sealed = await seal(web, nonce, testPayload(size), ad);
      for (const [key, other] of [
        [web, otherWeb],
        [js, otherJs],
      ] as const) {
        const attempts: (() => Promise<Uint8Array>)[] = [
          () => open(key, nonce, flipBit(sealed, sealed.length - 1, 7), ad), // tag
          () => open(key, nonce, flipBit(sealed, sealed.length - 16), ad), // first tag byte
          () => open(key, nonce, sealed, flipBit(ad, 2)),
          () => open(key, makeNonce('update', 1), sealed, ad),
          () => open(other, nonce, sealed, ad),
        ];
        if (size > 0) attempts.push(() => open(key, nonce, flipBit(sealed, size >> 1), ad)); // ciphertext
        for (const attempt of attempts) {
          const e = await refusal(attempt);
          expect(e.reason).toBe('tampered');
          expect(e.message).toContain('tag does not verify');
        }
        expect((await refusal(() => open(key, nonce, sealed.subarray(0, 15), ad))).reason).toBe('bad-length');
        expect((await refusal(() => seal(key, new Uint8Array(8), sealed, ad))).reason).toBe('bad-length');
      }
    }
  });

  it('keeps the key bytes out of logs, JSON and structured clones', async () => {
    const raw = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
    const key = await withoutWebCrypto(() => importAesKey(raw));
    const hex = toHex(raw);
    const shown = [
      String(key),
      `${key}`,
      JSON.stringify(key),
      JSON.stringify({ key }),
      inspect(key, { showHidden: true, depth: 10 }),
      inspect({ nested: [key] }, { showHidden: true, depth: 10 }),
      JSON.stringify(structuredClone(key)),
      JSON.stringify(Object.entries(key)),
    ];
    for (const text of shown) {
      expect(text).not.toContain(hex.slice(0, 8));
      expect(text).not.toMatch(/160,\s*161,\s*162/); // the bytes in decimal
    }
    expect(String(key)).toBe('JsAesKey(AES-GCM 256, key bytes hidden)');
    expect(JSON.parse(JSON.stringify(key))).toEqual({
      type: 'JsAesKey',
      algorithm: 'AES-GCM-256',
      usages: ['encrypt', 'decrypt'],
      key: '[hidden]',
    });
    expect(Object.isFrozen(key)).toBe(true);
    expect(key).toMatchObject({
      type: 'secret',
      extractable: false,
      algorithm: { name: 'AES-GCM', length: 256 },
    });
  });

  it('copies the raw bytes on import, honours usages, and refuses a destroyed key', async () => {
    setWebCryptoForTesting(null);
    const raw = testSeed(9);
    const key = await importAesKey(raw);
    const reference = await seal(
      await importAesKey(testSeed(9)),
      makeNonce('update', 0),
      testPayload(10),
      raw,
    );
    raw.fill(0); // callers wipe their raw bytes at once
    expect(await seal(key, makeNonce('update', 0), testPayload(10), testSeed(9))).toEqual(reference);

    const sealOnly = await importAesKey(testSeed(9), ['encrypt']);
    const openOnly = await importAesKey(testSeed(9), ['decrypt']);
    const sealed = await seal(sealOnly, makeNonce('update', 0), testPayload(10), testSeed(9));
    expect(await open(openOnly, makeNonce('update', 0), sealed, testSeed(9))).toEqual(testPayload(10));
    const noSeal = await refusal(() => seal(openOnly, makeNonce('update', 0), testPayload(1), raw));
    expect([noSeal.reason, noSeal.message]).toEqual([
      'malformed',
      'AEAD key: expected a key usable to encrypt, got one for decrypt',
    ]);
    expect((await refusal(() => open(sealOnly, makeNonce('update', 0), sealed, testSeed(9)))).reason).toBe(
      'malformed',
    );
    // WebCrypto keys are refused the same way.
    setWebCryptoForTesting(undefined);
    const webOpenOnly = await importAesKey(testSeed(9), ['decrypt']);
    const webNoSeal = await refusal(() => seal(webOpenOnly, makeNonce('update', 0), testPayload(1), raw));
    expect([webNoSeal.reason, webNoSeal.message]).toEqual([noSeal.reason, noSeal.message]);

    expect(key).toBeInstanceOf(JsAesKey);
    const js = key as JsAesKey;
    expect(js.destroyed).toBe(false);
    destroyAesKey(js);
    expect(js.destroyed).toBe(true);
    expect(String(js)).toBe('JsAesKey(AES-GCM 256, destroyed)');
    const e = await refusal(() => seal(js, makeNonce('update', 0), testPayload(1), raw));
    expect([e.reason, e.message]).toEqual([
      'malformed',
      'AEAD key: expected a live AES-256-GCM key, got a destroyed one',
    ]);
    expect((await refusal(() => open(js, makeNonce('update', 0), sealed, testSeed(9)))).reason).toBe(
      'malformed',
    );
    destroyAesKey(js); // twice is harmless
    destroyAesKey(webOpenOnly); // a CryptoKey: nothing to do
    expect((await refusal(() => new JsAesKey(new Uint8Array(16)))).reason).toBe('bad-length');
  });
});

describe('SHA-256 without WebCrypto', () => {
  it('digests exactly as WebCrypto does', async () => {
    for (const size of [0, 1, 63, 64, 65, 1 << 20]) {
      const weights = testPayload(size);
      const web = await weightsDigest(weights);
      const js = await withoutWebCrypto(() => weightsDigest(weights));
      expect(toHex(js)).toBe(toHex(web));
      expect(toHex(js)).toBe(toHex(sha256(weights)));
    }
  });
});

const serverId = testIdentity(1);
const clientId = testIdentity(2);
const pin = fingerprint(serverId.publicKey);

/** Runs `fn` with or without WebCrypto. */
function on<T>(hasWebCrypto: boolean, fn: () => Promise<T>): Promise<T> {
  return hasWebCrypto ? fn() : withoutWebCrypto(fn);
}

describe.each([
  { client: false, server: true },
  { client: true, server: false },
])('client WebCrypto: $client, server WebCrypto: $server', (sides) => {
  it.each(KEM_SUITES)('handshakes, carries frames both ways and seals an update over %s', async (suite) => {
    const encrypt = vi.spyOn(platformSubtle, 'encrypt');
    const decrypt = vi.spyOn(platformSubtle, 'decrypt');
    const session = testSession(7);
    const server = await on(sides.server, async () =>
      createServerHandshake({ identity: serverId, suite, session }),
    );
    const client = await on(sides.client, () =>
      clientHandshake({ identity: clientId, pinnedFingerprint: pin, serverHello: server.hello }),
    );
    const serverChannel: SecureChannel = await on(sides.server, () => server.finish(client.clientHello));
    const clientChannel = client.channel;
    for (const size of [0, 1, 100, 1 << 20]) {
      const up = testPayload(size);
      const upWire = await on(sides.client, () => clientChannel.seal(up));
      expect(sameBytes(await on(sides.server, () => serverChannel.open(upWire)), up)).toBe(true);
      const down = testPayload(size + 3);
      const downWire = await on(sides.server, () => serverChannel.seal(down));
      expect(sameBytes(await on(sides.client, () => clientChannel.open(downWire)), down)).toBe(true);
    }
    // A tampered frame is refused on either side, and the channel goes on.
    const wire = await on(sides.client, () => clientChannel.seal(Uint8Array.of(1, 2, 3)));
    const bad = await refusal(() => on(sides.server, () => serverChannel.open(flipBit(wire, 9))));
    expect(bad.reason).toBe('tampered');
    expect(await on(sides.server, () => serverChannel.open(wire))).toEqual(Uint8Array.of(1, 2, 3));
    const back = await on(sides.server, () => serverChannel.seal(Uint8Array.of(4)));
    expect(
      (await refusal(() => on(sides.client, () => clientChannel.open(flipBit(back, back.length - 1)))))
        .reason,
    ).toBe('tampered');

    // A sealed update, client → aggregator.
    const roundKey = createRoundKey(suite);
    const payload = testPayload(82_092);
    const input: SealUpdateInput = {
      suite,
      roundPublicKey: roundKey.publicKey,
      session,
      round: 4,
      clientId: 'client-0042',
      modelVersion: 4,
      payload,
      identity: clientId,
    };
    const sealed = await on(sides.client, () => sealUpdate(input));
    const expect4 = {
      suite,
      roundSecretKey: roundKey.secretKey,
      session,
      round: 4,
      clientPublicKey: serverChannel.peerIdentity,
      expectedClientId: 'client-0042',
      modelVersion: 4,
      maxPayloadBytes: 1 << 20,
    };
    expect(sameBytes(await on(sides.server, () => openUpdate(sealed, expect4)), payload)).toBe(true);
    const tampered = flipBit(sealed, sealed.length - 3309 - 4 - 20);
    expect((await refusal(() => on(sides.server, () => openUpdate(tampered, expect4)))).reason).toBe(
      'tampered',
    );
    // The side with WebCrypto used it (natively); the other never reached it (it was not there).
    expect(encrypt).toHaveBeenCalled();
    expect(decrypt).toHaveBeenCalled();
  });
});

describe('byte-identical output with and without WebCrypto', () => {
  it.each(KEM_SUITES)('gives the same seeded handshake, frames and update over %s', async (suite) => {
    const run = async () => {
      const session = testSession(8);
      const server = createServerHandshake({ identity: serverId, suite, session, seed: testSeed(21) });
      const client = await clientHandshake({
        identity: clientId,
        pinnedFingerprint: pin,
        serverHello: server.hello,
        seed: testSeed(22),
      });
      const channel = await server.finish(client.clientHello);
      const roundKey = createRoundKey(suite, testSeed(23));
      return [
        server.hello,
        client.clientHello,
        await client.channel.seal(testPayload(5000)),
        await channel.seal(testPayload(77)),
        await sealUpdate({
          suite,
          roundPublicKey: roundKey.publicKey,
          session,
          round: 2,
          clientId: 'c',
          modelVersion: 2,
          payload: testPayload(1 << 20),
          identity: clientId,
          seed: testSeed(24),
        }),
      ].map((bytes) => sha256(bytes));
    };
    const web = (await run()).map(toHex);
    const js = (await withoutWebCrypto(run)).map(toHex);
    expect(js).toEqual(web);
  });

  it('recomputes the known-answer vectors exactly without WebCrypto', async () => {
    const v = await withoutWebCrypto(() => computeVectors());
    expect(v.handshake.cases).toEqual(handshake.cases);
    expect(v.update.cases).toEqual(update.cases);
    expect(v.announcements.cases).toEqual(announcements.cases);
  });
});
