/**
 * Training throughput of the default model in Node, per backend and batch, and of the same architecture in
 * PyTorch (bench/reference_torch.py, a child process) for the ratio. Shared by `pqfed bench` and
 * bench/training.ts.
 *
 * The tfjs figures come from `measureTrainingThroughput` (src/model/throughput.ts), the one measurement
 * behind the worker's and the browser's benchmark: the default model (DEFAULT_MODEL, sized by
 * `modelConfigFor` as `pqfed train` sizes it) on synthetic TON_IoT-shaped rows. PyTorch gets exactly that
 * model config, so both train the same architecture with the same parameter count.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ThreadedEngine } from '../engine/threads.ts';
import { FusedEngine } from '../engine/wasm-engine.ts';
import { type BackendName, type BackendReport, useBackend } from '../model/backend.ts';
import { modelConfigFor } from '../model/centralized.ts';
import { initWeights, type ModelConfig } from '../model/model.ts';
import { measureTrainingThroughput, syntheticTrainingData } from '../model/throughput.ts';

/** Rows and seed of measureTrainingThroughput's synthetic data (its defaults, for batches up to 2,000). */
const ROWS = 2000;
const SEED = 1;

/** The model config measureTrainingThroughput trains (for batches up to 2,000), and its parameter count. */
export async function trainingModel(): Promise<{ config: ModelConfig; params: number }> {
  const { pre } = await syntheticTrainingData('toniot', ROWS, SEED);
  const config = modelConfigFor(pre);
  return { config, params: initWeights(config, SEED).weights.length };
}

export interface TrainingFigure {
  /** A tfjs backend, or `fused`: the fused WASM engine (src/engine/wasm-engine.ts, SIMD, one thread). */
  backend: BackendName | 'fused';
  batch: number;
  samplesPerSec: number;
  /** Timed optimizer steps (after the warm-up). */
  steps: number;
  /** WASM: SIMD and threads in use. */
  simd?: boolean;
  threads?: number;
}

export interface MeasureOptions {
  /** About this long per timed run (after a short probe sizes it); ignored when `steps` is set. */
  seconds: number;
  /** Fixed timed steps per batch (no probe): for quick runs. */
  steps?: number;
  warmup?: number;
  /** At least this many timed steps (default 3). */
  minSteps?: number;
  progress?: (line: string) => void;
}

/** Samples/s of training on `backend` at each batch size. Throws BackendUnavailableError if it is missing. */
export async function measureBackend(
  backend: BackendName,
  batches: readonly number[],
  opts: MeasureOptions,
): Promise<TrainingFigure[]> {
  const report: BackendReport = await useBackend(backend);
  const warmup = opts.warmup ?? 2;
  const out: TrainingFigure[] = [];
  for (const batch of batches) {
    let steps = opts.steps;
    if (steps === undefined) {
      // a short probe sizes the timed run to about `seconds`
      const probe = await measureTrainingThroughput({
        batchSize: batch,
        steps: 2,
        warmup: 1,
        rows: ROWS,
        seed: SEED,
      });
      steps = Math.max(opts.minSteps ?? 3, Math.round((probe.samplesPerSec * opts.seconds) / batch));
    }
    const r = await measureTrainingThroughput({ batchSize: batch, steps, warmup, rows: ROWS, seed: SEED });
    out.push({
      backend,
      batch,
      samplesPerSec: r.samplesPerSec,
      steps,
      ...(report.simd !== undefined && { simd: report.simd }),
      ...(report.threads !== undefined && { threads: report.threads }),
    });
    opts.progress?.(
      `training: ${backend} batch ${batch}: ${r.samplesPerSec.toFixed(0)} samples/s (${steps} steps)`,
    );
  }
  return out;
}

/**
 * Samples/s of the fused WASM engine (src/engine/wasm-engine.ts) on the model and rows
 * measureTrainingThroughput uses, timed the same way: warm-up steps, then whole steps (the batch copied into
 * the engine's memory, forward, backward, Adam) at a constant learning rate, on one thread, or on `threads`
 * threads with each step's batch split across them (src/engine/threads.ts).
 */
