import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{protocol,device,host,simulation,test}/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Every run and every test file gets a private TMPDIR; whatever a test leaves there fails it.
    globalSetup: ['./test/support/leftover-check.global.ts'],
    setupFiles: ['./test/support/leftover-check.setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
