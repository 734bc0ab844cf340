import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/boot/**', 'node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Integration suites share root-owned fixtures under a cache directory; the fixtures
    // take a file lock while they build, so suites can run in parallel safely.
    pool: 'forks',
    globalSetup: ['test/fixtures/global-setup.ts'],
    reporters: ['default'],
  },
});
