/**
 * The browser benchmark's result (`/bench`): what the page shows, downloads as JSON and submits to
 * `POST /api/benchmarks`, and the one strict validator both sides use, so the page never offers a result the
 * aggregator would refuse. Pure; no DOM.
 *
 * Every backend configuration is either measured (samples/s > 0, time to the first step, peak tensor bytes)
 * or not, with a reason. Unknown fields are refused, numbers must be finite and in range, strings are
 * bounded and free of control characters; a refusal names the field, what was expected and what came.
 */

export const BENCH_FORMAT = 'pqfed-browser-bench';
export const BENCH_VERSION = 1;

/** The configurations (engine × device) the page measures, in the order it runs them. */
export const BENCH_CONFIG_IDS = [
  'webgpu',
  'wasm',
  'wasm-simd',
  'fused-wasm',
  'fused-wasm-threads',
  'wasm-plain',
  'cpu',
] as const;
export type BenchConfigId = (typeof BENCH_CONFIG_IDS)[number];
export type BenchBackend = 'webgpu' | 'wasm' | 'cpu';

export const BENCH_CONFIGS: Readonly<
  Record<
    BenchConfigId,
    {
      backend: BenchBackend;
      label: string;
      wasm?: { simd: boolean; threads: boolean };
      /** Trained by the fused WASM engine (src/engine/wasm-engine.ts), not tfjs: SIMD, one thread. */
      engine?: 'fused-wasm';
      /**
       * The fused engine's data-parallel step on this many threads (src/engine/threads.ts): needs a
       * cross-origin-isolated page (SharedArrayBuffer).
       */
      engineThreads?: number;
    }
  >
> = {
  webgpu: { backend: 'webgpu', label: 'WebGPU' },
  wasm: { backend: 'wasm', label: 'WASM, threads + SIMD', wasm: { simd: true, threads: true } },
  'wasm-simd': { backend: 'wasm', label: 'WASM, SIMD, one thread', wasm: { simd: true, threads: false } },
  'fused-wasm': { backend: 'wasm', label: 'fused WASM engine, SIMD, one thread', engine: 'fused-wasm' },
  'fused-wasm-threads': {
    backend: 'wasm',
    label: 'fused WASM engine, SIMD, 2 threads (batch split)',
    engine: 'fused-wasm',
    engineThreads: 2,
  },
  'wasm-plain': {
    backend: 'wasm',
    label: 'WASM, no threads, no SIMD',
    wasm: { simd: false, threads: false },
  },
  cpu: { backend: 'cpu', label: 'CPU (plain JavaScript)' },
};

export interface MeasuredBackend {
  id: BenchConfigId;
  backend: BenchBackend;
  status: 'measured';
  /** Training samples per second after the warm-up. */
  samplesPerSec: number;
  /** From the model's creation to the end of the first optimizer step (shader or kernel compilation included). */
  timeToFirstStepMs: number;
  /** Initialising the backend in a fresh worker (WASM compilation, WebGPU device). */
  backendInitMs: number;
  /** Largest `tf.memory().numBytes` seen: at the end of every forward pass and after every step. */
  peakTensorBytes: number;
  /** Steps timed (after `warmup` untimed steps). */
  steps: number;
  warmup: number;
  batchSize: number;
  /** WASM: threads in use. */
  threads: number | null;
  /** WASM: SIMD in use. */
  simd: boolean | null;
  /** WebGPU: the adapter. */
  adapter: string | null;
}

export interface UnmeasuredBackend {
  id: BenchConfigId;
  backend: BenchBackend;
  /** unavailable: the browser lacks it; failed: it broke while running; skipped: the run was stopped. */
  status: 'unavailable' | 'failed' | 'skipped';
  reason: string;
}

export type BackendResult = MeasuredBackend | UnmeasuredBackend;

/** Post-quantum and symmetric crypto speed, measured in a worker. */
export interface CryptoResult {
  mlkem768EncapsulatePerSec: number;
  xwingEncapsulatePerSec: number;
  mldsa65SignPerSec: number;
  mldsa65VerifyPerSec: number;
  /** AES-256-GCM sealing 1 MiB messages, in MB/s (10⁶ bytes). */
  aes256GcmMBPerSec: number;
  aesImplementation: 'webcrypto' | 'noble';
}

export interface BenchSettings {
  batchSize: number;
  warmup: number;
  /** At most this many timed steps per configuration… */
  steps: number;
  /** …or until this many seconds have been timed, whichever comes first. */
  seconds: number;
  /** Synthetic TON_IoT-shaped rows the batches are drawn from. */
  rows: number;
  /** Time spent on each crypto operation. */
  cryptoMs: number;
}

export interface BenchResult {
  format: typeof BENCH_FORMAT;
  version: typeof BENCH_VERSION;
  createdAt: string;
  browser: {
    userAgent: string;
    hardwareConcurrency: number;
    deviceMemory: number | null;
    crossOriginIsolated: boolean;
  };
  /** The WebGPU adapter the page found, or null. */
  adapter: string | null;
  settings: BenchSettings;
  /** Parameters of the model trained (null when no configuration was measured). */
  model: { params: number | null };
  training: BackendResult[];
  crypto: CryptoResult | null;
}

