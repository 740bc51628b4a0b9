/**
 * Runs the benchmark from the page's thread: one fresh trainer worker per configuration (tfjs reads the WASM
 * flags once per worker, and a fresh worker gives each backend a clean engine), then one for the crypto.
 * A configuration the browser lacks is recorded as unavailable with its reason; one that breaks, as failed;
 * a stop terminates the current worker and records the rest as skipped.
 */
import { proxy } from 'comlink';
import {
  type BackendResult,
  BENCH_CONFIGS,
  BENCH_FORMAT,
  BENCH_VERSION,
  type BenchConfigId,
  type BenchResult,
  type CryptoResult,
  parseBenchResult,
} from '../../core/benchmark-result.ts';
import { createTrainer, type TrainerHandle } from '../trainer.ts';
import type { BenchOptions } from './options.ts';

export interface RunProgress {
  /** What runs now, e.g. "WASM, threads + SIMD" or "Cryptography". */
  stage: string;
  /** 0-based index of the stage and how many there are. */
  index: number;
  stages: number;
  /** Progress inside the stage, e.g. "warm-up step 2 of 3". */
  detail: string;
  /** Overall fraction done, 0–1. */
  fraction: number;
}

export interface RunOutcome {
  result: BenchResult;
  /** The crypto benchmark's error, when it broke. */
  cryptoError: string | null;
  stopped: boolean;
}

class Stopped extends Error {
  override name = 'Stopped';
}

/** `p`, unless `signal` aborts first (a terminated worker never answers a pending call). */
function unlessStopped<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Stopped('stopped'));
  return new Promise<T>((ok, fail) => {
    const onAbort = () => fail(new Stopped('stopped'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        ok(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        fail(e);
      },
    );
  });
}

function message(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return (text.trim() || 'unknown error').replace(/\s+/g, ' ').slice(0, 480);
}

/** The WebGPU adapter this browser offers the page, described as backend.ts does; null when there is none. */
export async function describeAdapter(): Promise<string | null> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return null;
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return null;
    const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
    const text = info
      ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ')
      : '';
    return text.trim().slice(0, 256) || 'unknown adapter';
  } catch {
    return null;
  }
}

async function runConfig(
  id: BenchConfigId,
  o: BenchOptions,
  signal: AbortSignal,
  onDetail: (detail: string, fraction: number) => void,
  onParams: (n: number) => void,
): Promise<BackendResult> {
  const spec = BENCH_CONFIGS[id];
  const base = { id, backend: spec.backend };
  let trainer: TrainerHandle | undefined;
  try {
    trainer = createTrainer();
    const { api } = trainer;
    if (spec.wasm) {
      const choice = await unlessStopped(api.wasmFeatures(spec.wasm), signal);
      if (!choice.ok) return { ...base, status: 'unavailable', reason: choice.reason ?? 'not available' };
    }
    onDetail(spec.engine ? 'compiling the fused engine' : 'initialising the backend', 0);
    const t0 = performance.now();
    // the fused engine needs no tfjs backend: its init is compiling its module
    let report: { threads?: number; simd?: boolean; adapter?: string } = { threads: 1, simd: true };
    try {
      if (spec.engine) {
        const why = await unlessStopped(api.fusedWasmUnavailable(spec.engineThreads), signal);
        if (why !== null) return { ...base, status: 'unavailable', reason: why };
        report = { threads: spec.engineThreads ?? 1, simd: true };
      } else ({ report } = await unlessStopped(api.useBackend(spec.backend), signal));
    } catch (e) {
      if (e instanceof Stopped) throw e;
      return { ...base, status: 'unavailable', reason: message(e) };
    }
    const backendInitMs = performance.now() - t0;
    const total = o.warmup + o.steps;
    const m = await unlessStopped(
      (spec.engine ? api.benchFusedTraining : api.benchTraining)(
        {
          batchSize: o.batchSize,
          warmup: o.warmup,
          steps: o.steps,
          seconds: o.seconds,
          rows: o.rows,
          ...(spec.engineThreads && { threads: spec.engineThreads }),
        },
        proxy((p) => {
          if (p.phase === 'data') onDetail('making synthetic rows', 0);
          else if (p.phase === 'warmup' && p.step === 0)
            onDetail('first step: building the model and compiling its kernels', 0);
          else if (p.phase === 'warmup')
            onDetail(`warm-up step ${p.step} of ${p.steps} done`, (0.5 * p.step) / Math.max(1, o.warmup));
          else onDetail(`timed step ${p.step}`, Math.min(1, 0.5 + (0.5 * (o.warmup + p.step)) / total));
        }),
      ),
      signal,
    );
    onParams(m.params);
    return {
      ...base,
      status: 'measured',
      samplesPerSec: m.samplesPerSec,
      timeToFirstStepMs: m.timeToFirstStepMs,
      backendInitMs,
      peakTensorBytes: Math.round(m.peakTensorBytes),
      steps: m.steps,
      warmup: m.warmup,
      batchSize: m.batchSize,
      threads: report.threads ?? null,
      simd: report.simd ?? null,
      adapter: report.adapter?.trim().slice(0, 256) || null,
    };
  } catch (e) {
    if (e instanceof Stopped) throw e;
    return { ...base, status: 'failed', reason: message(e) };
  } finally {
    trainer?.terminate();
  }
}

