import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', '**/src/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', '.tools/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real helm/kubectl processes and simulated API servers: two cores, keep parallelism modest.
    pool: 'forks',
    maxWorkers: 2,
  },
});
