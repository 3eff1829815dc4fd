import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    // Files in one worker share loaded modules instead of importing the whole program again for each file (a third
    // less time for the suite); every test builds its own server, store and registry, so nothing else is shared.
    isolate: false,
  },
});
