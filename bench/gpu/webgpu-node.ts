/**
 * WebGPU training on a real GPU, in Node on Dawn (bench/gpu/README.md): for the default PQFed model,
 *   1. the fused engine's loss and every gradient against tfjs (cpu backend) on that GPU;
 *   2. GPU dispatches of one training step, tfjs WebGPU against the fused engine;
 *   3. training throughput (samples/s) per batch size, the fused WebGPU engine (per per-sample workgroup
 *      size, kernels.ts SAMPLE_WG_CHOICES) and tfjs's WebGPU backend
 *      (optimizer.minimize of the same loss), each timed for `--seconds` after warm-up steps, the queue
 *      drained (a loss read) every `SYNC_EVERY` steps and at the end.
 * Prints one JSON object. PyTorch CUDA on the same model is bench/reference_torch.py --device cuda.
 * Usage (bundled by bench/gpu/bundle.sh): node webgpu-node.mjs [--batches 64,256,1024,4096] [--seconds 5]
 */
import './dawn-globals.ts';
import '@tensorflow/tfjs-backend-webgpu';
import { parseArgs } from 'node:util';
import { Rng } from '../../src/core/random.ts';
import { checkGradients, countDispatches, randomBatch, toTf } from '../../src/engine/webgpu/check.ts';
import { WebGpuEngine } from '../../src/engine/webgpu/engine.ts';
import { SAMPLE_WG_CHOICES } from '../../src/engine/webgpu/kernels.ts';
import { useBackend } from '../../src/model/backend.ts';
import { modelConfigFor } from '../../src/model/centralized.ts';
import { initWeights, type ModelConfig, MultiTaskModel } from '../../src/model/model.ts';
import { tf } from '../../src/model/tf.ts';
import { syntheticTrainingData } from '../../src/model/throughput.ts';

const SYNC_EVERY = 10;
const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '64,256,1024,4096,16384' },
    seconds: { type: 'string', default: '5' },
  },
});
const batches = values.batches.split(',').map(Number);
const seconds = Number(values.seconds);

async function timed(step: () => void, sync: () => Promise<unknown>): Promise<{ steps: number; s: number }> {
  for (let i = 0; i < 5; i++) step();
  await sync();
  let steps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    for (let i = 0; i < SYNC_EVERY; i++) step();
    await sync();
    steps += SYNC_EVERY;
  }
  return { steps, s: (performance.now() - t0) / 1000 };
}

async function engineRate(config: ModelConfig, batch: number, sampleWorkgroup: number): Promise<number> {
  const rng = new Rng(batch);
  const x = randomBatch(config, batch, rng);
  const engine = await WebGpuEngine.create(config, { maxBatch: batch, sampleWorkgroup });
  try {
    engine.setWeights(initWeights(config, 1).weights);
    const r = await timed(
      () => engine.step(x, { learningRate: 1e-3 }),
      () => engine.readLoss(),
    );
    return (r.steps * batch) / r.s;
  } finally {
    engine.destroy();
  }
}

async function tfjsRate(config: ModelConfig, batch: number): Promise<number> {
  await useBackend('webgpu');
  const rng = new Rng(batch);
  const x = randomBatch(config, batch, rng);
  const model = new MultiTaskModel(config, initWeights(config, 1).weights);
  const optimizer = tf.train.adam(1e-3);
  const t = toTf(config, x);
  let last: tf.Scalar | null = null;
  try {
    const r = await timed(
      () => {
        last?.dispose();
        last = optimizer.minimize(() => model.loss(t.batch, t.targets), true, Object.values(model.params));
      },
      async () => last?.data(),
    );
    return (r.steps * batch) / r.s;
  } finally {
    (last as tf.Scalar | null)?.dispose();
    optimizer.dispose();
    tf.dispose([t.batch.numeric, t.batch.categorical, t.targets.label, t.targets.mos]);
    model.dispose();
  }
}

const adapter = await navigator.gpu.requestAdapter();
const info = adapter?.info;
const config = modelConfigFor((await syntheticTrainingData('toniot', 64, 1)).pre);
const out: Record<string, unknown> = {
  date: new Date().toISOString(),
  adapter: info
    ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ')
    : null,
  node: process.version,
  params: initWeights(config, 1).weights.length,
};
const gradients: Record<string, unknown> = {};
for (const sampleWorkgroup of SAMPLE_WG_CHOICES) {
  const g = await checkGradients(config, { seed: 7, batch: 64, sampleWorkgroup });
  gradients[`wg${sampleWorkgroup}`] = { maxRelError: g.maxRelError, lossRelError: g.lossRelError };
  console.error(`gradients (workgroup ${sampleWorkgroup}): max rel error ${g.maxRelError.toExponential(2)}`);
}
out.gradients = { reference: 'tfjs cpu', batch: 64, ...gradients };
const d = await countDispatches({ batch: 64, seed: 3, config });
out.dispatchesPerStep = { tfjs: d.tfjs, engine: d.engine };
console.error(`dispatches per step: tfjs ${d.tfjs}, engine ${d.engine}`);
type Row = { batch: number; engine: Record<string, number | null>; tfjs: number | null; error?: string };
const results: Row[] = [];
for (const batch of batches) {
  const row: Row = { batch, engine: {}, tfjs: null };
  for (const sampleWorkgroup of SAMPLE_WG_CHOICES) {
    try {
      row.engine[`wg${sampleWorkgroup}`] = await engineRate(config, batch, sampleWorkgroup);
    } catch (e) {
      row.engine[`wg${sampleWorkgroup}`] = null;
      row.error = `${row.error ?? ''} engine wg${sampleWorkgroup}: ${(e as Error).message}`;
    }
  }
  try {
    row.tfjs = await tfjsRate(config, batch);
  } catch (e) {
    row.error = `${row.error ?? ''} tfjs: ${(e as Error).message}`;
  }
  const eng = Object.entries(row.engine).map(([k, v]) => `${k} ${v?.toFixed(0)}`);
  console.error(`batch ${batch}: engine ${eng.join(', ')} samples/s; tfjs ${row.tfjs?.toFixed(0)}`);
  results.push(row);
}
out.results = results;
console.log(JSON.stringify(out));
process.exit(0);
