/**
 * Registers the service worker (`/sw.js`, built from src/app/sw.ts by vite-plugin-pwa) that makes the app
 * work offline once visited: it precaches the pages, the scripts, the tfjs WASM binaries and the default
 * data sample. `/bench` and `/simulate` call this; the federation pages keep working without it (the worker never touches
 * `/api/*` or `/ws`, and serves pages from the network first).
 */

export type OfflineState =
  | { state: 'unsupported'; message: string }
  | { state: 'ready'; message: string }
  | { state: 'failed'; message: string };

/** Registers the worker and resolves once it is active (the cache is then complete). */
export async function registerOfflineCache(): Promise<OfflineState> {
  if (!('serviceWorker' in navigator)) {
    return {
      state: 'unsupported',
      message: globalThis.isSecureContext
        ? 'This browser has no service workers, so this page needs the network each time.'
        : 'Offline use needs a secure page (https:// or localhost); this one is not, so it needs the network each time.',
    };
  }
  if (import.meta.env.DEV) {
    return {
      state: 'unsupported',
      message: 'Offline caching is off in the development server (npm run dev).',
    };
  }
  const ready = {
    state: 'ready',
    message: 'Available offline: this browser keeps the app, the WASM binaries and the default data.',
  } as const;
  try {
    // Offline, registering again fails (the script cannot be fetched for an update check), yet the worker
    // already installed serves the app: that is the case this exists for.
    const existing = await navigator.serviceWorker.getRegistration('/');
    const registering = navigator.serviceWorker.register('/sw.js', { scope: '/' });
    if (existing?.active) {
      registering.catch(() => {});
      return ready;
    }
    await registering;
    await navigator.serviceWorker.ready;
    return ready;
  } catch (e) {
    return { state: 'failed', message: `Offline caching is not available: ${(e as Error).message}` };
  }
}
