import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{protocol,device,host,test}/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
