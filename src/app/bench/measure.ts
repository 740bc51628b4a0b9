/**
 * The benchmark view's measurements. These run INSIDE the trainer worker (workers/trainer.worker.ts exposes
 * them), one fresh worker per configuration, never on the page's thread:
 * - `chooseWasmFeatures` sets tfjs's WASM feature flags before the backend initialises;
 * - `measureTraining` trains the default TON_IoT-sized model on synthetic rows, as
 *   src/model/throughput.ts does, and adds the time to the first step and the peak tensor memory;
 * - `measureFusedTraining` does the same on the fused WASM engine (src/engine/wasm-engine.ts; its "tensor
 *   bytes" are the engine module's whole memory);
 * - `measureCrypto` times the post-quantum operations and AES-256-GCM of src/crypto/.
 */

import type { CryptoResult } from '../../core/benchmark-result.ts';
import { makeNonce, seal } from '../../crypto/aead.ts';
import { generateIdentity, sign, verify } from '../../crypto/identity.ts';
import { importAesKey } from '../../crypto/kdf.ts';
import { webCrypto } from '../../crypto/platform.ts';
import { randomBytes } from '../../crypto/random.ts';
import { kemEncapsulate, kemKeygen } from '../../crypto/suites.ts';
import type { EncodedData } from '../../data/features.ts';
import { ThreadedEngine } from '../../engine/threads.ts';
import { FusedEngine } from '../../engine/wasm-engine.ts';
import { modelConfigFor } from '../../model/centralized.ts';
import { initWeights, MultiTaskModel } from '../../model/model.ts';
import { tf } from '../../model/tf.ts';
import { syntheticTrainingData } from '../../model/throughput.ts';
import { makeBatch, nextMacrotask } from '../../model/train.ts';

export interface WasmFeatureChoice {
  ok: boolean;
  /** Why the configuration cannot run in this browser (when `ok` is false). */
  reason?: string;
}

/**
 * Makes the WASM backend initialise with (`true`) or without (`false`) SIMD and threads. tfjs reads the
 * flags once, when the backend initialises, hence one fresh worker per configuration. A feature asked for
 * but missing is reported, not silently dropped.
 */
