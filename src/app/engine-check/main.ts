/**
 * Developer page `/engine-check.html`: the fused WebGPU engine (src/engine/webgpu) against the tfjs model in
 * the same page. `window.__pqfedEngine` offers a gradient check, a short training curve and a dispatch count;
 * e2e/webgpu-engine.spec.ts drives it. The arithmetic lives in ../../engine/webgpu/check.ts.
 */
import {
  checkGradients,
  compareClientFit,
  compareTrainLoop,
  countDispatches,
  trainingCurves,
} from '../../engine/webgpu/check.ts';

const hook = { checkGradients, trainingCurves, countDispatches, compareTrainLoop, compareClientFit };

export type EngineCheckHook = typeof hook;

declare global {
  interface Window {
    __pqfedEngine?: EngineCheckHook;
  }
}

window.__pqfedEngine = hook;
const status = document.getElementById('engine-status');
if (status) status.textContent = `Ready: navigator.gpu is ${'gpu' in navigator ? 'present' : 'absent'}.`;
