/**
 * The worker thread of `/api/explain` (explainer.ts): its own tfjs (WASM backend, falling back to CPU) and
 * its own copy of the model, so a gradient or a scan over the held-out rows never holds the aggregator's
 * event loop. It gets the model config, the preprocessor and the held-out rows once (workerData), then one
 * job at a time: the weights (transferred) and what to compute.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { EncodedData, Preprocessor } from '../data/features.ts';
import { useBackend } from '../model/backend.ts';
import { explainFlow, suggestFlows } from '../model/explain.ts';
import { type ModelConfig, MultiTaskModel } from '../model/model.ts';
import type { ExplainJob, ExplainReply } from './explainer.ts';

const port = parentPort!;
const {
  model: config,
  preprocessor,
  test,
} = workerData as {
  model: ModelConfig;
  preprocessor: Preprocessor;
  test: EncodedData;
};

const ready = useBackend('wasm').catch(() => useBackend('cpu'));
let model: MultiTaskModel | null = null;

/** Rows per forward pass of the suggestion scan, as in the evaluator. */
const SCAN_BATCH = 256;

port.on('message', async (job: ExplainJob) => {
  let reply: ExplainReply;
  try {
    await ready;
    model ??= new MultiTaskModel(config, job.weights);
    model.setWeights(job.weights);
    const result =
      job.kind === 'explain'
        ? await explainFlow(model, test, job.row, preprocessor)
        : await suggestFlows(model, test, preprocessor, { batchSize: SCAN_BATCH });
    reply = { id: job.id, result } as ExplainReply;
  } catch (e) {
    reply = { id: job.id, error: { name: (e as Error).name, message: (e as Error).message } };
  }
  port.postMessage(reply);
});
