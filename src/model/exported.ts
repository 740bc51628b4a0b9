/**
 * The global model as tfjs model artifacts (the `model.json` layout of tfjs-core's `io` module, with the
 * weights inlined): what `GET /api/admin/model` returns and what a notebook or another page loads with
 * `@tensorflow/tfjs`.
 *
 *   {format: 'pqfed-multitask', generatedBy, convertedBy: null,
 *    modelTopology: {model: ModelConfig, preprocessor: Preprocessor, round, version},
 *    weightsManifest: [{paths: [], weights: [{name, shape, dtype: 'float32'}, …]}],
 *    weightData: base64 of the little-endian float32 weights, in manifest order}
 *
 * The manifest is `paramSpecs(config)` in order, so `weightData` is exactly the flat vector the aggregator
 * keeps. The network is functional code (MultiTaskModel), not a Keras topology, so `tf.loadLayersModel`
 * does not apply: `loadExported` reads the JSON with tfjs's own model.json reader
 * (`tf.io.getModelArtifactsForJSON`) and splits the weights with `tf.io.decodeWeights`, then builds the
 * model from them. The preprocessor travels along, so new rows are encoded exactly as in training.
 */

import { toBase64 } from '../core/protocol.ts';
import type { Preprocessor } from '../data/features.ts';
import { type ModelConfig, MultiTaskModel, paramSpecs } from './model.ts';
import { tf } from './tf.ts';

export const EXPORT_FORMAT = 'pqfed-multitask';

export interface ExportedWeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
}

export interface ExportedModel {
  format: typeof EXPORT_FORMAT;
  generatedBy: string;
  convertedBy: null;
  modelTopology: {
    model: ModelConfig;
    preprocessor: Preprocessor;
    /** Rounds completed when the model was exported. */
    round: number;
    /** The model's version (the round that produced it; 0 = the initial model). */
    version: number;
  };
  weightsManifest: { paths: string[]; weights: ExportedWeightEntry[] }[];
  /** Standard base64 of the float32 weights (little-endian), in manifest order. */
  weightData: string;
}

export interface ExportMeta {
  round: number;
  version: number;
  generatedBy?: string;
}

export class ExportedModelError extends Error {
  override name = 'ExportedModelError';
}

/** The artifacts of a model whose weights are the flat vector `weights` (in `paramSpecs(config)` order). */
export function exportArtifacts(
  config: ModelConfig,
  preprocessor: Preprocessor,
  weights: Float32Array,
  meta: ExportMeta,
): ExportedModel {
  const specs = paramSpecs(config);
  const size = specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  if (weights.length !== size) {
    throw new ExportedModelError(
      `exportArtifacts: the model config needs ${size} weights, got ${weights.length}`,
    );
  }
  return {
    format: EXPORT_FORMAT,
    generatedBy: meta.generatedBy ?? 'PQFed',
    convertedBy: null,
    modelTopology: {
      model: structuredClone(config),
      preprocessor: structuredClone(preprocessor),
      round: meta.round,
      version: meta.version,
    },
    weightsManifest: [
      { paths: [], weights: specs.map((s) => ({ name: s.name, shape: [...s.shape], dtype: 'float32' })) },
    ],
    weightData: toBase64(littleEndianBytes(weights)),
  };
}

/**
 * Loads exported artifacts through tfjs's loader into a ready model. Throws ExportedModelError when the
 * JSON is not this format, or its manifest does not match its model config.
 */
export async function loadExported(json: unknown): Promise<{
  model: MultiTaskModel;
  preprocessor: Preprocessor;
  round: number;
  version: number;
}> {
  const doc = checkShape(json);
  const { model: config, preprocessor, round, version } = doc.modelTopology;
  const specs = paramSpecs(config);
  const size = specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  const data = fromBase64(doc.weightData);
  if (data.byteLength !== size * 4) {
    throw new ExportedModelError(
      `loadExported: the model config needs ${size * 4} bytes of weights, weightData has ${data.byteLength}`,
    );
  }
  const artifacts = await tf.io.getModelArtifactsForJSON(
    doc as unknown as tf.io.ModelJSON,
    async (manifest) => [manifest.flatMap((g) => g.weights), data],
  );
  if (!artifacts.weightSpecs || !artifacts.weightData) {
    throw new ExportedModelError('loadExported: tfjs found no weights in the artifacts');
  }
  const named = tf.io.decodeWeights(artifacts.weightData, artifacts.weightSpecs);
  try {
    const flat = new Float32Array(size);
    let off = 0;
    for (const s of specs) {
      const t = named[s.name];
      if (!t) throw new ExportedModelError(`loadExported: the weights have no "${s.name}"`);
      if (t.dtype !== 'float32' || t.shape.join(',') !== s.shape.join(',')) {
        throw new ExportedModelError(
          `loadExported: "${s.name}" should be float32 [${s.shape}], got ${t.dtype} [${t.shape}]`,
        );
      }
      const v = t.dataSync() as Float32Array;
      flat.set(v, off);
      off += v.length;
    }
    return { model: new MultiTaskModel(config, flat), preprocessor, round, version };
  } finally {
    for (const t of Object.values(named)) t.dispose();
  }
}

function checkShape(json: unknown): ExportedModel {
  const bad = (why: string) => new ExportedModelError(`loadExported: ${why}`);
  if (typeof json !== 'object' || json === null) throw bad(`expected an object, got ${typeof json}`);
  const o = json as Partial<ExportedModel>;
  if (o.format !== EXPORT_FORMAT) throw bad(`format should be "${EXPORT_FORMAT}", got ${String(o.format)}`);
  const top = o.modelTopology;
  if (typeof top !== 'object' || top === null) throw bad('modelTopology is missing');
  if (typeof top.model !== 'object' || top.model === null || !Array.isArray(top.model.catVocab)) {
    throw bad('modelTopology.model is not a model config');
  }
  if (typeof top.preprocessor !== 'object' || top.preprocessor === null) {
    throw bad('modelTopology.preprocessor is missing');
  }
  if (!Array.isArray(o.weightsManifest) || o.weightsManifest.length === 0) {
    throw bad('weightsManifest is missing');
  }
  if (typeof o.weightData !== 'string') throw bad('weightData should be a base64 string');
  const names = o.weightsManifest.flatMap((g) => (Array.isArray(g?.weights) ? g.weights : []));
  const expected = paramSpecs(top.model);
  if (names.length !== expected.length || names.some((w, i) => w.name !== expected[i]!.name)) {
    throw bad('weightsManifest does not list the parameters of modelTopology.model in order');
  }
  return o as ExportedModel;
}

/** The bytes of `v` as little-endian float32 (tfjs's weight layout), whatever the platform. */
function littleEndianBytes(v: Float32Array): Uint8Array {
  const out = new Uint8Array(v.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) view.setFloat32(i * 4, v[i]!, true);
  return out;
}

export function fromBase64(b64: string): ArrayBuffer {
  let s: string;
  try {
    s = atob(b64);
  } catch {
    throw new ExportedModelError('loadExported: weightData is not valid base64');
  }
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out.buffer;
}
