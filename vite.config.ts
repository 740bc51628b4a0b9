import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { compression } from 'vite-plugin-compression2';
import { VitePWA } from 'vite-plugin-pwa';

/** Cross-origin isolation: SharedArrayBuffer, hence WASM threads. `pqfed serve` sends the same headers. */
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const page = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export default defineConfig({
  plugins: [
    // The service worker (src/app/sw.ts, Workbox) that keeps the app usable offline once visited: it
    // precaches the pages, scripts, tfjs WASM binaries and the default data; pages stay network-first.
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src/app',
      filename: 'sw.ts',
      injectRegister: false,
      manifest: false,
      injectManifest: {
        rollupFormat: 'iife',
        globPatterns: ['**/*.{html,js,css,wasm}', 'data/ton_iot_network.sample.csv.gz'],
        // The developer page that checks the fused WebGPU engine against tfjs is not for offline use.
        globIgnores: ['**/node_modules/**/*', 'engine-check.html', 'assets/engineCheck-*'],
        // The trainer worker bundle (tfjs) is about 2 MB, the data sample 1.2 MB.
        maximumFileSizeToCacheInBytes: 16 * 1024 * 1024,
      },
    }),
    // Brotli and gzip twins of every text and WASM asset (`x.js.br`, `x.js.gz`), served by
    // src/aggregator/static.ts with the matching Content-Encoding. The data sample is gzip already.
    compression({
      algorithms: ['brotliCompress', 'gzip'],
      include: /\.(html|js|mjs|css|json|svg|wasm|webmanifest)$/,
      threshold: 1024,
      logLevel: 'silent',
    }),
  ],
  server: { headers: isolation },
  preview: { headers: isolation },
  worker: {
    format: 'es',
    // The worker bundles tfjs-backend-wasm, whose threaded build re-creates its Emscripten factory from
    // `factory.toString()` inside each pthread. Compression drops the factory's `typeof _scriptDir` guards
    // (the variable lives in a closure the pthread does not get), so pthreads die with "e is not defined".
    // Mangle and strip whitespace, but do not compress.
    rolldownOptions: {
      output: { minify: { compress: false, mangle: true, codegen: { removeWhitespace: true } } },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      // One entry per page; /dashboard, /bench and /simulate join here.
      input: {
        main: page('./index.html'),
        dashboard: page('./dashboard.html'),
        bench: page('./bench.html'),
        simulate: page('./simulate.html'),
        // Developer check of the fused WebGPU engine against tfjs (e2e/webgpu-engine.spec.ts).
        engineCheck: page('./engine-check.html'),
      },
    },
  },
});
