/**
 * The layer rules of eslint.config.js bite: an import that points up, or sideways to a sibling,
 * or a package a layer must not see, is an error; the imports the layers are made of are not.
 * Linted with the project's own layer rules, on probe sources that exist only in memory.
 */
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import config from '../../eslint.config.js';

const RULE = '@typescript-eslint/no-restricted-imports';

/** The project's layer rules alone (no type-aware rules: the probes are not files of the project). */
const linter = new ESLint({
  overrideConfigFile: true,
  overrideConfig: [
    { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser }, plugins: { '@typescript-eslint': tseslint.plugin } },
    ...config.filter((entry) => entry.rules?.[RULE] !== undefined),
  ],
});

async function refusals(filePath: string, code: string): Promise<string[]> {
  const [result] = await linter.lintText(code, { filePath });
  return (result?.messages ?? []).filter((message) => message.ruleId === RULE).map((message) => message.message.split(' import is restricted')[0] ?? '');
}

describe('the layer rules', () => {
  it.each([
    ['lib/iiif/probe.ts', "import { SourceStore } from '../store/index.js';", "'../store/index.js'"],
    ['lib/iiif/probe.ts', "import sharp from 'sharp';", "'sharp'"],
    ['lib/render/probe.ts', "import { errorResponse } from '../http/errors.js';", "'../http/errors.js'"],
    ['lib/render/probe.ts', "import { DerivativeStore } from '../store/index.js';", "'../store/index.js'"],
    ['lib/store/probe.ts', "import { QueueSender } from '../queue/index.js';", "'../queue/index.js'"],
    ['lib/service/probe.ts', "import { createHttpApp } from '../http/app.js';", "'../http/app.js'"],
    ['lib/service/probe.ts', "import { render } from '../render/index.js';", "'../render/index.js'"],
    ['lib/service/probe.ts', "import { buildAccessCopy } from '../render/access-copy.js';", "'../render/access-copy.js'"],
    ['lib/http/probe.ts', "import { createServices } from '../entry/wiring.js';", "'../entry/wiring.js'"],
    ['lib/config.ts', "import type { Limits } from './iiif/types.js';", "'./iiif/types.js'"],
    ['functions/probe/handler.ts', "import { ImageService } from '../../lib/service/images.js';", "'../../lib/service/images.js'"],
  ])('refuses in %s: %s', async (filePath, code, named) => {
    // Act
    const found = await refusals(filePath, code);

    // Assess
    expect(found).toEqual([named]);
  });

  it.each([
    ['lib/service/probe.ts', "import { resolve } from '../iiif/index.js';\nimport { estimateRenderSeconds } from '../render/estimate.js';\nimport type { RenderResult } from '../render/index.js';"],
    ['lib/service/probe.ts', "import { describeJp2 } from '../render/jp2/describe.js';\nimport { estimateAccessCopySeconds, jp2RenderableNow } from '../render/estimate.js';\nimport type { AccessCopy } from '../render/access-copy.js';"],
    ['lib/render/probe.ts', "import sharp from 'sharp';\nimport { expected } from '../errors.js';\nimport type { Plan } from '../iiif/index.js';"],
    ['lib/entry/probe.ts', "import { createHttpApp } from '../http/app.js';\nimport { SourceStore } from '../store/index.js';"],
    ['functions/probe/handler.ts', "import { createGatewayHandler } from '../../lib/entry/iiif.js';"],
  ])('allows in %s the imports its layer is made of', async (filePath, code) => {
    // Act
    const found = await refusals(filePath, code);

    // Assess
    expect(found).toEqual([]);
  });
});
