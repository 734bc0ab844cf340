import { defineConfig } from 'vitest/config';

/** The boot suite (npm run test:boot): real boots under QEMU, one file at a time. */
export default defineConfig({
  test: {
    include: ['test/boot/**/*.test.ts'],
    testTimeout: 900_000,
    hookTimeout: 1_800_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
  },
});
