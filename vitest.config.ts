import { defineConfig } from 'vitest/config';

// Unit and integration tests live beside their modules; e2e/ belongs to Playwright.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 30_000,
  },
});
