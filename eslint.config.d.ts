/** The type of eslint.config.js, for test/lint, which reads its layer rules. */
import type { Linter } from 'eslint';

declare const config: Linter.Config[];
export default config;
