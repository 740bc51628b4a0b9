/** How the benchmark's figures are written, on the bench page and the dashboard. Pure; no DOM. */
import { type BackendResult, BENCH_CONFIGS, type BenchResult, fastest } from '../../core/benchmark-result.ts';

const en = (v: number, digits = 0) =>
  v.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** 1,281 — or 12.3 below 100 and 0.52 below 1, so a slow backend still shows a figure. */
export function rate(v: number): string {
  if (!Number.isFinite(v)) return '–';
  if (v >= 100) return en(v);
  if (v >= 1) return en(v, 1);
  return en(v, 2);
}

/** 1.28 ms, 34.5 ms, 340 ms, 1.25 s, 12.5 s. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 10) return `${en(ms, 2)} ms`;
  if (ms < 100) return `${en(ms, 1)} ms`;
  if (ms < 1000) return `${en(ms)} ms`;
  return `${en(ms / 1000, ms < 10_000 ? 2 : 1)} s`;
}

/** Decimal units: 912 kB, 1.4 MB. */
export function bytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (n < 1e3) return `${en(n)} B`;
  if (n < 1e6) return `${en(n / 1e3)} kB`;
  if (n < 1e9) return `${en(n / 1e6, 1)} MB`;
  return `${en(n / 1e9, 2)} GB`;
}

/**
 * tfjs's WASM thread pool: half the logical cores the browser reports, between 1 and 8, whatever
 * `setThreadsCount` asks (tfjs-backend-wasm 4.22, src/cc/backend.cc `init_with_threads_count`).
 */
export function tfjsWasmThreads(cores: number): number {
  return Math.min(8, Math.max(1, Math.floor(cores / 2)));
}

/**
 * The table's notes column: threads, SIMD, the adapter, or why the configuration was not measured. A
 * threaded configuration that got one thread says why (`cores`: the browser's logical cores, when known).
 */
export function notes(t: BackendResult, cores?: number): string {
  if (t.status !== 'measured') return `${t.status}: ${t.reason}`;
  const parts: string[] = [];
  if (t.threads !== null) {
    let threads = `${t.threads} thread${t.threads === 1 ? '' : 's'}`;
    if (t.threads === 1 && BENCH_CONFIGS[t.id].wasm?.threads) {
      const of = cores ? `the ${cores} logical core${cores === 1 ? '' : 's'}` : 'the logical cores';
      threads += ` (tfjs uses half of ${of} this browser reports)`;
    }
    parts.push(threads);
  }
  if (t.simd !== null) parts.push(t.simd ? 'SIMD' : 'no SIMD');
  if (t.adapter) parts.push(/swiftshader/i.test(t.adapter) ? `${t.adapter} (software GPU)` : t.adapter);
  return parts.join(', ');
}

/** One sentence: the fastest configuration and how many were measured. */
export function summary(r: BenchResult): string {
  const best = fastest(r);
  const measured = r.training.filter((t) => t.status === 'measured').length;
  const missing = r.training.length - measured;
  if (!best) return `No configuration could be measured (${missing} not available).`;
  return (
    `Fastest: ${BENCH_CONFIGS[best.id].label}, ${rate(best.samplesPerSec)} training samples/s at batch ` +
    `${best.batchSize}. ${measured} of ${r.training.length} configurations measured` +
    (missing ? `; the others are listed with the reason.` : '.')
  );
}

/** "Chrome 131 on Linux" from a user agent, or the start of it. */
export function browserName(userAgent: string): string {
  // In priority order: Edge and Opera also say Chrome, Chrome also says Safari.
  let m: [string, string] | undefined;
  for (const name of ['Edg', 'OPR', 'Firefox', 'HeadlessChrome', 'Chrome', 'Chromium', 'Version']) {
    const found = new RegExp(`\\b${name}/(\\d+)`).exec(userAgent);
    if (found) {
      m = [name, found[1]!];
      break;
    }
  }
  const os = /Android/.test(userAgent)
    ? 'Android'
    : /iPhone|iPad/.test(userAgent)
      ? 'iOS'
      : /Windows/.test(userAgent)
        ? 'Windows'
        : /Mac OS X/.test(userAgent)
          ? 'macOS'
          : /CrOS/.test(userAgent)
            ? 'ChromeOS'
            : /Linux/.test(userAgent)
              ? 'Linux'
              : '';
  if (!m) return userAgent.slice(0, 40) || 'unknown browser';
  const names: Record<string, string> = { Edg: 'Edge', OPR: 'Opera', Version: 'Safari' };
  return `${names[m[0]] ?? m[0]} ${m[1]}${os ? ` on ${os}` : ''}`;
}
