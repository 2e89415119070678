import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The per-task paths: on Node 20 an object literal that begins with a spread and goes on
    // with more costs ~1 µs to make (~13 µs for two spreads); src/extended.ts says more.
    // A conditional spread of an optional field (`...(x ? { x } : {})`) makes V8 add every
    // property after it one at a time (~140 ns for a small literal, ~10 ns built and assigned).
    files: ['src/store/**/*.ts', 'src/engine/**/*.ts', 'src/tasks/**/*.ts', 'src/rpc/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ObjectExpression:has(> SpreadElement:first-child + *)',
          message:
            'a leading spread followed by more is slow on Node 20: use extended() (src/extended.ts) or build the object field by field',
        },
        {
          selector: 'ObjectExpression > SpreadElement > ConditionalExpression',
          message:
            'a conditional spread slows the literal on Node 20 (what follows it is added one by one): build the object, then set the optional field',
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