/** Largest JSON body `POST /api/benchmarks` reads. */
export const MAX_BENCH_JSON_BYTES = 64 * 1024;

export class BenchResultError extends Error {
  override name = 'BenchResultError';
}

// ---------------------------------------------------------------------------------------------------------
// Validation

function got(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : `the non-finite number ${v}`;
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

function fail(path: string, expected: string, v: unknown): never {
  throw new BenchResultError(`${path}: expected ${expected}, got ${got(v)}`);
}

function record(v: unknown, path: string, required: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'an object', v);
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !required.includes(k));
  if (extra.length) {
    throw new BenchResultError(
      `${path}: expected only the fields ${required.join(', ')}, got also ${extra.slice(0, 5).join(', ')}`,
    );
  }
  for (const k of required) if (!(k in o)) fail(`${path}.${k}`, 'a value', undefined);
  return o;
}

function num(
  v: unknown,
  path: string,
  min: number,
  max: number,
  o: { integer?: boolean; aboveMin?: boolean } = {},
): number {
  const kind = o.integer ? 'an integer' : 'a finite number';
  const range = `${o.aboveMin ? '(' : '['}${min}, ${max}]`;
  if (typeof v !== 'number' || !Number.isFinite(v) || (o.integer && !Number.isInteger(v)))
    fail(path, `${kind} in ${range}`, v);
  if (v > max || v < min || (o.aboveMin && v === min)) fail(path, `${kind} in ${range}`, v);
  return v;
}

// Control characters (C0, DEL, C1) and the line/paragraph separators are refused in every string.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function str(v: unknown, path: string, maxLength: number, o: { nonBlank?: boolean } = {}): string {
  const expected = `a string of ${o.nonBlank ? 1 : 0} to ${maxLength} characters without control characters`;
  if (typeof v !== 'string' || v.length > maxLength || CONTROL.test(v)) fail(path, expected, v);
  if (o.nonBlank && v.trim() === '') fail(path, expected, v);
  return v;
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'true or false', v);
  return v;
}

function nullable<T>(v: unknown, check: (v: unknown) => T): T | null {
  return v === null ? null : check(v);
}

function oneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !values.includes(v as T)) fail(path, `one of ${values.join(', ')}`, v);
  return v as T;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
const HOUR_MS = 3_600_000;
const MAX_RATE = 1e9;

function backendResult(v: unknown, path: string): BackendResult {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'an object', v);
  const status = oneOf((v as Record<string, unknown>).status, `${path}.status`, [
    'measured',
    'unavailable',
    'failed',
    'skipped',
  ] as const);
  if (status !== 'measured') {
    const o = record(v, path, ['id', 'backend', 'status', 'reason']);
    const id = oneOf(o.id, `${path}.id`, BENCH_CONFIG_IDS);
    return {
      id,
      backend: oneOf(o.backend, `${path}.backend`, [BENCH_CONFIGS[id].backend]),
      status,
      reason: str(o.reason, `${path}.reason`, 500, { nonBlank: true }),
    };
  }
  const o = record(v, path, [
    'id',
    'backend',
    'status',
    'samplesPerSec',
    'timeToFirstStepMs',
    'backendInitMs',
    'peakTensorBytes',
    'steps',
    'warmup',
    'batchSize',
    'threads',
    'simd',
    'adapter',
  ]);
  const id = oneOf(o.id, `${path}.id`, BENCH_CONFIG_IDS);
  return {
    id,
    backend: oneOf(o.backend, `${path}.backend`, [BENCH_CONFIGS[id].backend]),
    status,
    samplesPerSec: num(o.samplesPerSec, `${path}.samplesPerSec`, 0, MAX_RATE, { aboveMin: true }),
    timeToFirstStepMs: num(o.timeToFirstStepMs, `${path}.timeToFirstStepMs`, 0, HOUR_MS),
    backendInitMs: num(o.backendInitMs, `${path}.backendInitMs`, 0, HOUR_MS),
    peakTensorBytes: num(o.peakTensorBytes, `${path}.peakTensorBytes`, 0, Number.MAX_SAFE_INTEGER, {
      integer: true,
    }),
    steps: num(o.steps, `${path}.steps`, 1, 1_000_000, { integer: true }),
    warmup: num(o.warmup, `${path}.warmup`, 1, 10_000, { integer: true }),
    batchSize: num(o.batchSize, `${path}.batchSize`, 1, 4096, { integer: true }),
    threads: nullable(o.threads, (t) => num(t, `${path}.threads`, 1, 1024, { integer: true })),
    simd: nullable(o.simd, (s) => bool(s, `${path}.simd`)),
    adapter: nullable(o.adapter, (a) => str(a, `${path}.adapter`, 256)),
  };
}

