/**
 * A browser tab's federated client, run inside the trainer Web Worker: the WebSocket, the post-quantum
 * channel, the data and the training all live in the worker, so a hidden tab (whose page timers Chromium
 * throttles) keeps contributing, and the page only shows what it is told.
 *
 * Its data comes from IndexedDB (store.ts): the user's imported CSV when there is one, else this client's
 * server-assigned shard of the embedded sample — fetched and imported once (with progress), rebuilt exactly
 * like the aggregator cuts it (src/data/shard.ts), encoded with the experiment's preprocessor, and kept.
 * Its ML-DSA-65 identity and the client id the server gave it are kept there too, so a reload rejoins as
 * the same client without importing again.
 */

import {
  type ClientStatus,
  FederatedClient,
  type LocalTrainer,
  type WebSocketLike,
} from '../client/client.ts';
import {
  fusedWasmTrainingEngine,
  ModelTrainer,
  ShardMismatchError,
  type TrainingEngine,
  tfjsTrainingEngine,
} from '../client/model-trainer.ts';
import type { ExperimentInfo, FitSettings, LocalMetrics } from '../core/protocol.ts';
import { generateIdentity, type Identity } from '../crypto/identity.ts';
import { pqClientChannels } from '../crypto/pq-channels.ts';
import { type EncodedData, encode, type Preprocessor } from '../data/features.ts';
import { hash53, importCsv } from '../data/import.ts';
import { buildShard } from '../data/shard.ts';
import { type Engine, type EngineChoice, reportedBackend, resolveEngine } from '../engine/choice.ts';
import { fusedWasmUnavailable } from '../engine/step-engine.ts';
import { fusedTrainingEngine, webGpuAdapterPresent } from '../engine/webgpu/train.ts';
import type { ModelConfig } from '../model/model.ts';
import type { TrainProgress } from '../model/train.ts';
import { type ClientStore, classHistogram } from './store.ts';

/** What the page is told, besides the client's own statuses. */
export type PageStatus =
  | (ClientStatus & { contributed?: number })
  | { state: 'preparing'; message: string; fraction: number | null }
  | {
      state: 'progress';
      round: number;
      stepsDone: number;
      steps: number;
      loss: number;
      samplesPerSec: number;
    }
  | { state: 'joined'; clientId: string; session: string; serverFingerprint: string; shard: number | null };

export interface JoinOptions {
  /** ws:// or wss:// URL of the aggregator's /ws. */
  url: string;
  /** The server fingerprint from the join link; any other server is refused. */
  fingerprint: string;
  /** Class code, when the server needs one. */
  token?: string;
  name: string;
  /** Local training: auto (default: the fused WASM engine on the WASM or CPU backend, else tfjs), tfjs, or
   * a fused engine (tfjs when it cannot run). */
  engine?: EngineChoice;
}

/** The tab's ML-DSA-65 identity, created once and kept in IndexedDB. */
export async function loadIdentity(store: ClientStore): Promise<Identity> {
  const stored = await store.identity();
  if (stored) return { publicKey: stored.publicKey, secretKey: stored.secretKey };
  const id = generateIdentity();
  await store.saveIdentity({ ...id, createdAt: new Date().toISOString() });
  return id;
}

/** A LocalTrainer over the tab's stored data. */
export class BrowserTrainer implements LocalTrainer {
  private inner: ModelTrainer | null = null;
  private rows: number;

  constructor(
    private readonly store: ClientStore,
    readonly backend: string,
    storedRows: number,
    private readonly tell: (s: PageStatus) => void,
    private readonly engine: Engine = 'tfjs',
  ) {
    this.rows = storedRows;
  }

