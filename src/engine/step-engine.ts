/**
 * Which engine runs a client's local training steps in Node (`pqfed simulate`, `pqfed train`): the fused
 * WASM engine by default — about 3× tfjs wasm on one thread (docs/fused-engine.md) — and tfjs when the
 * engine module is missing or does not load here (a checkout where `npm run build:engine` was not run),
 * with the reason. An explicit `fused` that cannot load is an error, not a fallback.
 */
import { compileEngine, compileEngineAt, ENGINE_WASM_URL, EngineError } from './wasm-engine.ts';

/** Who runs training steps: tfjs (on its backend; the reference) or the fused WASM engine. */
export type StepEngine = 'tfjs' | 'fused';
export const STEP_ENGINES = ['tfjs', 'fused'] as const satisfies readonly StepEngine[];

export interface StepEngineChoice {
  engine: StepEngine;
  /** Why tfjs runs although the fused engine was the default; null when nothing fell back. */
  fallback: string | null;
}

/** Checks that the engine module at `url` compiles and has the engine's entry points. */
export async function probeFusedEngine(url: URL = ENGINE_WASM_URL): Promise<void> {
  const module = await compileEngineAt(url);
  const names = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  for (const name of ['memory', 'init', 'step', 'predict']) {
    if (!names.has(name)) {
      throw new EngineError(
        `fused engine: ${url.pathname} has no export "${name}" (an old build?); run \`npm run build:engine\``,
      );
    }
  }
}

/**
 * The engine to train with: `requested` when given (a `fused` that cannot load throws its EngineError),
 * else the fused engine when its module at `url` loads, else tfjs with the reason.
 */
export async function chooseStepEngine(
  requested?: StepEngine,
  url: URL = ENGINE_WASM_URL,
): Promise<StepEngineChoice> {
  if (requested === 'tfjs') return { engine: 'tfjs', fallback: null };
  try {
    await probeFusedEngine(url);
    return { engine: 'fused', fallback: null };
  } catch (e) {
    if (requested === 'fused') throw e;
    return { engine: 'tfjs', fallback: (e as Error).message };
  }
}

/** The one stderr line that says why tfjs runs instead of the default fused engine. */
export function fallbackLine(command: string, reason: string): string {
  return `${command}: training with tfjs, not the default fused WASM engine: ${reason}`;
}

/** What a client on `engine` reports to the server as its backend (tfjs: the tfjs backend's name). */
export function backendLabel(engine: StepEngine, tfjsBackend: string): string {
  return engine === 'fused' ? 'wasm-fused' : tfjsBackend;
}

/**
 * Why the fused WASM engine cannot run in this thread (its module, compiled once per thread, is missing
 * or does not compile: in a browser, the asset not served), or null when it can.
 */
export async function fusedWasmUnavailable(): Promise<string | null> {
  try {
    await compileEngine();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
