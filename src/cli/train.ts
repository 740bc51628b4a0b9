/** `pqfed train --dataset D --data FILE [--test FILE] [--epochs N] [--backend wasm|cpu] [--seed S] [--json]`. */
import { DATASET_IDS, type LabelLevel } from '../data/schema.ts';
import { useBackend } from '../model/backend.ts';
import { type CentralizedReport, trainCentralized } from '../model/centralized.ts';
import { choiceFlag, intFlag, numFlag, parse, stringFlag, UsageError } from './args.ts';
import { loadTable } from './import.ts';
import { throttled } from './progress.ts';

const LEVELS: readonly LabelLevel[] = ['fine', 'category', 'binary'];

export async function trainCommand(argv: string[]): Promise<CentralizedReport & Record<string, unknown>> {
  const { values } = parse(argv, {
    dataset: { type: 'string' },
    data: { type: 'string' },
    test: { type: 'string' },
    epochs: { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    backend: { type: 'string' },
    seed: { type: 'string' },
    labels: { type: 'string' },
    'test-fraction': { type: 'string' },
    'class-weights': { type: 'string' },
    json: { type: 'boolean' },
  });
  const dataset = choiceFlag(values.dataset, 'dataset', DATASET_IDS);
  const dataFile = stringFlag(values.data, 'data');
  if (!dataFile) throw new UsageError('--data FILE is required');
  const testFile = stringFlag(values.test, 'test');
  const epochs = intFlag(values.epochs, 'epochs', 6, 1, 10_000);
  const batchSize = intFlag(values.batch, 'batch', 256, 1, 65_536);
  const learningRate = numFlag(values.lr, 'lr', 3e-3, 1e-6, 1);
  const seed = intFlag(values.seed, 'seed', 1, 0, 2 ** 31 - 1);
  const level = choiceFlag(values.labels, 'labels', LEVELS, 'fine');
  const testFraction = numFlag(values['test-fraction'], 'test-fraction', 0.2, 0.01, 0.9);
  const classWeights = choiceFlag(
    values['class-weights'],
    'class-weights',
    ['none', 'sqrt'] as const,
    'none',
  );
  const backend = choiceFlag(values.backend, 'backend', ['wasm', 'cpu'] as const, 'wasm');

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
    seed,
    ...report,
  };
}

export function formatTrain(r: CentralizedReport & { classes?: string[] }): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    `accuracy ${pct(r.accuracy)}   macro-F1 ${r.macroF1.toFixed(3)}   ` +
      `(majority baseline "${r.majorityBaseline.class}": accuracy ${pct(r.majorityBaseline.accuracy)}, ` +
      `macro-F1 ${r.majorityBaseline.macroF1.toFixed(3)})`,
    `MOS proxy: MAE ${r.mos.mae.toFixed(3)}, RMSE ${r.mos.rmse.toFixed(3)} (predicting the training mean: MAE ${r.mos.baselineMae.toFixed(3)})`,
    `rows: train ${r.rows.train}, test ${r.rows.test}; ${r.params} parameters; ${r.samplesPerSec.toFixed(0)} samples/s`,
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
