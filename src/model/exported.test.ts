import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from './backend.ts';
import { modelConfigFor } from './centralized.ts';
import {
  EXPORT_FORMAT,
  type ExportedModel,
  ExportedModelError,
  exportArtifacts,
  loadExported,
} from './exported.ts';
import { initWeights, MultiTaskModel, paramSpecs } from './model.ts';
import { tf } from './tf.ts';
import { syntheticTrainingData } from './throughput.ts';
import { predict } from './train.ts';

const MODEL = { dModel: 8, heads: 2, ffDim: 16, convLayers: 1, mosWeight: 0.5 };

async function fixture() {
  const { pre, data } = await syntheticTrainingData('toniot', 64, 3);
  const config = modelConfigFor(pre, MODEL);
  // Weights that are not the seeded initialisation, with values float32 holds exactly and awkward ones.
  const weights = initWeights(config, 5).weights.map((w, i) => w + (i % 7) * 1e-3);
  weights[0] = -0;
  weights[1] = 1e-40; // subnormal
  weights[2] = 3.4028234663852886e38;
  return { pre, data, config, weights };
}

describe('exported model artifacts', () => {
  beforeAll(() => useBackend('cpu'));

  it('round-trips the weights bit-exact through tfjs and predicts like the original model', async () => {
    const { pre, data, config, weights } = await fixture();
    const json = JSON.parse(JSON.stringify(exportArtifacts(config, pre, weights, { round: 4, version: 3 })));
    expect(json.format).toBe(EXPORT_FORMAT);
    expect(json.convertedBy).toBeNull();
    expect(json.modelTopology.round).toBe(4);
    expect(json.modelTopology.version).toBe(3);
    expect(json.weightsManifest[0].weights.map((w: { name: string }) => w.name)).toEqual(
      paramSpecs(config).map((s) => s.name),
    );
    for (const w of json.weightsManifest[0].weights) expect(w.dtype).toBe('float32');

    // A disposed model leaves nothing behind, and loading leaves exactly the loaded model's variables: the
    // decoded weights are all freed.
    let before = tf.memory().numTensors;
    new MultiTaskModel(config, weights).dispose();
    expect(tf.memory().numTensors).toBe(before);
    before = tf.memory().numTensors;
    const loaded = await loadExported(json);
    expect(tf.memory().numTensors - before).toBe(paramSpecs(config).length);
    expect(loaded.preprocessor).toEqual(pre);
    expect(loaded.round).toBe(4);
    const got = await loaded.model.getWeights();
    expect(new Uint8Array(got.buffer)).toEqual(new Uint8Array(weights.buffer));

    const original = new MultiTaskModel(config, weights);
    const a = await predict(original, data);
    const b = await predict(loaded.model, data);
    expect(Array.from(b.classes)).toEqual(Array.from(a.classes));
    expect(Array.from(b.mos)).toEqual(Array.from(a.mos));
    original.dispose();
    loaded.model.dispose();
  });

  it('refuses a wrong format, a reordered manifest and truncated weights, saying what is wrong', async () => {
    const { pre, config, weights } = await fixture();
    const good = () => exportArtifacts(config, pre, weights, { round: 1, version: 1 });
    await expect(loadExported({ ...good(), format: 'layers-model' })).rejects.toThrow(/format should be/);
    const swapped = good();
    const list = swapped.weightsManifest[0]!.weights;
    [list[0], list[1]] = [list[1]!, list[0]!];
    await expect(loadExported(swapped)).rejects.toThrow(/in order/);
    const short: ExportedModel = { ...good(), weightData: good().weightData.slice(0, 40) };
    await expect(loadExported(short)).rejects.toThrow(ExportedModelError);
    await expect(loadExported(null)).rejects.toThrow(/expected an object/);
    expect(() => exportArtifacts(config, pre, weights.subarray(1), { round: 0, version: 0 })).toThrow(
      /needs \d+ weights/,
    );
  });
});