async function runCrypto(
  o: BenchOptions,
  signal: AbortSignal,
  onDetail: (detail: string, fraction: number) => void,
): Promise<CryptoResult> {
  const trainer = createTrainer();
  try {
    return await unlessStopped(
      trainer.api.benchCrypto(
        { msPerOp: o.cryptoMs },
        proxy((p) => onDetail(p.operation, p.index / p.total)),
      ),
      signal,
    );
  } finally {
    trainer.terminate();
  }
}

/**
 * The whole benchmark; `onProgress` hears about every stage and step, `onResult` about each configuration
 * as soon as it is done (the page fills its table row by row).
 */
export async function runBenchmark(
  o: BenchOptions,
  onProgress: (p: RunProgress) => void,
  signal: AbortSignal,
  onResult: (t: BackendResult, index: number) => void = () => {},
): Promise<RunOutcome> {
  const stages = o.configs.length + (o.crypto ? 1 : 0);
  const training: BackendResult[] = [];
  let params = 0; // known once a configuration has built the model
  let stopped = false;
  const adapter = await describeAdapter();
  for (const [index, id] of o.configs.entries()) {
    const stage = BENCH_CONFIGS[id].label;
    if (stopped) {
      training.push({
        id,
        backend: BENCH_CONFIGS[id].backend,
        status: 'skipped',
        reason: 'the run was stopped',
      });
      onResult(training.at(-1)!, index);
      continue;
    }
    onProgress({ stage, index, stages, detail: 'starting a fresh worker', fraction: index / stages });
    try {
      training.push(
        await runConfig(
          id,
          o,
          signal,
          (detail, f) => onProgress({ stage, index, stages, detail, fraction: (index + f) / stages }),
          (n) => {
            params = n;
          },
        ),
      );
    } catch (e) {
      if (!(e instanceof Stopped)) throw e;
      stopped = true;
      training.push({
        id,
        backend: BENCH_CONFIGS[id].backend,
        status: 'skipped',
        reason: 'the run was stopped',
      });
    }
    onResult(training.at(-1)!, index);
  }
  let crypto: CryptoResult | null = null;
  let cryptoError: string | null = null;
  if (o.crypto && !stopped) {
    const index = o.configs.length;
    const stage = 'Cryptography';
    onProgress({ stage, index, stages, detail: 'starting a fresh worker', fraction: index / stages });
    try {
      crypto = await runCrypto(o, signal, (detail, f) =>
        onProgress({ stage, index, stages, detail, fraction: (index + f) / stages }),
      );
    } catch (e) {
      if (e instanceof Stopped) stopped = true;
      else cryptoError = message(e);
    }
  }
  const result: BenchResult = {
    format: BENCH_FORMAT,
    version: BENCH_VERSION,
    createdAt: new Date().toISOString(),
    browser: {
      userAgent: navigator.userAgent.slice(0, 512),
      hardwareConcurrency: Math.min(1024, Math.max(1, navigator.hardwareConcurrency || 1)),
      deviceMemory: (navigator as Navigator & { deviceMemory?: number }).deviceMemory ?? null,
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
    },
    adapter,
    settings: {
      batchSize: o.batchSize,
      warmup: o.warmup,
      steps: o.steps,
      seconds: o.seconds,
      rows: o.rows,
      cryptoMs: o.cryptoMs,
    },
    model: { params: params || null },
    training,
    crypto,
  };
  // The page never shows or offers a result the aggregator would refuse.
  return { result: parseBenchResult(result), cryptoError, stopped };
}
