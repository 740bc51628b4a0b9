/**
 * `pqfed simulate [--config FILE] --dataset D --data FILE [--test FILE] --clients N --rounds R [--alpha A |
 * --iid] [--strategy NAME] [--json]` (flags: commands.ts): a real aggregator and N clients, each a worker
 * thread running the same FederatedClient as a browser tab on the fused WASM engine (`--engine tfjs`, or an
 * unbuilt engine: tfjs on its wasm backend), over loopback
 * WebSockets through the sealed channel. The training split and its shards are the same as `pqfed train`'s
 * for the same seed, so the two can be compared directly.
 *
 * The run is decided by, in order: simulate's defaults (SIMULATE_DEFAULTS over the aggregator's), the
 * experiment file, the flags. Client i claims the id `c-<i in hex, 8 digits>` and trains shard i, so the
 * seeded selection picks the same shards in every run: the same file and seed give the same rounds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { startAggregator } from '../aggregator/aggregator.ts';
import { ROUND_FIELDS, type RoundRecord } from '../aggregator/checkpoint.ts';
import {
  applyExperiment,
  DEFAULT_EXPERIMENT,
  type ExperimentConfig,
  type ExperimentFile,
} from '../aggregator/config.ts';
import { readExperimentFile, resolveExperiment } from '../aggregator/config-file.ts';
import type { CoordinatorStatus } from '../aggregator/coordinator.ts';
import { prepareExperiment } from '../aggregator/experiment.ts';
import { TRUSTED_LOCAL_ADMISSION, TRUSTED_LOCAL_HANDSHAKE_QUEUE } from '../aggregator/handshake-admission.ts';
import { DEFAULT_SUITE, type KemSuite } from '../crypto/suites.ts';
import { DATASET_IDS } from '../data/schema.ts';
import { chooseStepEngine, fallbackLine, type StepEngine } from '../engine/step-engine.ts';
import { useBackend } from '../model/backend.ts';
import { serverChannelsFor } from './channels.ts';
import type { SimulateOptions } from './commands.ts';
import { UsageError } from './errors.ts';
import { loadTable } from './import.ts';
import { privacyLayer } from './privacy-flags.ts';
import { roundProgress } from './simulate-progress.ts';
import type { SimulateWorkerData, WorkerReport } from './simulate-worker.ts';
import { type Versions, versions } from './versions.ts';
import { tsWorker } from './workers.ts';

/** A round as reported: the contract's fields, and ε spent by its end when the run is private. */
type RoundSummary = Pick<RoundRecord, (typeof ROUND_FIELDS)[number] | 'epsilon'>;

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
  /** Who ran the clients' training steps (default fused), and why tfjs when the fused engine did not load. */
  engine: StepEngine;
  engineFallback?: string;
  wallSeconds: number;
  /** Client-level DP: ε at δ, the noise and clip norm, why the budget stopped the run; {epsilon: null} when off. */
  privacy: CoordinatorStatus['privacy'];
  /** The resolved run: defaults, then the --config file, then the flags. */
  config: ExperimentConfig & { clients: number; suite: KemSuite };
  versions: Versions;
}

/** What `pqfed simulate` changes in the aggregator's defaults (DEFAULT_EXPERIMENT) before the file and flags. */
export const SIMULATE_DEFAULTS = {
  rounds: 20,
  clientsPerRound: { fraction: 0.5, min: 1 },
  quorum: 1,
  roundDeadlineSeconds: 600,
  onQuorumMiss: 'retry',
  maxTestRows: 0,
  autoStart: false,
  partition: { kind: 'dirichlet', alpha: 0.5 },
} as const satisfies ExperimentFile;

export const DEFAULT_SIMULATED_CLIENTS = 10;

/** The id simulated client `i` (0-based) claims: fixed, so that the seeded selection is the same every run. */
export const simulatedClientId = (i: number) => `c-${(i + 1).toString(16).padStart(8, '0')}`;

/** The flags as an experiment layer (only the flags given). */
function flagLayer(o: SimulateOptions): ExperimentFile {
  return {
    dataset: o.dataset,
    data: o.data,
    test: o.test,
    rounds: o.rounds,
    strategy: o.strategy,
    localEpochs: o.epochs,
    batchSize: o.batch,
    learningRate: o.lr,
    proxMu: o.mu,
    seed: o.seed,
    roundDeadlineSeconds: o.deadline,
    maxTestRows: o.maxTestRows,
    ...(o.fraction !== undefined && { clientsPerRound: { fraction: o.fraction } }),
    ...(o.iid
      ? { partition: { kind: 'iid' } }
      : o.alpha !== undefined && { partition: { kind: 'dirichlet', alpha: o.alpha } }),
    ...privacyLayer(o),
  };
}

/** The resolved run: the aggregator's config, the number of clients and the channel's suite. */
export function resolveSimulation(o: SimulateOptions): {
  config: ExperimentConfig;
  clients: number;
  suite: KemSuite;
} {
  const file = o.config ? readExperimentFile(o.config) : null;
  const f = file?.values ?? {};
  if (!o.dataset && !f.dataset) {
    throw new UsageError(
      `--dataset is required (one of ${DATASET_IDS.join(', ')}), or "dataset" in --config`,
    );
  }
  if (!o.data && !f.data) throw new UsageError('--data FILE is required, or "data" in --config');
  const clients = o.clients ?? f.clients ?? DEFAULT_SIMULATED_CLIENTS;
  const base = applyExperiment(DEFAULT_EXPERIMENT, {
    ...SIMULATE_DEFAULTS,
    clientsPerRound: { ...SIMULATE_DEFAULTS.clientsPerRound, max: clients },
  });
  const config = resolveExperiment(base, file, flagLayer(o));
  // one shard per simulated client
  config.shards = clients;
  return { config, clients, suite: o.suite ?? f.suite ?? DEFAULT_SUITE };
}

