/**
 * Training throughput of the default model in Node (tfjs wasm and cpu) and, when `python3 -c 'import torch'`
 * works, of the same architecture in PyTorch (bench/reference_torch.py) in the same run, with the ratio.
 * Prints one JSON object. Run: `npx tsx bench/training.ts [--batches 64,256] [--seconds 10]`.
 * The browser figures come from e2e/bench.spec.ts (PQFED_BENCH=1 npx playwright test --grep @bench).
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { type BackendName, useBackend } from '../src/model/backend.ts';
import { measureTrainingThroughput } from '../src/model/throughput.ts';

const { values } = parseArgs({ options: { batches: { type: 'string' }, seconds: { type: 'string' } } });
const batches = (values.batches ?? '64,256').split(',').map(Number);
const seconds = Number(values.seconds ?? 10);

const training: { backend: BackendName; batch: number; samplesPerSec: number }[] = [];
for (const backend of ['wasm', 'cpu'] as const) {
  await useBackend(backend);
  for (const batch of batches) {
    // a short probe sizes the timed run to about `seconds`
    const probe = await measureTrainingThroughput({ batchSize: batch, steps: 3, warmup: 2 });
    const steps = Math.max(5, Math.round((probe.samplesPerSec * seconds) / batch));
    const r = await measureTrainingThroughput({ batchSize: batch, steps, warmup: 3 });
    training.push({ backend, batch, samplesPerSec: Math.round(r.samplesPerSec) });
    process.stderr.write(`${backend} batch ${batch}: ${r.samplesPerSec.toFixed(0)} samples/s\n`);
  }
}

let reference: { framework: string; results: { batch: number; samplesPerSec: number }[] } | null = null;
// The first interpreter that has torch (Debian's python3-torch lives in /usr/bin/python3's path).
const python =
  ['python3', '/usr/bin/python3'].find(
    (p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
  ) ?? 'python3';
const py = spawnSync(
  python,
  [
    new URL('./reference_torch.py', import.meta.url).pathname,
    '--batches',
    batches.join(','),
    '--seconds',
    String(seconds),
  ],
  { encoding: 'utf8' },
);
if (py.status === 0) reference = JSON.parse(py.stdout.trim().split('\n').at(-1)!);
else
  process.stderr.write(`no PyTorch reference: ${py.stderr.trim().split('\n').at(-1) ?? 'python3 failed'}\n`);

const ratios = reference
  ? training.map((t) => {
      const ref = reference!.results.find((r) => r.batch === t.batch);
      return {
        ...t,
        reference: ref ? Math.round(ref.samplesPerSec) : null,
        ratio: ref ? +(t.samplesPerSec / ref.samplesPerSec).toFixed(3) : null,
      };
    })
  : training;
process.stdout.write(
  `${JSON.stringify({ machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version }, training: ratios, reference: reference?.framework ?? null })}\n`,
);