  /** The fused engine, or tfjs when it cannot run here (the page hears why). */
  private readonly fusedOrTfjs = async (config: ModelConfig): Promise<TrainingEngine> => {
    try {
      const engine = await fusedTrainingEngine(config);
      this.tell({
        state: 'preparing',
        message: 'Local training runs on the fused WebGPU engine.',
        fraction: 1,
      });
      return engine;
    } catch (err) {
      this.tell({
        state: 'preparing',
        message: `The fused WebGPU engine could not run (${(err as Error).message}): training with tfjs.`,
        fraction: 1,
      });
      return tfjsTrainingEngine(config);
    }
  };

  /**
   * The fused WASM engine (runClient checked that its module loads here); its data-parallel step on 2
   * threads only where a probe at the first training shows they win here (the page hears the choice).
   */
  private readonly fusedWasm = (config: ModelConfig): TrainingEngine => {
    this.tell({ state: 'preparing', message: 'Local training runs on the fused WASM engine.', fraction: 1 });
    return fusedWasmTrainingEngine(config, {
      cores: globalThis.navigator?.hardwareConcurrency,
      onChoice: (c) =>
        this.tell({ state: 'preparing', message: `Fused WASM engine threads: ${c.reason}.`, fraction: 1 }),
    });
  };

  get numSamples(): number {
    return this.rows;
  }

  async prepare(experiment: ExperimentInfo, shard?: number): Promise<void> {
    const data = await this.data(experiment, shard);
    this.tell({
      state: 'preparing',
      message: `Ready: ${data.n.toLocaleString('en')} rows to train on.`,
      fraction: 1,
    });
    this.inner?.dispose();
    const inner = new ModelTrainer(
      data,
      this.backend,
      (p: TrainProgress & { round: number }) =>
        this.tell({
          state: 'progress',
          round: p.round,
          stepsDone: p.stepsDone,
          steps: p.stepsPerEpoch * p.epochs,
          loss: p.loss,
          samplesPerSec: p.samplesPerSec,
        }),
      this.engine === 'fused-webgpu'
        ? this.fusedOrTfjs
        : this.engine === 'fused-wasm'
          ? this.fusedWasm
          : undefined,
    );
    await inner.prepare(experiment);
    this.inner = inner;
    this.rows = data.n;
  }

  private async data(experiment: ExperimentInfo, shard: number | undefined): Promise<EncodedData> {
    const pre = experiment.preprocessor as unknown as Preprocessor;
    const imported = await this.store.importedShard();
    if (imported) {
      if (imported.table.schema.dataset !== experiment.dataset) {
        throw new ShardMismatchError(
          `your imported data is ${imported.table.schema.dataset}, this experiment trains on ` +
            `${experiment.dataset}: import a ${experiment.dataset} CSV, or delete the imported data to use ` +
            "the server's sample",
        );
      }
      this.tell({ state: 'preparing', message: 'Encoding your imported data…', fraction: null });
      return encode(
        imported.table,
        Int32Array.from({ length: imported.table.n }, (_, i) => i),
        pre,
      );
    }
    const source = experiment.shardSource;
    if (!source || shard === undefined) {
      throw new ShardMismatchError(
        `this server offers no shard of its data: import a ${experiment.dataset} CSV to take part`,
      );
    }
    const key = `${JSON.stringify(source)}#${shard}#${hash53(JSON.stringify(pre))}`;
    const stored = await this.store.defaultShard();
    if (stored?.key === key) return stored.data;
    this.tell({
      state: 'preparing',
      message: `Fetching shard ${shard + 1} of ${source.count}…`,
      fraction: 0,
    });
    const response = await fetch(source.url);
    if (!response.ok || !response.body) {
      throw new ShardMismatchError(
        `fetching ${source.url}: expected the sample, got HTTP ${response.status}`,
      );
    }
    const total = Number(response.headers.get('Content-Length')) || null;
    const { table } = await importCsv(response.body, {
      dataset: source.dataset,
      onProgress: (p) =>
        this.tell({
          state: 'preparing',
          message: `Importing the sample: ${p.rowsRead.toLocaleString('en')} rows read…`,
          fraction: total ? Math.min(1, p.bytesRead / total) : null,
        }),
    });
    this.tell({ state: 'preparing', message: `Cutting shard ${shard + 1} of ${source.count}…`, fraction: 1 });
    const data = buildShard(table, pre, source, shard);
    await this.store.saveDefaultShard({
      kind: 'default',
      key,
      data,
      summary: {
        kind: 'default',
        dataset: source.dataset,
        rows: data.n,
        classes: classHistogram(data.label, pre.classes),
        origin: `shard ${shard + 1} of ${source.count} of ${source.url}`,
        storedAt: new Date().toISOString(),
      },
    });
    return data;
  }

