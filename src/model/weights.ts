/**
 * Weights travel as one flat Float32Array plus a shape manifest: the wire format between the trainer, the
 * aggregator (which never imports tfjs) and storage.
 */

export interface ParamShape {
  name: string;
  shape: number[];
}

export interface ParamSpec extends ParamShape {
  init: 'zeros' | 'ones' | 'normal' | 'glorot';
  /** Standard deviation for `normal`. */
  std?: number;
}

export interface WeightManifest {
  params: ParamShape[];
}

export class WeightShapeError extends Error {
  override name = 'WeightShapeError';
}

export function manifestSize(m: WeightManifest): number {
  let n = 0;
  for (const p of m.params) {
    if (!p.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new WeightShapeError(`manifest: ${p.name} has an invalid shape [${p.shape}]`);
    }
    n += p.shape.reduce((a, b) => a * b, 1);
  }
  return n;
}

/** Concatenates named tensors into one vector with its manifest. */
export function flatten(tensors: { name: string; shape: number[]; values: Float32Array }[]): {
  weights: Float32Array;
  manifest: WeightManifest;
} {
  const manifest: WeightManifest = { params: tensors.map((t) => ({ name: t.name, shape: [...t.shape] })) };
  const weights = new Float32Array(manifestSize(manifest));
  let off = 0;
  for (const t of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (t.values.length !== size) {
      throw new WeightShapeError(
        `flatten: ${t.name} has shape [${t.shape}] (${size}) but ${t.values.length} values`,
      );
    }
    weights.set(t.values, off);
    off += size;
  }
  return { weights, manifest };
}

/** Splits a flat vector back into named views (no copy). */
export function unflatten(weights: Float32Array, manifest: WeightManifest): Map<string, Float32Array> {
  const size = manifestSize(manifest);
  if (weights.length !== size) {
    throw new WeightShapeError(`unflatten: manifest needs ${size} values, got ${weights.length}`);
  }
  const out = new Map<string, Float32Array>();
  let off = 0;
  for (const p of manifest.params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    out.set(p.name, weights.subarray(off, off + n));
    off += n;
  }
  return out;
}
