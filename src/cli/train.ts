/** `pqfed train --dataset D --data FILE [--test FILE] [--epochs N] …` (flags: commands.ts). */
import { DATASET_IDS } from '../data/schema.ts';
import { chooseStepEngine, fallbackLine } from '../engine/step-engine.ts';
import { useBackend } from '../model/backend.ts';
import { type CentralizedReport, trainCentralized } from '../model/centralized.ts';
import type { TrainOptions } from './commands.ts';
import { UsageError } from './errors.ts';
import { loadTable } from './import.ts';
import { throttled } from './progress.ts';

export async function trainCommand(o: TrainOptions): Promise<CentralizedReport & Record<string, unknown>> {
  if (!o.dataset) throw new UsageError(`--dataset is required (one of ${DATASET_IDS.join(', ')})`);
  if (!o.data) throw new UsageError('--data FILE is required');
  const dataset = o.dataset;
  const dataFile = o.data;
  const testFile = o.test;
  const epochs = o.epochs ?? 6;
  const batchSize = o.batch ?? 256;
  const learningRate = o.lr ?? 3e-3;
  const seed = o.seed ?? 1;
  const level = o.labels ?? 'fine';
  const testFraction = o.testFraction ?? 0.2;
  const classWeights = o.classWeights ?? 'none';
  const backend = o.backend ?? 'wasm';
  const { engine, fallback } = await chooseStepEngine(o.engine);
  if (fallback) process.stderr.write(`${fallbackLine('train', fallback)}\n`);

  const backendReport = await useBackend(backend);
  const { table, report: imported } = await loadTable(dataFile, dataset);
  const test = testFile ? (await loadTable(testFile, dataset)).table : undefined;
  const say = throttled(2000);
  const t0 = Date.now();
  const { report, model, preprocessor } = await trainCentralized(table, test, {
    epochs,
    batchSize,
    learningRate,
    seed,
    level,
    testFraction,
    classWeights,
    engine,
    onProgress: (p) =>
      say(
        () =>
          `train: epoch ${p.epoch + 1}/${p.epochs} step ${p.step}/${p.stepsPerEpoch} loss ${p.loss.toFixed(4)} ` +
          `${p.samplesPerSec.toFixed(0)} samples/s`,
        p.step === p.stepsPerEpoch,
      ),
  });
  model.dispose();
  process.stderr.write(`train: done in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  return {
    dataset,
    release: imported.release,
    labels: level,
    classes: preprocessor.classes,
    backend: backendReport,
    engine,
    ...(fallback && { engineFallback: fallback }),
    seed,
    ...report,
  };
}

export function formatTrain(r: CentralizedReport & { classes?: string[]; engine?: string }): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    `accuracy ${pct(r.accuracy)}   macro-F1 ${r.macroF1.toFixed(3)}   ` +
      `(majority baseline "${r.majorityBaseline.class}": accuracy ${pct(r.majorityBaseline.accuracy)}, ` +
      `macro-F1 ${r.majorityBaseline.macroF1.toFixed(3)})`,
    `MOS proxy: MAE ${r.mos.mae.toFixed(3)}, RMSE ${r.mos.rmse.toFixed(3)} (predicting the training mean: MAE ${r.mos.baselineMae.toFixed(3)})`,
    `rows: train ${r.rows.train}, test ${r.rows.test}; ${r.params} parameters; ${r.samplesPerSec.toFixed(0)} samples/s` +
      (r.engine === 'fused' ? ' (fused WASM engine)' : ''),
    'class                         precision  recall     f1  support',
  ];
  for (const [name, m] of Object.entries(r.perClass)) {
    lines.push(
      `${name.padEnd(28)} ${m.precision.toFixed(3).padStart(10)} ${m.recall.toFixed(3).padStart(7)} ` +
        `${m.f1.toFixed(3).padStart(6)} ${String(m.support).padStart(8)}`,
    );
  }
  return lines.join('\n');
}
