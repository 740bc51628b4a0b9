/**
 * The in-tab federation's worker (`/simulate`), exposed with comlink. One script, two roles:
 * - data: fetches and imports the embedded sample (streamed, with progress), prepares the experiment like
 *   the aggregator (grouped split, preprocessor fitted on the training rows, capped rows, seeded shards:
 *   src/data/experiment-core.ts) and evaluates each new global model on the held-out rows;
 * - clients: hosts virtual clients, each the real `FederatedClient` (src/client/client.ts) with its own
 *   ML-DSA-65 key (made here, never leaving this worker), its shard and a `ModelTrainer` on the engine the
 *   page's choice resolves to here (`useEngine`: by default the fused WASM engine on the WASM and CPU
 *   backends, tfjs when it cannot load, as in a tab), talking to the page's aggregator over a MessagePort
 *   (src/app/simulate/port-socket.ts) instead of a WebSocket.
 *
 * The WASM binaries are bundled by Vite (`?url`) and their paths are set before any backend initialises.
 */
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { expose } from 'comlink';
import { type PortLike, portConnector } from '../src/app/simulate/port-socket.ts';
import { FederatedClient } from '../src/client/client.ts';
import { ModelTrainer } from '../src/client/model-trainer.ts';
import { classificationReport, majorityClass } from '../src/core/metrics.ts';
import type { Evaluation } from '../src/core/round/evaluation.ts';
import { generateIdentity, type Identity } from '../src/crypto/identity.ts';
import { pqClientChannels } from '../src/crypto/pq-channels.ts';
import type { KemSuite } from '../src/crypto/suites.ts';
import {
  cutShards,
  type EncodedExperiment,
  type SplitSettings,
  splitExperiment,
} from '../src/data/experiment-core.ts';
import type { EncodedData, Preprocessor } from '../src/data/features.ts';
import { type FlowTable, importCsv } from '../src/data/import.ts';
import type { DatasetId } from '../src/data/schema.ts';
import type { Partition } from '../src/data/shard.ts';
import { type Engine, type EngineChoice, reportedBackend } from '../src/engine/choice.ts';
import { type EngineInUse, engineInUse, trainingEngineFor } from '../src/engine/engine-in-use.ts';
import { type BackendName, type BackendReport, useBackend } from '../src/model/backend.ts';
import { modelConfigFor } from '../src/model/centralized.ts';
import { evaluate } from '../src/model/evaluate.ts';
import { initWeights, type ModelConfig, MultiTaskModel } from '../src/model/model.ts';

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
});

export interface LoadProgress {
  bytesRead: number;
  totalBytes: number | null;
  rowsRead: number;
}

export interface LoadReport {
  rowsRead: number;
  rowsKept: number;
  rowsUnique: number;
}

export interface PrepareSettings extends SplitSettings {
  model: Partial<Pick<ModelConfig, 'dModel' | 'heads' | 'ffDim' | 'convLayers' | 'mosWeight'>>;
}

export interface PreparedSummary {
  preprocessor: Preprocessor;
  model: ModelConfig;
  modelSize: number;
  initialWeights: Float32Array;
  rows: { train: number; test: number };
  classes: string[];
  majorityBaseline: { class: string; accuracy: number; macroF1: number };
}

export interface ClientSettings {
  shard: EncodedData;
  /** The aggregator's fingerprint, pinned as a join link would. */
  serverFingerprint: string;
  name: string;
  minimumSuite: KemSuite;
}

/** Evaluation batches of 256 rows, as the aggregator's evaluator (tfjs-wasm's heap keeps its peak). */
const EVAL_BATCH = 256;

let backend: BackendReport | undefined;
/** The engine this worker's clients train on (`useEngine`; tfjs until then). */
let engine: Engine = 'tfjs';
/** Why a client's fused WebGPU engine fell back to tfjs when it was made (the first reason). */
let engineFallback: string | undefined;
let table: FlowTable | undefined;
let prepared: (EncodedExperiment & { model: ModelConfig }) | undefined;
let evaluator: MultiTaskModel | undefined;
/** Virtual clients hosted here, by index; their keys live as long as the worker. */
const identities = new Map<number, Identity>();
const hosted = new Map<number, { client: FederatedClient; trainer: ModelTrainer }>();

function needPrepared(): EncodedExperiment & { model: ModelConfig } {
  if (!prepared) throw new Error('prepare the experiment first');
  return prepared;
}

