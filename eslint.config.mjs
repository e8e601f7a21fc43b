// Code style only. Which layer may import what (and which library) is enforced by dependency-cruiser
// (.dependency-cruiser.cjs), run by `npm run lint` after ESLint.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // test/fixtures/boundaries: source trees that break the layer rules on purpose (test/lint/boundaries.test.ts).
  { ignores: ['node_modules/**', 'dist/**', 'bench/results.json', 'test/fixtures/boundaries/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
  {
    // src/settings/ is the one place that reads the environment (as probot's readEnvOptions does);
    // everything else receives options. Tests, benchmarks and scripts may set up their own.
    files: ['src/**/*.ts'],
    ignores: ['src/settings/**'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read the environment in src/settings/ and pass options down.' }],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'process', importNames: ['env'], message: 'Read the environment in src/settings/ and pass options down.' },
            { name: 'node:process', importNames: ['env'], message: 'Read the environment in src/settings/ and pass options down.' },
          ],
        },
      ],
    },
  },
  {
    // The domain's rules do no I/O and keep no time of their own, even through globals no import shows.
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        ...['fetch', 'process', 'setTimeout', 'setInterval', 'setImmediate', 'WebSocket', 'XMLHttpRequest', 'require'].map((name) => ({
          name,
          message: 'src/domain is the pure rules: no I/O, processes or timers (a port of src/app brings them).',
        })),
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/no-unused-expressions': 'off' },
  },
);
