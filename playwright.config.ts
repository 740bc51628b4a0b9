import { defineConfig } from '@playwright/test';

/**
 * Browser tests in Debian's Chromium (never a downloaded browser; scripts/ensure-chromium.js installs it).
 * WebGPU runs on SwiftShader (a CPU Vulkan), ~50 samples/s: hence one worker and generous timeouts.
 * The server is `pqfed serve` over the already-built dist/ (`vite build` runs first in `npm run test:browser`).
 */
// PQFED_E2E_PORT lets two checkouts run the suite side by side on one machine.
const PORT = Number(process.env.PQFED_E2E_PORT ?? 4173);
const BASE = `http://127.0.0.1:${PORT}`;

export default defineConfig({
  testDir: 'e2e',
  workers: 1,
  fullyParallel: false,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  reporter: 'list',
  timeout: 240_000,
  expect: { timeout: 60_000 },
  use: {
    baseURL: BASE,
    actionTimeout: 30_000,
    navigationTimeout: 60_000,
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--enable-unsafe-webgpu',
        '--enable-features=Vulkan',
        '--use-angle=swiftshader',
        '--use-webgpu-adapter=swiftshader',
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    command: `node bin/pqfed.js serve --port ${PORT} --host 127.0.0.1`,
    url: `${BASE}/healthz`,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