const api = {
  /**
   * Selects the tfjs backend. `threads`: WASM threads for this worker (1 when several workers train side
   * by side, so they do not fight over the cores); must come before the backend's first use.
   */
  async useBackend(name: BackendName, threads?: number): Promise<BackendReport> {
    if (name === 'wasm' && threads !== undefined && !backend) setThreadsCount(threads);
    backend = await useBackend(name);
    return backend;
  },

  /**
   * The engine this worker's clients train on for `choice` on the chosen backend (checked here: the fused
   * WASM module compiled in this worker), its device, and why tfjs when a fused engine cannot run.
   */
  async useEngine(choice: EngineChoice): Promise<EngineInUse> {
    if (!backend) throw new Error('choose a backend first');
    const used = await engineInUse(choice, backend.name, backend.adapter);
    engine = used.engine;
    engineFallback = undefined;
    return used;
  },

  /** Why a fused WebGPU engine chosen by `useEngine` fell back to tfjs when a client made it, or null. */
  engineFallback(): string | null {
    return engineFallback ?? null;
  },

  /** Fetches the same-origin sample and imports it here (dedup, identifiers dropped), with progress. */
  async loadSample(
    url: string,
    dataset: DatasetId,
    onProgress: (p: LoadProgress) => void,
  ): Promise<LoadReport> {
    const response = await fetch(url);
    if (!response.ok || !response.body) {
      throw new Error(`fetching ${url}: expected the sample, got HTTP ${response.status}`);
    }
    const totalBytes = Number(response.headers.get('Content-Length')) || null;
    const out = await importCsv(response.body, {
      dataset,
      onProgress: (p) => onProgress({ bytesRead: p.bytesRead, totalBytes, rowsRead: p.rowsRead }),
    });
    table = out.table;
    prepared = undefined;
    return { rowsRead: out.report.rowsRead, rowsKept: out.report.rowsKept, rowsUnique: out.table.n };
  },

  /** Splits, fits and encodes like the aggregator; returns what the page's aggregator needs. */
  async prepare(o: PrepareSettings): Promise<PreparedSummary> {
    if (!table) throw new Error('load the sample first');
    const encoded = splitExperiment(table, o);
    const model = modelConfigFor(encoded.preprocessor, o.model);
    const initial = initWeights(model, o.seed).weights;
    prepared = { ...encoded, model };
    evaluator?.dispose();
    evaluator = new MultiTaskModel(model, initial);
    const classes = encoded.preprocessor.classes;
    const maj = majorityClass(encoded.train.label, classes.length);
    const constant = new Int32Array(encoded.test.n).fill(maj);
    const base = classificationReport(encoded.test.label, constant, classes, maj).majorityBaseline;
    return {
      preprocessor: encoded.preprocessor,
      model,
      modelSize: evaluator.numParams,
      initialWeights: initial,
      rows: { train: encoded.train.n, test: encoded.test.n },
      classes: [...classes],
      majorityBaseline: base,
    };
  },

  /** `count` shards of the training rows (Dirichlet(α) or IID, seeded). */
  async shards(count: number, partition: Partition, seed: number): Promise<EncodedData[]> {
    const p = needPrepared();
    return cutShards(p.train, p.preprocessor.classes.length, count, partition, seed);
  },

  /** The global model's figures on the held-out rows (accuracy with macro-F1 and the baseline). */
  async evaluate(weights: Float32Array): Promise<Evaluation> {
    const p = needPrepared();
    if (!evaluator) throw new Error('prepare the experiment first');
    evaluator.setWeights(weights);
    const train = { label: p.train.label, mos: p.train.mos };
    const r = await evaluate(evaluator, p.test, p.preprocessor.classes, train, EVAL_BATCH);
    return {
      accuracy: r.accuracy,
      macroF1: r.macroF1,
      mosMAE: r.mos.mae,
      loss: r.loss,
      perClassRecall: Object.fromEntries(Object.entries(r.perClass).map(([name, c]) => [name, c.recall])),
      majorityBaseline: r.majorityBaseline,
    };
  },

  /**
   * Starts virtual client `index` on `port`: a `FederatedClient` with this client's key, pinned to the
   * aggregator's fingerprint, training its shard. It runs until the aggregator finishes or closes the port.
   */
  async startClient(index: number, port: MessagePort, o: ClientSettings): Promise<void> {
    if (!backend) throw new Error('choose a backend first');
    api.stopClient(index);
    let identity = identities.get(index);
    if (!identity) {
      identity = generateIdentity();
      identities.set(index, identity);
    }
    const trainer = new ModelTrainer(
      o.shard,
      reportedBackend(engine, backend.name),
      undefined,
      trainingEngineFor(engine, (why) => {
        engineFallback ??= why;
      }),
    );
    const client: FederatedClient = new FederatedClient({
      url: `in-tab://${o.name}`,
      name: o.name,
      trainer,
      channels: pqClientChannels({
        identity,
        pinnedFingerprint: o.serverFingerprint,
        minimumSuite: o.minimumSuite,
      }),
      connect: portConnector(port as unknown as PortLike, () => client.stop()),
    });
    hosted.set(index, { client, trainer });
    void client.run().finally(() => {
      if (hosted.get(index)?.client === client) {
        hosted.delete(index);
        trainer.dispose();
      }
    });
  },

  stopClient(index: number): void {
    const h = hosted.get(index);
    if (!h) return;
    hosted.delete(index);
    h.client.stop();
    h.trainer.dispose();
  },
};

export type FederationWorkerApi = typeof api;

expose(api);