export async function measureEngine(
  batches: readonly number[],
  opts: MeasureOptions,
  threads = 1,
): Promise<TrainingFigure[]> {
  const { pre, data } = await syntheticTrainingData('toniot', ROWS, SEED);
  const config = modelConfigFor(pre);
  const order = Int32Array.from({ length: data.n }, (_, i) => i);
  const out: TrainingFigure[] = [];
  for (const batch of batches) {
    if (data.n < batch) throw new RangeError(`benchmark: ${data.n} rows < batch ${batch}`);
    const w = initWeights(config, SEED).weights;
    const engine =
      threads > 1
        ? await ThreadedEngine.create(config, w, batch, threads)
        : await FusedEngine.create(config, w, batch);
    const perEpoch = Math.floor(data.n / batch);
    const step = (s: number) => {
      const start = (s % perEpoch) * batch;
      engine.loadRows(data, order, start, start + batch);
      return engine.step(batch, 1e-3);
    };
    const timed = (steps: number, from: number) => {
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) step(from + s);
      return (steps * batch) / ((performance.now() - t0) / 1000);
    };
    let samplesPerSec: number;
    let steps = opts.steps;
    try {
      const warmup = opts.warmup ?? 2;
      for (let s = 0; s < warmup; s++) step(s);
      if (steps === undefined) {
        const probe = timed(3, warmup);
        steps = Math.max(opts.minSteps ?? 3, Math.round((probe * opts.seconds) / batch));
      }
      samplesPerSec = timed(steps, warmup + 3);
    } finally {
      if (engine instanceof ThreadedEngine) engine.dispose();
    }
    const used = engine instanceof ThreadedEngine ? engine.threads : 1;
    out.push({ backend: 'fused', batch, samplesPerSec, steps, simd: true, threads: used });
    opts.progress?.(
      `training: fused engine ×${used} batch ${batch}: ${samplesPerSec.toFixed(0)} samples/s (${steps} steps)`,
    );
  }
  return out;
}

export interface TorchReference {
  framework: string;
  threads: number;
  params: number;
  results: { batch: number; samplesPerSec: number }[];
}

/** Why a child process failed, in one line. */
function failure(
  err: (Error & { code?: unknown; killed?: boolean; signal?: unknown }) | null,
  stderr: string,
) {
  if (err?.killed) return `timed out (${err.signal ?? 'killed'})`;
  const last = stderr.trim().split('\n').at(-1);
  return last || err?.message.split('\n')[0] || 'failed';
}

function run(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<{ ok: true; stdout: string } | { ok: false; why: string }> {
  return new Promise((done) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
      done(err ? { ok: false, why: failure(err, stderr) } : { ok: true, stdout }),
    );
  });
}

/**
 * The first interpreter that can `import torch`: $PQFED_BENCH_PYTHON if set (only it), else `python3` on
 * the PATH, then /usr/bin/python3 (Debian's python3-torch lives there when the PATH's python3 is another).
 */
export async function findTorchPython(): Promise<{ python: string } | { python: null; why: string }> {
  const candidates = process.env.PQFED_BENCH_PYTHON
    ? [process.env.PQFED_BENCH_PYTHON]
    : ['python3', '/usr/bin/python3'];
  const why: string[] = [];
  for (const p of [...new Set(candidates)]) {
    const r = await run(p, ['-c', 'import torch'], 60_000);
    if (r.ok) return { python: p };
    why.push(`${p}: ${r.why}`);
  }
  return { python: null, why: `no python3 with torch (${why.join('; ')})` };
}

/** Runs bench/reference_torch.py on `config`; throws with a one-line reason when it fails or times out. */
export async function torchReference(opts: {
  python: string;
  config: ModelConfig;
  batches: readonly number[];
  seconds: number;
  timeoutMs: number;
  threads?: number;
}): Promise<TorchReference> {
  const script = fileURLToPath(new URL('../../bench/reference_torch.py', import.meta.url));
  const args = [
    script,
    '--batches',
    opts.batches.join(','),
    '--seconds',
    String(opts.seconds),
    '--config',
    JSON.stringify(opts.config),
    ...(opts.threads ? ['--threads', String(opts.threads)] : []),
  ];
  const r = await run(opts.python, args, opts.timeoutMs);
  if (!r.ok) throw new Error(`${opts.python} reference_torch.py: ${r.why}`);
  let out: TorchReference;
  try {
    out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '');
  } catch {
    throw new Error(`reference_torch.py printed no JSON: ${r.stdout.slice(0, 200)}`);
  }
  if (!Array.isArray(out.results) || out.results.some((x) => !(x.samplesPerSec > 0))) {
    throw new Error(`reference_torch.py: unexpected output ${r.stdout.slice(0, 200)}`);
  }
  return out;
}
