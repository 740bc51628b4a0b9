/**
 * One simulated edge device of `pqfed simulate`: a worker thread that trains on the fused WASM engine (or its
 * own tfjs on the wasm backend) and runs the same FederatedClient as a browser tab against the aggregator
 * over a loopback WebSocket.
 */
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { type ClientStatus, FederatedClient, type WebSocketLike } from '../client/client.ts';
import { fusedWasmTrainingEngine, ModelTrainer, tfjsTrainingEngine } from '../client/model-trainer.ts';
import type { EncodedData } from '../data/features.ts';
import { backendLabel, type StepEngine } from '../engine/step-engine.ts';
import { useBackend } from '../model/backend.ts';
import { type ChannelSpec, clientChannelsFor } from './channels.ts';

export interface SimulateWorkerData {
  url: string;
  name: string;
  /** The client id to claim (the aggregator grants it unless another key holds it). */
  clientId?: string;
  shard: EncodedData;
  channel: ChannelSpec;
  /** Chosen by simulate's main thread (chooseStepEngine), which checked that the fused engine loads;
   * default tfjs. */
  engine?: StepEngine;
  backoff?: { initialMs: number; maxMs: number; factor: number };
}

export type WorkerReport =
  | { kind: 'status'; name: string; status: ClientStatus }
  | { kind: 'log'; name: string; line: string }
  | { kind: 'done'; name: string; rounds: number; clientId: string | undefined };

const data = workerData as SimulateWorkerData;
const post = (m: WorkerReport) => parentPort?.postMessage(m);

await useBackend('wasm');
const engine = data.engine ?? 'tfjs';
const trainer = new ModelTrainer(
  data.shard,
  backendLabel(engine, 'wasm'),
  undefined,
  engine === 'fused' ? fusedWasmTrainingEngine : tfjsTrainingEngine,
);
const client = new FederatedClient({
  url: data.url,
  name: data.name,
  ...(data.clientId !== undefined && { clientId: data.clientId }),
  trainer,
  channels: await clientChannelsFor(data.channel),
  connect: (u) =>
    new WebSocket(u, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 }) as unknown as WebSocketLike,
  backoff: data.backoff,
  onStatus: (status) => post({ kind: 'status', name: data.name, status }),
  log: (line) => post({ kind: 'log', name: data.name, line }),
});
parentPort?.on('message', (m: { stop?: boolean }) => {
  if (m.stop) client.stop();
});
await client.run();
trainer.dispose();
post({ kind: 'done', name: data.name, rounds: client.roundsContributed, clientId: client.clientId });
