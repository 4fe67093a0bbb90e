import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests start their own servers (dynalite, the simulator, the local API) on
    // ephemeral loopback ports; nothing is shared between files.
    restoreMocks: true,
  },
});
