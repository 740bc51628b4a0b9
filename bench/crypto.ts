/**
 * Cost of PQFed's cryptography per model update, step by step, for both KEM suites and two model sizes:
 * the default model (20,523 float32 parameters = 82,092 bytes) and a 1M-parameter model (4,000,000 bytes).
 * Client side: encapsulate, derive (HKDF + key import), encrypt (AES-256-GCM), sign (SHA-256 of the
 * ciphertext + ML-DSA-65); server side: verify, decapsulate, decrypt (derive costs the same on both sides); plus the whole
 * sealUpdate/openUpdate, the handshake, and a channel frame. Prints a table on stderr and one JSON object on
 * stdout. Run: `npx tsx bench/crypto.ts [--seconds 0.5]`.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { makeNonce, open, seal } from '../src/crypto/aead.ts';
import { concatBytes, u32be } from '../src/crypto/bytes.ts';
import { clientHandshake, createServerHandshake } from '../src/crypto/channel.ts';
import {
  createRoundKey,
  openUpdate,
  parseUpdate,
  sealUpdate,
  updateSignedBytes,
} from '../src/crypto/envelope.ts';
import { generateIdentity, SIGNATURE_CONTEXT, sign, verify } from '../src/crypto/identity.ts';
import { deriveKeys, importAesKey, KDF_INFO } from '../src/crypto/kdf.ts';
import { randomBytes } from '../src/crypto/random.ts';
import { KEM_SUITES, kemDecapsulate, kemEncapsulate } from '../src/crypto/suites.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string' } } });
const seconds = Number(values.seconds ?? 0.5);

/** Mean milliseconds per call of `fn` over about `seconds` (at least 3 runs, after 2 warm-up runs). */
async function time(fn: () => unknown): Promise<number> {
  for (let i = 0; i < 2; i++) await fn();
  let runs = 0;
  const start = performance.now();
  while (runs < 3 || performance.now() - start < seconds * 1000) {
    await fn();
    runs++;
  }
  return (performance.now() - start) / runs;
}

const MODELS = [
  { name: 'default', params: 20_523 },
  { name: '1M', params: 1_000_000 },
] as const;

const server = generateIdentity();
const client = generateIdentity();
const session = randomBytes(16);
const rows: Record<string, number | string>[] = [];
const results: Record<string, number> = {};

for (const suite of KEM_SUITES) {
  const roundKey = createRoundKey(suite);

  // Handshake (independent of the model size): each side's work, timed separately.
  const handshake = { serverHello: 0, client: 0, serverFinish: 0 };
  let runs = 0;
  for (const start = performance.now(); runs < 5 || performance.now() - start < seconds * 3000; runs++) {
    const t0 = performance.now();
    const s = createServerHandshake({ identity: server, suite, session });
    const t1 = performance.now();
    const c = await clientHandshake({ identity: client, serverHello: s.hello });
    const t2 = performance.now();
    await s.finish(c.clientHello);
    const t3 = performance.now();
    handshake.serverHello += t1 - t0;
    handshake.client += t2 - t1;
    handshake.serverFinish += t3 - t2;
  }
  for (const op of ['serverHello', 'client', 'serverFinish'] as const) handshake[op] /= runs;
  for (const [op, ms] of Object.entries(handshake)) results[`${suite}.handshake.${op}`] = ms;

  for (const model of MODELS) {
    const payload = randomBytes(model.params * 4);
    const header = concatBytes(u32be(1), u32be(2), u32be(3)); // stands in for the update header (AD)
    const step: Record<string, number> = {};

    // Client side, step by step (the same operations sealUpdate performs).
    let enc = kemEncapsulate(suite, roundKey.publicKey);
    step.encapsulate = await time(() => {
      enc = kemEncapsulate(suite, roundKey.publicKey);
    });
    let key = await importAesKey(deriveKeys(enc.sharedSecret, [header, enc.cipherText], KDF_INFO.update)[0]!);
    step.derive = await time(async () => {
      key = await importAesKey(deriveKeys(enc.sharedSecret, [header, enc.cipherText], KDF_INFO.update)[0]!);
    });
    let sealed = await seal(key, makeNonce('update', 0), payload, header);
    step.encrypt = await time(async () => {
      sealed = await seal(key, makeNonce('update', 0), payload, header);
    });
    let signature = sign(client.secretKey, await updateSignedBytes(header, enc.cipherText, sealed), {
      context: SIGNATURE_CONTEXT.update,
    });
    step.sign = await time(async () => {
      signature = sign(client.secretKey, await updateSignedBytes(header, enc.cipherText, sealed), {
        context: SIGNATURE_CONTEXT.update,
      });
    });

    // Server side, step by step (the same operations openUpdate performs).
    step.verify = await time(async () => {
      const ok = verify(
        client.publicKey,
        await updateSignedBytes(header, enc.cipherText, sealed),
        signature,
        SIGNATURE_CONTEXT.update,
      );
      if (!ok) throw new Error('verify failed');
    });
    step.decapsulate = await time(() => kemDecapsulate(suite, enc.cipherText, roundKey.secretKey));
    step.decrypt = await time(() => open(key, makeNonce('update', 0), sealed, header));

    // The whole envelope, as the federation calls it.
    const input = {
      suite,
      roundPublicKey: roundKey.publicKey,
      session,
      round: 1,
      clientId: 'client-0001',
      modelVersion: 1,
      payload,
      identity: client,
    };
    let update = await sealUpdate(input);
    step.sealUpdate = await time(async () => {
      update = await sealUpdate(input);
    });
    const expect = {
      suite,
      roundSecretKey: roundKey.secretKey,
      session,
      round: 1,
      clientPublicKey: client.publicKey,
      expectedClientId: 'client-0001',
      modelVersion: 1,
      maxPayloadBytes: payload.length,
    };
    step.openUpdate = await time(() => openUpdate(update, expect));

    // One channel frame carrying the same bytes (e.g. the global model going down).
    const s = createServerHandshake({ identity: server, suite, session });
    const c = await clientHandshake({ identity: client, serverHello: s.hello });
    const serverChannel = await s.finish(c.clientHello);
    step.frameSealOpen = await time(async () => serverChannel.open(await c.channel.seal(payload)));

    const bytes = parseUpdate(update, payload.length);
    for (const [op, ms] of Object.entries(step)) results[`${suite}.${model.name}.${op}`] = ms;
    rows.push({
      suite,
      model: `${model.name} (${payload.length} B)`,
      ...Object.fromEntries(Object.entries(step).map(([k, v]) => [k, +v.toFixed(2)])),
      updateBytes: update.length,
      overheadBytes: update.length - bytes.payloadLength,
    });
  }
  process.stderr.write(
    `${suite} handshake: ServerHello ${handshake.serverHello.toFixed(1)} ms, client ${handshake.client.toFixed(1)} ms, ` +
      `server finish ${handshake.serverFinish.toFixed(1)} ms\n`,
  );
}
console.table(rows);
process.stdout.write(
  `${JSON.stringify({
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    crypto: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, +v.toFixed(3)])),
  })}\n`,
);