export async function simulateCommand(o: SimulateOptions): Promise<SimulateReport> {
  const { config, clients, suite } = resolveSimulation(o);
  const dataset = config.dataset;
  const dataFile = config.data;
  const testFile = config.test;

  const { engine, fallback } = await chooseStepEngine(o.engine);
  if (fallback) process.stderr.write(`${fallbackLine('simulate', fallback)}\n`);
  await useBackend('wasm');
  const { table } = await loadTable(dataFile, dataset);
  const test = testFile ? (await loadTable(testFile, dataset)).table : undefined;
  const exp = prepareExperiment(config, table, test);
  if (exp.trainRows < clients) {
    throw new UsageError(
      `${clients} clients need at least ${clients} training rows, the data has ${exp.trainRows}`,
    );
  }
  const shards = exp.shards(clients, config.partition);
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'pqfed-sim-'));
  const ownDir = o.dataDir === undefined;
  const say = (l: string) => process.stderr.write(`${l}\n`);
  // Every client is ours, on loopback: no per-address admission limits (they are for `serve`).
  const {
    server: serverChannels,
    client: channel,
    close: release,
  } = await serverChannelsFor(dataDir, suite, { maxHandshakeQueue: TRUSTED_LOCAL_HANDSHAKE_QUEUE });
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
  const names = new Map(Array.from({ length: clients }, (_, i) => [simulatedClientId(i), `sim-${i + 1}`]));
  const progress = roundProgress(agg.coordinator, {
    rounds: config.rounds,
    testRows: exp.test.n,
    nameOf: (id) => names.get(id) ?? id,
    say,
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
        const name = `sim-${i + 1}`;
        const wd: SimulateWorkerData = {
          url,
          name,
          clientId: simulatedClientId(i),
          shard: shards[i]!,
          channel,
          engine,
        };
        const w = tsWorker(new URL('./simulate-worker.ts', import.meta.url), wd);
        w.on('message', (m: WorkerReport) => {
          if (m.kind === 'log' && process.env.PQFED_DEBUG) say(`${m.name}: ${m.line}`);
          if (m.kind === 'status' && m.status.state === 'sending') progress.trained(m.name, m.status.round);
        });
        w.on('error', (e) => fail(new Error(`simulated client ${name} crashed: ${e.message}`)));
        workers.push(w);
      }
    });
    say(
      `simulate: starting ${clients} clients (worker threads, ${engine === 'fused' ? 'fused WASM engine' : 'tfjs wasm'})…`,
    );
    await Promise.race([joined, failed]);
    say(`simulate: ${clients} clients joined; ${config.rounds} rounds of ${config.strategy}`);
    agg.coordinator.start();
    await Promise.race([finished, failed]);
    await agg.coordinator.idle();
  } finally {
    progress.stop();
    for (const w of workers) w.postMessage({ stop: true });
    await Promise.all(workers.map((w) => w.terminate()));
    await agg.close();
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
  }
  const { history, privacy } = agg.coordinator.status(null);
  const last = history[history.length - 1];
  if (!last) throw new Error('simulate: no round completed');
  const pick = (h: RoundRecord): RoundSummary => ({
    ...(Object.fromEntries(ROUND_FIELDS.map((k) => [k, h[k]])) as unknown as RoundSummary),
    ...(h.epsilon !== undefined && { epsilon: h.epsilon }),
  });
  return {
    dataset,
    strategy: config.strategy,
    clients,
    partition: config.partition,
    channel: serverChannels.suite,
    rounds: history.map(pick),
    final: { ...pick(last), perClassRecall: last.perClassRecall, majorityBaseline: last.majorityBaseline },
    rows: { train: exp.trainRows, test: exp.test.n, perClient: shards.map((s) => s.n) },
    engine,
    ...(fallback && { engineFallback: fallback }),
    wallSeconds: (Date.now() - t0) / 1000,
    privacy,
    config: { ...config, clients, suite },
    versions: versions(),
  };
}

/** One line on the privacy spent: ε at δ, the noise, the clip norm, and why the budget stopped the run. */
export function privacyLine(p: CoordinatorStatus['privacy']): string {
  if (!('noiseMultiplier' in p)) {
    return p.secureAggregation
      ? 'privacy: secure aggregation (the server saw only sums of updates); no DP noise, ε = ∞'
      : 'privacy: off';
  }
  const eps = p.epsilon === null ? '∞ (no noise)' : p.epsilon.toFixed(3);
  const target = p.targetEpsilon === null ? '' : ` of target ${p.targetEpsilon}`;
  return (
    `privacy: ε = ${eps}${target} at δ = ${p.delta} after ${p.rounds} rounds (noise z = ` +
    `${p.noiseMultiplier?.toFixed(4) ?? '–'}, clip C = ${p.clipNorm.toPrecision(4)})` +
    (p.stopped ? `; ${p.stopped}` : '')
  );
}

export function formatSimulate(r: SimulateReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    `${r.strategy}, ${r.clients} clients (${r.partition.kind === 'iid' ? 'IID' : `Dirichlet α=${r.partition.alpha}`}), channel ${r.channel}, ` +
      `engine ${r.engine === 'fused' ? 'fused WASM' : 'tfjs wasm'}`,
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
  if (r.privacy.delta !== null || r.privacy.secureAggregation) lines.push(privacyLine(r.privacy));
  return lines.join('\n');
}
