/**
 * The training engine of the in-tab trainer: `auto` (the default: the fastest available), tfjs (the
 * reference, on the chosen backend), the fused WASM engine (src/engine/wasm-engine.ts) or the fused WebGPU
 * kernels (src/engine/webgpu). `auto` is the fused WASM engine when tfjs's backend is WASM or CPU (it trains
 * about 8× faster than tfjs wasm, one thread), the fused WebGPU kernels on a hardware WebGPU adapter, and tfjs
 * on a software one (SwiftShader). A fused engine that cannot run
 * here (no WebGPU device, the .wasm not served) falls back to tfjs with the reason. No imports: the page
 * (which never loads tfjs) shares these names with the worker.
 */

export const ENGINES = ['auto', 'tfjs', 'fused-wasm', 'fused-webgpu'] as const;
export type EngineChoice = (typeof ENGINES)[number];
/** An engine that trains (what `auto` resolves to). */
export type Engine = Exclude<EngineChoice, 'auto'>;

export const ENGINE_LABEL: Record<EngineChoice, string> = {
  auto: 'auto',
  tfjs: 'tfjs',
  'fused-wasm': 'fused WASM engine',
  'fused-webgpu': 'fused WebGPU engine',
};

export function isEngineChoice(x: unknown): x is EngineChoice {
  return typeof x === 'string' && (ENGINES as readonly string[]).includes(x);
}

/** A WebGPU adapter that emulates a GPU on the CPU (Chromium's SwiftShader): correct, never fast. */
export function isSoftwareAdapter(adapter: string): boolean {
  return /swiftshader/i.test(adapter);
}

/**
 * The engine `choice` asks for on tfjs backend `backend` (before a fused engine's fallback). `adapter` is
 * the WebGPU adapter's description when the backend is webgpu: `auto` trains on the fused WebGPU kernels on
 * a hardware adapter (46× tfjs WebGPU at batch 64 on an H200, docs/fused-engine-webgpu.md), and on tfjs
 * when the adapter is a software one or unknown.
 */
export function resolveEngine(choice: EngineChoice, backend: string, adapter?: string): Engine {
  if (choice !== 'auto') return choice;
  if (backend === 'wasm' || backend === 'cpu') return 'fused-wasm';
  return backend === 'webgpu' && adapter !== undefined && !isSoftwareAdapter(adapter)
    ? 'fused-webgpu'
    : 'tfjs';
}

/** The device an engine trains on, as the page shows it: "engine × device". */
export function engineDevice(engine: Engine, backend: string): string {
  if (engine === 'fused-wasm') return 'WASM SIMD';
  if (engine === 'fused-webgpu') return 'WebGPU';
  return backend;
}

/** What a client on `engine` reports to the server as its backend. */
export function reportedBackend(engine: Engine, backend: string): string {
  if (engine === 'fused-wasm') return 'wasm-fused';
  if (engine === 'fused-webgpu') return 'webgpu-fused';
  return backend;
}
