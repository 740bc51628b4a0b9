import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** Cross-origin isolation: SharedArrayBuffer, hence WASM threads. `pqfed serve` sends the same headers. */
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const page = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export default defineConfig({
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
      input: { main: page('./index.html') },
    },
  },
});
