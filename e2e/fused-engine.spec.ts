import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { createServer, type ViteDevServer } from 'vite';

/**
 * The fused WASM engine (src/engine/wasm-engine.ts) in Chromium: the wrapper, loaded as a module from a
 * Vite dev server on an ephemeral 127.0.0.1 port, fetches the engine (its `new URL(…, import.meta.url)`),
 * trains the TON_IoT-shaped default model on a learnable synthetic task and reports samples/s per batch
 * (printed, never asserted). Needs `npm run build:engine` first (npm run test:browser's build does it).
 */
let server: ViteDevServer;
let base: string;

test.beforeAll(async () => {
  server = await createServer({
    configFile: false,
    root: process.cwd(),
    appType: 'custom',
    logLevel: 'error',
    // its own dependency cache (node_modules may be shared), tfjs bundled before the page asks for it
    cacheDir: join(tmpdir(), `pqfed-fused-e2e-${process.pid}`),
    optimizeDeps: { include: ['@tensorflow/tfjs'], noDiscovery: true },
    plugins: [
      {
        name: 'blank-page', // an empty document of the server's origin to import modules into
        configureServer(s) {
          s.middlewares.use('/blank', (_req, res) => {
            res.setHeader('content-type', 'text/html');
            res.end('<!doctype html><title>fused engine</title>');
          });
        },
      },
    ],
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
  });
  await server.listen();
  base = `http://127.0.0.1:${(server.httpServer!.address() as AddressInfo).port}`;
});

test.afterAll(async () => {
  await server?.close();
});

test('the fused engine trains in Chromium', async ({ page }) => {
  await page.goto(`${base}/blank`);
  const r = await page.evaluate(async () => {
    const { FusedEngine } = await import('/src/engine/wasm-engine.ts' as string);
    const { initWeights, DEFAULT_MODEL } = await import('/src/model/model.ts' as string);
    const catVocab = [4, 8, 12, 4, 8, 6, 4, 4, 4, 4, 5, 5, 4, 4, 5, 4, 7, 4, 5, 5, 3, 3];
    const config = { ...DEFAULT_MODEL, numNumeric: 8, catVocab, numClasses: 10 };
    const n = 1024;
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const numeric = Float32Array.from({ length: n * 8 }, () => rand() * 2 - 1);
    const categorical = new Int32Array(n * catVocab.length);
    const label = new Int32Array(n);
    const mos = new Float32Array(n);
    for (let r = 0; r < n; r++) {
      let off = 0;
      catVocab.forEach((v, j) => {
        categorical[r * catVocab.length + j] = off + Math.floor(rand() * v);
        off += v;
      });
      label[r] = numeric[r * 8]! > 0 ? 1 : 0;
      mos[r] = 3 + numeric[r * 8]!;
    }
    const data = { n, numeric, categorical, label, mos };
    const order = Int32Array.from({ length: n }, (_, i) => i);
    const losses: number[] = [];
    const engine = await FusedEngine.create(config, initWeights(config, 1).weights, 64);
    for (let s = 0; s < 60; s++) {
      const start = (s % 16) * 64;
      engine.loadRows(data, order, start, start + 64);
      losses.push(engine.step(64, 3e-3));
    }
    const speed: Record<number, number> = {};
    for (const b of [64, 256]) {
      const e = await FusedEngine.create(config, initWeights(config, 1).weights, b);
      const per = Math.floor(n / b);
      const step = (s: number) => {
        e.loadRows(data, order, (s % per) * b, (s % per) * b + b);
        e.step(b, 1e-3);
      };
      step(0);
      step(1);
      let steps = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < 2000) step(2 + steps++);
      speed[b] = (steps * b) / ((performance.now() - t0) / 1000);
    }
    return {
      first: losses[0]!,
      last: losses.slice(-5).reduce((a, b) => a + b, 0) / 5,
      finite: losses.every(Number.isFinite),
      speed,
      userAgent: navigator.userAgent,
    };
  });
  console.log(
    `fused engine in Chromium (${r.userAgent.match(/Chrome\/[\d.]+/)?.[0]}): ` +
      `batch 64 ${Math.round(r.speed[64]!)} samples/s, batch 256 ${Math.round(r.speed[256]!)} samples/s; ` +
      `loss ${r.first.toFixed(3)} → ${r.last.toFixed(3)}`,
  );
  expect(r.finite).toBe(true);
  expect(r.last).toBeLessThan(0.5 * r.first);
  expect(r.speed[64]).toBeGreaterThan(0);
});
