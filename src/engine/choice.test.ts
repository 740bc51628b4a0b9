import { describe, expect, it } from 'vitest';
import { engineDevice, isEngineChoice, reportedBackend, resolveEngine } from './choice.ts';

describe('the in-tab engine choice', () => {
  it('auto is the fused WASM engine on the WASM and CPU backends, tfjs on WebGPU', () => {
    expect(resolveEngine('auto', 'wasm')).toBe('fused-wasm');
    expect(resolveEngine('auto', 'cpu')).toBe('fused-wasm');
    expect(resolveEngine('auto', 'webgpu')).toBe('tfjs');
    // A hardware adapter trains on the fused kernels; SwiftShader (software) keeps tfjs.
    expect(resolveEngine('auto', 'webgpu', 'nvidia hopper NVIDIA H200')).toBe('fused-webgpu');
    expect(resolveEngine('auto', 'webgpu', 'google swiftshader SwiftShader Device (Subzero)')).toBe('tfjs');
    expect(resolveEngine('tfjs', 'webgpu', 'nvidia hopper NVIDIA H200')).toBe('tfjs');
    expect(resolveEngine('tfjs', 'wasm')).toBe('tfjs');
    expect(resolveEngine('fused-webgpu', 'wasm')).toBe('fused-webgpu');
  });

  it('names the engine and device, and what the server hears', () => {
    expect(engineDevice('fused-wasm', 'cpu')).toBe('WASM SIMD');
    expect(engineDevice('tfjs', 'wasm')).toBe('wasm');
    expect(reportedBackend('fused-wasm', 'wasm')).toBe('wasm-fused');
    expect(reportedBackend('fused-webgpu', 'webgpu')).toBe('webgpu-fused');
    expect(reportedBackend('tfjs', 'cpu')).toBe('cpu');
    expect(isEngineChoice('fused-wasm')).toBe(true);
    expect(isEngineChoice('fused')).toBe(false);
  });
});
