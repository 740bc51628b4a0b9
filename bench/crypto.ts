/**
 * Cost of PQFed's cryptography per model update, step by step, for both KEM suites and two model sizes:
 * the default model (its parameter count is read from the default experiment on the embedded TON_IoT
 * sample, about 20,000 float32 parameters) and a 1M-parameter model (4,000,000 bytes).
 * Client side: encapsulate, derive (HKDF + key import), encrypt (AES-256-GCM), sign (SHA-256 of the
 * ciphertext + ML-DSA-65); server side: verify, decapsulate, decrypt (derive costs the same on both sides); plus the whole
 * sealUpdate/openUpdate, the handshake, and a channel frame.
 *
 * Then, for the default suite, the crypto share of a round's wall time, through the seam the federation
 * uses (pqServerChannels / pqClientChannels, src/core/channel.ts):
 * - client, per round: `verifyRound` (two ML-DSA-65 verifications and SHA-256 of the weights) + `sealUpdate`;
 * - server, per round: `openRound` (a KEM key pair and two signatures); per update: `open` (openUpdate);
 * - the reference round: the local training of one round at default settings, timed here: one epoch over
 *   a shard of 5,000 rows of the embedded sample with the default model on tfjs wasm, at batch 64 (the
 *   experiment default) and 128 (`pqfed simulate`'s default); a client's round is at least this long.
 *   The 1M-parameter model reports crypto only (no training reference: it is not a model PQFed builds);
 * - server throughput of verified updates: one thread (1 / openUpdate) and the worker pool of `serve`
 *   (src/aggregator/open-pool.ts, default size) opening a burst of updates at once, and the seconds of
 *   server crypto that 100 and 1,000 updates arriving at once cost.
 * The timing, the handshake and the round's figures are src/bench/crypto.ts's, shared with `pqfed bench`
 * (which reports the default suite's per-update figures beside training, aggregator and wire figures).
 * Prints tables on stderr and one JSON object on stdout. Run: `npx tsx bench/crypto.ts [--seconds 0.5]`.
 */
import { Console } from 'node:console';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { EMBEDDED_SAMPLE, parseConfig } from '../src/aggregator/config.ts';
import { prepareExperiment } from '../src/aggregator/experiment.ts';
import { createOpenPool } from '../src/aggregator/open-pool.ts';
import {
  connectedPair,
  measureHandshake,
  measureRoundCrypto,
  timeMs,
  updateFrame,
} from '../src/bench/crypto.ts';
import { loadTable } from '../src/cli/import.ts';
import { maxFrameBytes } from '../src/core/limits.ts';
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
import { DEFAULT_SUITE, KEM_SUITES, kemDecapsulate, kemEncapsulate } from '../src/crypto/suites.ts';
import { useBackend } from '../src/model/backend.ts';
import { initWeights, MultiTaskModel } from '../src/model/model.ts';
import { train } from '../src/model/train.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string' } } });
const seconds = Number(values.seconds ?? 0.5);
/** Tables go to stderr; stdout carries the JSON only. */
const stderr = new Console(process.stderr);

/** Mean milliseconds per call of `fn` over about `seconds` (at least 3 runs, after 2 warm-up runs). */
const time = (fn: () => unknown) => timeMs(fn, seconds);

// The default experiment on the embedded sample: its model, and a 5,000-row shard for the training reference.
const SHARD_ROWS = 5000;
await useBackend('wasm');
const experiment = prepareExperiment(
  parseConfig({ maxTrainRows: SHARD_ROWS }),
  (await loadTable(EMBEDDED_SAMPLE, 'toniot')).table,
);
const shard = experiment.shards(1, { kind: 'iid' })[0]!;
const defaultParams = initWeights(experiment.model, 1).weights.length;
const defaultBatch = experiment.config.batchSize;

