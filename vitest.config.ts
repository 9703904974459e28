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
    // CI runs every suite at once on 2 cores; the simulated cluster's controllers and real helm/kubectl processes
    // then see delays no single run shows. One retry there keeps a slow machine from failing a correct change; a
    // real failure fails twice. Locally, no retry: flakiness stays visible.
    retry: process.env.CI ? 1 : 0,
  },
});