  fit(
    global: Float32Array,
    fit: FitSettings,
    round: number,
  ): Promise<{ delta: Float32Array; metrics: LocalMetrics }> {
    if (!this.inner) throw new ShardMismatchError('fit before prepare: no data');
    return this.inner.fit(global, fit, round);
  }

  dispose(): void {
    this.inner?.dispose();
    this.inner = null;
  }
}

/** Rows the stored data has now (what `hello` declares before the experiment is known). */
export async function storedRows(store: ClientStore): Promise<number> {
  const imported = await store.importedShard();
  if (imported) return imported.table.n;
  return (await store.defaultShard())?.data.n ?? 0;
}

/** Joins the federation and runs until it finishes, is stopped, or is refused for good. */
export async function runClient(
  store: ClientStore,
  opts: JoinOptions,
  backend: string,
  /** The WebGPU adapter's description when `backend` is webgpu (`auto` picks the fused kernels on hardware). */
  adapter: string | undefined,
  tell: (s: PageStatus) => void,
  onClient: (c: FederatedClient) => void,
): Promise<void> {
  const identity = await loadIdentity(store);
  const membership = await store.membership(opts.fingerprint);
  // The server sees `wasm-fused` or `webgpu-fused` when a fused engine trains (for WebGPU: when an adapter
  // is there; the kernels may still fall back to tfjs at prepare, with the reason).
  let engine = resolveEngine(opts.engine ?? 'auto', backend, adapter);
  const noAdapter = engine === 'fused-webgpu' && !(await webGpuAdapterPresent());
  if (engine === 'fused-wasm') {
    const why = await fusedWasmUnavailable();
    if (why) {
      tell({
        state: 'preparing',
        message: `The fused WASM engine could not run (${why}): training with tfjs.`,
        fraction: 1,
      });
      engine = 'tfjs';
    }
  }
  const trainer = new BrowserTrainer(
    store,
    noAdapter ? backend : reportedBackend(engine, backend),
    await storedRows(store),
    tell,
    engine,
  );
  let saved = membership?.clientId;
  const client = new FederatedClient({
    url: opts.url,
    name: opts.name,
    trainer,
    channels: pqClientChannels({ identity, pinnedFingerprint: opts.fingerprint, minimumSuite: 'xwing' }),
    connect: (url) => new WebSocket(url) as unknown as WebSocketLike,
    ...(saved !== undefined && { clientId: saved }),
    ...(opts.token !== undefined && opts.token !== '' && { token: opts.token }),
    onStatus: (s) => {
      if (s.state === 'waiting' && client.clientId && client.session && client.clientId !== saved) {
        saved = client.clientId;
        void store.saveMembership({
          serverFingerprint: opts.fingerprint,
          clientId: client.clientId,
          joinedAt: new Date().toISOString(),
        });
      }
      if (s.state === 'waiting' && client.clientId && client.session) {
        tell({
          state: 'joined',
          clientId: client.clientId,
          session: client.session,
          serverFingerprint: client.serverFingerprint ?? opts.fingerprint,
          shard: client.shard ?? null,
        });
      }
      tell({ ...s, contributed: client.roundsContributed });
    },
  });
  onClient(client);
  try {
    await client.run();
  } finally {
    trainer.dispose();
  }
}
