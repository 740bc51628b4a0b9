/**
 * `pqfed simulate --dataset D --data FILE [--test FILE] --clients N --rounds R [--alpha A | --iid]
 * [--strategy NAME] [--json]`: a real aggregator and N clients, each a worker thread running the same
 * FederatedClient as a browser tab on the tfjs wasm backend, over loopback WebSockets through the sealed
 * channel. The training split and its shards are the same as `pqfed train`'s for the same seed, so the two
 * can be compared directly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { startAggregator } from '../aggregator/aggregator.ts';
import { ROUND_FIELDS, type RoundRecord } from '../aggregator/checkpoint.ts';
import { type ExperimentConfig, parseConfig } from '../aggregator/config.ts';
import { prepareExperiment } from '../aggregator/experiment.ts';
import { TRUSTED_LOCAL_ADMISSION, TRUSTED_LOCAL_HANDSHAKE_QUEUE } from '../aggregator/handshake-admission.ts';
import { STRATEGY_NAMES } from '../core/strategies/index.ts';
import { DEFAULT_SUITE, KEM_SUITES } from '../crypto/suites.ts';
import { DATASET_IDS } from '../data/schema.ts';
import { useBackend } from '../model/backend.ts';
import { choiceFlag, intFlag, numFlag, parse, stringFlag, UsageError } from './args.ts';
import { serverChannelsFor } from './channels.ts';
import { loadTable } from './import.ts';
import type { SimulateWorkerData, WorkerReport } from './simulate-worker.ts';
import { tsWorker } from './workers.ts';

type RoundSummary = Pick<RoundRecord, (typeof ROUND_FIELDS)[number]>;

export interface SimulateReport {
  dataset: string;
  strategy: string;
  clients: number;
  partition: ExperimentConfig['partition'];
  channel: string;
  rounds: RoundSummary[];
  final: RoundSummary & {
    perClassRecall: Record<string, number>;
    majorityBaseline: { accuracy: number; macroF1: number };
  };
  rows: { train: number; test: number; perClient: number[] };
  wallSeconds: number;
  config: Pick<
    ExperimentConfig,
    'localEpochs' | 'batchSize' | 'learningRate' | 'seed' | 'clientsPerRound' | 'proxMu' | 'strategyParams'
  >;
}

export async function simulateCommand(argv: string[]): Promise<SimulateReport> {
  const { values } = parse(argv, {
    dataset: { type: 'string' },
    data: { type: 'string' },
    test: { type: 'string' },
    clients: { type: 'string' },
    rounds: { type: 'string' },
    alpha: { type: 'string' },
    iid: { type: 'boolean' },
    strategy: { type: 'string' },
    epochs: { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    mu: { type: 'string' },
    fraction: { type: 'string' },
    seed: { type: 'string' },
    deadline: { type: 'string' },
    'max-test-rows': { type: 'string' },
    'data-dir': { type: 'string' },
    config: { type: 'string' },
    suite: { type: 'string' },
    json: { type: 'boolean' },
  });
  const dataset = choiceFlag(values.dataset, 'dataset', DATASET_IDS);
  const dataFile = stringFlag(values.data, 'data');
  if (!dataFile) throw new UsageError('--data FILE is required');
  const testFile = stringFlag(values.test, 'test');
  const clients = intFlag(values.clients, 'clients', 10, 1, 256);
  if (values.iid && values.alpha !== undefined) throw new UsageError('give --alpha A or --iid, not both');
  const config = parseConfig({
    dataset,
    data: dataFile,
    test: testFile ?? null,
    rounds: intFlag(values.rounds, 'rounds', 20, 1, 100_000),
    strategy: choiceFlag(values.strategy, 'strategy', STRATEGY_NAMES, 'fedavg'),
    localEpochs: intFlag(values.epochs, 'epochs', 1, 1, 100),
    batchSize: intFlag(values.batch, 'batch', 128, 1, 65_536),
    learningRate: numFlag(values.lr, 'lr', 3e-3, 1e-6, 1),
    proxMu: numFlag(values.mu, 'mu', 0.01, 0, 1000),
    seed: intFlag(values.seed, 'seed', 1, 0, 2 ** 31 - 1),
    clientsPerRound: { fraction: numFlag(values.fraction, 'fraction', 0.5, 0.01, 1), min: 1, max: clients },
    quorum: 1,
    roundDeadlineSeconds: numFlag(values.deadline, 'deadline', 600, 1, 86_400),
    onQuorumMiss: 'retry',
    partition: values.iid
      ? { kind: 'iid' }
      : { kind: 'dirichlet', alpha: numFlag(values.alpha, 'alpha', 0.5, 1e-3, 1e6) },
    shards: clients,
    maxTestRows: intFlag(values['max-test-rows'], 'max-test-rows', 0, 0, 1e9),
    autoStart: false,
  });

  await useBackend('wasm');
  const { table } = await loadTable(dataFile, dataset);
  const test = testFile ? (await loadTable(testFile, dataset)).table : undefined;
  const exp = prepareExperiment(config, table, test);
  const shards = exp.shards(clients, config.partition);
  const dataDir = stringFlag(values['data-dir'], 'data-dir') ?? mkdtempSync(join(tmpdir(), 'pqfed-sim-'));
  const ownDir = values['data-dir'] === undefined;
  const say = (l: string) => process.stderr.write(`${l}\n`);
  const suite = choiceFlag(values.suite, 'suite', KEM_SUITES, DEFAULT_SUITE);
  // Every client is ours, on loopback: no per-address admission limits (they are for `serve`).
  const {
    server: serverChannels,
    client: channel,
    close: release,
  } = await serverChannelsFor(dataDir, suite, {
    maxHandshakeQueue: TRUSTED_LOCAL_HANDSHAKE_QUEUE,
  });
  const agg = await startAggregator({
    admission: TRUSTED_LOCAL_ADMISSION,
    experiment: exp,
    dataDir,
    channels: serverChannels,
    port: 0,
    host: '127.0.0.1',
    staticRoot: null,
    log: (l) => say(`aggregator: ${l}`),
    release,
  });
  const t0 = Date.now();
  const workers: Worker[] = [];
  try {
    const url = `ws://127.0.0.1:${agg.port}/ws`;
    const joined = new Promise<void>((ok) => {
      const check = () => {
        if (agg.coordinator.status(null).clients >= clients) {
          agg.coordinator.off('join', check);
          ok();
        }
      };
      agg.coordinator.on('join', check);
    });
    const finished = new Promise<void>((ok) => agg.coordinator.once('finished', () => ok()));
    const failed = new Promise<never>((_, fail) => {
      for (let i = 0; i < clients; i++) {
        const wd: SimulateWorkerData = { url, name: `sim-${i + 1}`, shard: shards[i]!, channel };
        const w = tsWorker(new URL('./simulate-worker.ts', import.meta.url), wd);
        w.on('message', (m: WorkerReport) => {
          if (m.kind === 'log' && process.env.PQFED_DEBUG) say(`${m.name}: ${m.line}`);
        });
        w.on('error', (e) => fail(new Error(`simulated client sim-${i + 1} crashed: ${e.message}`)));
        workers.push(w);
      }
    });
    await Promise.race([joined, failed]);
    say(`simulate: ${clients} clients joined; ${config.rounds} rounds of ${config.strategy}`);
    agg.coordinator.start();
    await Promise.race([finished, failed]);
    await agg.coordinator.idle();
  } finally {
    for (const w of workers) w.postMessage({ stop: true });
    await Promise.all(workers.map((w) => w.terminate()));
    await agg.close();
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
  }
  const history = agg.coordinator.status(null).history;
  const last = history[history.length - 1];
  if (!last) throw new Error('simulate: no round completed');
  const pick = (h: RoundRecord): RoundSummary =>
    Object.fromEntries(ROUND_FIELDS.map((k) => [k, h[k]])) as unknown as RoundSummary;
  return {
    dataset,
    strategy: config.strategy,
    clients,
    partition: config.partition,
    channel: serverChannels.suite,
    rounds: history.map(pick),
    final: { ...pick(last), perClassRecall: last.perClassRecall, majorityBaseline: last.majorityBaseline },
    rows: { train: exp.trainRows, test: exp.test.n, perClient: shards.map((s) => s.n) },
    wallSeconds: (Date.now() - t0) / 1000,
    config: {
      localEpochs: config.localEpochs,
      batchSize: config.batchSize,
      learningRate: config.learningRate,
      seed: config.seed,
      clientsPerRound: config.clientsPerRound,
      proxMu: config.proxMu,
      strategyParams: config.strategyParams,
    },
  };
}

export function formatSimulate(r: SimulateReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    `${r.strategy}, ${r.clients} clients (${r.partition.kind === 'iid' ? 'IID' : `Dirichlet α=${r.partition.alpha}`}), channel ${r.channel}`,
    'round  clients  accuracy  macro-F1  MOS MAE  loss     up/down KiB      s',
  ];
  for (const h of r.rounds) {
    lines.push(
      `${String(h.round).padStart(5)}  ${String(h.participants).padStart(7)}  ${pct(h.accuracy).padStart(8)}  ` +
        `${pct(h.macroF1).padStart(8)}  ${h.mosMAE.toFixed(3).padStart(7)}  ${h.loss.toFixed(3).padStart(7)}  ` +
        `${(h.bytesUp / 1024).toFixed(0).padStart(6)}/${(h.bytesDown / 1024).toFixed(0).padEnd(6)}  ${h.seconds.toFixed(1).padStart(6)}`,
    );
  }
  lines.push(
    `final: accuracy ${pct(r.final.accuracy)}, macro-F1 ${pct(r.final.macroF1)} ` +
      `(majority baseline ${pct(r.final.majorityBaseline.accuracy)} / ${pct(r.final.majorityBaseline.macroF1)}), ` +
      `MOS MAE ${r.final.mosMAE.toFixed(3)}, ${r.wallSeconds.toFixed(0)} s`,
  );
  return lines.join('\n');
}