function cryptoResult(v: unknown, path: string): CryptoResult {
  const o = record(v, path, [
    'mlkem768EncapsulatePerSec',
    'xwingEncapsulatePerSec',
    'mldsa65SignPerSec',
    'mldsa65VerifyPerSec',
    'aes256GcmMBPerSec',
    'aesImplementation',
  ]);
  const rate = (k: string) => num(o[k], `${path}.${k}`, 0, MAX_RATE, { aboveMin: true });
  return {
    mlkem768EncapsulatePerSec: rate('mlkem768EncapsulatePerSec'),
    xwingEncapsulatePerSec: rate('xwingEncapsulatePerSec'),
    mldsa65SignPerSec: rate('mldsa65SignPerSec'),
    mldsa65VerifyPerSec: rate('mldsa65VerifyPerSec'),
    aes256GcmMBPerSec: rate('aes256GcmMBPerSec'),
    aesImplementation: oneOf(o.aesImplementation, `${path}.aesImplementation`, [
      'webcrypto',
      'noble',
    ] as const),
  };
}

/**
 * A copy of `value` holding exactly the fields of a BenchResult, or BenchResultError naming the first field
 * that is missing, unknown, of the wrong type or out of range.
 */
export function parseBenchResult(value: unknown): BenchResult {
  const o = record(value, 'result', [
    'format',
    'version',
    'createdAt',
    'browser',
    'adapter',
    'settings',
    'model',
    'training',
    'crypto',
  ]);
  if (o.format !== BENCH_FORMAT) fail('result.format', JSON.stringify(BENCH_FORMAT), o.format);
  if (o.version !== BENCH_VERSION) fail('result.version', String(BENCH_VERSION), o.version);
  if (
    typeof o.createdAt !== 'string' ||
    !ISO_TIME.test(o.createdAt) ||
    !Number.isFinite(Date.parse(o.createdAt))
  )
    fail('result.createdAt', 'an ISO 8601 UTC time such as 2026-11-23T12:00:00.000Z', o.createdAt);
  const b = record(o.browser, 'result.browser', [
    'userAgent',
    'hardwareConcurrency',
    'deviceMemory',
    'crossOriginIsolated',
  ]);
  const s = record(o.settings, 'result.settings', [
    'batchSize',
    'warmup',
    'steps',
    'seconds',
    'rows',
    'cryptoMs',
  ]);
  const m = record(o.model, 'result.model', ['params']);
  if (!Array.isArray(o.training) || o.training.length < 1 || o.training.length > BENCH_CONFIG_IDS.length)
    fail('result.training', `an array of 1 to ${BENCH_CONFIG_IDS.length} backend results`, o.training);
  const training = o.training.map((t, i) => backendResult(t, `result.training[${i}]`));
  const seen = new Set<string>();
  for (const [i, t] of training.entries()) {
    if (seen.has(t.id)) fail(`result.training[${i}].id`, 'each configuration once', t.id);
    seen.add(t.id);
  }
  return {
    format: BENCH_FORMAT,
    version: BENCH_VERSION,
    createdAt: o.createdAt,
    browser: {
      userAgent: str(b.userAgent, 'result.browser.userAgent', 512),
      hardwareConcurrency: num(b.hardwareConcurrency, 'result.browser.hardwareConcurrency', 1, 1024, {
        integer: true,
      }),
      deviceMemory: nullable(b.deviceMemory, (d) =>
        num(d, 'result.browser.deviceMemory', 0, 1024, { aboveMin: true }),
      ),
      crossOriginIsolated: bool(b.crossOriginIsolated, 'result.browser.crossOriginIsolated'),
    },
    adapter: nullable(o.adapter, (a) => str(a, 'result.adapter', 256)),
    settings: {
      batchSize: num(s.batchSize, 'result.settings.batchSize', 1, 4096, { integer: true }),
      warmup: num(s.warmup, 'result.settings.warmup', 1, 10_000, { integer: true }),
      steps: num(s.steps, 'result.settings.steps', 1, 1_000_000, { integer: true }),
      seconds: num(s.seconds, 'result.settings.seconds', 0, 600, { aboveMin: true }),
      rows: num(s.rows, 'result.settings.rows', 1, 1_000_000, { integer: true }),
      cryptoMs: num(s.cryptoMs, 'result.settings.cryptoMs', 0, 60_000, { aboveMin: true }),
    },
    model: { params: nullable(m.params, (n) => num(n, 'result.model.params', 1, 1e9, { integer: true })) },
    training,
    crypto: nullable(o.crypto, (c) => cryptoResult(c, 'result.crypto')),
  };
}

/** The fastest measured configuration, or null. */
export function fastest(r: Pick<BenchResult, 'training'>): MeasuredBackend | null {
  let best: MeasuredBackend | null = null;
  for (const t of r.training)
    if (t.status === 'measured' && (!best || t.samplesPerSec > best.samplesPerSec)) best = t;
  return best;
}
