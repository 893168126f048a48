// Type-checked lint rules catch the classic mistakes: a non-string inside a template literal,
// String(undefined), floating promises, unsafe `any`. The layer rules at the end keep the
// dependencies of lib/ pointing down.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers, top to bottom. A module may import from layers below its own, never above, and
 * never from a sibling on its own layer:
 *   functions → lib/entry → lib/http → lib/service → lib/auth | lib/render | lib/store | lib/queue
 *   → lib/iiif → lib/config.ts, lib/errors.ts
 */
const LAYERS = [['entry'], ['http'], ['service'], ['auth', 'render', 'store', 'queue'], ['iiif']];
const ALL = LAYERS.flat();

/** What a folder of lib/ may not import: the folders above it and its siblings. */
function forbiddenFor(folder) {
  const rank = LAYERS.findIndex((layer) => layer.includes(folder));
  return [...LAYERS.slice(0, rank).flat(), ...LAYERS[rank].filter((sibling) => sibling !== folder)];
}

const layerMessage = 'Dependencies in lib/ point down: functions → entry → http → service → auth | render | store | queue → iiif → config, errors (README, Architecture).';

/** Packages a layer must not see: sharp outside lib/render, the AWS SDK outside storage and wiring, Lambda types outside entry and http. */
const PACKAGES = {
  iiif: ['sharp', '@aws-sdk/*', 'aws-lambda', '@aws-lambda-powertools/*'],
  auth: ['sharp', '@aws-sdk/*', 'aws-lambda'],
  render: ['@aws-sdk/*', 'aws-lambda'],
  store: ['sharp', 'aws-lambda'],
  queue: ['sharp', 'aws-lambda'],
  service: ['sharp', 'aws-lambda'],
  http: ['sharp', '@aws-sdk/*'],
  entry: ['sharp'],
};

function layerRule(folder) {
  const above = forbiddenFor(folder);
  const patterns = [
    { regex: `^\\.\\./(${above.join('|')})/`, message: layerMessage },
    { group: PACKAGES[folder], message: `lib/${folder} does not use these packages (README, Architecture).` },
  ];
  // lib/render's sharp half loads lazily: above it, only its sharp-free modules and types are imported.
  if (folder === 'service' || folder === 'entry') {
    patterns.push({ regex: '^\\.\\./render/(index|render|batch|probe|access-copy|tiff/(index|decode|region|passthrough))\\.js$', allowTypeImports: true, message: 'Import sharp-free lib/render modules (estimate.js, sniff.js, tiff/structure.js, tiff/describe.js, jp2/describe.js) or types here; the renderer itself is loaded on first use (lib/entry/wiring.ts).' });
  }
  return {
    files: [`lib/${folder}/**/*.ts`],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', '.data/**', 'node_modules/**', 'coverage/**', 'infra/local/public/vendor/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-base-to-string': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unnecessary-condition': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  ...ALL.map(layerRule),
  {
    files: ['lib/config.ts', 'lib/errors.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ regex: `^\\./(${ALL.join('|')})/`, message: layerMessage }] }] },
  },
  {
    files: ['functions/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ regex: '/lib/(?!entry/)', message: 'A function is four lines: it imports its adapter from lib/entry and nothing else.' }] }] },
  },
);
