import { defineConfig } from 'vitest/config';
import { EATMYDATA_ENV, VITEST_CACHE_DIR } from './test/fixtures/suite-env.js';

/**
 * The boot suite (npm run test:boot): real boots under QEMU. Two files side by side, each VM with
 * one vCPU (test/fixtures/boot.ts): under TCG a vCPU is a host thread, and one boot alone leaves
 * the second core idle most of the time (docs/testing.md has the figures).
 */
export default defineConfig({
  // vitest's record of each file's duration, kept beside the test fixtures so that a fresh clone
  // on the same machine (as CI runs) starts the longest files first.
  cacheDir: VITEST_CACHE_DIR,
  test: {
    include: ['test/boot/**/*.test.ts'],
    // Above every boot's own QEMU timeout (900 s at most, plus a boot once more after an emulator
    // panic): the fixture's error, with the console log, must come before vitest's bare one.
    testTimeout: 1_500_000,
    hookTimeout: 1_800_000,
    pool: 'forks',
    // minForks as many as maxForks: with fewer, vitest's pool drops to one worker once a file ends
    // and runs the rest one after the other (CI of 2026-12-06: one lane idle for 6.5 of 24 minutes).
    poolOptions: { forks: { maxForks: 2, minForks: 2 } },
    // fsync a no-op for the programs the host side starts (test/fixtures/suite-env.ts).
    env: EATMYDATA_ENV,
    // Each file's time with its set-up hooks, for the report at the end of .ci/run.
    reporters: ['default', './scripts/file-times-reporter.mjs'],
    outputFile: { json: '.ci/reports/boot.json' },
  },
});
