import { defineConfig } from 'vitest/config';

/** The suites that run on both stores: the server API, the login service (HTTP and Chromium) and its OpenID Connect provider (Chromium); every other runs on SQLite only (see the README). */
const BOTH_STORES = ['test/e2e/server-api.test.ts', 'test/e2e/service-web.test.ts', 'test/e2e/service-*.browser.test.ts', 'test/e2e/oidc.browser.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Every run and every test file gets a private TMPDIR; whatever a test leaves there fails it.
    // Each project runs the global setup; the run keeps one folder (see leftover-check.global.ts).
    globalSetup: ['./test/support/leftover-check.global.ts'],
    setupFiles: ['./test/support/leftover-check.setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['{protocol,device,host,simulation,test}/**/*.test.ts'] } },
      { extends: true, test: { name: 'postgres', include: BOTH_STORES, env: { NOEGLEVISER_TEST_STORE: 'postgres' } } },
    ],
  },
});
