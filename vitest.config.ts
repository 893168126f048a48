import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Heavier runs with Debian tools of their own: `npm run test:acceptance`.
    exclude: ['test/acceptance/**', 'node_modules/**'],
    // sharp and s3rver are native/IO heavy: separate processes isolate them best.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores on every machine here, CI included.
    maxWorkers: 2,
    // The service logs one JSON line per request and EMF metrics: tests that check them inject
    // their own logger; everywhere else they would drown the test output.
    // The AWS SDK's notice that it will want Node 22 from 2027 is printed once per process: noise here.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
