import { describe, expect, it } from 'vitest';
import { initWeights, type ModelConfig, paramSpecs } from '../../model/model.ts';
import { generateWgsl, ioLayout } from './kernels.ts';
import { dimsOf, paramLayout, scratchLayout } from './layout.ts';

const CONFIGS: ModelConfig[] = [
  {
    numNumeric: 4,
    catVocab: [3, 5],
    numClasses: 3,
    dModel: 8,
    heads: 2,
    ffDim: 12,
    convLayers: 2,
    mosWeight: 0.5,
  },
  {
    numNumeric: 0,
    catVocab: [4, 2, 3],
    numClasses: 4,
    dModel: 12,
    heads: 3,
    ffDim: 8,
    convLayers: 1,
    mosWeight: 1,
  },
  {
    numNumeric: 7,
    catVocab: [],
    numClasses: 2,
    dModel: 16,
    heads: 1,
    ffDim: 32,
    convLayers: 0,
    mosWeight: 0.25,
  },
];

describe('fused WebGPU engine layout', () => {
  it('places every parameter where the flat initWeights vector has it', () => {
    for (const c of CONFIGS) {
      const { slots, total } = paramLayout(c);
      const { weights, manifest } = initWeights(c, 1);
      expect(total).toBe(weights.length);
      expect(slots.map((s) => s.name)).toEqual(manifest.params.map((p) => p.name));
      let off = 0;
      for (const [i, s] of slots.entries()) {
        expect(s.offset).toBe(off);
        expect(s.shape).toEqual(paramSpecs(c)[i]!.shape);
        off += s.size;
      }
    }
  });

  it('gives each saved tensor its own scratch range', () => {
    for (const c of CONFIGS) {
      const { off, size, stride } = scratchLayout(dimsOf(c));
      const ranges = Object.keys(off)
        .filter((k) => size[k]! > 0)
        .map((k) => [off[k]!, off[k]! + size[k]!] as const)
        .sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThanOrEqual(ranges[i - 1]![1]);
      expect(stride % 4).toBe(0);
      expect(stride).toBeGreaterThanOrEqual(ranges.at(-1)![1]);
    }
  });

  it('generates one gradient branch per non-empty parameter and bakes the sizes in', () => {
    for (const c of CONFIGS) {
      const code = generateWgsl(c, 16);
      const { slots, total } = paramLayout(c);
      const branches = code.match(/if \(p < \d+u\) \{/g) ?? [];
      expect(branches).toHaveLength(slots.filter((s) => s.size > 0).length);
      expect(code).toContain(`const P: u32 = ${total}u;`);
      for (const entry of ['forward', 'fwdbwd', 'loss', 'update']) expect(code).toContain(`fn ${entry}(`);
      const io = ioLayout(c, 16);
      expect(io.auxSize).toBeGreaterThanOrEqual(io.lin + total);
    }
  });
});
