/**
 * Backend selection: webgpu → wasm → cpu, with the reason each one was passed over. Works in a worker, a
 * page and Node (where webgpu needs a `navigator.gpu`, e.g. Dawn's bindings, see ../shared/GPU.md).
 * In the browser the caller sets the WASM binary paths first (setWasmPaths) — see workers/.
 */
import '@tensorflow/tfjs-backend-wasm';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { tf } from './tf.ts';

export type BackendName = 'webgpu' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'wasm', 'cpu'];

export interface BackendReport {
  name: BackendName;
  /** WASM: SIMD available. */
  simd?: boolean;
  /** WASM: worker threads in use. */
  threads?: number;
  /** Browser: SharedArrayBuffer allowed (COOP/COEP), needed for WASM threads. */
  crossOriginIsolated?: boolean;
  /** WebGPU: the adapter's description. */
  adapter?: string;
}

export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';
}

let webgpuLoaded = false;

async function adapterInfo(): Promise<string | undefined> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: GPU })?.gpu;
  if (!gpu) return undefined;
  const adapter = await gpu.requestAdapter();
  if (!adapter) return undefined;
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  return info
    ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ')
    : 'unknown';
}

/** Makes `name` the active backend, or throws BackendUnavailableError saying why not. */
export async function useBackend(name: BackendName): Promise<BackendReport> {
  let adapter: string | undefined;
  if (name === 'webgpu') {
    adapter = await adapterInfo().catch(() => undefined);
    if (adapter === undefined) throw new BackendUnavailableError('webgpu: no navigator.gpu adapter');
    if (!webgpuLoaded) {
      await import('@tensorflow/tfjs-backend-webgpu');
      webgpuLoaded = true;
    }
  }
  let ok = false;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (err) {
    throw new BackendUnavailableError(`${name}: ${(err as Error).message}`);
  }
  if (!ok || tf.getBackend() !== name) throw new BackendUnavailableError(`${name}: failed to initialise`);
  const report: BackendReport = { name };
  if (typeof globalThis.crossOriginIsolated === 'boolean')
    report.crossOriginIsolated = globalThis.crossOriginIsolated;
  if (name === 'wasm') {
    report.simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    report.threads = getThreadsCount();
  }
  if (adapter !== undefined) report.adapter = adapter;
  return report;
}

/** The first backend of `order` that works, and why the others before it did not. */
export async function pickBackend(
  order: readonly BackendName[] = BACKEND_ORDER,
): Promise<{ report: BackendReport; skipped: { name: BackendName; reason: string }[] }> {
  const skipped: { name: BackendName; reason: string }[] = [];
  for (const name of order) {
    if (name === 'webgpu' && order.length > 1) {
      // SwiftShader (Chromium's CPU emulation of a GPU) runs WebGPU correctly but ~30× slower than WASM on
      // the same CPU: the automatic choice passes it over; choosing WebGPU explicitly still uses it.
      const adapter = await adapterInfo().catch(() => undefined);
      if (adapter && /swiftshader/i.test(adapter)) {
        skipped.push({
          name,
          reason: `webgpu: the adapter is ${adapter.trim()}, a software emulation slower than WASM here`,
        });
        continue;
      }
    }
    try {
      return { report: await useBackend(name), skipped };
    } catch (err) {
      skipped.push({ name, reason: (err as Error).message });
    }
  }
  throw new BackendUnavailableError(`no backend works: ${skipped.map((s) => s.reason).join('; ')}`);
}