export async function chooseWasmFeatures(want: {
  simd: boolean;
  threads: boolean;
}): Promise<WasmFeatureChoice> {
  if (tf.findBackend('wasm')) {
    throw new Error('chooseWasmFeatures: the WASM backend is already initialised; use a fresh worker');
  }
  const env = tf.env();
  const simd = Boolean(await env.getAsync('WASM_HAS_SIMD_SUPPORT'));
  const threads = Boolean(await env.getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
  if (want.simd && !simd) return { ok: false, reason: 'this browser has no WebAssembly SIMD' };
  if (want.threads && !threads) {
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
    return {
      ok: false,
      reason:
        isolated === false
          ? 'WASM threads need SharedArrayBuffer, which needs a cross-origin isolated page (COOP/COEP headers); ' +
            'this page is not isolated'
          : 'this browser has no WebAssembly threads',
    };
  }
  env.set('WASM_HAS_SIMD_SUPPORT', want.simd);
  env.set('WASM_HAS_MULTITHREAD_SUPPORT', want.threads);
  return { ok: true };
}

export interface TrainingRunOptions {
  batchSize: number;
  /**
   * Untimed steps first (the first one includes compilation); at least 1. Warming up also stops once the
   * steps after the first have taken `seconds` (a software GPU needs seconds per step).
   */
  warmup: number;
  /** At most this many timed steps… */
  steps: number;
  /** …or until this many seconds have been timed (at least 2 timed steps either way). */
  seconds: number;
  rows: number;
  seed?: number;
  /** The fused engine only: its data-parallel step on this many threads (default 1). */
  threads?: number;
}

export interface TrainingProgress {
  /** `warmup` with step 0: the first step (model creation and kernel compilation) is under way. */
  phase: 'data' | 'warmup' | 'measure';
  step: number;
  steps: number;
}

export interface TrainingMeasurement {
  backend: string;
  samplesPerSec: number;
  timeToFirstStepMs: number;
  peakTensorBytes: number;
  steps: number;
  warmup: number;
  batchSize: number;
  params: number;
}

/** What both measurements start from: the step counts, the synthetic rows, the model config, the order. */
async function prepareRun(opts: TrainingRunOptions, onProgress: (p: TrainingProgress) => void) {
  const seed = opts.seed ?? 1;
  const warmup = Math.max(1, Math.floor(opts.warmup));
  const maxSteps = Math.max(1, Math.floor(opts.steps));
  onProgress({ phase: 'data', step: 0, steps: warmup });
  const { pre, data } = await syntheticTrainingData('toniot', Math.max(opts.rows, opts.batchSize), seed);
  if (data.n < opts.batchSize) throw new RangeError(`benchmark: ${data.n} rows < batch ${opts.batchSize}`);
  const config = modelConfigFor(pre);
  const order = Int32Array.from({ length: data.n }, (_, i) => i);
  const batches = Math.floor(data.n / opts.batchSize);
  return { seed, warmup, maxSteps, data, config, order, batches };
}

/** Training speed of the default model on the active backend (see the module comment). */
export async function measureTraining(
  opts: TrainingRunOptions,
  onProgress: (p: TrainingProgress) => void = () => {},
): Promise<TrainingMeasurement> {
  const { seed, warmup, maxSteps, data, config, order, batches } = await prepareRun(opts, onProgress);
  let peak = tf.memory().numBytes;
  const sample = () => {
    peak = Math.max(peak, tf.memory().numBytes);
  };

  // The clock for the first step starts before the model exists: variable creation, the first kernels'
  // compilation (WebGPU shaders) and the first optimizer step all count.
  const t0 = performance.now();
  const model = new MultiTaskModel(config, initWeights(config, seed).weights);
  const optimizer = tf.train.adam(1e-3);
  const vars = Object.values(model.params);
  const step = (s: number): tf.Scalar => {
    const start = (s % batches) * opts.batchSize;
    const b = makeBatch(data, order, start, start + opts.batchSize);
    const loss = optimizer.minimize(
      () => {
        const l = model.loss(b.batch, b.targets);
        sample(); // every activation the backward pass needs is alive here
        return l;
      },
      true,
      vars,
    )!;
    tf.dispose([b.batch.numeric, b.batch.categorical, b.targets.label, b.targets.mos]);
    sample();
    return loss;
  };
  try {
    let lastStepMs = 0;
    let firstStepMs = 0;
    let warmed = 0;
    onProgress({ phase: 'warmup', step: 0, steps: warmup });
    while (warmed < warmup) {
      const ts = performance.now();
      const loss = step(warmed);
      await loss.data();
      loss.dispose();
      const end = performance.now();
      warmed++;
      if (warmed === 1) firstStepMs = end - t0;
      lastStepMs = end - ts;
      onProgress({ phase: 'warmup', step: warmed, steps: warmup });
      if (warmed >= 2 && end - t0 - firstStepMs >= opts.seconds * 1000) break;
    }

    // Slow steps (a software GPU, the CPU backend) are read back every step so the time limit holds;
    // fast ones every 10 steps, as train() does, so a GPU queue cannot run far ahead of the clock either way.
    const readEvery = lastStepMs > 50 ? 1 : 10;
    const budgetMs = opts.seconds * 1000;
    const tm = performance.now();
    let done = 0;
    while (done < maxSteps) {
      const loss = step(warmed + done);
      done++;
      const last = done === maxSteps;
      if (done % readEvery === 0 || last) {
        await loss.data();
        loss.dispose();
        onProgress({ phase: 'measure', step: done, steps: maxSteps });
        if (performance.now() - tm >= budgetMs && done >= 2) break;
      } else loss.dispose();
    }
    const seconds = (performance.now() - tm) / 1000;
    return {
      backend: tf.getBackend(),
      samplesPerSec: (done * opts.batchSize) / seconds,
      timeToFirstStepMs: firstStepMs,
      peakTensorBytes: peak,
      steps: done,
      warmup: warmed,
      batchSize: opts.batchSize,
      params: model.numParams,
    };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

/** measureTraining on the fused WASM engine: the same model, rows, warm-up and clock, no tfjs. */
export async function measureFusedTraining(
  opts: TrainingRunOptions,
  onProgress: (p: TrainingProgress) => void = () => {},
): Promise<TrainingMeasurement> {
  const { seed, warmup, maxSteps, data, config, order, batches } = await prepareRun(opts, onProgress);
  const t0 = performance.now();
  const threads = opts.threads ?? 1;
  const w = initWeights(config, seed).weights;
  const engine =
    threads > 1
      ? await ThreadedEngine.create(config, w, opts.batchSize, threads)
      : await FusedEngine.create(config, w, opts.batchSize);
  try {
    return await timeFused(engine, data, order, batches, opts, warmup, maxSteps, t0, onProgress);
  } finally {
    if (engine instanceof ThreadedEngine) engine.dispose();
  }
}

async function timeFused(
  engine: FusedEngine | ThreadedEngine,
  data: EncodedData,
  order: Int32Array,
  batches: number,
  opts: TrainingRunOptions,
  warmup: number,
  maxSteps: number,
  t0: number,
  onProgress: (p: TrainingProgress) => void,
): Promise<TrainingMeasurement> {
  const step = (s: number): number => {
    const start = (s % batches) * opts.batchSize;
    engine.loadRows(data, order, start, start + opts.batchSize);
    return engine.step(opts.batchSize, 1e-3);
  };
  let firstStepMs = 0;
  let warmed = 0;
  onProgress({ phase: 'warmup', step: 0, steps: warmup });
  while (warmed < warmup) {
    step(warmed);
    const end = performance.now();
    warmed++;
    if (warmed === 1) firstStepMs = end - t0;
    onProgress({ phase: 'warmup', step: warmed, steps: warmup });
    await nextMacrotask();
    if (warmed >= 2 && end - t0 - firstStepMs >= opts.seconds * 1000) break;
  }
  const budgetMs = opts.seconds * 1000;
  let spent = 0;
  let done = 0;
  while (done < maxSteps) {
    // only the steps are timed, not the yields to the worker's messages every 10 steps
    const ts = performance.now();
    const loss = step(warmed + done);
    spent += performance.now() - ts;
    done++;
    if (!Number.isFinite(loss)) throw new RangeError(`benchmark: the loss is ${loss} at step ${done}`);
    if (done % 10 === 0 || done === maxSteps) {
      onProgress({ phase: 'measure', step: done, steps: maxSteps });
      await nextMacrotask();
      if (spent >= budgetMs && done >= 2) break;
    }
  }
  return {
    backend: 'wasm',
    samplesPerSec: (done * opts.batchSize) / (spent / 1000),
    timeToFirstStepMs: firstStepMs,
    peakTensorBytes:
      engine.weights.buffer.byteLength * (engine instanceof ThreadedEngine ? engine.threads : 1),
    steps: done,
    warmup: warmed,
    batchSize: opts.batchSize,
    params: engine.numParams,
  };
}

export interface CryptoRunOptions {
  /** Time spent on each operation (at least 3 calls each, after one untimed call). */
  msPerOp: number;
}

export interface CryptoProgress {
  operation: string;
  index: number;
  total: number;
}

/** Calls `op` until `ms` have passed (and at least 3 times); returns calls per second. */
async function rate(op: () => unknown, ms: number): Promise<number> {
  await op(); // untimed: JIT, lazily built tables
  let n = 0;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    await op();
    n++;
    elapsed = performance.now() - t0;
  } while (elapsed < ms || n < 3);
  return n / (elapsed / 1000);
}

/** Operations per second of the post-quantum suite, and AES-256-GCM throughput, in this worker. */
export async function measureCrypto(
  opts: CryptoRunOptions,
  onProgress: (p: CryptoProgress) => void = () => {},
): Promise<CryptoResult> {
  const ms = Math.max(1, opts.msPerOp);
  const total = 5;
  const message = randomBytes(1024);
  const mlkem = kemKeygen('mlkem768');
  const xwing = kemKeygen('xwing');
  const id = generateIdentity();
  const signature = sign(id.secretKey, message);

  onProgress({ operation: 'ML-KEM-768 encapsulate', index: 0, total });
  const mlkem768EncapsulatePerSec = await rate(() => kemEncapsulate('mlkem768', mlkem.publicKey), ms);
  onProgress({ operation: 'X-Wing encapsulate', index: 1, total });
  const xwingEncapsulatePerSec = await rate(() => kemEncapsulate('xwing', xwing.publicKey), ms);
  onProgress({ operation: 'ML-DSA-65 sign', index: 2, total });
  const mldsa65SignPerSec = await rate(() => sign(id.secretKey, message), ms);
  onProgress({ operation: 'ML-DSA-65 verify', index: 3, total });
  const mldsa65VerifyPerSec = await rate(() => {
    if (!verify(id.publicKey, message, signature))
      throw new Error('ML-DSA-65: a valid signature did not verify');
  }, ms);

  onProgress({ operation: 'AES-256-GCM', index: 4, total });
  const key = await importAesKey(randomBytes(32), ['encrypt']);
  const plaintext = randomBytes(1 << 20);
  const ad = randomBytes(32);
  let counter = 0;
  const sealsPerSec = await rate(() => seal(key, makeNonce('update', counter++), plaintext, ad), ms);
  return {
    mlkem768EncapsulatePerSec,
    xwingEncapsulatePerSec,
    mldsa65SignPerSec,
    mldsa65VerifyPerSec,
    aes256GcmMBPerSec: (sealsPerSec * plaintext.length) / 1e6,
    aesImplementation: webCrypto() ? 'webcrypto' : 'noble',
  };
}
