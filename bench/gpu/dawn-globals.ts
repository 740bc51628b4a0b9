/**
 * WebGPU in Node through Dawn's bindings (npm `webgpu`, not a dependency of PQFed: the GPU bench brings it,
 * see bench/gpu/README.md): the WebGPU classes as globals and a `navigator.gpu`, as a page has them. Imported
 * first, before tfjs's WebGPU backend looks for them.
 */
// @ts-expect-error: `webgpu` is brought by the GPU bench's bundle step, not installed by npm ci.
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const flags = (process.env.PQFED_DAWN_FLAGS ?? '').split(' ').filter(Boolean);
Object.defineProperty(globalThis, 'navigator', {
  value: { gpu: create(flags) },
  configurable: true,
  writable: true,
});
