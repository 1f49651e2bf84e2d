import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src-*/**/*.test.ts', 'bench/**/*.test.ts'],
    // Builds what bin/loupe.js runs, once, before the workers spawn it.
    globalSetup: ['src-main/test-support/global-setup.ts'],
    // Integration tests start real servers and processes; keep parallelism within 2 cores.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 10_000,
  },
});
