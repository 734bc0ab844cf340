import { defineConfig } from 'vitest/config';
import { EATMYDATA_ENV, VITEST_CACHE_DIR } from './test/fixtures/suite-env.js';

/**
 * Two projects: `unit` (npm run test:unit: no root, no network, no ostree or apt; see
 * scripts/test-unit.mjs) and `integration` (the real CLI as root against real ostree, apt and
 * dpkg, over fixtures that test/fixtures/global-setup.ts builds once). `npx vitest run FILE`
 * picks the project by the file's folder; the global set-up runs only when an integration file
 * is among the files run. The boot suite has its own config, vitest.boot.config.ts.
 */
export default defineConfig({
  // vitest's record of each file's duration, kept beside the test fixtures so that a fresh clone
  // on the same machine (as CI runs) starts the longest files first.
  cacheDir: VITEST_CACHE_DIR,
  test: {
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // vitest runs one file at a time on 2 cores (CPUs - 1); the integration files spend much of
    // their time waiting for the programs they start, so three side by side use the machine
    // better (docs/testing.md has the figures). A pool option: vitest reads it from the root only.
    // minForks as many: the unit run reuses its workers (--no-isolate, scripts/test-unit.mjs),
    // and a worker the pool stops as idle failed that run with "Terminating worker thread".
    poolOptions: { forks: { maxForks: 3, minForks: 3 } },
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Integration suites share root-owned fixtures under a cache directory; the fixtures
          // take a file lock while they build, so suites can run in parallel safely.
          globalSetup: ['test/fixtures/global-setup.ts'],
          // fsync a no-op for the programs the tests start (test/fixtures/suite-env.ts).
          env: EATMYDATA_ENV,
        },
      },
    ],
  },
});
