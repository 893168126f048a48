/** The acceptance runs (`npm run test:acceptance`): these tests only, one at a time, with long limits. */
import { defineConfig } from 'vitest/config';
import main from '../../vitest.config.js';

export default defineConfig({
  test: {
    ...main.test,
    include: ['test/acceptance/**/*.test.ts'],
    exclude: ['node_modules/**'],
    maxWorkers: 1,
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
