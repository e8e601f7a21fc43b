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
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/no-unused-expressions': 'off' },
  },
);
