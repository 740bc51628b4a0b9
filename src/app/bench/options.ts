/**
 * The benchmark view's settings: defaults, bounds, and what the URL can set
 * (`/bench?steps=3&warmup=1&seconds=2&crypto-ms=100&backends=wasm,cpu&run=1`). Pure; no DOM.
 *
 * Defaults keep a run to about a minute on a laptop: each configuration gets 3 warm-up steps, then is timed
 * for 5 s (or 200 steps, whichever comes first); a software WebGPU (SwiftShader, ~50 samples/s) therefore
 * runs only a few steps.
 */
import { BENCH_CONFIG_IDS, type BenchConfigId, type BenchSettings } from '../../core/benchmark-result.ts';

export interface BenchOptions extends BenchSettings {
  configs: BenchConfigId[];
  crypto: boolean;
  /** Start at once (the URL's `run=1`). */
  autorun: boolean;
}

export const DEFAULTS: BenchOptions = {
  batchSize: 64,
  warmup: 3,
  steps: 200,
  seconds: 5,
  rows: 2000,
  cryptoMs: 400,
  configs: [...BENCH_CONFIG_IDS],
  crypto: true,
  autorun: false,
};

/** Inclusive bounds of the numeric settings (the form's min/max and the URL's clamp). */
export const BOUNDS: Record<
  'batchSize' | 'warmup' | 'steps' | 'seconds' | 'rows' | 'cryptoMs',
  [number, number]
> = {
  batchSize: [8, 1024],
  warmup: [1, 50],
  steps: [2, 5000],
  seconds: [0.5, 60],
  rows: [256, 20_000],
  cryptoMs: [20, 5000],
};

const INTEGER = new Set(['batchSize', 'warmup', 'steps', 'rows']);

/** A setting from text (a URL parameter or a form field): clamped to its bounds, or null if not a number. */
export function parseSetting(key: keyof typeof BOUNDS, text: string | null): number | null {
  if (text === null || text.trim() === '') return null;
  const v = Number(text);
  if (!Number.isFinite(v)) return null;
  const [lo, hi] = BOUNDS[key];
  const clamped = Math.min(hi, Math.max(lo, v));
  return INTEGER.has(key) ? Math.round(clamped) : clamped;
}

const PARAMS: Record<keyof typeof BOUNDS, string> = {
  batchSize: 'batch',
  warmup: 'warmup',
  steps: 'steps',
  seconds: 'seconds',
  rows: 'rows',
  cryptoMs: 'crypto-ms',
};

/** The settings a URL's query asks for, over the defaults; unknown or malformed values are ignored. */
export function optionsFromQuery(search: string): BenchOptions {
  const q = new URLSearchParams(search);
  const out: BenchOptions = { ...DEFAULTS, configs: [...DEFAULTS.configs] };
  for (const key of Object.keys(PARAMS) as (keyof typeof BOUNDS)[]) {
    const v = parseSetting(key, q.get(PARAMS[key]));
    if (v !== null) out[key] = v;
  }
  const backends = q.get('backends');
  if (backends !== null) {
    const asked = backends.split(',').map((s) => s.trim());
    const known = BENCH_CONFIG_IDS.filter((id) => asked.includes(id));
    if (known.length) out.configs = known;
  }
  if (q.get('crypto') === '0') out.crypto = false;
  out.autorun = q.get('run') === '1';
  return out;
}
