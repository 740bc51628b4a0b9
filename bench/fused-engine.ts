/**
 * The fused WASM engine against tfjs wasm and PyTorch on a shared, noisy machine: `rounds` interleaved
 * rounds (tfjs wasm, fused engine, PyTorch at each batch, one thread each, the same model and config), then
 * the median samples/s of each and the median of the per-round ratios (each ratio taken between runs
 * seconds apart, so a load change between rounds cancels). Same measurements as `pqfed bench`
 * (src/bench/training.ts). Prints one JSON object.
 * Run: `npx tsx bench/fused-engine.ts [--batches 64,256] [--seconds 4] [--rounds 5] [--threads W]
 * [--fused-only] [--profile]`.
 * `--threads W` adds the fused engine's data-parallel step on W threads (src/engine/threads.ts) to every
 * round, with the median of the per-round ratios fused×W ÷ fused; `--fused-only` skips tfjs and PyTorch
 * (for that comparison alone). `--profile` adds the fused engine's time per section at the largest batch
 * (FusedEngine.profile()).
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import {
  findTorchPython,
  measureBackend,
  measureEngine,
  torchReference,
  trainingModel,
} from '../src/bench/training.ts';
import { FusedEngine } from '../src/engine/wasm-engine.ts';
import { modelConfigFor } from '../src/model/centralized.ts';
import { initWeights } from '../src/model/model.ts';
import { syntheticTrainingData } from '../src/model/throughput.ts';

const { values } = parseArgs({
  options: {
    batches: { type: 'string' },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    profile: { type: 'boolean' },
    threads: { type: 'string' },
    'fused-only': { type: 'boolean' },
  },
});
const batches = (values.batches ?? '64,256').split(',').map(Number);
const seconds = Number(values.seconds ?? 4);
const rounds = Number(values.rounds ?? 5);
const threads = Number(values.threads ?? 1);
const fusedOnly = values['fused-only'] === true;
const say = (line: string) => process.stderr.write(`${line}\n`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const model = await trainingModel();
const found = fusedOnly ? { python: null, why: '--fused-only' } : await findTorchPython();
if (found.python === null) say(`no PyTorch reference: ${found.why}`);
type Row = { wasm: number | null; fused: number; threaded: number | null; torch: number | null };
const runs = new Map<number, Row[]>(batches.map((b) => [b, []]));
for (let r = 0; r < rounds; r++) {
  for (const batch of batches) {
    const [wasm] = fusedOnly
      ? [null]
      : await measureBackend('wasm', [batch], { seconds, warmup: 2, minSteps: 3 });
    const [fused] = await measureEngine([batch], { seconds, warmup: 2, minSteps: 3 });
    const [threaded] =
      threads > 1 ? await measureEngine([batch], { seconds, warmup: 2, minSteps: 3 }, threads) : [null];
    let torch: number | null = null;
    if (found.python) {
      try {
        const ref = await torchReference({
          python: found.python,
          config: model.config,
          batches: [batch],
          seconds,
          threads: 1,
          timeoutMs: 120_000 + seconds * 3000,
        });
        torch = ref.results[0]!.samplesPerSec;
      } catch (e) {
        say(`PyTorch: ${(e as Error).message}`);
      }
    }
    const row = {
      wasm: wasm?.samplesPerSec ?? null,
      fused: fused!.samplesPerSec,
      threaded: threaded?.samplesPerSec ?? null,
      torch,
    };
    runs.get(batch)!.push(row);
    say(
      `round ${r + 1}/${rounds} batch ${batch}: ${row.wasm ? `tfjs wasm ${row.wasm.toFixed(0)}, ` : ''}fused ${row.fused.toFixed(0)}` +
        `${row.threaded ? `, fused×${threads} ${row.threaded.toFixed(0)}` : ''}` +
        `${torch ? `, PyTorch ${torch.toFixed(0)}` : ''} samples/s`,
    );
  }
}

let profile: Record<string, unknown> | undefined;
if (values.profile) {
  const batch = Math.max(...batches);
  const { pre, data } = await syntheticTrainingData('toniot', 2000, 1);
  const config = modelConfigFor(pre);
  const engine = await FusedEngine.create(config, initWeights(config, 1).weights, batch);
  const order = Int32Array.from({ length: data.n }, (_, i) => i);
  engine.loadRows(data, order, 0, batch);
  engine.step(batch, 1e-3);
  const steps = 20;
  engine.setProfile(true);
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    engine.loadRows(data, order, 0, batch);
    engine.step(batch, 1e-3);
  }
  const total = (performance.now() - t0) / steps;
  const p = engine.profile();
  engine.setProfile(false);
  const r2 = (x: number) => Math.round((x / steps) * 100) / 100;
  profile = {
    batch,
    msPerStep: Math.round(total * 100) / 100,
    gemmMsPerStep: r2(p.gemm),
    sections: Object.fromEntries(
      Object.entries(p.sections).map(([k, v]) => [k, { ms: r2(v.ms), gemmMs: r2(v.gemmMs) }]),
    ),
  };
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;
process.stdout.write(
  `${JSON.stringify({
    machine: { cpus: cpus().length, model: cpus()[0]?.model.trim(), node: process.version },
    params: model.params,
    rounds,
    secondsPerRun: seconds,
    threads: 1,
    ...(threads > 1 && { dataParallelThreads: threads }),
    byBatch: batches.map((batch) => {
      const rows = runs.get(batch)!;
      const torch = rows.filter((r) => r.torch !== null && r.wasm !== null) as {
        wasm: number;
        fused: number;
        torch: number;
      }[];
      const wasm = rows.filter((r) => r.wasm !== null) as { wasm: number; fused: number }[];
      const threaded = rows.filter((r) => r.threaded !== null) as { fused: number; threaded: number }[];
      return {
        batch,
        tfjsWasm: wasm.length ? Math.round(median(wasm.map((r) => r.wasm))) : null,
        fused: Math.round(median(rows.map((r) => r.fused))),
        ...(threaded.length && {
          [`fusedX${threads}`]: Math.round(median(threaded.map((r) => r.threaded))),
          [`fusedX${threads}OverFused`]: r3(median(threaded.map((r) => r.threaded / r.fused))),
        }),
        pytorch: torch.length ? Math.round(median(torch.map((r) => r.torch))) : null,
        fusedOverWasm: wasm.length ? r3(median(wasm.map((r) => r.fused / r.wasm))) : null,
        fusedOverPytorch: torch.length ? r3(median(torch.map((r) => r.fused / r.torch))) : null,
        wasmOverPytorch: torch.length ? r3(median(torch.map((r) => r.wasm / r.torch))) : null,
      };
    }),
    ...(profile && { profile }),
  })}\n`,
);
