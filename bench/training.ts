/**
 * Training throughput of the default model in Node (tfjs wasm and cpu, the fused WASM engine) and, when `python3 -c 'import torch'`
 * works, of the same architecture in PyTorch (bench/reference_torch.py, given the same model config) in the
 * same run, with the ratio. The measurements are src/bench/training.ts's, shared with `pqfed bench` (which
 * also measures the cryptography, the aggregator and the wire bytes: prefer it).
 * Prints one JSON object. Run: `npx tsx bench/training.ts [--batches 64,256] [--seconds 10] [--backends wasm,cpu]`.
 * The browser figures come from e2e/bench.spec.ts (PQFED_BENCH=1 npx playwright test --grep @bench).
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import {
  findTorchPython,
  measureBackend,
  measureEngine,
  type TorchReference,
  type TrainingFigure,
  torchReference,
  trainingModel,
} from '../src/bench/training.ts';

const { values } = parseArgs({
  options: { batches: { type: 'string' }, seconds: { type: 'string' }, backends: { type: 'string' } },
});
const backends = (values.backends ?? 'wasm,cpu').split(',') as ('wasm' | 'cpu')[];
const batches = (values.batches ?? '64,256').split(',').map(Number);
const seconds = Number(values.seconds ?? 10);
const say = (line: string) => process.stderr.write(`${line}\n`);

const model = await trainingModel();
const training: TrainingFigure[] = [];
for (const backend of backends) {
  const figures = await measureBackend(backend, batches, { seconds, warmup: 3, minSteps: 5, progress: say });
  training.push(...figures.map((f) => ({ ...f, samplesPerSec: Math.round(f.samplesPerSec) })));
}
const fused = await measureEngine(batches, { seconds, warmup: 3, minSteps: 5, progress: say });
training.push(...fused.map((f) => ({ ...f, samplesPerSec: Math.round(f.samplesPerSec) })));

let reference: TorchReference | null = null;
const found = await findTorchPython();
if (found.python === null) say(`no PyTorch reference: ${found.why}`);
else {
  try {
    reference = await torchReference({
      python: found.python,
      config: model.config,
      batches,
      seconds,
      timeoutMs: 120_000 + batches.length * seconds * 3000,
    });
  } catch (e) {
    say(`no PyTorch reference: ${(e as Error).message}`);
  }
}

const wasmAt = (batch: number) =>
  training.find((t) => t.backend === 'wasm' && t.batch === batch)?.samplesPerSec;
const ratios = reference
  ? training.map((t) => {
      const ref = reference!.results.find((r) => r.batch === t.batch);
      return {
        ...t,
        reference: ref ? Math.round(ref.samplesPerSec) : null,
        ratio: ref ? +(t.samplesPerSec / ref.samplesPerSec).toFixed(3) : null,
        ratioToWasm: wasmAt(t.batch) ? +(t.samplesPerSec / wasmAt(t.batch)!).toFixed(3) : null,
      };
    })
  : training;
process.stdout.write(
  `${JSON.stringify({
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    params: model.params,
    training: ratios,
    reference: reference?.framework ?? null,
    referenceThreads: reference?.threads ?? null,
    referenceParams: reference?.params ?? null,
  })}\n`,
);
