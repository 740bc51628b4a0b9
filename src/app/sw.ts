/**
 * The service worker (built to `/sw.js` by vite-plugin-pwa's injectManifest; registered by
 * src/app/offline.ts). Workbox precaches the built app: every page, script and stylesheet, the tfjs WASM
 * binaries and the default data sample (`self.__WB_MANIFEST`, filled in at build time).
 *
 * - Page navigations go to the network first, so a running classroom always gets fresh pages; only when
 *   the network fails is the precached copy of that page served.
 * - Other precached files (content-hashed) are served from the cache.
 * - `/api/*`, `/healthz` and `/ws` are never matched by any route: they always go to the network (and a
 *   WebSocket never passes through a service worker anyway).
 *
 * Cached responses keep the headers they were fetched with, COOP/COEP/CORP included, so a page served from
 * the cache offline is still cross-origin isolated (WASM threads keep working).
 */
import { clientsClaim } from 'workbox-core';
import {
  addRoute,
  cleanupOutdatedCaches,
  matchPrecache,
  type PrecacheEntry,
  precache,
} from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { NetworkOnly } from 'workbox-strategies';

declare const self: {
  __WB_MANIFEST: (string | PrecacheEntry)[];
  skipWaiting(): Promise<void>;
  addEventListener(type: 'install', listener: () => void): void;
};

/** App URLs → built pages, as src/aggregator/static.ts maps them. */
const PAGES: Record<string, string> = {
  '/': '/index.html',
  '/dashboard': '/dashboard.html',
  '/bench': '/bench.html',
  '/simulate': '/simulate.html',
};

/** Never handled here, not even for a navigation (someone opening /api/status in a tab). */
const NETWORK_ONLY = [/^\/api(\/|$)/, /^\/ws(\/|$)/, /^\/healthz$/];

precache(self.__WB_MANIFEST);
cleanupOutdatedCaches();

// Registered before the precache route, so that pages (also /index.html and the like) are network-first.
registerRoute(
  new NavigationRoute(
    new NetworkOnly({
      plugins: [
        {
          // Offline or server down: the precached copy of the page, with its original headers.
          handlerDidError: async ({ request }) => {
            const path = new URL(request.url).pathname.replace(/\/+$/, '') || '/';
            return (await matchPrecache(PAGES[path] ?? path)) ?? undefined;
          },
        },
      ],
    }),
    { denylist: NETWORK_ONLY },
  ),
);
addRoute();

self.addEventListener('install', () => {
  void self.skipWaiting();
});
clientsClaim();
