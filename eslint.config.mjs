// The separation rule of the design: the domain core and the use cases import no framework,
// so the approval rules can be read (and tested) without Teams, restify or Azure.
import tseslint from 'typescript-eslint';

const frameworks = {
  patterns: [
    { group: ['botbuilder', 'botbuilder-*', 'botframework-*'], message: 'The domain and app layers never import botbuilder: keep it in src/teams.' },
    { group: ['restify', 'restify-*'], message: 'The domain and app layers never import restify: keep it in src/teams.' },
    { group: ['@azure/*'], message: 'The domain and app layers never import Azure packages: keep them in src/azure.' },
    { group: ['**/teams/**', '**/azure/**', '**/store/**', '**/sandbox/**', '../teams', '../azure', '../store', '../sandbox'], message: 'The domain and app layers depend on ports, not on the edges.' },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'bench/results.json'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
  {
    files: ['src/domain/**/*.ts', 'src/app/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', frameworks] },
  },
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/no-unused-expressions': 'off' },
  },
);
