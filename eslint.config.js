import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'scratch/', 'coverage/', 'test-results/', 'tools/conformance/everything-server.ts' /* vendored as is from the conformance suite */] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  // The dashboard runs in the browser.
  { files: ['src/surfaces/ui/**/*.{ts,tsx}'], ignores: ['src/surfaces/ui/vite.config.ts'], languageOptions: { globals: { ...globals.browser } } },
);
