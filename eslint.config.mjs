// Lint: typescript-eslint's recommended rules, the import boundaries of docs/architecture.md, and
// no import cycles. `npm run lint` runs this and Prettier's check; `npm test` runs `npm run lint`
// first, so CI fails on a violation.
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** Patterns that a wing must not import: every other wing, and the editor API outside the extension. */
const wing = (own, others) => ({
  files: [`${own}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...others.map((other) => ({
            group: [`**/${other}/**`, `**/${other}`],
            message: `${own} must not import ${other}: the wings meet only in src/shared/ and src/core/ (docs/architecture.md).`,
          })),
          ...(own === 'src/extension' ? [] : [{ group: ['vscode'], message: 'Only src/extension/ may import vscode (docs/architecture.md).' }]),
        ],
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.test-tmp/**', '.cache/**', 'test/e2e/.work/**', 'python/**', 'media/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: {
        console: 'readonly',
        process: 'readonly',
        __dirname: 'readonly',
        require: 'readonly',
        module: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
      },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { node: { extensions: ['.ts', '.js', '.mjs'] } }, 'import-x/extensions': ['.ts', '.js', '.mjs'] },
    rules: {
      // TypeScript checks these itself, with the types.
      'no-undef': 'off',
      'no-redeclare': 'off',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // `parentPort!` in worker entries: the module runs only as a worker.
      '@typescript-eslint/no-non-null-assertion': 'off',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  // The wings: extension, engine, trainer and the webviews import one another never.
  wing('src/extension', ['engine', 'trainer', 'webview']),
  wing('src/engine', ['extension', 'trainer', 'webview']),
  wing('src/trainer', ['extension', 'engine', 'webview']),
  wing('webview', ['extension', 'engine', 'trainer', 'core']),
  // The shared contracts and the core depend on no wing.
  wing('src/shared', ['extension', 'engine', 'trainer', 'webview', 'core']),
  wing('src/core', ['extension', 'engine', 'trainer', 'webview']),
  // The estimators are pure functions over typed arrays (docs/estimators.md).
  {
    files: ['src/engine/estimators/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'node:fs', message: 'Estimators are pure: files are read elsewhere (docs/estimators.md).' },
            { name: 'node:fs/promises', message: 'Estimators are pure: files are read elsewhere (docs/estimators.md).' },
            { name: 'node:worker_threads', message: 'Estimators are pure: threads live in src/engine/compute/ (docs/estimators.md).' },
            { name: 'onnxruntime-node', message: 'Estimators are pure: onnxruntime runs in src/engine/compute/ (docs/estimators.md).' },
          ],
          patterns: [
            {
              group: ['**/compute/**', '**/onnx/**', '**/run/**', '**/cache/**'],
              message: 'Estimators are pure and import no engine machinery (docs/estimators.md).',
            },
          ],
        },
      ],
    },
  },
  // A view imports its own files and webview/shared/, never another view's.
  ...['channel', 'layer', 'query', 'training'].map((view) => ({
    files: [`webview/${view}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...['channel', 'layer', 'query', 'training']
              .filter((v) => v !== view)
              .map((other) => ({
                group: [`../${other}/**`, `../${other}`],
                message: `webview/${view} must not import webview/${other}: shared code goes in webview/shared/.`,
              })),
            {
              group: ['**/src/engine/**', '**/src/extension/**', '**/src/trainer/**', '**/src/core/**'],
              message: 'Views import only src/shared/ (docs/architecture.md).',
            },
          ],
        },
      ],
    },
  })),
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', '**/*.mjs', '**/*.cjs'],
    rules: {
      '@typescript-eslint/no-unused-expressions': 'off',
    },
  },
  {
    // CommonJS files (mocha's reporter) require by nature.
    files: ['**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
