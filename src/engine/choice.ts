/**
 * The training engine of the in-tab trainer: tfjs (the reference, on the chosen backend) or the fused
 * WebGPU kernels (src/engine/webgpu). The fused engine is opened only when asked for and falls back to tfjs,
 * with the reason, when this context has no WebGPU device or the kernels do not fit it. No imports: the
 * page (which never loads tfjs) shares these names with the worker.
 */

export const ENGINES = ['tfjs', 'fused-webgpu'] as const;
export type EngineChoice = (typeof ENGINES)[number];

export const ENGINE_LABEL: Record<EngineChoice, string> = {
  tfjs: 'tfjs',
  'fused-webgpu': 'fused WebGPU engine',
};

export function isEngineChoice(x: unknown): x is EngineChoice {
  return typeof x === 'string' && (ENGINES as readonly string[]).includes(x);
}
