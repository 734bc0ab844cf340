import { defineConfig } from 'vitest/config';

/** The boot suite (npm run test:boot): real boots under QEMU, one file at a time. */
export default defineConfig({
  test: {
    include: ['test/boot/**/*.test.ts'],
    // Above every boot's own QEMU timeout (900 s at most, plus a boot once more after an emulator
    // panic): the fixture's error, with the console log, must come before vitest's bare one.
    testTimeout: 1_500_000,
    hookTimeout: 1_800_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '.ci/reports/boot.json' }]],
  },
});
