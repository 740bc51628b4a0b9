/**
 * Memory layout of the fused WebGPU engine: where each parameter sits in the flat weight vector (the same
 * order and shapes as `paramSpecs`, so the engine's weights are the wire format), and where each saved
 * activation and activation gradient of one sample sits in the per-sample scratch region.
 *
 * Pure TypeScript (no GPU): the WGSL generator (kernels.ts) bakes these offsets into its shaders as
 * constants, and the unit test checks them against `paramSpecs`/`initWeights`.
 */
import { type ModelConfig, paramSpecs } from '../../model/model.ts';

export interface Dims {
  /** Numeric tokens. */
  ln: number;
  /** Categorical tokens. */
  lc: number;
  /** Tokens in all. */
  L: number;
  d: number;
  H: number;
  dh: number;
  F: number;
  K: number;
  C: number;
  /** Rows of the shared categorical embedding table. */
  V: number;
}

export function dimsOf(c: ModelConfig): Dims {
  const ln = c.numNumeric;
  const lc = c.catVocab.length;
  return {
    ln,
    lc,
    L: ln + lc,
    d: c.dModel,
    H: c.heads,
    dh: c.dModel / c.heads,
    F: c.ffDim,
    K: c.numClasses,
    C: c.convLayers,
    V: c.catVocab.reduce((a, b) => a + b, 0),
  };
}

export interface ParamSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/** Each parameter's offset in the flat vector (paramSpecs order), and the total. */
export function paramLayout(c: ModelConfig): {
  slots: ParamSlot[];
  byName: Map<string, ParamSlot>;
  total: number;
} {
  let off = 0;
  const slots = paramSpecs(c).map((s) => {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const slot = { name: s.name, shape: s.shape, offset: off, size };
    off += size;
    return slot;
  });
  return { slots, byName: new Map(slots.map((s) => [s.name, s])), total: off };
}

/**
 * The per-sample scratch region, in floats. Forward: `hs` (the residual stream before each conv layer and
 * after the last, (C+1)·L·d), `pre` (conv pre-activations; the backward pass overwrites them with their
 * gradients), layer-norm statistics and normalised inputs, q|k|v, attention probabilities [H, L, L], the
 * context, the post-attention stream, the feed-forward pre-activation, the pooled vector, the heads.
 * Backward: gradients of the same, `dhs` being the gradient of each `hs` (dhs[0] is the tokens' gradient).
 */
export function scratchLayout(D: Dims): {
  off: Record<string, number>;
  size: Record<string, number>;
  stride: number;
} {
  const { L, d, H, F, K, C } = D;
  const sizes: [string, number][] = [
    ['hs', (C + 1) * L * d],
    ['pre', C * L * d],
    ['mu1', L],
    ['rs1', L],
    ['xh1', L * d],
    ['a1', L * d],
    ['qkv', L * 3 * d],
    ['pr', H * L * L],
    ['ctx', L * d],
    ['h2', L * d],
    ['mu2', L],
    ['rs2', L],
    ['xh2', L * d],
    ['a2', L * d],
    ['f1', L * F],
    ['pool', d],
    ['xhf', d],
    ['rsf', 1],
    ['z', d],
    ['logits', K],
    ['s', 1],
    ['mos', 1],
    ['ce', 1],
    ['sq', 1],
    // backward
    ['dlog', K],
    ['ds', 1],
    ['dz', d],
    ['dh3', d],
    ['dpre1', L * F],
    ['da2', L * d],
    ['dh2', L * d],
    ['dctx', L * d],
    ['dpr', H * L * L],
    ['dqkv', L * 3 * d],
    ['da1', L * d],
    ['dhs', (C + 1) * L * d],
  ];
  const off: Record<string, number> = {};
  const size: Record<string, number> = {};
  let o = 0;
  for (const [name, n] of sizes) {
    off[name] = o;
    size[name] = n;
    o += n;
  }
  // Keep each sample's region 16-byte aligned.
  return { off, size, stride: Math.ceil(o / 4) * 4 };
}