const MODELS = [
  { name: 'default', params: defaultParams },
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
  const handshake = await measureHandshake(suite, seconds * 3, { server, client, session });
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
stderr.table(rows);

// ---- the crypto share of a round ----------------------------------------------------------------------

/** One epoch of local training over the shard (after a 3-step warm-up), as a client's round runs it. */
async function trainingSeconds(batchSize: number): Promise<number> {
  const model = new MultiTaskModel(experiment.model, initWeights(experiment.model, 1).weights);
  try {
    const fit = { epochs: 1, batchSize, learningRate: experiment.config.learningRate, seed: 1 };
    await train(model, shard, { ...fit, maxSteps: 3 });
    return (await train(model, shard, fit)).seconds;
  } finally {
    model.dispose();
  }
}

const BATCHES = [...new Set([defaultBatch, 128])];
const training: Record<number, number> = {};
for (const batch of BATCHES) {
  training[batch] = await trainingSeconds(batch);
  process.stderr.write(
    `training reference: one epoch over ${shard.n} rows at batch ${batch}: ${training[batch]!.toFixed(2)} s\n`,
  );
}
const referenceMs = 1000 * Math.min(...Object.values(training));

const suite = DEFAULT_SUITE;
const pool = createOpenPool();
pool.warm();

const roundRows: Record<string, number | string>[] = [];
const roundResults: Record<string, Record<string, number>> = {};
for (const model of MODELS) {
  const {
    openRoundMs,
    verifyRoundMs,
    sealUpdateMs,
    openUpdateMs: openMs,
  } = await measureRoundCrypto(suite, model.params, seconds, { server, client });

  // The pool: a burst of updates opened at once (one envelope, opened again and again: the pool copies it).
  const pair = await connectedPair(suite, { server, client }, { openUpdate: pool.open });
  const weights = new Float32Array(model.params);
  const poolRound = await pair.server.openRound({ session: pair.session, round: 1, version: 1, weights });
  const poolEnvelope = await pair.client.crypto.sealUpdate({
    session: pair.session,
    round: 1,
    clientId: pair.who.clientId,
    version: 1,
    payload: updateFrame(model.params),
    seal: poolRound.seal,
  });
  const maxPayload = maxFrameBytes(model.params);
  const burst = model.name === 'default' ? 100 : 20;
  const openBurst = () =>
    Promise.all(Array.from({ length: burst }, () => poolRound.open(poolEnvelope, pair.who, maxPayload)));
  await openBurst(); // every thread started, its code compiled and optimised
  const t0 = performance.now();
  await openBurst();
  const poolPerSec = burst / ((performance.now() - t0) / 1000);
  poolRound.close();

  const clientMs = verifyRoundMs + sealUpdateMs;
  const threadPerSec = 1000 / openMs;
  const r = {
    openRoundMs,
    verifyRoundMs,
    sealUpdateMs,
    openUpdateMs: openMs,
    clientPerRoundMs: clientMs,
    verifiedPerSecOneThread: threadPerSec,
    verifiedPerSecPool: poolPerSec,
    poolThreads: pool.size,
    serverSeconds100: (openRoundMs + 100 * openMs) / 1000,
    serverSeconds1000OneThread: openRoundMs / 1000 + 1000 / threadPerSec,
    serverSeconds1000Pool: openRoundMs / 1000 + 1000 / poolPerSec,
    ...(model.name === 'default' && {
      referenceRoundMs: referenceMs,
      clientSharePct: (100 * clientMs) / referenceMs,
      serverSharePct: (100 * (openRoundMs + openMs)) / referenceMs,
    }),
  };
  roundResults[model.name] = r;
  const f = (x: number, d = 1) => +x.toFixed(d);
  roundRows.push({
    model: `${model.name} (${model.params})`,
    'openRound ms': f(openRoundMs),
    'verifyRound ms': f(verifyRoundMs),
    'sealUpdate ms': f(sealUpdateMs),
    'openUpdate ms': f(openMs),
    'client share %': r.clientSharePct === undefined ? '–' : f(r.clientSharePct, 2),
    'server share %': r.serverSharePct === undefined ? '–' : f(r.serverSharePct, 2),
    'upd/s 1 thread': f(threadPerSec),
    [`upd/s pool(${pool.size})`]: f(poolPerSec),
    's for 1,000': `${f(r.serverSeconds1000OneThread)} / ${f(r.serverSeconds1000Pool)}`,
  });
}
await pool.close();
process.stderr.write(
  `\ncrypto share of a round (${suite}; reference round = one epoch over ${shard.n} rows at batch ` +
    `${BATCHES.join(' or ')}, the shorter: ${(referenceMs / 1000).toFixed(2)} s on tfjs wasm; ` +
    'client share = (verifyRound + sealUpdate) / reference; server share = (openRound + one openUpdate) / ' +
    'reference, i.e. updates arriving spread over the round; s for 1,000 = openRound + 1,000 updates arriving ' +
    'at once, one thread / pool):\n',
);
stderr.table(roundRows);

process.stdout.write(
  `${JSON.stringify({
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    crypto: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, +v.toFixed(3)])),
    round: {
      suite,
      shardRows: shard.n,
      trainingSecondsByBatch: Object.fromEntries(
        Object.entries(training).map(([k, v]) => [k, +v.toFixed(3)]),
      ),
      models: Object.fromEntries(
        Object.entries(roundResults).map(([name, r]) => [
          name,
          Object.fromEntries(Object.entries(r).map(([k, v]) => [k, +v.toFixed(3)])),
        ]),
      ),
    },
  })}\n`,
);
