/**
 * Which engine a browser worker trains on for an engine choice (src/engine/choice.ts), checked in that
 * worker: the fused WASM engine when its module compiles here, the fused WebGPU engine when there is an
 * adapter, else tfjs with the reason. And the `TrainingEngine` factory for the result, for a
 * `ModelTrainer`. Used by the in-tab federation's client workers (workers/federation.worker.ts).
 */
import { fusedWasmTrainingEngine, type TrainingEngine, tfjsTrainingEngine } from '../client/model-trainer.ts';
import type { ModelConfig } from '../model/model.ts';
import { type Engine, type EngineChoice, engineDevice, resolveEngine } from './choice.ts';
import { fusedWasmUnavailable } from './step-engine.ts';
import { fusedTrainingEngine, webGpuAdapterPresent } from './webgpu/train.ts';

/** The engine a choice trains on here, on which device, and why tfjs when a fused engine cannot run. */
export interface EngineInUse {
  engine: Engine;
  device: string;
  fallback?: string;
}

/**
 * The engine `choice` trains on in this thread, on tfjs backend `backend` (with WebGPU adapter `adapter`:
 * `auto` takes the fused WebGPU kernels on a hardware adapter, choice.ts).
 */
export async function engineInUse(
  choice: EngineChoice,
  backend: string,
  adapter?: string,
): Promise<EngineInUse> {
  const want = resolveEngine(choice, backend, adapter);
  if (want === 'fused-wasm') {
    const why = await fusedWasmUnavailable();
    if (why) return { engine: 'tfjs', device: backend, fallback: why };
  }
  if (want === 'fused-webgpu' && !(await webGpuAdapterPresent())) {
    return { engine: 'tfjs', device: backend, fallback: 'engine: navigator.gpu gave no adapter' };
  }
  return { engine: want, device: engineDevice(want, backend) };
}

/**
 * The model factory for `engine` (what `engineInUse` chose). The fused WebGPU engine's kernels can still
 * fail when the device is made: then tfjs trains and `onFallback` hears why.
 */
export function trainingEngineFor(
  engine: Engine,
  onFallback: (reason: string) => void = () => {},
): (config: ModelConfig) => Promise<TrainingEngine> {
  if (engine === 'fused-wasm') return async (config) => fusedWasmTrainingEngine(config);
  if (engine === 'fused-webgpu') {
    return async (config) => {
      try {
        return await fusedTrainingEngine(config);
      } catch (e) {
        onFallback((e as Error).message);
        return tfjsTrainingEngine(config);
      }
    };
  }
  return async (config) => tfjsTrainingEngine(config);
}
